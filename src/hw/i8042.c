/* 8042 keyboard controller.  Bytes for the guest wait in a small queue and
 * are shown one at a time in the output buffer; each one raises its port's
 * IRQ line anew (deassert on read, assert for the next), because ISA IRQ 1
 * and 12 are edge-triggered. */
#include "hw/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "snapshot/snapfile.h"

#define STS_OBF		0x01
#define STS_SYS		0x04
#define STS_CMD		0x08	/* last write went to 0x64 */
#define STS_UNLOCKED	0x10
#define STS_AUXB	0x20

#define CTR_KBDINT	0x01
#define CTR_AUXINT	0x02
#define CTR_SYS		0x04
#define CTR_KBDDIS	0x10
#define CTR_AUXDIS	0x20
#define CTR_XLATE	0x40

#define OUTPORT_RESET_N	0x01	/* low = CPU held in reset */
#define QUEUE_LEN	16

/* What the next byte written to 0x60 means. */
enum i8042_expect {
	EXPECT_KBD_CMD = 0,	/* a keyboard command */
	EXPECT_KBD_ARG,		/* the argument of 0xED/0xF0/0xF3 */
	EXPECT_RAM,		/* 0x60-0x7F: controller RAM byte */
	EXPECT_OUTPORT,		/* 0xD1 */
	EXPECT_KBD_OBUF,	/* 0xD2: echo as keyboard data */
	EXPECT_AUX_OBUF,	/* 0xD3: echo as mouse data */
	EXPECT_AUX_CMD,		/* 0xD4: byte for the (absent) mouse */
};

/* Everything the guest can observe; a checkpoint saves this. */
struct i8042_state {
	uint8_t ram[32];	/* ram[0] is the configuration byte */
	uint8_t status, outport, last;
	uint8_t expect, expect_arg_of, ram_index;
	uint8_t scanset;
	uint8_t q_data[QUEUE_LEN];
	bool q_aux[QUEUE_LEN];
	uint8_t q_head, q_count;
	int kbd_level, aux_level;
};

struct i8042 {
	pthread_mutex_t lock;
	const struct irq_line *kbd_irq, *aux_irq;
	const struct vm_exit_sink *exit;
	struct i8042_state s;
};

static void set_level(const struct irq_line *l, int *cur, int level)
{
	if (*cur != level) {
		*cur = level;
		irq_line_set(l, level);
	}
}

static void update_irq(struct i8042 *k)
{
	struct i8042_state *s = &k->s;
	bool aux = s->q_count && s->q_aux[s->q_head];
	int kbd_lvl = s->q_count && !aux && (s->ram[0] & CTR_KBDINT);
	int aux_lvl = aux && (s->ram[0] & CTR_AUXINT);

	set_level(k->kbd_irq, &s->kbd_level, kbd_lvl);
	set_level(k->aux_irq, &s->aux_level, aux_lvl);
}

static void push(struct i8042 *k, uint8_t v, bool aux)
{
	struct i8042_state *s = &k->s;
	unsigned i;

	if (s->q_count >= QUEUE_LEN)
		return;		/* a guest not reading loses the newest bytes */
	i = (s->q_head + s->q_count) % QUEUE_LEN;
	s->q_data[i] = v;
	s->q_aux[i] = aux;
	s->q_count++;
}

static uint8_t status_byte(const struct i8042_state *s)
{
	uint8_t st = s->status | STS_UNLOCKED;

	if (s->ram[0] & CTR_SYS)
		st |= STS_SYS;
	if (s->q_count) {
		st |= STS_OBF;
		if (s->q_aux[s->q_head])
			st |= STS_AUXB;
	}
	return st;
}

static uint8_t pop(struct i8042 *k)
{
	struct i8042_state *s = &k->s;

	if (!s->q_count)
		return s->last;		/* the buffer keeps its last byte */
	s->last = s->q_data[s->q_head];
	s->q_head = (s->q_head + 1) % QUEUE_LEN;
	s->q_count--;
	/* Drop the lines so the next byte makes a fresh edge. */
	set_level(k->kbd_irq, &s->kbd_level, 0);
	set_level(k->aux_irq, &s->aux_level, 0);
	return s->last;
}

/* Keyboard commands, answered as a real AT keyboard would. */
static void kbd_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0xff:		/* reset: ack, then self-test passed */
		push(k, 0xfa, false);
		push(k, 0xaa, false);
		k->s.scanset = 2;
		break;
	case 0xf2:		/* identify: MF2 keyboard */
		push(k, 0xfa, false);
		push(k, 0xab, false);
		push(k, (k->s.ram[0] & CTR_XLATE) ? 0x41 : 0x83, false);
		break;
	case 0xee:		/* echo */
		push(k, 0xee, false);
		break;
	case 0xed: case 0xf0: case 0xf3:
		push(k, 0xfa, false);
		k->s.expect = EXPECT_KBD_ARG;
		k->s.expect_arg_of = cmd;
		break;
	default:
		/* F4 enable, F5 disable, F6 defaults, F7-FD typematic modes. */
		push(k, cmd >= 0xf4 ? 0xfa : 0xfe, false);
		break;
	}
}

static void kbd_argument(struct i8042 *k, uint8_t arg)
{
	push(k, 0xfa, false);
	if (k->s.expect_arg_of != 0xf0)
		return;
	if (arg == 0)		/* query the scan code set */
		push(k, (k->s.ram[0] & CTR_XLATE) ? 0x41 : k->s.scanset, false);
	else if (arg <= 3)
		k->s.scanset = arg;
}

/* Returns true when the guest pulled the reset line. */
static bool data_write(struct i8042 *k, uint8_t v)
{
	uint8_t expect = k->s.expect;

	k->s.expect = EXPECT_KBD_CMD;
	switch (expect) {
	case EXPECT_KBD_ARG:
		kbd_argument(k, v);
		break;
	case EXPECT_RAM:
		k->s.ram[k->s.ram_index % sizeof(k->s.ram)] = v;
		break;
	case EXPECT_OUTPORT:
		k->s.outport = v;
		return !(v & OUTPORT_RESET_N);
	case EXPECT_KBD_OBUF:
		push(k, v, false);
		break;
	case EXPECT_AUX_OBUF:
		push(k, v, true);
		break;
	case EXPECT_AUX_CMD:
		push(k, 0xfe, true);	/* no mouse: "resend" */
		break;
	default:
		kbd_command(k, v);
		break;
	}
	return false;
}

static void ctl_expect(struct i8042 *k, enum i8042_expect e)
{
	k->s.expect = (uint8_t)e;
}

/* Returns true when the guest pulsed the reset line. */
static bool ctl_command(struct i8042 *k, uint8_t cmd)
{
	uint8_t *ctr = &k->s.ram[0];

	if (cmd >= 0x20 && cmd < 0x40) {
		push(k, k->s.ram[cmd & 0x1f], false);
		return false;
	}
	if (cmd >= 0x60 && cmd < 0x80) {
		k->s.ram_index = cmd & 0x1f;
		ctl_expect(k, EXPECT_RAM);
		return false;
	}
	if (cmd >= 0xf0)	/* pulse output lines; bit 0 low = reset */
		return !(cmd & 0x01);
	switch (cmd) {
	case 0xa7: *ctr |= CTR_AUXDIS; break;
	case 0xa8: *ctr &= (uint8_t)~CTR_AUXDIS; break;
	case 0xa9: push(k, 0x00, false); break;	/* aux interface OK */
	case 0xaa: push(k, 0x55, false); *ctr |= CTR_SYS; break;
	case 0xab: push(k, 0x00, false); break;	/* kbd interface OK */
	case 0xad: *ctr |= CTR_KBDDIS; break;
	case 0xae: *ctr &= (uint8_t)~CTR_KBDDIS; break;
	case 0xc0: push(k, 0x80, false); break;	/* input port: not inhibited */
	case 0xd0: push(k, k->s.outport, false); break;
	case 0xd1: ctl_expect(k, EXPECT_OUTPORT); break;
	case 0xd2: ctl_expect(k, EXPECT_KBD_OBUF); break;
	case 0xd3: ctl_expect(k, EXPECT_AUX_OBUF); break;
	case 0xd4: ctl_expect(k, EXPECT_AUX_CMD); break;
	default: break;		/* A20 gate and vendor commands: ignored */
	}
	return false;
}

static void finish(struct i8042 *k, bool reset)
{
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset)
		vm_exit_request(k->exit, VM_EXIT_RESET);
}

static uint64_t data_read(void *dev, uint64_t offset, unsigned size)
{
	struct i8042 *k = dev;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = pop(k);
	finish(k, false);
	return v;
}

static void data_write_op(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = dev;
	bool reset;

	pthread_mutex_lock(&k->lock);
	k->s.status &= (uint8_t)~STS_CMD;
	reset = data_write(k, (uint8_t)value);
	finish(k, reset);
}

static uint64_t cmd_read(void *dev, uint64_t offset, unsigned size)
{
	struct i8042 *k = dev;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = status_byte(&k->s);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void cmd_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = dev;
	bool reset;

	pthread_mutex_lock(&k->lock);
	k->s.status |= STS_CMD;
	/* A new command cancels one still waiting for its data byte. */
	k->s.expect = EXPECT_KBD_CMD;
	reset = ctl_command(k, (uint8_t)value);
	finish(k, reset);
}

const struct io_ops i8042_data_ops = { .name = "i8042-data", .read = data_read,
				       .write = data_write_op };
const struct io_ops i8042_cmd_ops = { .name = "i8042-cmd", .read = cmd_read,
				      .write = cmd_write };

struct i8042 *i8042_new(const struct irq_line *kbd_irq, const struct irq_line *aux_irq,
			const struct vm_exit_sink *exit)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return NULL;
	err = pthread_mutex_init(&k->lock, NULL);
	if (err) {
		free(k);
		errno = err;
		return NULL;
	}
	k->kbd_irq = kbd_irq;
	k->aux_irq = aux_irq;
	k->exit = exit;
	/* As firmware leaves it: translation on, keyboard IRQ on, POST done. */
	k->s.ram[0] = CTR_XLATE | CTR_SYS | CTR_KBDINT;
	k->s.outport = OUTPORT_RESET_N | 0x02;	/* A20 enabled */
	k->s.scanset = 2;
	return k;
}

void i8042_free(struct i8042 *kbd)
{
	if (!kbd)
		return;
	pthread_mutex_destroy(&kbd->lock);
	free(kbd);
}

/* ---- checkpoint ---- */

void i8042_save(struct i8042 *k, struct snap_writer *w)
{
	const struct i8042_state *s = &k->s;

	pthread_mutex_lock(&k->lock);
	snap_put(w, s->ram, sizeof(s->ram));
	snap_put_u8(w, s->status);
	snap_put_u8(w, s->outport);
	snap_put_u8(w, s->last);
	snap_put_u8(w, s->expect);
	snap_put_u8(w, s->expect_arg_of);
	snap_put_u8(w, s->ram_index);
	snap_put_u8(w, s->scanset);
	snap_put(w, s->q_data, sizeof(s->q_data));
	for (unsigned i = 0; i < QUEUE_LEN; i++)
		snap_put_u8(w, s->q_aux[i]);
	snap_put_u8(w, s->q_head);
	snap_put_u8(w, s->q_count);
	snap_put_u8(w, (uint8_t)s->kbd_level);
	snap_put_u8(w, (uint8_t)s->aux_level);
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *k, struct snap_cursor *c)
{
	struct i8042_state s;
	bool bad = false;

	snap_get(c, s.ram, sizeof(s.ram));
	s.status = snap_get_u8(c);
	s.outport = snap_get_u8(c);
	s.last = snap_get_u8(c);
	s.expect = snap_get_u8(c);
	s.expect_arg_of = snap_get_u8(c);
	s.ram_index = snap_get_u8(c);
	s.scanset = snap_get_u8(c);
	snap_get(c, s.q_data, sizeof(s.q_data));
	for (unsigned i = 0; i < QUEUE_LEN; i++) {
		uint8_t aux = snap_get_u8(c);

		bad |= aux > 1;
		s.q_aux[i] = aux;
	}
	s.q_head = snap_get_u8(c);
	s.q_count = snap_get_u8(c);
	s.kbd_level = snap_get_u8(c);
	s.aux_level = snap_get_u8(c);
	if (c->bad || bad || s.q_head >= QUEUE_LEN || s.q_count > QUEUE_LEN ||
	    s.ram_index >= sizeof(s.ram) || s.kbd_level > 1 || s.aux_level > 1)
		return -EPROTO;
	/* The lines' levels are in the restored irqchip: only remembered. */
	pthread_mutex_lock(&k->lock);
	k->s = s;
	pthread_mutex_unlock(&k->lock);
	return 0;
}
