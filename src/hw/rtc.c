/* MC146818 RTC.  The clock is never stored: reads encode host time plus
 * the guest's offset, writes of time registers move that offset.  Update,
 * alarm and periodic flags are worked out when register C is read (for
 * guests that poll) and, once rtc_attach_loop() gave it a timer, latched
 * by that timer, which raises IRQ 8 for the sources register B enables
 * (hwclock waits for the update interrupt).  The timer only runs while an
 * interrupt is enabled. */
#include "hw/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/evloop.h"
#include "lib/log.h"
#include "snapshot/snapfile.h"

#define REG_SEC		0x00
#define REG_SEC_ALARM	0x01
#define REG_MIN		0x02
#define REG_MIN_ALARM	0x03
#define REG_HOUR	0x04
#define REG_HOUR_ALARM	0x05
#define REG_WDAY	0x06
#define REG_MDAY	0x07
#define REG_MON		0x08
#define REG_YEAR	0x09
#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d
#define REG_CENTURY	0x32	/* the FADT's century index */
#define NREGS		0x80

#define A_UIP		0x80
#define B_SET		0x80
#define B_PIE		0x40
#define B_AIE		0x20
#define B_UIE		0x10
#define B_BINARY	0x04
#define B_24H		0x02
#define C_IRQF		0x80
#define C_PF		0x40
#define C_AF		0x20
#define C_UF		0x10
#define D_VRT		0x80
#define HOUR_PM		0x80
#define ALARM_ANY	0xc0	/* alarm byte 0xC0-0xFF: don't care */

/* Everything the guest can observe; a checkpoint saves this. */
struct rtc_state {
	uint8_t index;
	uint8_t regs[NREGS];	/* alarms, A-D, CMOS RAM; time regs while SET */
	int64_t offset;		/* guest time - host time, seconds */
	int64_t last_c_sec;	/* guest second of the previous C read */
	int64_t last_c_ns;	/* monotonic ns of the previous C read */
	int64_t last_tick_sec;	/* guest second the timer last saw */
	uint8_t latched_c;	/* flags the timer set since the last C read */
	int irq_level;
};

struct rtc {
	pthread_mutex_t lock;
	const struct irq_line *irq;
	bool utc;
	struct evloop *loop;
	int timer_fd;		/* -1 until rtc_attach_loop() */
	struct rtc_state s;
};

static const uint8_t time_regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_WDAY, REG_MDAY,
				     REG_MON, REG_YEAR, REG_CENTURY };

static bool is_time_reg(unsigned r)
{
	for (size_t i = 0; i < sizeof(time_regs); i++)
		if (time_regs[i] == r)
			return true;
	return false;
}

static int64_t host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint8_t encode(const struct rtc *r, int v)
{
	if (r->s.regs[REG_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

/* Any byte decodes to something in 0..255: garbage in, odd date out. */
static int decode(const struct rtc *r, uint8_t v)
{
	if (r->s.regs[REG_B] & B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t encode_hour(const struct rtc *r, int hour)
{
	int h12 = hour % 12 ? hour % 12 : 12;

	if (r->s.regs[REG_B] & B_24H)
		return encode(r, hour);
	return encode(r, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int decode_hour(const struct rtc *r, uint8_t v)
{
	if (r->s.regs[REG_B] & B_24H)
		return decode(r, v);
	return decode(r, v & (uint8_t)~HOUR_PM) % 12 + ((v & HOUR_PM) ? 12 : 0);
}

static void guest_tm(const struct rtc *r, int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	if (!(r->utc ? gmtime_r(&tt, tm) : localtime_r(&tt, tm)))
		memset(tm, 0, sizeof(*tm));
}

static uint8_t time_reg(const struct rtc *r, const struct tm *tm, unsigned reg)
{
	int year = tm->tm_year + 1900;

	switch (reg) {
	case REG_SEC: return encode(r, tm->tm_sec);
	case REG_MIN: return encode(r, tm->tm_min);
	case REG_HOUR: return encode_hour(r, tm->tm_hour);
	case REG_WDAY: return encode(r, tm->tm_wday + 1);
	case REG_MDAY: return encode(r, tm->tm_mday);
	case REG_MON: return encode(r, tm->tm_mon + 1);
	case REG_YEAR: return encode(r, year % 100);
	default: return encode(r, year / 100 % 100);
	}
}

/* Freezes the current time into regs[] (entering SET, or before a
 * single-register write while running). */
static void latch_time(struct rtc *r)
{
	struct tm tm;

	guest_tm(r, host_now() + r->s.offset, &tm);
	for (size_t i = 0; i < sizeof(time_regs); i++)
		r->s.regs[time_regs[i]] = time_reg(r, &tm, time_regs[i]);
}

/* The guest's registers become the clock: store them as an offset. */
static void commit_time(struct rtc *r)
{
	const uint8_t *g = r->s.regs;
	struct tm tm = {
		.tm_sec = decode(r, g[REG_SEC]), .tm_min = decode(r, g[REG_MIN]),
		.tm_hour = decode_hour(r, g[REG_HOUR]), .tm_mday = decode(r, g[REG_MDAY]),
		.tm_mon = decode(r, g[REG_MON]) - 1,
		.tm_year = decode(r, g[REG_CENTURY]) * 100 + decode(r, g[REG_YEAR]) - 1900,
		.tm_isdst = -1,
	};
	time_t t = r->utc ? timegm(&tm) : mktime(&tm);

	r->s.offset = (int64_t)t - host_now();
}

/* Seconds a localtime clock shows ahead of UTC at t. */
static int64_t local_shift(const struct rtc *r, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (r->utc || !localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

int64_t rtc_get_time(struct rtc *r)
{
	int64_t t;

	pthread_mutex_lock(&r->lock);
	t = host_now() + r->s.offset;
	t += local_shift(r, t);
	pthread_mutex_unlock(&r->lock);
	return t;
}

void rtc_set_time(struct rtc *r, int64_t secs)
{
	pthread_mutex_lock(&r->lock);
	/* The instant whose (local) time reads as secs does in UTC. */
	r->s.offset = secs - local_shift(r, secs) - host_now();
	if (r->s.regs[REG_B] & B_SET)
		latch_time(r);
	pthread_mutex_unlock(&r->lock);
}

static bool alarm_match(uint8_t alarm, uint8_t now)
{
	return (alarm & ALARM_ANY) == ALARM_ANY || alarm == now;
}

/* Does guest second `now` match the alarm registers? */
static bool alarm_due(const struct rtc *r, int64_t now)
{
	const uint8_t *g = r->s.regs;
	struct tm tm;

	guest_tm(r, now, &tm);
	return alarm_match(g[REG_SEC_ALARM], time_reg(r, &tm, REG_SEC)) &&
	       alarm_match(g[REG_MIN_ALARM], time_reg(r, &tm, REG_MIN)) &&
	       alarm_match(g[REG_HOUR_ALARM], time_reg(r, &tm, REG_HOUR));
}

/* Periodic rate rs (register A) in ns: 65536 >> rs Hz, rs 1 and 2 act as 8, 9. */
static int64_t periodic_ns(unsigned rs)
{
	return (int64_t)1000000000 / (65536 >> (rs < 3 ? rs + 7 : rs));
}

static uint8_t pending_flags(struct rtc *r)
{
	const uint8_t *g = r->s.regs;
	int64_t now = host_now() + r->s.offset, ns = mono_ns();
	unsigned rs = g[REG_A] & 0x0f;
	uint8_t c = 0;

	if (g[REG_B] & B_SET)
		return 0;
	if (now != r->s.last_c_sec)
		c |= C_UF;
	if (alarm_due(r, now))
		c |= C_AF;
	if (rs && ns - r->s.last_c_ns >= periodic_ns(rs))
		c |= C_PF;
	r->s.last_c_sec = now;
	r->s.last_c_ns = ns;
	return c;
}

static uint8_t enabled_flags(uint8_t b)
{
	return (b & B_PIE ? C_PF : 0) | (b & B_AIE ? C_AF : 0) | (b & B_UIE ? C_UF : 0);
}

static uint8_t read_c(struct rtc *r)
{
	uint8_t c = pending_flags(r) | r->s.latched_c, b = r->s.regs[REG_B];

	r->s.latched_c = 0;
	if (c & enabled_flags(b))
		c |= C_IRQF;
	if (r->s.irq_level) {
		r->s.irq_level = 0;
		irq_line_set(r->irq, 0);
	}
	return c;
}

static uint8_t reg_read(struct rtc *r, unsigned reg)
{
	struct tm tm;

	if (is_time_reg(reg) && !(r->s.regs[REG_B] & B_SET)) {
		guest_tm(r, host_now() + r->s.offset, &tm);
		return time_reg(r, &tm, reg);
	}
	switch (reg) {
	case REG_A: return r->s.regs[REG_A] & (uint8_t)~A_UIP;
	case REG_C: return read_c(r);
	case REG_D: return D_VRT;
	default: return r->s.regs[reg];
	}
}

static void write_b(struct rtc *r, uint8_t v)
{
	uint8_t old = r->s.regs[REG_B];

	if ((v & B_SET) && !(old & B_SET))
		latch_time(r);
	/* SET also stops update interrupts. */
	r->s.regs[REG_B] = (v & B_SET) ? (uint8_t)(v & ~B_UIE) : v;
	if (!(v & B_SET) && (old & B_SET))
		commit_time(r);
}

/* Runs the timer at the periodic rate when PIE wants it, else on every
 * wall-clock second for update/alarm, else not at all.  Lock held. */
static void rtc_arm_timer(struct rtc *r)
{
	struct itimerspec its = { 0 };
	uint8_t b = r->s.regs[REG_B];
	unsigned rs = r->s.regs[REG_A] & 0x0f;
	int flags = 0;
	static int once;

	if (r->timer_fd < 0)
		return;
	if ((b & B_PIE) && rs && !(b & B_SET)) {
		int64_t ns = periodic_ns(rs);

		its.it_interval = (struct timespec){ ns / 1000000000, ns % 1000000000 };
		its.it_value = its.it_interval;
	} else if ((b & (B_UIE | B_AIE)) && !(b & B_SET)) {
		/* Guest seconds tick with host seconds: the offset is whole seconds. */
		its.it_value = (struct timespec){ host_now() + 1, 0 };
		its.it_interval = (struct timespec){ 1, 0 };
		flags = TFD_TIMER_ABSTIME;
	}
	if (timerfd_settime(r->timer_fd, flags, &its, NULL) < 0)
		log_error_once(&once, "rtc: arming its timer: %s", strerror(errno));
}

static void rtc_tick(void *opaque, int fd, uint32_t events)
{
	struct rtc *r = opaque;
	int64_t now;
	uint64_t n;
	uint8_t f = 0, b;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&r->lock);
	b = r->s.regs[REG_B];
	now = host_now() + r->s.offset;
	if (!(b & B_SET)) {
		if (b & B_PIE)
			f |= C_PF;
		if (now != r->s.last_tick_sec) {
			f |= C_UF;
			if (alarm_due(r, now))
				f |= C_AF;
		}
	}
	r->s.last_tick_sec = now;
	r->s.latched_c |= f;
	/* Level until the guest reads C: an edge per interrupt. */
	if ((r->s.latched_c & enabled_flags(b)) && !r->s.irq_level) {
		r->s.irq_level = 1;
		irq_line_set(r->irq, 1);
	}
	pthread_mutex_unlock(&r->lock);
}

int rtc_attach_loop(struct rtc *r, struct evloop *loop)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	int rc;

	if (fd < 0)
		return -errno;
	rc = evloop_add(loop, fd, EPOLLIN, rtc_tick, r);
	if (rc) {
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&r->lock);
	r->loop = loop;
	r->timer_fd = fd;
	rtc_arm_timer(r);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void reg_write(struct rtc *r, unsigned reg, uint8_t v)
{
	if (is_time_reg(reg)) {
		bool running = !(r->s.regs[REG_B] & B_SET);

		if (running)
			latch_time(r);
		r->s.regs[reg] = v;
		if (running)
			commit_time(r);
		return;
	}
	switch (reg) {
	case REG_A: r->s.regs[REG_A] = v & (uint8_t)~A_UIP; rtc_arm_timer(r); break;
	case REG_B: write_b(r, v); rtc_arm_timer(r); break;
	case REG_C: case REG_D: break;		/* read-only */
	default: r->s.regs[reg] = v; break;
	}
}

static uint64_t rtc_read(void *dev, uint64_t offset, unsigned size)
{
	struct rtc *r = dev;
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	v = offset == 0 ? r->s.index : reg_read(r, r->s.index);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rtc_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct rtc *r = dev;

	pthread_mutex_lock(&r->lock);
	if (offset == 0)
		r->s.index = value & (NREGS - 1);	/* bit 7 is the NMI mask */
	else
		reg_write(r, r->s.index, (uint8_t)value);
	pthread_mutex_unlock(&r->lock);
}

const struct io_ops rtc_ops = { .name = "rtc", .read = rtc_read, .write = rtc_write };

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The memory-size bytes bhyve's rtc.c writes (UEFI reads 0x34 and 0x5b). */
static void set_memory_bytes(uint8_t *regs, uint64_t lowmem, uint64_t highmem)
{
	const uint64_t m64k = 64 << 10, m16m = 16 << 20, m1m = 1 << 20;
	uint64_t ext_kb = lowmem > m1m ? (lowmem - m1m) >> 10 : 0;
	uint64_t lo = lowmem > m16m ? (lowmem - m16m) / m64k : 0;
	uint64_t hi = highmem / m64k;

	put_le(&regs[0x15], 640, 2);			/* base memory, KiB */
	put_le(&regs[0x17], ext_kb > 0xffff ? 0xffff : ext_kb, 2);
	put_le(&regs[0x30], ext_kb > 0xffff ? 0xffff : ext_kb, 2);
	put_le(&regs[0x34], lo > 0xffff ? 0xffff : lo, 2);
	put_le(&regs[0x5b], hi > 0xffffff ? 0xffffff : hi, 3);
}

struct rtc *rtc_new(const struct irq_line *irq, bool utc, uint64_t lowmem, uint64_t highmem)
{
	struct rtc *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	err = pthread_mutex_init(&r->lock, NULL);
	if (err) {
		free(r);
		errno = err;
		return NULL;
	}
	r->irq = irq;
	r->utc = utc;
	r->timer_fd = -1;
	r->s.regs[REG_A] = 0x26;		/* 32.768 kHz base, 1024 Hz rate */
	r->s.regs[REG_B] = B_24H;
	set_memory_bytes(r->s.regs, lowmem, highmem);
	r->s.last_c_sec = host_now();
	r->s.last_c_ns = mono_ns();
	return r;
}

void rtc_free(struct rtc *rtc)
{
	if (!rtc)
		return;
	if (rtc->timer_fd >= 0) {
		(void)evloop_del(rtc->loop, rtc->timer_fd);
		close(rtc->timer_fd);
	}
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

/* ---- checkpoint ---- */

/* The guest's time stays an offset from the host's, so after a restore
 * the RTC shows the current time shifted as before: it has caught up.
 * The previous C read is saved as how long ago it was. */
void rtc_save(struct rtc *r, struct snap_writer *w)
{
	const struct rtc_state *s = &r->s;

	pthread_mutex_lock(&r->lock);
	snap_put_u8(w, s->index);
	snap_put(w, s->regs, sizeof(s->regs));
	snap_put_u64(w, (uint64_t)s->offset);
	snap_put_u64(w, (uint64_t)s->last_c_sec);
	snap_put_u64(w, (uint64_t)(mono_ns() - s->last_c_ns));
	snap_put_u64(w, (uint64_t)s->last_tick_sec);
	snap_put_u8(w, s->latched_c);
	snap_put_u8(w, (uint8_t)s->irq_level);
	pthread_mutex_unlock(&r->lock);
}

static bool within(int64_t v, int64_t limit)
{
	return v >= -limit && v <= limit;
}

int rtc_restore(struct rtc *r, struct snap_cursor *c)
{
	struct rtc_state s;
	int64_t age;
	uint8_t level;

	s.index = snap_get_u8(c);
	snap_get(c, s.regs, sizeof(s.regs));
	s.offset = (int64_t)snap_get_u64(c);
	s.last_c_sec = (int64_t)snap_get_u64(c);
	age = (int64_t)snap_get_u64(c);
	s.last_tick_sec = (int64_t)snap_get_u64(c);
	s.latched_c = snap_get_u8(c);
	level = snap_get_u8(c);
	/* about 300 years either way: enough for any RTC, no overflow later */
	if (c->bad || s.index >= NREGS || level > 1 || age < 0 || age > mono_ns() ||
	    !within(s.offset, INT64_C(10000000000)) || !within(s.last_c_sec, INT64_C(100000000000)) ||
	    !within(s.last_tick_sec, INT64_C(100000000000)))
		return -EPROTO;
	s.irq_level = level;	/* the line's level is in the restored irqchip */
	pthread_mutex_lock(&r->lock);
	s.last_c_ns = mono_ns() - age;
	r->s = s;
	rtc_arm_timer(r);
	pthread_mutex_unlock(&r->lock);
	return 0;
}
