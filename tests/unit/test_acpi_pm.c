/* ACPI fixed hardware as Linux's ACPI core uses it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/acpi_pm.h"
#include "snaptest.h"
#include "hw/layout.h"

struct fx {
	int level, changes, exits, code;
	struct irq_line sci;
	struct vm_exit_sink sink;
	struct acpi_pm *pm;
};

static void fake_irq(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;

	f->level = level;
	f->changes++;
}

static void fake_exit(void *opaque, enum vm_exit_code code)
{
	struct fx *f = opaque;

	f->exits++;
	f->code = (int)code;
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.code = -1;
	f.sci = (struct irq_line){ fake_irq, &f, LAYOUT_SCI_IRQ };
	f.sink = (struct vm_exit_sink){ fake_exit, &f };
	f.pm = acpi_pm_new(&f.sci, &f.sink);
	assert_non_null(f.pm);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	acpi_pm_free(((struct fx *)*state)->pm);
	return 0;
}

static void test_power_button(void **state)
{
	struct fx *f = *state;

	/* Not enabled: status set, no SCI. */
	acpi_pm_power_button(f->pm);
	assert_int_equal(acpi_pm_evt_ops.read(f->pm, 0, 2), 0x100);
	assert_int_equal(f->changes, 0);
	acpi_pm_evt_ops.write(f->pm, 0, 2, 0x100);
	assert_int_equal(acpi_pm_evt_ops.read(f->pm, 0, 2), 0);
	/* Enabled: the SCI goes up and stays up until write-1-to-clear. */
	acpi_pm_evt_ops.write(f->pm, 2, 2, 0x100);
	assert_int_equal(acpi_pm_evt_ops.read(f->pm, 2, 2), 0x100);
	acpi_pm_power_button(f->pm);
	assert_int_equal(f->level, 1);
	acpi_pm_evt_ops.write(f->pm, 0, 2, 0x001);	/* other bit: no effect */
	assert_int_equal(f->level, 1);
	/* A 32-bit write reaching both halves: clear status, keep enable. */
	acpi_pm_evt_ops.write(f->pm, 0, 4, 0x01000100);
	assert_int_equal(f->level, 0);
	assert_int_equal(f->changes, 2);
	assert_int_equal(acpi_pm_evt_ops.read(f->pm, 0, 4), 0x01000000);
	/* Status pending when enabled later raises it then. */
	acpi_pm_evt_ops.write(f->pm, 2, 2, 0);
	acpi_pm_power_button(f->pm);
	assert_int_equal(f->level, 0);
	acpi_pm_evt_ops.write(f->pm, 3, 1, 0x01);
	assert_int_equal(f->level, 1);
}

static void test_sleep(void **state)
{
	struct fx *f = *state;

	assert_int_equal(acpi_pm_cnt_ops.read(f->pm, 0, 2) & 1, 1);	/* SCI_EN */
	/* S3 ignored. */
	acpi_pm_cnt_ops.write(f->pm, 0, 2, (1u << 13) | (3u << 10));
	assert_int_equal(f->exits, 0);
	assert_int_equal(acpi_pm_cnt_ops.read(f->pm, 0, 2), 1 | (3u << 10));
	/* SLP_TYP alone does nothing. */
	acpi_pm_cnt_ops.write(f->pm, 0, 2, LAYOUT_SLP_TYP_S5 << 10);
	assert_int_equal(f->exits, 0);
	/* SLP_EN with S5, even as a lone high-byte write. */
	acpi_pm_cnt_ops.write(f->pm, 1, 1, 0x20 | (LAYOUT_SLP_TYP_S5 << 2));
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->code, VM_EXIT_POWEROFF);
	assert_int_equal(acpi_pm_cnt_ops.read(f->pm, 0, 2) & (1u << 13), 0);
}

static void test_pm_timer(void **state)
{
	struct fx *f = *state;
	struct timespec ts = { 0, 10000000 };
	uint64_t a, b;

	a = acpi_pm_tmr_ops.read(f->pm, 0, 4);
	nanosleep(&ts, NULL);
	b = acpi_pm_tmr_ops.read(f->pm, 0, 4);
	assert_true(a <= 0xffffff && b <= 0xffffff);
	/* 10 ms is ~35795 ticks; allow a slow, loaded host. */
	assert_true(b - a >= 35000 && b - a < 0x800000);
	for (int i = 0; i < 1000; i++) {
		uint64_t c = acpi_pm_tmr_ops.read(f->pm, 0, 4);

		assert_true(c >= b);
		b = c;
	}
	assert_int_equal(acpi_pm_tmr_ops.read(f->pm, 3, 1), 0);
}

static void test_reset_register(void **state)
{
	struct fx *f = *state;

	/* Linux's reboot=pci: 0x02 first (no reset), then 0x06. */
	acpi_reset_ops.write(f->pm, 0, 1, 0x02);
	assert_int_equal(f->exits, 0);
	assert_int_equal(acpi_reset_ops.read(f->pm, 0, 1), 0x02);
	acpi_reset_ops.write(f->pm, 0, 1, LAYOUT_RESET_VALUE);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->code, VM_EXIT_RESET);
	acpi_reset_ops.write(f->pm, 0, 1, 0x04);
	assert_int_equal(f->exits, 2);
	acpi_reset_ops.write(f->pm, 0, 1, 0x00);
	assert_int_equal(f->exits, 2);
}

/* A restored PM block keeps its enables and its timer continues from
 * where it was (not from zero); a bad SCI level is refused. */
static void test_checkpoint_round_trip(void **state)
{
	struct fx *f = *state, g = { 0 };
	struct snap_writer *w = malloc(sizeof(*w));
	struct timespec ts = { 0, 30000000 };
	struct snap_section sec;
	struct snap_cursor c;
	uint64_t before, after;

	assert_non_null(w);
	acpi_pm_evt_ops.write(f->pm, 2, 2, 0x100);
	nanosleep(&ts, NULL);		/* the timer has run 30 ms */
	before = acpi_pm_tmr_ops.read(f->pm, 0, 4);
	snap_writer_init(w);
	snap_begin(w, "dev", 1);
	acpi_pm_save(f->pm, w);
	sec = snaptest_section(w);

	g.sci = (struct irq_line){ fake_irq, &g, LAYOUT_SCI_IRQ };
	g.sink = (struct vm_exit_sink){ fake_exit, &g };
	g.pm = acpi_pm_new(&g.sci, &g.sink);
	assert_non_null(g.pm);
	snap_cursor_init(&c, &sec);
	assert_int_equal(acpi_pm_restore(g.pm, &c), 0);
	assert_true(snap_cursor_done(&c));
	after = acpi_pm_tmr_ops.read(g.pm, 0, 4);
	assert_int_equal(acpi_pm_evt_ops.read(g.pm, 2, 2), 0x100);
	assert_true(after >= before && after - before < 0x400000);

	w->buf[7] = 2;			/* sci_level: after sts, en, cnt, reset_ctl */
	snap_cursor_init(&c, &sec);
	assert_int_equal(acpi_pm_restore(g.pm, &c), -EPROTO);
	acpi_pm_free(g.pm);
	snap_writer_free(w);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pm_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
