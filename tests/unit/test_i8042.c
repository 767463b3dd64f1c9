/* The 8042 driven as Linux's i8042 and atkbd drivers drive it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/i8042.h"
#include "snaptest.h"

struct fx {
	int level[2], edges[2];
	int exits, code;
	struct irq_line kbd, aux;
	struct vm_exit_sink sink;
	struct i8042 *k;
};

static void fake_irq(void *opaque, unsigned gsi, int level)
{
	struct fx *f = opaque;
	int i = gsi == 12;

	if (level && !f->level[i])
		f->edges[i]++;
	f->level[i] = level;
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
	f.kbd = (struct irq_line){ fake_irq, &f, 1 };
	f.aux = (struct irq_line){ fake_irq, &f, 12 };
	f.sink = (struct vm_exit_sink){ fake_exit, &f };
	f.k = i8042_new(&f.kbd, &f.aux, &f.sink);
	assert_non_null(f.k);
	f.code = -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	i8042_free(((struct fx *)*state)->k);
	return 0;
}

static uint8_t status(struct fx *f) { return (uint8_t)i8042_cmd_ops.read(f->k, 0, 1); }
static void cmd(struct fx *f, uint8_t v) { i8042_cmd_ops.write(f->k, 0, 1, v); }
static void data_out(struct fx *f, uint8_t v) { i8042_data_ops.write(f->k, 0, 1, v); }

static int data_in(struct fx *f)
{
	if (!(status(f) & 0x01))
		return -1;
	return (int)i8042_data_ops.read(f->k, 0, 1);
}

static void test_self_test(void **state)
{
	struct fx *f = *state;

	assert_int_equal(status(f) & 0x01, 0);
	cmd(f, 0xaa);
	assert_int_equal(status(f) & 0x0d, 0x0d);	/* OBF, SYS, command */
	assert_int_equal(data_in(f), 0x55);
	assert_int_equal(data_in(f), -1);
	cmd(f, 0xab);
	assert_int_equal(data_in(f), 0x00);
	cmd(f, 0xa9);
	assert_int_equal(data_in(f), 0x00);
}

static void test_config_byte(void **state)
{
	struct fx *f = *state;

	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x45);
	cmd(f, 0x60);
	data_out(f, 0x74);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x74);
	/* AUX and keyboard enable/disable show in the config byte. */
	cmd(f, 0xa8);
	cmd(f, 0xae);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x44);
	cmd(f, 0xa7);
	cmd(f, 0xad);
	cmd(f, 0x20);
	assert_int_equal(data_in(f), 0x74);
}

static void test_keyboard_irq(void **state)
{
	struct fx *f = *state;

	/* Config byte has KBDINT: each queued byte is its own edge. */
	data_out(f, 0xff);
	assert_int_equal(f->edges[0], 1);
	assert_int_equal(data_in(f), 0xfa);
	assert_int_equal(f->edges[0], 2);
	assert_int_equal(data_in(f), 0xaa);
	assert_int_equal(f->level[0], 0);
	/* Interrupt disabled in the config byte: data, no IRQ. */
	cmd(f, 0x60);
	data_out(f, 0x44);
	data_out(f, 0xf4);
	assert_int_equal(f->edges[0], 2);
	assert_int_equal(data_in(f), 0xfa);
}

static void test_keyboard_answers(void **state)
{
	struct fx *f = *state;

	data_out(f, 0xff);
	assert_int_equal(data_in(f), 0xfa);
	assert_int_equal(data_in(f), 0xaa);
	data_out(f, 0xf2);
	assert_int_equal(data_in(f), 0xfa);
	assert_int_equal(data_in(f), 0xab);
	assert_int_equal(data_in(f), 0x41);	/* translated MF2 id */
	/* Commands with an argument: ack each byte, nothing else. */
	data_out(f, 0xed);
	assert_int_equal(data_in(f), 0xfa);
	data_out(f, 0x07);
	assert_int_equal(data_in(f), 0xfa);
	assert_int_equal(data_in(f), -1);
	data_out(f, 0xf3);
	data_out(f, 0x00);
	assert_int_equal(data_in(f), 0xfa);
	assert_int_equal(data_in(f), 0xfa);
	assert_int_equal(data_in(f), -1);
	data_out(f, 0xf5);
	assert_int_equal(data_in(f), 0xfa);
	data_out(f, 0xf4);
	assert_int_equal(data_in(f), 0xfa);
	data_out(f, 0xee);
	assert_int_equal(data_in(f), 0xee);
}

static void test_no_mouse(void **state)
{
	struct fx *f = *state;

	cmd(f, 0xd4);
	data_out(f, 0xff);
	assert_int_equal(status(f) & 0x21, 0x21);	/* OBF from AUX */
	assert_int_equal(data_in(f), 0xfe);
	/* AUX loopback (Linux's AUX probe) raises IRQ 12 when enabled. */
	cmd(f, 0x60);
	data_out(f, 0x47);
	cmd(f, 0xd3);
	data_out(f, 0x5a);
	assert_int_equal(f->edges[1], 1);
	assert_int_equal(data_in(f), 0x5a);
	assert_int_equal(f->level[1], 0);
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	cmd(f, 0xfe);
	assert_int_equal(f->exits, 1);
	assert_int_equal(f->code, VM_EXIT_RESET);
	/* Output port with bit 0 clear holds the CPU in reset too. */
	cmd(f, 0xd1);
	data_out(f, 0x03);
	assert_int_equal(f->exits, 1);
	cmd(f, 0xd1);
	data_out(f, 0x02);
	assert_int_equal(f->exits, 2);
	/* 0xFF pulses no line. */
	cmd(f, 0xff);
	assert_int_equal(f->exits, 2);
}

/* A restored controller keeps its configuration byte and the bytes
 * waiting in its output queue; an impossible queue is refused. */
static void test_checkpoint_round_trip(void **state)
{
	struct fx *f = *state, g = { 0 };
	struct snap_writer *w = malloc(sizeof(*w));
	struct snap_section sec;
	struct snap_cursor c;

	assert_non_null(w);
	cmd(f, 0x60);
	data_out(f, 0x74);
	cmd(f, 0xaa);			/* self test: 0x55 waits in the queue */
	snap_writer_init(w);
	snap_begin(w, "dev", 1);
	i8042_save(f->k, w);
	sec = snaptest_section(w);

	g.k = i8042_new(&f->kbd, &f->aux, &f->sink);
	assert_non_null(g.k);
	snap_cursor_init(&c, &sec);
	assert_int_equal(i8042_restore(g.k, &c), 0);
	assert_true(snap_cursor_done(&c));
	assert_int_equal(data_in(&g), 0x55);
	cmd(&g, 0x20);
	assert_int_equal(data_in(&g), 0x74);

	w->buf[w->len - 3] = 17;	/* q_count past the 16-byte queue */
	snap_cursor_init(&c, &sec);
	assert_int_equal(i8042_restore(g.k, &c), -EPROTO);
	i8042_free(g.k);
	snap_writer_free(w);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_self_test, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_mouse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
