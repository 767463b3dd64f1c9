/* virtio-blk driven the way Linux's virtio_blk uses it, over fake guest RAM
 * and a real image file: reads and writes land in the file, flush,
 * discard, write-zeroes, GET_ID, read-only disks, and every kind of bad
 * request the guest can send. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdriver.h"
#include "snaptest.h"
#include "lib/config.h"
#include "virtio/blk.h"
#include "virtio/pci.h"

#define SLOT		3
#define QSIZE		64
#define DISK_SIZE	(1u << 20)
#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WZ		13
#define F_RO		(1ull << 5)
#define F_BLK_SIZE	(1ull << 6)
#define F_FLUSH		(1ull << 9)
#define F_DISCARD	(1ull << 13)
#define F_WZ		(1ull << 14)
#define WAIT_MS		5000

struct fx {
	struct vdrv d;
	struct config *cfg;
	char path[64];
	int fd;				/* the test's own view of the image */
};

static int make(struct fx **out, const char *extra_var, const char *extra_val)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";
	uint8_t *pattern = malloc(DISK_SIZE);
	int rc;

	snprintf(f->path, sizeof(f->path), "/tmp/khyve-vtblk.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	for (unsigned i = 0; i < DISK_SIZE; i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 9));
	assert_int_equal(pwrite(f->fd, pattern, DISK_SIZE, 0), DISK_SIZE);
	free(pattern);
	f->cfg = config_new();
	assert_int_equal(config_set(f->cfg, "pci.0.3.0.device", "virtio-blk"), 0);
	assert_int_equal(config_set(f->cfg, "pci.0.3.0.path", f->path), 0);
	if (extra_var)
		assert_int_equal(config_set(f->cfg, extra_var, extra_val), 0);
	rc = vdrv_setup(&f->d, "virtio-blk", SLOT, f->cfg, err, sizeof(err));
	if (rc) {
		print_message("init: %s\n", err);
		config_free(f->cfg);
		close(f->fd);
		unlink(f->path);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

static void destroy(struct fx *f)
{
	vdrv_teardown(&f->d);
	config_free(f->cfg);
	close(f->fd);
	unlink(f->path);
	free(f);
}

static int setup(void **state) { return make((struct fx **)state, NULL, NULL); }
static int setup_threads(void **state)
{
	return make((struct fx **)state, "block.engine", "threads");
}
static int teardown(void **state) { destroy(*state); return 0; }

static void ready(struct fx *f, uint64_t extra)
{
	uint64_t feat = vdrv_device_features(&f->d) & ((1ull << 24) - 1);

	assert_int_equal(vdrv_probe(&f->d, feat | extra, 1, QSIZE), 0x0f);
}

/* Header segment for a request. */
static uint64_t hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint64_t g = vdrv_alloc(&f->d, 16, 16);
	uint8_t *p = vdrv_ptr(&f->d, g);

	memset(p, 0, 16);
	memcpy(p, &type, 4);
	memcpy(p + 8, &sector, 8);
	return g;
}

/* Submits one request; returns its status byte, *len = used length. */
static int run(struct fx *f, const struct vdrv_seg *segs, unsigned n, uint32_t *len)
{
	uint32_t id, l;
	uint16_t head = vdrv_add(&f->d, 0, segs, n);

	vdrv_kick(&f->d, 0);
	assert_true(vdrv_next_used(&f->d, 0, WAIT_MS, &id, &l));
	assert_int_equal(id, head);
	if (len)
		*len = l;
	return l ? *(uint8_t *)vdrv_ptr(&f->d, segs[n - 1].gpa + segs[n - 1].len - 1) : -1;
}

static int rw(struct fx *f, uint32_t type, uint64_t sector, uint64_t buf, uint32_t len,
	      uint32_t *used)
{
	uint64_t st = vdrv_alloc(&f->d, 1, 1);
	struct vdrv_seg s[3] = {
		{ hdr(f, type, sector), 16, false },
		{ buf, len, type == T_IN },
		{ st, 1, true },
	};

	*(uint8_t *)vdrv_ptr(&f->d, st) = 0xee;
	return run(f, s, 3, used);
}

static void config_and_features(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vdrv_device_features(&f->d);

	assert_true(feat & F_FLUSH);
	assert_true(feat & F_BLK_SIZE);
	assert_true(feat & F_DISCARD);
	assert_true(feat & F_WZ);
	assert_false(feat & F_RO);
	assert_int_equal(vdrv_devcfg_rd(&f->d, 0, 8), DISK_SIZE / 512);	/* capacity */
	assert_int_equal(vdrv_devcfg_rd(&f->d, 12, 4), 254);		/* seg_max */
	assert_int_equal(vdrv_devcfg_rd(&f->d, 20, 4), 512);		/* blk_size */
	assert_int_equal(vdrv_devcfg_rd(&f->d, 40, 4), 1);		/* max_discard_seg */
}

static void read_write_roundtrip(void **state)
{
	struct fx *f = *state;
	uint64_t buf = vdrv_alloc(&f->d, 8192, 4096);
	uint8_t *p = vdrv_ptr(&f->d, buf), disk[8192];
	uint32_t used;
	struct blockif_stats st;

	ready(f, 0);
	/* Read sectors 8..23 and compare with the file. */
	assert_int_equal(rw(f, T_IN, 8, buf, 8192, &used), 0);
	assert_int_equal(used, 8192 + 1);
	assert_int_equal(pread(f->fd, disk, sizeof(disk), 8 * 512), sizeof(disk));
	assert_memory_equal(p, disk, sizeof(disk));
	/* Write a new pattern as two segments, then read the file. */
	for (unsigned i = 0; i < 8192; i++)
		p[i] = (uint8_t)(0xa5 ^ i);
	{
		uint64_t st_gpa = vdrv_alloc(&f->d, 1, 1);
		struct vdrv_seg s[4] = {
			{ hdr(f, T_OUT, 100), 16, false },
			{ buf, 4096, false },
			{ buf + 4096, 4096, false },
			{ st_gpa, 1, true },
		};

		assert_int_equal(run(f, s, 4, &used), 0);
		assert_int_equal(used, 1);
	}
	assert_int_equal(pread(f->fd, disk, sizeof(disk), 100 * 512), sizeof(disk));
	assert_memory_equal(p, disk, sizeof(disk));
	assert_int_equal(virtio_blk_stats(f->d.dev, &st), 0);
	assert_int_equal(st.rd_reqs, 1);
	assert_int_equal(st.rd_bytes, 8192);
	assert_int_equal(st.wr_reqs, 1);
	assert_int_equal(st.wr_bytes, 8192);
	assert_int_equal(st.errors, 0);
}

static void flush_and_get_id(void **state)
{
	struct fx *f = *state;
	uint64_t id = vdrv_alloc(&f->d, 20, 16), st = vdrv_alloc(&f->d, 1, 1);
	struct vdrv_seg fl[2] = { { hdr(f, T_FLUSH, 0), 16, false }, { st, 1, true } };
	struct vdrv_seg gi[3] = {
		{ hdr(f, T_GET_ID, 0), 16, false }, { id, 20, true }, { st, 1, true },
	};
	uint8_t d[MD5_DIGEST_LENGTH];
	char want[32];
	MD5_CTX c;
	uint32_t used;
	struct blockif_stats s;

	ready(f, 0);
	assert_int_equal(run(f, fl, 2, NULL), 0);
	assert_int_equal(virtio_blk_stats(f->d.dev, &s), 0);
	assert_int_equal(s.flush_reqs, 1);
	/* bhyve's default serial: "BHYVE-" + MD5(path), 19 characters. */
	MD5Init(&c);
	MD5Update(&c, (const uint8_t *)f->path, strlen(f->path));
	MD5Final(d, &c);
	snprintf(want, sizeof(want), "BHYVE-%02X%02X-%02X%02X-%02X%02X", d[0], d[1], d[2],
		 d[3], d[4], d[5]);
	want[19] = '\0';
	assert_int_equal(run(f, gi, 3, &used), 0);
	assert_int_equal(used, 21);
	assert_memory_equal(vdrv_ptr(&f->d, id), want, 19);
	assert_int_equal(*(uint8_t *)vdrv_ptr(&f->d, id + 19), 0);
}

static void serial_option(void **state)
{
	struct fx *f;
	uint64_t id, st;
	uint32_t used;

	assert_int_equal(make(&f, "pci.0.3.0.ser", "disk-0001"), 0);
	ready(f, 0);
	id = vdrv_alloc(&f->d, 20, 16);
	st = vdrv_alloc(&f->d, 1, 1);
	{
		struct vdrv_seg gi[3] = {
			{ hdr(f, T_GET_ID, 0), 16, false }, { id, 20, true }, { st, 1, true },
		};

		assert_int_equal(run(f, gi, 3, &used), 0);
	}
	assert_string_equal((char *)vdrv_ptr(&f->d, id), "disk-0001");
	destroy(f);
}

static void discard_and_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint64_t seg = vdrv_alloc(&f->d, 16, 16), st = vdrv_alloc(&f->d, 1, 1);
	uint8_t *p = vdrv_ptr(&f->d, seg), disk[4096], zero[4096] = { 0 };
	uint64_t sector = 16;
	uint32_t nsect = 8, flags = 0;
	struct vdrv_seg s[3] = {
		{ hdr(f, T_WZ, 0), 16, false }, { seg, 16, false }, { st, 1, true },
	};
	struct blockif_stats bs;

	ready(f, F_DISCARD | F_WZ);
	memcpy(p, &sector, 8);
	memcpy(p + 8, &nsect, 4);
	memcpy(p + 12, &flags, 4);
	assert_int_equal(run(f, s, 3, NULL), 0);
	assert_int_equal(pread(f->fd, disk, sizeof(disk), 16 * 512), sizeof(disk));
	assert_memory_equal(disk, zero, sizeof(disk));
	/* Discard: reads back as zeros on a file (a hole), or unchanged. */
	sector = 64;
	memcpy(p, &sector, 8);
	s[0].gpa = hdr(f, T_DISCARD, 0);
	assert_int_equal(run(f, s, 3, NULL), 0);
	/* Discard with the unmap flag is invalid. */
	flags = 1;
	memcpy(p + 12, &flags, 4);
	s[0].gpa = hdr(f, T_DISCARD, 0);
	assert_int_equal(run(f, s, 3, NULL), 1);
	assert_int_equal(virtio_blk_stats(f->d.dev, &bs), 0);
	assert_int_equal(bs.zero_reqs, 1);
	assert_int_equal(bs.discard_reqs, 1);
}

static void bad_requests(void **state)
{
	struct fx *f = *state;
	uint64_t buf = vdrv_alloc(&f->d, 4096, 4096), st = vdrv_alloc(&f->d, 1, 1);
	uint32_t used, id;

	ready(f, 0);
	/* Past the end, straddling the end, unaligned length: IOERR. */
	assert_int_equal(rw(f, T_IN, DISK_SIZE / 512, buf, 512, NULL), 1);
	assert_int_equal(rw(f, T_OUT, DISK_SIZE / 512 - 1, buf, 1024, NULL), 1);
	assert_int_equal(rw(f, T_IN, 0, buf, 100, NULL), 1);
	assert_int_equal(rw(f, T_IN, UINT64_MAX / 256, buf, 512, NULL), 1);
	/* Unknown type: UNSUPP. */
	assert_int_equal(rw(f, 77, 0, buf, 512, NULL), 2);
	/* Short header: IOERR. */
	{
		struct vdrv_seg s[2] = { { hdr(f, T_IN, 0), 8, false }, { st, 1, true } };

		assert_int_equal(run(f, s, 2, NULL), 1);
	}
	/* No status byte at all: returned with nothing written. */
	{
		struct vdrv_seg s[2] = { { hdr(f, T_IN, 0), 16, false }, { buf, 512, false } };
		uint16_t head = vdrv_add(&f->d, 0, s, 2);

		vdrv_kick(&f->d, 0);
		assert_true(vdrv_next_used(&f->d, 0, WAIT_MS, &id, &used));
		assert_int_equal(id, head);
		assert_int_equal(used, 0);
	}
	/* The device still works. */
	assert_int_equal(rw(f, T_IN, 0, buf, 4096, NULL), 0);
	assert_int_equal(vdrv_cc_rd(&f->d, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void broken_queue_needs_reset(void **state)
{
	struct fx *f = *state;
	uint64_t buf = vdrv_alloc(&f->d, 4096, 4096);
	struct vdrv_seg s[2] = {
		{ hdr(f, T_IN, 0), 16, false }, { 0xfffffffff000ull, 512, true },
	};

	ready(f, 0);
	vdrv_add(&f->d, 0, s, 2);		/* a buffer outside guest RAM */
	vdrv_kick(&f->d, 0);
	for (int i = 0; i < WAIT_MS && !(vdrv_cc_rd(&f->d, 0x14, 1) &
					 VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(vdrv_cc_rd(&f->d, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* A reset brings it back. */
	ready(f, 0);
	assert_int_equal(rw(f, T_IN, 0, buf, 4096, NULL), 0);
}

/* Many requests in flight at once, then a reset in the middle of more. */
static void queue_depth_and_reset(void **state)
{
	struct fx *f = *state;
	uint64_t bufs = vdrv_alloc(&f->d, 32 * 4096, 4096), st = vdrv_alloc(&f->d, 32, 16);
	uint32_t id, used;

	ready(f, 0);
	for (unsigned i = 0; i < 16; i++) {
		struct vdrv_seg s[3] = {
			{ hdr(f, T_IN, 8 * i), 16, false },
			{ bufs + 4096 * i, 4096, true },
			{ st + i, 1, true },
		};

		vdrv_add(&f->d, 0, s, 3);
	}
	vdrv_kick(&f->d, 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_true(vdrv_next_used(&f->d, 0, WAIT_MS, &id, &used));
		assert_int_equal(used, 4097);
	}
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(*(uint8_t *)vdrv_ptr(&f->d, st + i), 0);
	for (unsigned i = 0; i < 16; i++) {
		struct vdrv_seg s[3] = {
			{ hdr(f, T_OUT, 8 * i), 16, false },
			{ bufs + 4096 * i, 4096, false },
			{ st + i, 1, true },
		};

		vdrv_add(&f->d, 0, s, 3);
	}
	vdrv_kick(&f->d, 0);
	vdrv_reset(&f->d);			/* while those are in flight */
	ready(f, 0);
	assert_int_equal(rw(f, T_IN, 0, bufs, 4096, NULL), 0);
}

static void read_only(void **state)
{
	struct fx *f;
	uint64_t buf;
	uint8_t before[512], after[512];

	assert_int_equal(make(&f, "pci.0.3.0.ro", "true"), 0);
	assert_true(vdrv_device_features(&f->d) & F_RO);
	assert_false(vdrv_device_features(&f->d) & (F_DISCARD | F_WZ));
	ready(f, 0);
	buf = vdrv_alloc(&f->d, 512, 512);
	memset(vdrv_ptr(&f->d, buf), 0x11, 512);
	assert_int_equal(pread(f->fd, before, 512, 0), 512);
	assert_int_equal(rw(f, T_OUT, 0, buf, 512, NULL), 1);
	assert_int_equal(pread(f->fd, after, 512, 0), 512);
	assert_memory_equal(before, after, 512);
	assert_int_equal(rw(f, T_IN, 0, buf, 512, NULL), 0);
	destroy(f);
}

/* bhyve's options and khyve's refusals, before anything is opened. */
static void bad_options(void **state)
{
	static const char *const bad[][2] = {
		{ "pci.0.3.0.sectorsize", "1000" },
		{ "pci.0.3.0.sectorsize", "4096/512" },
		{ "pci.0.3.0.sectorsize", "256" },
		{ "pci.0.3.0.ro", "maybe" },
		{ "pci.0.3.0.bogus", "1" },
		{ "pci.0.3.0.bootindex", "1" },
		{ "block.engine", "aio" },
	};
	struct fx *f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(make(&f, bad[i][0], bad[i][1]), 0);
	assert_int_equal(make(&f, "pci.0.3.0.sectorsize", "4096/8192"), 0);
	assert_int_equal(vdrv_devcfg_rd(&f->d, 20, 4), 4096);
	assert_int_equal(vdrv_devcfg_rd(&f->d, 24, 1), 1);	/* physical_block_exp */
	destroy(f);
}

/* Checkpoint f onto a fresh device g (same configuration unless
 * extra_var): g's driver state is f's. */
static int move(struct fx *f, struct fx **g, const char *extra_var, const char *extra_val,
		char *err, size_t errlen)
{
	int rc;

	assert_int_equal(make(g, extra_var, extra_val), 0);
	rc = snaptest_pci_move(&f->d.pci, f->d.ram, &(*g)->d.pci, (*g)->d.ram, VDRV_RAM_SIZE,
			       err, errlen);
	memcpy((*g)->d.q, f->d.q, sizeof(f->d.q));
	(*g)->d.brk = f->d.brk;
	return rc;
}

/* A request the guest queued before the checkpoint is served by the
 * restored device, which then goes on like the original. */
static void checkpoint_restore(void **state)
{
	struct fx *f = *state, *g;
	uint64_t buf = vdrv_alloc(&f->d, 4096, 4096), st = vdrv_alloc(&f->d, 1, 1);
	uint8_t disk[4096];
	struct vdrv_seg s[3] = {
		{ hdr(f, T_IN, 16), 16, false }, { buf, 4096, true }, { st, 1, true },
	};
	char err[256] = "";
	uint32_t id, len;
	uint16_t head;

	ready(f, 0);
	assert_int_equal(rw(f, T_IN, 0, buf, 512, NULL), 0);
	head = vdrv_add(&f->d, 0, s, 3);	/* queued, not yet kicked */
	if (move(f, &g, NULL, NULL, err, sizeof(err)))
		fail_msg("restore: %s", err);
	assert_true(vdrv_next_used(&g->d, 0, WAIT_MS, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 4097);
	assert_int_equal(pread(g->fd, disk, sizeof(disk), 16 * 512), sizeof(disk));
	assert_memory_equal(vdrv_ptr(&g->d, buf), disk, sizeof(disk));
	assert_int_equal(*(uint8_t *)vdrv_ptr(&g->d, st), 0);
	memset(vdrv_ptr(&g->d, buf), 0x5a, 512);
	assert_int_equal(rw(g, T_OUT, 3, buf, 512, NULL), 0);
	assert_int_equal(pread(g->fd, disk, 512, 3 * 512), 512);
	assert_memory_equal(vdrv_ptr(&g->d, buf), disk, 512);
	/* The original went on paused-then-resumed: its request is still there. */
	vdrv_kick(&f->d, 0);
	assert_true(vdrv_next_used(&f->d, 0, WAIT_MS, &id, &len));
	assert_int_equal(id, head);
	destroy(g);
}

/* Another disk geometry, or a disk that became read-only, is refused. */
static void checkpoint_mismatch(void **state)
{
	struct fx *f = *state, *g;
	char err[256] = "";

	ready(f, 0);
	assert_int_equal(move(f, &g, "pci.0.3.0.sectorsize", "4096", err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "the disk differs"));
	destroy(g);
	assert_int_equal(move(f, &g, "pci.0.3.0.ro", "true", err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "inconsistent"));
	destroy(g);
	assert_int_equal(move(f, &g, "pci.0.3.0.ser", "OTHER", err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "serial number"));
	destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_and_features, setup, teardown),
		cmocka_unit_test_setup_teardown(read_write_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(read_write_roundtrip, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(flush_and_get_id, setup, teardown),
		cmocka_unit_test(serial_option),
		cmocka_unit_test_setup_teardown(discard_and_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(discard_and_write_zeroes, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(broken_queue_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_depth_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_depth_and_reset, setup_threads, teardown),
		cmocka_unit_test(read_only),
		cmocka_unit_test(bad_options),
		cmocka_unit_test_setup_teardown(checkpoint_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_restore, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_mismatch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
