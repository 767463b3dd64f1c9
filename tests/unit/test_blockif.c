/* The block backend on its own: both engines, O_DIRECT with unaligned
 * guest buffers, image locking, queue depth, bhyve's option syntax. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/blockif.h"
#include "lib/config.h"

#define SIZE	(256u << 10)

static char path[64];

static int setup(void **state)
{
	int fd;

	snprintf(path, sizeof(path), "build/khyve-bif.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0) {		/* not run from the tree: any directory */
		snprintf(path, sizeof(path), "/tmp/khyve-bif.XXXXXX");
		fd = mkstemp(path);
	}
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

struct done_log {
	int n;
	int64_t last;
};

static void on_done(void *opaque, struct blockif_req *r)
{
	struct done_log *l = opaque;

	l->n++;
	l->last = r->result;
}

/* Submits r, kicks, waits for its completion; returns its result. */
static int64_t run(struct blockif *b, struct blockif_req *r)
{
	struct done_log l = { 0, 0 };
	struct pollfd p = { .fd = blockif_event_fd(b), .events = POLLIN };

	assert_int_equal(blockif_submit(b, r), 0);
	blockif_kick(b);
	while (!l.n) {
		assert_true(poll(&p, 1, 5000) == 1);
		blockif_reap(b, on_done, &l);
	}
	return l.last;
}

static void roundtrip(const char *engine, bool nocache)
{
	struct blockif_opts o = { .path = path, .engine = engine, .nocache = nocache };
	struct blockif *b;
	char err[256] = "";
	uint8_t *raw = malloc(8192 + 1), *buf = raw + 1;	/* deliberately unaligned */
	uint8_t back[8192];
	struct iovec v = { buf, 4096 }, w = { back, 4096 };
	struct blockif_req r = { .op = BLOCKIF_WRITE, .offset = 8192, .len = 4096,
				 .iov = &v, .iovcnt = 1 };
	struct blockif_stats st;

	if (blockif_open(&o, &b, err, sizeof(err))) {
		free(raw);
		if (nocache && strstr(err, "O_DIRECT"))
			skip();
		fail_msg("open: %s", err);
	}
	assert_string_equal(blockif_engine(b), engine);
	for (unsigned i = 0; i < 4096; i++)
		buf[i] = (uint8_t)(i * 13);
	assert_int_equal(run(b, &r), 0);
	r = (struct blockif_req){ .op = BLOCKIF_READ, .offset = 8192, .len = 4096,
				  .iov = &w, .iovcnt = 1 };
	if (nocache) {			/* unaligned destination too */
		w.iov_base = buf + 4096;
		memset(buf + 4096, 0, 4096);
	}
	assert_int_equal(run(b, &r), 0);
	assert_memory_equal(w.iov_base, buf, 4096);
	r = (struct blockif_req){ .op = BLOCKIF_FLUSH };
	assert_int_equal(run(b, &r), 0);
	blockif_get_stats(b, &st);
	assert_int_equal(st.wr_reqs, 1);
	assert_int_equal(st.rd_bytes, 4096);
	assert_int_equal(st.flush_reqs, 1);
	blockif_close(b);
	free(raw);
}

static void uring_roundtrip(void **state) { roundtrip("io_uring", false); }
static void threads_roundtrip(void **state) { roundtrip("threads", false); }
static void uring_nocache_unaligned(void **state) { roundtrip("io_uring", true); }
static void threads_nocache_unaligned(void **state) { roundtrip("threads", true); }

static void locked_against_second_writer(void **state)
{
	struct blockif_opts o = { .path = path };
	struct blockif *a, *b;
	char err[256] = "";

	assert_int_equal(blockif_open(&o, &a, err, sizeof(err)), 0);
	assert_int_not_equal(blockif_open(&o, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "in use by another VM"));
	o.ro = true;				/* readers wait for the writer too */
	assert_int_not_equal(blockif_open(&o, &b, err, sizeof(err)), 0);
	blockif_close(a);
	assert_int_equal(blockif_open(&o, &a, err, sizeof(err)), 0);
	assert_int_equal(blockif_open(&o, &b, err, sizeof(err)), 0);	/* two readers */
	blockif_close(a);
	blockif_close(b);
}

static void limits(void **state)
{
	struct blockif_opts o = { .path = path, .depth = 2, .ro = true };
	struct blockif *b;
	char err[256] = "", buf[512];
	struct iovec v = { buf, 512 };
	struct blockif_req r[3], w = { .op = BLOCKIF_WRITE, .len = 512, .iov = &v, .iovcnt = 1 };
	struct done_log l = { 0, 0 };

	assert_int_equal(blockif_open(&o, &b, err, sizeof(err)), 0);
	assert_true(blockif_readonly(b));
	assert_int_equal(blockif_submit(b, &w), -EROFS);
	w.op = BLOCKIF_READ;
	w.offset = SIZE;			/* just past the end */
	assert_int_equal(blockif_submit(b, &w), -EINVAL);
	w.offset = UINT64_MAX - 100;
	assert_int_equal(blockif_submit(b, &w), -EINVAL);
	w.offset = 0;
	w.len = 1024;				/* iov disagrees */
	assert_int_equal(blockif_submit(b, &w), -EINVAL);
	for (int i = 0; i < 3; i++)
		r[i] = (struct blockif_req){ .op = BLOCKIF_READ, .len = 512, .iov = &v,
					     .iovcnt = 1 };
	assert_int_equal(blockif_submit(b, &r[0]), 0);
	assert_int_equal(blockif_submit(b, &r[1]), 0);
	assert_int_equal(blockif_submit(b, &r[2]), -EBUSY);
	blockif_kick(b);
	while (l.n < 2) {
		struct pollfd p = { .fd = blockif_event_fd(b), .events = POLLIN };

		assert_true(poll(&p, 1, 5000) == 1);
		blockif_reap(b, on_done, &l);
	}
	assert_int_equal(blockif_inflight(b), 0);
	blockif_close(b);
}

static void not_a_disk(void **state)
{
	struct blockif_opts o = { .path = "/dev/null" };
	struct blockif *b;
	char err[256] = "";

	assert_int_not_equal(blockif_open(&o, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file or block device"));
	o.path = "/nonexistent/disk.img";
	assert_int_equal(blockif_open(&o, &b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
}

static void legacy_syntax(void **state)
{
	struct config *cfg = config_new();
	struct blockif_opts o;
	char err[256] = "";

	assert_int_equal(blockif_legacy_config(cfg, "pci.0.2.0",
					       "/img,ro,nocache,direct,sectorsize=4096/8192",
					       err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "pci.0.2.0.path"), "/img");
	assert_int_equal(blockif_parse_opts(cfg, "pci.0.2.0", &o, err, sizeof(err)), 0);
	assert_true(o.ro && o.nocache && o.sync);
	assert_int_equal(o.sectsz, 4096);
	assert_int_equal(o.psectsz, 8192);
	assert_int_not_equal(blockif_legacy_config(cfg, "pci.0.3.0", "/img,device=x", err,
						   sizeof(err)), 0);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(uring_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(threads_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(uring_nocache_unaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(threads_nocache_unaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(locked_against_second_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(limits, setup, teardown),
		cmocka_unit_test(not_a_disk),
		cmocka_unit_test(legacy_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
