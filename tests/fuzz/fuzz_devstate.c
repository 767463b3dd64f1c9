/* The virtio devices' checkpoint restore on untrusted section bytes (what
 * khyve -r hands each PCI function after the state file's CRC matched:
 * a crafted checkpoint passes that check).  Whatever restore accepts must
 * leave a device the guest can drive without harm: after a successful
 * restore every queue is kicked, then the device is reset.
 *
 * Input: byte 0 picks the device (virtio-rnd, -blk, -console); byte 1 bit
 * 0 says how the rest is used: 0, as the section bytes after the
 * configuration space; 1, XORed into the state a probed device saves
 * (near-valid states, which random bytes rarely reach). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/vdriver.h"
#include "lib/config.h"
#include "lib/evloop.h"
#include "lib/log.h"
#include "snapshot/snapfile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { DEV_RND, DEV_BLK, DEV_CON, NDEV };

static const unsigned nqueues[NDEV] = { 1, 1, 6 };
static struct vdrv drv[NDEV];
static struct config *cfg;
static struct evloop *loop;
static char dir[] = "/tmp/khyve-fuzz-devstate.XXXXXX", disk[64];
static struct snap_writer writer;

static void cleanup(void)
{
	unlink(disk);
	rmdir(dir);
}

static int setup(void)
{
	char p0[96], p1[96], err[256] = "";
	int fd;

	snprintf(disk, sizeof(disk), "%s/disk", dir);
	snprintf(p0, sizeof(p0), "%s/p0", dir);
	snprintf(p1, sizeof(p1), "%s/p1", dir);
	fd = open(disk, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return -1;
	close(fd);
	if (config_set(cfg, "pci.0.3.0.device", "virtio-blk") ||
	    config_set(cfg, "pci.0.3.0.path", disk) ||
	    config_set(cfg, "pci.0.4.0.device", "virtio-console") ||
	    config_set(cfg, "pci.0.4.0.port.0.path", p0) ||
	    config_set(cfg, "pci.0.4.0.port.1.path", p1) ||
	    config_set(cfg, "pci.0.4.0.port.1.name", "org.khyve.fuzz") ||
	    config_set(cfg, "pci.0.5.0.device", "virtio-rnd"))
		return -1;
	if (vdrv_setup(&drv[DEV_RND], "virtio-rnd", 5, cfg, err, sizeof(err)) ||
	    vdrv_setup(&drv[DEV_BLK], "virtio-blk", 3, cfg, err, sizeof(err)) ||
	    vdrv_setup_loop(&drv[DEV_CON], "virtio-console", 4, cfg, loop, err, sizeof(err))) {
		fprintf(stderr, "fuzz_devstate: setup: %s\n", err);
		return -1;
	}
	/* The sockets stay bound for the process's life; their names can go. */
	unlink(p0);
	unlink(p1);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_prog("fuzz_devstate");
	cfg = config_new();
	loop = evloop_new();
	if (!cfg || !loop || !mkdtemp(dir))
		abort();
	atexit(cleanup);
	if (setup())
		abort();
	return 0;
}

/* The device's own part of a section, as a probed device saves it. */
static void saved_state(struct vdrv *d)
{
	snap_writer_init(&writer);
	snap_begin(&writer, "pci.0.0.0", 1);
	vdrv_probe(d, vdrv_device_features(d) & ((1ull << 24) - 1), nqueues[d - drv], 16);
	if (d->dev->emu->pause)
		d->dev->emu->pause(d->dev);
	d->dev->emu->save(d->dev, &writer);
	if (d->dev->emu->resume)
		d->dev->emu->resume(d->dev);
	snap_end(&writer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_section sec = { .name = "pci.0.0.0", .version = 1 };
	struct snap_cursor c;
	struct vdrv *d;
	uint8_t *buf = NULL;
	char err[256];

	if (size < 2)
		return 0;
	d = &drv[data[0] % NDEV];
	if (data[1] & 1) {
		saved_state(d);
		if (writer.err || !(buf = malloc(writer.len ? writer.len : 1)))
			abort();
		memcpy(buf, writer.buf, writer.len);
		for (size_t i = 2; i < size && i - 2 < writer.len; i++)
			buf[i - 2] ^= data[i];
		sec.data = buf;
		sec.size = writer.len;
		snap_writer_free(&writer);
	} else {
		sec.data = data + 2;
		sec.size = size - 2;
	}
	snap_cursor_init(&c, &sec);
	if (d->dev->emu->restore(d->dev, &c, err, sizeof(err)) == 0 && snap_cursor_done(&c))
		for (unsigned q = 0; q < nqueues[d - drv]; q++)
			vdrv_kick(d, q);
	/* The restored rings may point anywhere in guest RAM: start clean. */
	vdrv_reset(d);
	memset(d->ram, 0, VDRV_RAM_SIZE);
	free(buf);
	return 0;
}
