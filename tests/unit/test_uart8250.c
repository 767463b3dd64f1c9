/* The 16550A model driven as Linux's 8250 driver drives it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/uart8250.h"
#include "snaptest.h"

struct fake_irq {
	int level, changes;
};

static void fake_irq_set(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *f = opaque;

	f->level = level;
	f->changes++;
}

struct fx {
	struct fake_irq irqstate;
	struct irq_line irq;
	struct uart8250 *u;
	uint8_t tx[64];
	size_t ntx;
	int space_calls;
};

static void fake_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct fx *f = opaque;

	for (size_t i = 0; i < len && f->ntx < sizeof(f->tx); i++)
		f->tx[f->ntx++] = buf[i];
}

static void fake_space(void *opaque)
{
	((struct fx *)opaque)->space_calls++;
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.irq = (struct irq_line){ fake_irq_set, &f.irqstate, 4 };
	f.u = uart8250_new(&f.irq);
	assert_non_null(f.u);
	uart8250_set_tx(f.u, fake_tx, &f);
	uart8250_set_rx_space(f.u, fake_space, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	uart8250_free(f->u);
	return 0;
}

static uint8_t in(struct fx *f, unsigned reg)
{
	return (uint8_t)uart8250_ops.read(f->u, reg, 1);
}

static void out(struct fx *f, unsigned reg, uint8_t v)
{
	uart8250_ops.write(f->u, reg, 1, v);
}

static void test_divisor_latch(void **state)
{
	struct fx *f = *state;

	out(f, 3, 0x83);		/* DLAB, 8N1 */
	out(f, 0, 0x01);
	out(f, 1, 0x02);
	assert_int_equal(in(f, 0), 0x01);
	assert_int_equal(in(f, 1), 0x02);
	out(f, 3, 0x03);
	/* The latch hid IER and THR: nothing was sent, IER untouched. */
	assert_int_equal(f->ntx, 0);
	assert_int_equal(in(f, 1), 0x00);
	out(f, 0, 'A');
	assert_int_equal(f->ntx, 1);
	assert_int_equal(f->tx[0], 'A');
	out(f, 3, 0x83);
	assert_int_equal(in(f, 0), 0x01);
	assert_int_equal(in(f, 1), 0x02);
}

static void test_scratch_and_ier_mask(void **state)
{
	struct fx *f = *state;

	out(f, 7, 0xa5);
	assert_int_equal(in(f, 7), 0xa5);
	/* Linux's autoconfig: IER keeps exactly the low nibble. */
	out(f, 1, 0xff);
	assert_int_equal(in(f, 1), 0x0f);
	out(f, 1, 0);
	assert_int_equal(in(f, 1), 0);
}

static void test_fifo_order_and_overflow(void **state)
{
	struct fx *f = *state;
	uint8_t buf[20];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)('a' + i);
	out(f, 2, 0x07);		/* enable + clear FIFOs */
	assert_int_equal(in(f, 2) & 0xc0, 0xc0);
	assert_int_equal(uart8250_rx_push(f->u, buf, sizeof(buf)), 16);
	assert_int_equal(uart8250_rx_push(f->u, buf, 1), 0);
	assert_int_equal(in(f, 5) & 0x01, 0x01);
	assert_int_equal(f->space_calls, 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(in(f, 5) & 0x01, 0x01);
		assert_int_equal(in(f, 0), 'a' + i);
		/* The first byte read makes room: the backend is told once. */
		assert_int_equal(f->space_calls, 1);
	}
	assert_int_equal(in(f, 5) & 0x01, 0);
	/* Data held back by the backend is not an overrun. */
	assert_int_equal(in(f, 5) & 0x02, 0);
}

static void test_fifo_disabled_holds_one(void **state)
{
	struct fx *f = *state;
	const uint8_t buf[2] = { 'x', 'y' };

	assert_int_equal(in(f, 2) & 0xc0, 0);
	assert_int_equal(uart8250_rx_push(f->u, buf, 2), 1);
	assert_int_equal(in(f, 0), 'x');
	out(f, 2, 0x01);
	assert_int_equal(uart8250_rx_push(f->u, buf, 2), 2);
	/* Clearing the receive FIFO drops its contents. */
	out(f, 2, 0x03);
	assert_int_equal(in(f, 5) & 0x01, 0);
}

static void test_lsr_thre_temt(void **state)
{
	struct fx *f = *state;

	assert_int_equal(in(f, 5), 0x60);
	out(f, 0, 'z');
	assert_int_equal(in(f, 5), 0x60);
	assert_int_equal(f->ntx, 1);
}

static void test_thre_interrupt(void **state)
{
	struct fx *f = *state;

	assert_int_equal(in(f, 2), 0x01);
	assert_int_equal(f->irqstate.changes, 0);
	/* Enabling ETBEI with THR empty raises THRE at once. */
	out(f, 1, 0x02);
	assert_int_equal(f->irqstate.level, 1);
	assert_int_equal(in(f, 2), 0x02);
	/* Reading IIR consumed it. */
	assert_int_equal(f->irqstate.level, 0);
	assert_int_equal(in(f, 2), 0x01);
	/* Linux's THRE test: IER 0 then ETBEI again re-asserts. */
	out(f, 1, 0);
	out(f, 1, 0x02);
	assert_int_equal(in(f, 2), 0x02);
	/* A THR write empties at once and re-arms THRE. */
	out(f, 0, 'q');
	assert_int_equal(f->irqstate.level, 1);
	out(f, 1, 0);
	assert_int_equal(f->irqstate.level, 0);
	assert_int_equal(in(f, 2), 0x01);
}

static void test_iir_priorities(void **state)
{
	struct fx *f = *state;
	const uint8_t c = 'r';

	out(f, 2, 0xc1);		/* FIFO on, trigger 14 */
	out(f, 1, 0x0f);
	assert_int_equal(in(f, 2), 0xc2);	/* only THRE pending */
	out(f, 1, 0x0d);
	assert_int_equal(f->irqstate.level, 0);
	assert_int_equal(uart8250_rx_push(f->u, &c, 1), 1);
	assert_int_equal(f->irqstate.level, 1);
	/* Below the trigger level: reported as a character timeout. */
	assert_int_equal(in(f, 2), 0xcc);
	out(f, 1, 0x0f);
	/* Received data outranks THRE. */
	assert_int_equal(in(f, 2), 0xcc);
	/* Loopback overrun: line status outranks everything. */
	out(f, 4, 0x10);
	for (unsigned i = 0; i < 16; i++)
		out(f, 0, (uint8_t)i);
	assert_int_equal(in(f, 2), 0xc6);
	assert_int_equal(in(f, 5) & 0x03, 0x03);	/* DR + OE, read clears OE */
	assert_int_equal(in(f, 2), 0xc4);	/* 16 bytes >= trigger */
	assert_int_equal(f->irqstate.level, 1);
	out(f, 2, 0xc3);
	/* FIFO flushed; THRE (consumed by none of the reads above) is next. */
	assert_int_equal(in(f, 2), 0xc2);
	/* MSR deltas come last: entering loopback dropped DCD, DSR, CTS. */
	assert_int_equal(f->irqstate.level, 1);
	assert_int_equal(in(f, 2), 0xc0);
	assert_int_equal(in(f, 6), 0x0b);
	assert_int_equal(f->irqstate.level, 0);
	out(f, 4, 0x12);
	assert_int_equal(f->irqstate.level, 1);
	assert_int_equal(in(f, 2), 0xc0);
	assert_int_equal(in(f, 6) & 0x1f, 0x11);
	assert_int_equal(in(f, 2), 0xc1);
	assert_int_equal(f->irqstate.level, 0);
}

static void test_loopback_probe(void **state)
{
	struct fx *f = *state;
	const uint8_t c = 'h';

	/* What autoconfig() checks: MCR 0x1a -> MSR top nibble 0x90. */
	out(f, 4, 0x1a);
	assert_int_equal(in(f, 6) & 0xf0, 0x90);
	out(f, 4, 0x1f);
	assert_int_equal(in(f, 6) & 0xf0, 0xf0);
	/* FCR enable -> IIR bits 7:6 set: 16550A. */
	out(f, 3, 0);
	out(f, 2, 0x01);
	assert_int_equal(in(f, 2) >> 6, 3);
	/* Transmit loops into receive and stays off the wire. */
	out(f, 0, 0x55);
	assert_int_equal(f->ntx, 0);
	assert_int_equal(in(f, 5) & 0x01, 1);
	assert_int_equal(in(f, 0), 0x55);
	/* Host input is not heard while in loopback... */
	assert_int_equal(uart8250_rx_push(f->u, &c, 1), 0);
	/* ...and leaving loopback invites the backend back. */
	out(f, 4, 0x0b);
	assert_int_equal(f->space_calls, 1);
	assert_int_equal(in(f, 6) & 0xf0, 0xb0);
	assert_int_equal(uart8250_rx_push(f->u, &c, 1), 1);
}

static void test_bad_offset(void **state)
{
	struct fx *f = *state;

	assert_int_equal(uart8250_ops.read(f->u, 8, 1), 0xff);
	uart8250_ops.write(f->u, 1000, 1, 1);
	assert_int_equal(f->ntx, 0);
}

/* A second UART restored from the first's checkpoint reads back the same
 * registers and FIFO; impossible FIFO indices and short sections are
 * refused. */
static void test_checkpoint_round_trip(void **state)
{
	struct fx *f = *state;
	struct snap_writer *w = malloc(sizeof(*w));
	struct fx g = { 0 };
	struct snap_section sec;
	struct snap_cursor c;

	assert_non_null(w);
	out(f, 3, 0x83);
	out(f, 0, 0x0c);
	out(f, 3, 0x1b);		/* 8E1 */
	out(f, 2, 0xc7);		/* FIFO on, trigger 14 */
	out(f, 7, 0x5a);
	out(f, 1, 0x01);
	assert_int_equal(uart8250_rx_push(f->u, (const uint8_t *)"hey", 3), 3);
	snap_writer_init(w);
	snap_begin(w, "isa.com1", 1);
	uart8250_save(f->u, w);
	sec = snaptest_section(w);

	g.irq = (struct irq_line){ fake_irq_set, &g.irqstate, 4 };
	g.u = uart8250_new(&g.irq);
	assert_non_null(g.u);
	snap_cursor_init(&c, &sec);
	assert_int_equal(uart8250_restore(g.u, &c), 0);
	assert_true(snap_cursor_done(&c));
	assert_int_equal(in(&g, 3), 0x1b);
	assert_int_equal(in(&g, 7), 0x5a);
	assert_int_equal(in(&g, 1), 0x01);
	assert_int_equal(in(&g, 0), 'h');
	assert_int_equal(in(&g, 0), 'e');
	assert_int_equal(in(&g, 0), 'y');
	out(&g, 3, 0x9b);
	assert_int_equal(in(&g, 0), 0x0c);

	/* fifo_head is the 24th byte: 9 registers, thre, 16 FIFO bytes */
	w->buf[9 + 1 + 16] = UART8250_FIFO_SIZE;
	snap_cursor_init(&c, &sec);
	assert_int_equal(uart8250_restore(g.u, &c), -EPROTO);
	sec.size--;
	snap_cursor_init(&c, &sec);
	assert_int_equal(uart8250_restore(g.u, &c), -EPROTO);
	uart8250_free(g.u);
	snap_writer_free(w);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_divisor_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_and_ier_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_order_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_disabled_holds_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lsr_thre_temt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
