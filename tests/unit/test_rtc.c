/* The CMOS RTC as a guest's clock driver and firmware see it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>
#include <unistd.h>
#include "lib/evloop.h"
#include "hw/rtc.h"
#include "snaptest.h"

static uint8_t rd(struct rtc *r, uint8_t idx)
{
	rtc_ops.write(r, 0, 1, idx);
	return (uint8_t)rtc_ops.read(r, 1, 1);
}

static void wr(struct rtc *r, uint8_t idx, uint8_t v)
{
	rtc_ops.write(r, 0, 1, idx);
	rtc_ops.write(r, 1, 1, v);
}

static int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

/* Reads a consistent (sec, min, hour) triple in whatever format is set. */
static void read_hms(struct rtc *r, uint8_t out[3])
{
	uint8_t again;

	do {
		out[0] = rd(r, 0);
		out[1] = rd(r, 2);
		out[2] = rd(r, 4);
		again = rd(r, 0);
	} while (again != out[0]);
}

static void test_bcd_and_binary(void **state)
{
	struct rtc *r = rtc_new(NULL, true, 256 << 20, 0);
	time_t now = time(NULL);
	struct tm tm;
	uint8_t t[3];

	gmtime_r(&now, &tm);
	assert_int_equal(rd(r, 0x0b) & 0x06, 0x02);	/* BCD, 24h */
	assert_int_equal(rd(r, 0x0d), 0x80);
	assert_int_equal(rd(r, 0x0a) & 0x80, 0);	/* UIP never seen */
	assert_int_equal(bcd(rd(r, 9)), tm.tm_year % 100);
	assert_int_equal(bcd(rd(r, 0x32)), (tm.tm_year + 1900) / 100);
	assert_int_equal(bcd(rd(r, 8)), tm.tm_mon + 1);
	read_hms(r, t);
	assert_true(bcd(t[2]) == tm.tm_hour || bcd(t[2]) == (tm.tm_hour + 1) % 24);
	wr(r, 0x0b, 0x06);				/* binary, 24h */
	assert_int_equal(rd(r, 9), tm.tm_year % 100);
	assert_int_equal(rd(r, 8), tm.tm_mon + 1);
	assert_true(rd(r, 0) < 60 && rd(r, 2) < 60 && rd(r, 4) < 24);
	rtc_free(r);
}

static void set_time(struct rtc *r, const uint8_t v[8])
{
	static const uint8_t regs[8] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };

	wr(r, 0x0b, rd(r, 0x0b) | 0x80);
	for (int i = 0; i < 8; i++)
		wr(r, regs[i], v[i]);
	wr(r, 0x0b, rd(r, 0x0b) & 0x7f);
}

static void test_12h_mode(void **state)
{
	struct rtc *r = rtc_new(NULL, true, 256 << 20, 0);
	/* 2021-03-04 13:30:00 in BCD 24h. */
	const uint8_t t[8] = { 0x00, 0x30, 0x13, 0x05, 0x04, 0x03, 0x21, 0x20 };
	uint8_t hms[3];

	set_time(r, t);
	wr(r, 0x0b, 0x00);				/* BCD, 12h */
	read_hms(r, hms);
	assert_int_equal(hms[2], 0x81);			/* 1 PM */
	assert_int_equal(hms[1], 0x30);
	/* Writing 12 AM means midnight. */
	wr(r, 4, 0x12);
	wr(r, 0x0b, 0x02);
	assert_int_equal(rd(r, 4), 0x00);
	rtc_free(r);
}

static void test_written_time_persists(void **state)
{
	struct rtc *r = rtc_new(NULL, true, 256 << 20, 0);
	const uint8_t t[8] = { 0x58, 0x59, 0x23, 0x01, 0x31, 0x12, 0x99, 0x19 };
	struct timespec ts = { 1, 200000000 };

	set_time(r, t);
	assert_int_equal(rd(r, 9), 0x99);
	assert_int_equal(rd(r, 0x32), 0x19);
	/* The clock runs on from the written time, across the new year. */
	nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	assert_int_equal(rd(r, 9), 0x00);
	assert_int_equal(rd(r, 0x32), 0x20);
	assert_int_equal(rd(r, 8), 0x01);
	assert_int_equal(rd(r, 7), 0x01);
	assert_true(rd(r, 0) <= 0x05);
	/* Frozen while SET is held. */
	wr(r, 0x0b, 0x82);
	assert_int_equal(rd(r, 9), 0x00);
	wr(r, 0x0b, 0x02);
	rtc_free(r);
}

static void test_register_c_clears(void **state)
{
	struct rtc *r = rtc_new(NULL, true, 256 << 20, 0);
	struct timespec ts = { 1, 100000000 };
	uint8_t c;

	wr(r, 0x0b, 0x12);				/* UIE */
	rd(r, 0x0c);
	nanosleep(&ts, NULL);
	c = rd(r, 0x0c);
	assert_int_equal(c & 0x90, 0x90);		/* UF + IRQF */
	assert_int_equal(c & 0x40, 0x40);		/* 1024 Hz rate elapsed */
	c = rd(r, 0x0c);
	assert_int_equal(c & 0x50, 0);			/* cleared by the read */
	/* Status A keeps the divider and rate the guest wrote. */
	wr(r, 0x0a, 0xaf);
	assert_int_equal(rd(r, 0x0a), 0x2f);
	rtc_free(r);
}

static void test_utc_vs_localtime(void **state)
{
	struct rtc *u, *l;
	int hu, hl;

	setenv("TZ", "UTC-5", 1);			/* POSIX: 5 hours east */
	tzset();
	u = rtc_new(NULL, true, 256 << 20, 0);
	l = rtc_new(NULL, false, 256 << 20, 0);
	wr(u, 0x0b, 0x06);
	wr(l, 0x0b, 0x06);
	do {
		hu = rd(u, 4);
		hl = rd(l, 4);
	} while (rd(u, 4) != hu);
	assert_int_equal((hu + 5) % 24, hl);
	rtc_free(u);
	rtc_free(l);
	unsetenv("TZ");
	tzset();
}

static void test_cmos_ram(void **state)
{
	struct rtc *r = rtc_new(NULL, true, 3ULL << 30, 5ULL << 30);

	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != 0x32)
			wr(r, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != 0x32)
			assert_int_equal(rd(r, (uint8_t)i), i ^ 0x5a);
	/* The NMI mask bit selects the same register. */
	assert_int_equal(rd(r, 0x80 | 0x20), 0x20 ^ 0x5a);
	rtc_free(r);
}

static void test_memory_bytes(void **state)
{
	struct rtc *r = rtc_new(NULL, true, 3ULL << 30, 5ULL << 30);
	unsigned lo, hi;

	assert_int_equal(rd(r, 0x15) | rd(r, 0x16) << 8, 640);
	assert_int_equal(rd(r, 0x17) | rd(r, 0x18) << 8, 0xffff);
	lo = rd(r, 0x34) | rd(r, 0x35) << 8;
	assert_int_equal(lo, ((3ULL << 30) - (16 << 20)) >> 16);
	hi = rd(r, 0x5b) | rd(r, 0x5c) << 8 | rd(r, 0x5d) << 16;
	assert_int_equal(hi, (5ULL << 30) >> 16);
	rtc_free(r);
	/* Tiny guests: nothing above 16 MiB, no underflow. */
	r = rtc_new(NULL, true, 8 << 20, 0);
	assert_int_equal(rd(r, 0x34) | rd(r, 0x35), 0);
	assert_int_equal(rd(r, 0x17) | rd(r, 0x18) << 8, 7 * 1024);
	rtc_free(r);
}

/* Interrupts: the timer on a real event loop raises IRQ 8. */
struct irqfx {
	pthread_mutex_t lock;
	int level, rises;
};

static void irq_set(void *opaque, unsigned gsi, int level)
{
	struct irqfx *f = opaque;

	pthread_mutex_lock(&f->lock);
	if (level && !f->level)
		f->rises++;
	f->level = level;
	pthread_mutex_unlock(&f->lock);
}

static void *loop_main(void *loop)
{
	evloop_run(loop);
	return NULL;
}

static int rises(struct irqfx *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->rises;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* Waits up to ms for the IRQ to have risen at least n times. */
static bool wait_rises(struct irqfx *f, int n, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (rises(f) >= n)
			return true;
		usleep(10000);
	}
	return rises(f) >= n;
}

static void test_interrupts(void **state)
{
	struct irqfx f = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct irq_line line = { irq_set, &f, 8 };
	struct evloop *loop = evloop_new();
	struct rtc *r = rtc_new(&line, true, 64 << 20, 0);
	pthread_t t;
	uint8_t c;

	assert_non_null(loop);
	assert_non_null(r);
	assert_int_equal(rtc_attach_loop(r, loop), 0);
	assert_int_equal(pthread_create(&t, NULL, loop_main, loop), 0);
	/* Nothing enabled: no interrupt. */
	usleep(300000);
	assert_int_equal(rises(&f), 0);
	/* Update-ended interrupt: one per second, each acknowledged by C. */
	wr(r, 0x0b, 0x02 | 0x10);
	assert_true(wait_rises(&f, 1, 1500));
	c = rd(r, 0x0c);
	assert_true(c & 0x80);
	assert_true(c & 0x10);
	pthread_mutex_lock(&f.lock);
	assert_int_equal(f.level, 0);		/* reading C lowers the line */
	pthread_mutex_unlock(&f.lock);
	assert_true(wait_rises(&f, 2, 1500));
	rd(r, 0x0c);
	/* Periodic interrupt at 1024 Hz (rate 6) instead. */
	wr(r, 0x0b, 0x02 | 0x40);
	wr(r, 0x0a, 0x26);
	{
		int before = rises(&f);

		for (int i = 0; i < 20; i++) {
			assert_true(wait_rises(&f, before + i + 1, 500));
			assert_true(rd(r, 0x0c) & 0x40);
		}
	}
	/* Disabled again: the line stays low. */
	wr(r, 0x0b, 0x02);
	rd(r, 0x0c);
	{
		int before = rises(&f);

		usleep(300000);
		assert_int_equal(rises(&f), before);
	}
	evloop_stop(loop);
	pthread_join(t, NULL);
	rtc_free(r);
	evloop_free(loop);
}

/* A restored RTC keeps the guest's time offset (it shows the written time
 * advanced by what passed), CMOS RAM and the registers; an impossible
 * index or a short section is refused. */
static void test_checkpoint_round_trip(void **state)
{
	const uint8_t t[8] = { 0x00, 0x30, 0x12, 0x01, 0x15, 0x06, 0x20, 0x20 };
	struct rtc *r = rtc_new(NULL, true, 256 << 20, 0), *q = rtc_new(NULL, true, 8 << 20, 0);
	struct snap_writer *w = malloc(sizeof(*w));
	struct snap_section sec;
	struct snap_cursor c;

	(void)state;
	assert_non_null(w);
	set_time(r, t);
	wr(r, 0x40, 0xab);			/* CMOS RAM */
	wr(r, 0x0a, 0x26);
	snap_writer_init(w);
	snap_begin(w, "dev", 1);
	rtc_save(r, w);
	sec = snaptest_section(w);
	snap_cursor_init(&c, &sec);
	assert_int_equal(rtc_restore(q, &c), 0);
	assert_true(snap_cursor_done(&c));
	assert_int_equal(rd(q, 0x40), 0xab);
	assert_int_equal(rd(q, 0x0a) & 0x7f, 0x26);
	assert_int_equal(rd(q, 9), 0x20);
	assert_int_equal(rd(q, 8), 0x06);
	assert_int_equal(rd(q, 4), 0x12);
	assert_int_equal(rd(q, 2), 0x30);
	assert_true(rd(q, 0) <= 0x02);
	assert_int_equal(rd(q, 0x34), rd(r, 0x34));	/* memory size bytes came along */

	w->buf[0] = 0x80;				/* index past the 128 registers */
	snap_cursor_init(&c, &sec);
	assert_int_equal(rtc_restore(q, &c), -EPROTO);
	w->buf[0] = 0;
	sec.size--;
	snap_cursor_init(&c, &sec);
	assert_int_equal(rtc_restore(q, &c), -EPROTO);
	snap_writer_free(w);
	free(w);
	rtc_free(r);
	rtc_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bcd_and_binary),
		cmocka_unit_test(test_12h_mode),
		cmocka_unit_test(test_written_time_persists),
		cmocka_unit_test(test_checkpoint_round_trip),
		cmocka_unit_test(test_register_c_clears),
		cmocka_unit_test(test_utc_vs_localtime),
		cmocka_unit_test(test_cmos_ram),
		cmocka_unit_test(test_memory_bytes),
		cmocka_unit_test(test_interrupts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
