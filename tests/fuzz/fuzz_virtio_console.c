/* virtio-console against an arbitrary guest: the control messages it
 * parses (the multiport handshake, events for ports that do not exist),
 * data on the ports' queues, descriptor chains that lie about addresses
 * and lengths, and every order of these.
 *
 * Input: byte 0 the features the driver accepts (bit 0 MULTIPORT), byte 1
 * the queue size (2..16); then operations of
 *   [op] [seg]...         op bits 0-2: queue (6 = none: reset and probe
 *                         again), bits 3-4: segments - 1
 *   seg = [flags] [len16] flags bit 0 device-writable, bit 1 a wild guest
 *                         address follows (4 bytes), else a buffer filled
 *                         from the input
 * and a kick of the queue after each.  The device (two ports, listening
 * sockets nobody connects to) is built once; each input ends with a reset,
 * so nothing carries over. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/vdriver.h"
#include "lib/config.h"
#include "lib/evloop.h"
#include "lib/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT	4
#define NQUEUES	6	/* port 0 rx/tx, control rx/tx, port 1 rx/tx */
#define MAXSEGS	4

static struct vdrv drv;
static struct config *cfg;	/* the device's for the process's life */
static struct evloop *loop;
static uint64_t arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/khyve-fuzz-vtcon.XXXXXX";
	char p0[64], p1[64], err[256] = "";
	cfg = config_new();
	loop = evloop_new();
	log_set_prog("fuzz_virtio_console");
	if (!cfg || !loop || !mkdtemp(dir))
		abort();
	snprintf(p0, sizeof(p0), "%s/p0", dir);
	snprintf(p1, sizeof(p1), "%s/p1", dir);
	if (config_set(cfg, "pci.0.4.0.device", "virtio-console") ||
	    config_set(cfg, "pci.0.4.0.port.0.path", p0) ||
	    config_set(cfg, "pci.0.4.0.port.1.path", p1) ||
	    config_set(cfg, "pci.0.4.0.port.1.name", "org.khyve.fuzz") ||
	    vdrv_setup_loop(&drv, "virtio-console", SLOT, cfg, loop, err, sizeof(err))) {
		fprintf(stderr, "fuzz_virtio_console: setup: %s\n", err);
		abort();
	}
	/* The sockets stay bound for the process's life; their names can go. */
	unlink(p0);
	unlink(p1);
	rmdir(dir);
	arena = drv.brk;
	return 0;
}

struct input {
	const uint8_t *p;
	size_t left;
};

static unsigned take(struct input *in, unsigned n)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n && in->left; i++, in->p++, in->left--)
		v |= (unsigned)*in->p << (8 * i);
	return v;
}

static unsigned take_segs(struct input *in, struct vdrv_seg *segs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && in->left; i++) {
		unsigned flags = take(in, 1), len = take(in, 2);

		segs[i].write = flags & 1;
		segs[i].len = len;
		if (flags & 2) {
			segs[i].gpa = take(in, 4);
			continue;
		}
		segs[i].gpa = vdrv_alloc(&drv, len, 16);
		if (!segs[i].write) {
			size_t copy = len < in->left ? len : in->left;

			memcpy(vdrv_ptr(&drv, segs[i].gpa), in->p, copy);
			in->p += copy;
			in->left -= copy;
		}
	}
	return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint64_t features;
	uint16_t qsize;

	if (size < 2)
		return 0;
	features = (take(&in, 1) & 1) ? 1ull << 1 : 0;
	qsize = (uint16_t)(2u << (take(&in, 1) % 4));
	drv.brk = arena;
	vdrv_probe(&drv, features, NQUEUES, qsize);
	while (in.left) {
		unsigned op = take(&in, 1), q = op & 7, n;
		struct vdrv_seg segs[MAXSEGS];

		if (q == 6) {
			vdrv_probe(&drv, features, NQUEUES, qsize);
			continue;
		}
		n = take_segs(&in, segs, 1 + ((op >> 3) & 3));
		if (q < NQUEUES && n)
			vdrv_add(&drv, q, segs, n);
		vdrv_kick(&drv, q);
	}
	vdrv_reset(&drv);
	return 0;
}
