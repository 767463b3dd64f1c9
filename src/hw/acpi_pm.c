/* ACPI PM1a blocks, PM timer and reset register.  Registers are handled a
 * byte at a time so any access size or alignment the guest uses behaves
 * like the same bytes on real hardware. */
#include "hw/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "hw/layout.h"
#include "lib/log.h"
#include "snapshot/snapfile.h"

#define STS_TMR		0x0001
#define STS_BM		0x0010
#define STS_GBL		0x0020
#define STS_PWRBTN	0x0100
#define STS_SLPBTN	0x0200
#define STS_RTC		0x0400
#define STS_WAK		0x8000
#define STS_MASK	(STS_TMR | STS_BM | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC | STS_WAK)
#define EN_MASK		(STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC)

#define CNT_SCI_EN	0x0001
#define CNT_BM_RLD	0x0002
#define CNT_SLP_TYP	0x1c00
#define CNT_SLP_SHIFT	10
#define CNT_SLP_EN	0x2000
#define CNT_KEEP	(CNT_BM_RLD | CNT_SLP_TYP)

#define PM_TIMER_HZ	3579545ULL
#define RESET_CPU	0x04	/* 0xCF9: bit 2 starts the reset */
#define RESET_HARD	0x02

/* Everything the guest can observe; a checkpoint saves this. */
struct acpi_pm_state {
	uint16_t sts, en, cnt;
	uint8_t reset_ctl;
	int sci_level;
};

struct acpi_pm {
	pthread_mutex_t lock;
	const struct irq_line *sci;
	const struct vm_exit_sink *exit;
	struct timespec t0;
	int sleep_logged;
	struct acpi_pm_state s;
};

/* SCI is level: high while an enabled status bit is set. */
static void update_sci(struct acpi_pm *pm)
{
	int level = (pm->s.sts & pm->s.en) != 0;

	if (level != pm->s.sci_level) {
		pm->s.sci_level = level;
		irq_line_set(pm->sci, level);
	}
}

/* Bytes [offset, offset+size) of a little-endian register file. */
static uint64_t get_bytes(const uint8_t *file, unsigned len, uint64_t offset, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && offset + i < len; i++)
		v |= (uint64_t)file[offset + i] << (8 * i);
	return v;
}

static uint64_t evt_read(void *dev, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = dev;
	uint8_t f[4];

	pthread_mutex_lock(&pm->lock);
	f[0] = (uint8_t)pm->s.sts;
	f[1] = (uint8_t)(pm->s.sts >> 8);
	f[2] = (uint8_t)pm->s.en;
	f[3] = (uint8_t)(pm->s.en >> 8);
	pthread_mutex_unlock(&pm->lock);
	return get_bytes(f, sizeof(f), offset, size);
}

static void evt_write_byte(struct acpi_pm *pm, uint64_t at, uint8_t b)
{
	unsigned shift = (at & 1) * 8;

	if (at < 2)		/* status: write 1 to clear */
		pm->s.sts &= (uint16_t)~((unsigned)b << shift);
	else
		pm->s.en = (uint16_t)(((pm->s.en & ~(0xffu << shift)) | (unsigned)b << shift) &
				      EN_MASK);
}

static void evt_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size && offset + i < LAYOUT_PM1A_EVT_LEN; i++)
		evt_write_byte(pm, offset + i, (uint8_t)(value >> (8 * i)));
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static uint64_t cnt_read(void *dev, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = dev;
	uint8_t f[2];
	uint16_t cnt;

	pthread_mutex_lock(&pm->lock);
	/* No SMI command port in the FADT: the OS finds ACPI mode already on. */
	cnt = pm->s.cnt | CNT_SCI_EN;
	pthread_mutex_unlock(&pm->lock);
	f[0] = (uint8_t)cnt;
	f[1] = (uint8_t)(cnt >> 8);
	return get_bytes(f, sizeof(f), offset, size);
}

static void cnt_sleep(struct acpi_pm *pm, unsigned typ)
{
	if (typ == LAYOUT_SLP_TYP_S5) {
		vm_exit_request(pm->exit, VM_EXIT_POWEROFF);
		return;
	}
	log_error_once(&pm->sleep_logged,
		       "guest asked for ACPI sleep type %u; only S5 (poweroff) is supported, ignored",
		       typ);
}

static void cnt_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = dev;
	uint16_t v;
	bool sleep;

	pthread_mutex_lock(&pm->lock);
	v = pm->s.cnt;
	for (unsigned i = 0; i < size && offset + i < LAYOUT_PM1A_CNT_LEN; i++) {
		unsigned shift = (unsigned)(offset + i) * 8;

		v = (uint16_t)((v & ~(0xffu << shift)) | ((value >> (8 * i)) & 0xff) << shift);
	}
	sleep = v & CNT_SLP_EN;
	pm->s.cnt = v & CNT_KEEP;	/* SLP_EN and GBL_RLS are write-only */
	pthread_mutex_unlock(&pm->lock);
	if (sleep)
		cnt_sleep(pm, (v & CNT_SLP_TYP) >> CNT_SLP_SHIFT);
}

static uint32_t pm_timer(const struct acpi_pm *pm)
{
	struct timespec now;
	uint64_t ns, ticks;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)(now.tv_sec - pm->t0.tv_sec) * 1000000000ULL +
	     (uint64_t)(now.tv_nsec - pm->t0.tv_nsec);
	/* Whole seconds apart, so the product cannot overflow. */
	ticks = ns / 1000000000ULL * PM_TIMER_HZ + ns % 1000000000ULL * PM_TIMER_HZ / 1000000000ULL;
	return (uint32_t)(ticks & 0xffffff);
}

static uint64_t tmr_read(void *dev, uint64_t offset, unsigned size)
{
	uint32_t t = pm_timer(dev);
	uint8_t f[4] = { (uint8_t)t, (uint8_t)(t >> 8), (uint8_t)(t >> 16), 0 };

	return get_bytes(f, sizeof(f), offset, size);
}

static void tmr_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	/* Read-only. */
}

static uint64_t reset_read(void *dev, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = dev;
	uint8_t v;

	pthread_mutex_lock(&pm->lock);
	v = pm->s.reset_ctl;
	pthread_mutex_unlock(&pm->lock);
	return v;
}

/* As QEMU's PIIX and bhyve: bit 2 resets (hard or soft alike, since
 * khyve restarts the whole VM); bit 1 is kept to select the type. */
static void reset_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	pm->s.reset_ctl = (uint8_t)(value & RESET_HARD);
	pthread_mutex_unlock(&pm->lock);
	if (value & RESET_CPU)
		vm_exit_request(pm->exit, VM_EXIT_RESET);
}

const struct io_ops acpi_pm_evt_ops = { .name = "pm1a-evt", .read = evt_read, .write = evt_write };
const struct io_ops acpi_pm_cnt_ops = { .name = "pm1a-cnt", .read = cnt_read, .write = cnt_write };
const struct io_ops acpi_pm_tmr_ops = { .name = "pm-tmr", .read = tmr_read, .write = tmr_write };
const struct io_ops acpi_reset_ops = { .name = "reset", .read = reset_read, .write = reset_write };

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->s.sts |= STS_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_new(const struct irq_line *sci, const struct vm_exit_sink *exit)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int err;

	if (!pm)
		return NULL;
	err = pthread_mutex_init(&pm->lock, NULL);
	if (err) {
		free(pm);
		errno = err;
		return NULL;
	}
	pm->sci = sci;
	pm->exit = exit;
	clock_gettime(CLOCK_MONOTONIC, &pm->t0);
	return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* ---- checkpoint ---- */

/* The PM timer is saved as the time it has run, so that it continues
 * from there rather than jumping by the time spent on disk. */
void acpi_pm_save(struct acpi_pm *pm, struct snap_writer *w)
{
	struct timespec now;

	pthread_mutex_lock(&pm->lock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	snap_put_u16(w, pm->s.sts);
	snap_put_u16(w, pm->s.en);
	snap_put_u16(w, pm->s.cnt);
	snap_put_u8(w, pm->s.reset_ctl);
	snap_put_u8(w, (uint8_t)pm->s.sci_level);
	snap_put_u64(w, (uint64_t)(now.tv_sec - pm->t0.tv_sec) * 1000000000u +
			(uint64_t)(now.tv_nsec - pm->t0.tv_nsec));
	pthread_mutex_unlock(&pm->lock);
}

int acpi_pm_restore(struct acpi_pm *pm, struct snap_cursor *c)
{
	struct acpi_pm_state s;
	struct timespec now;
	uint64_t ran;
	uint8_t level;

	s.sts = snap_get_u16(c);
	s.en = snap_get_u16(c);
	s.cnt = snap_get_u16(c);
	s.reset_ctl = snap_get_u8(c);
	level = snap_get_u8(c);
	ran = snap_get_u64(c);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (c->bad || level > 1 || ran / 1000000000u > (uint64_t)now.tv_sec)
		return -EPROTO;
	s.sci_level = level;	/* the line's level is in the restored irqchip */
	pthread_mutex_lock(&pm->lock);
	pm->s = s;
	pm->t0.tv_sec = now.tv_sec - (time_t)(ran / 1000000000u);
	pm->t0.tv_nsec = now.tv_nsec - (long)(ran % 1000000000u);
	if (pm->t0.tv_nsec < 0) {
		pm->t0.tv_nsec += 1000000000L;
		pm->t0.tv_sec--;
	}
	pthread_mutex_unlock(&pm->lock);
	return 0;
}
