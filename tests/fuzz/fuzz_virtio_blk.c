/* virtio-blk against an arbitrary guest: the input describes a descriptor
 * table, the heads the driver makes available and the bytes of guest RAM
 * the descriptors point at (request headers, discard segments, data).  The
 * real device (transport, I/O thread, io_uring backend on a scratch file)
 * processes them; the harness waits until every head came back or the
 * device asked for a reset, then resets it for the next input.  ASan/UBSan
 * catch anything outside guest RAM or any undefined behaviour. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/vdriver.h"	/* the fake virtio-pci driver of the unit tests */

#include "lib/config.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"
#include "lib/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QSIZE		16
#define NDESC		16
#define DESC_BYTES	6
#define HDR		(2 + NDESC * DESC_BYTES + 8)
#define BUF_SPAN	0x10000u

static struct vdrv drv;
static struct config *cfg;		/* the device refers to its strings */
static uint64_t bufbase;
static char disk[64];

static void cleanup(void)
{
	unlink(disk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256] = "";
	int fd;

	snprintf(disk, sizeof(disk), "/tmp/khyve-fuzz-blk.XXXXXX");
	fd = mkstemp(disk);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	close(fd);
	atexit(cleanup);
	cfg = config_new();
	if (config_set(cfg, "pci.0.3.0.device", "virtio-blk") ||
	    config_set(cfg, "pci.0.3.0.path", disk) ||
	    vdrv_setup(&drv, "virtio-blk", 3, cfg, err, sizeof(err)))
		abort();
	bufbase = vdrv_alloc(&drv, BUF_SPAN, 4096);
	return 0;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Writes the fuzzed descriptor table into queue 0's ring. */
static void fill_descs(const uint8_t *d)
{
	for (unsigned i = 0; i < NDESC; i++, d += DESC_BYTES) {
		uint64_t addr = bufbase + le16(d);
		uint32_t len = d[2] | (uint32_t)(d[3] & 0x7f) << 8;
		uint16_t flags = d[4] & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE |
					 VRING_DESC_F_INDIRECT);
		uint16_t next = d[5] % QSIZE;
		uint64_t g = drv.q[0].desc + 16u * i;

		if (d[3] & 0x80)		/* now and then: outside guest RAM */
			addr = 0xfffffffff000ull + le16(d);
		memcpy(vdrv_ptr(&drv, g), &addr, 8);
		memcpy(vdrv_ptr(&drv, g + 8), &len, 4);
		memcpy(vdrv_ptr(&drv, g + 12), &flags, 2);
		memcpy(vdrv_ptr(&drv, g + 14), &next, 2);
	}
}

static void publish(const uint8_t *heads, unsigned n)
{
	struct vdrv_queue *q = &drv.q[0];

	for (unsigned i = 0; i < n; i++) {
		uint16_t h = heads[i] % QSIZE;

		memcpy(vdrv_ptr(&drv, q->avail + 4 + 2u * i), &h, 2);
	}
	__atomic_store_n((uint16_t *)vdrv_ptr(&drv, q->avail + 2), (uint16_t)n,
			 __ATOMIC_RELEASE);
}

/* Every head back, or the device gave up on the queue (or 200 ms). */
static void wait_done(unsigned n)
{
	struct timespec ts = { 0, 100000 };

	for (int i = 0; i < 2000; i++) {
		if (vdrv_used_idx(&drv, 0) == n ||
		    (vdrv_cc_rd(&drv, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET))
			return;
		nanosleep(&ts, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned n;
	uint64_t features;

	if (size < HDR)
		return 0;
	n = 1 + data[0] % 8;
	features = vdrv_device_features(&drv) & ((1ull << 24) - 1);
	if (data[1] & 1)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 2)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (vdrv_probe(&drv, features, 1, QSIZE) != 0x0f)
		abort();
	memset(vdrv_ptr(&drv, bufbase), 0, BUF_SPAN);
	memcpy(vdrv_ptr(&drv, bufbase), data + HDR,
	       size - HDR < BUF_SPAN ? size - HDR : BUF_SPAN);
	fill_descs(data + 2);
	publish(data + 2 + NDESC * DESC_BYTES, n);
	vdrv_kick(&drv, 0);
	wait_done(n);
	vdrv_reset(&drv);		/* waits for anything still in flight */
	return 0;
}
