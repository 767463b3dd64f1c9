/* 16550A UART.  Transmission is instantaneous, so THR is always empty by
 * the time the guest looks again; what matters to Linux's 8250 driver is
 * that the THRE interrupt is re-armed the way real chips do it (on IER
 * ETBEI 0->1 and after every THR write) and consumed by an IIR read. */
#include "hw/uart8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "snapshot/snapfile.h"

enum {
	REG_DATA = 0, REG_IER = 1, REG_IIR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define IER_ERBFI	0x01
#define IER_ETBEI	0x02
#define IER_ELSI	0x04
#define IER_EDSSI	0x08
#define IER_MASK	0x0f

#define IIR_NOINT	0x01
#define IIR_MLSC	0x00
#define IIR_TXRDY	0x02
#define IIR_RXRDY	0x04
#define IIR_RLS		0x06
#define IIR_RXTOUT	0x0c
#define IIR_FIFO	0xc0

#define FCR_ENABLE	0x01
#define FCR_RCV_RST	0x02
#define FCR_XMT_RST	0x04
#define FCR_MASK	0xc9	/* trigger level, DMA mode, enable */

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_ERRORS	0x1e	/* OE PE FE BI */
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DELTAS	0x0f
#define MSR_TERI	0x04
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

/* Everything the guest can observe; a checkpoint saves this. */
struct uart8250_state {
	uint8_t dll, dlm, ier, fcr, lcr, mcr, lsr_err, msr, scr;
	bool thre_pending;
	uint8_t fifo[UART8250_FIFO_SIZE];
	uint8_t fifo_head, fifo_count;
	int irq_level;
};

struct uart8250 {
	pthread_mutex_t lock;
	const struct irq_line *irq;
	void (*tx)(void *opaque, const uint8_t *buf, size_t len);
	void *tx_opaque;
	void (*rx_space)(void *opaque);
	void *rx_space_opaque;
	bool rx_waiting;	/* a push was cut short: owe a rx_space call */
	struct uart8250_state s;
};

/* Modem lines: in loopback they mirror MCR; otherwise a null-modem peer
 * that is always there, so opens without CLOCAL and CRTSCTS never stall. */
static uint8_t modem_lines(uint8_t mcr)
{
	uint8_t msr = 0;

	if (!(mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

static unsigned fifo_capacity(const struct uart8250_state *s)
{
	return (s->fcr & FCR_ENABLE) ? UART8250_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart8250_state *s)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };

	return (s->fcr & FCR_ENABLE) ? level[(s->fcr >> 6) & 3] : 1;
}

static uint8_t iir_source(const struct uart8250_state *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr_err & LSR_ERRORS))
		return IIR_RLS;
	if ((s->ier & IER_ERBFI) && s->fifo_count)
		/* No character timer: data below the trigger level is
		 * reported as a timeout right away, which the driver
		 * treats the same as "data available". */
		return s->fifo_count >= rx_trigger(s) ? IIR_RXRDY : IIR_RXTOUT;
	if ((s->ier & IER_ETBEI) && s->thre_pending)
		return IIR_TXRDY;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
		return IIR_MLSC;
	return IIR_NOINT;
}

/* Level line: only edges reach the interrupt controller. */
static void update_irq(struct uart8250 *u)
{
	int level = iir_source(&u->s) != IIR_NOINT;

	if (level != u->s.irq_level) {
		u->s.irq_level = level;
		irq_line_set(u->irq, level);
	}
}

static void fifo_reset(struct uart8250 *u)
{
	u->s.fifo_head = 0;
	u->s.fifo_count = 0;
}

static bool fifo_put(struct uart8250 *u, uint8_t c)
{
	struct uart8250_state *s = &u->s;

	if (s->fifo_count >= fifo_capacity(s))
		return false;
	s->fifo[(s->fifo_head + s->fifo_count) % UART8250_FIFO_SIZE] = c;
	s->fifo_count++;
	return true;
}

static uint8_t fifo_get(struct uart8250 *u)
{
	struct uart8250_state *s = &u->s;
	uint8_t c;

	if (!s->fifo_count)
		return 0;
	c = s->fifo[s->fifo_head];
	s->fifo_head = (s->fifo_head + 1) % UART8250_FIFO_SIZE;
	s->fifo_count--;
	return c;
}

static void set_modem(struct uart8250 *u, uint8_t mcr)
{
	uint8_t old = u->s.msr & ~MSR_DELTAS, now = modem_lines(mcr);
	uint8_t changed = old ^ now, delta = changed >> 4;

	/* TERI flags only the trailing edge of RI. */
	delta &= ~MSR_TERI;
	if ((changed & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI;
	u->s.mcr = mcr;
	u->s.msr = now | (u->s.msr & MSR_DELTAS) | delta;
}

static void write_thr(struct uart8250 *u, uint8_t c)
{
	if (u->s.mcr & MCR_LOOP) {
		if (!fifo_put(u, c))
			u->s.lsr_err |= LSR_OE;
	} else if (u->tx) {
		u->tx(u->tx_opaque, &c, 1);
	}
	/* Sent at once: THR is empty again and says so. */
	u->s.thre_pending = true;
}

static void write_ier(struct uart8250 *u, uint8_t v)
{
	uint8_t old = u->s.ier;

	u->s.ier = v & IER_MASK;
	if (!(u->s.ier & IER_ETBEI))
		u->s.thre_pending = false;
	else if (!(old & IER_ETBEI))
		u->s.thre_pending = true;
}

/* Returns true when the receive FIFO was emptied (room for the backend). */
static bool write_fcr(struct uart8250 *u, uint8_t v)
{
	bool flushed = false;

	/* Toggling the enable bit clears both FIFOs on real parts. */
	if ((v ^ u->s.fcr) & FCR_ENABLE || (v & FCR_RCV_RST)) {
		fifo_reset(u);
		flushed = true;
	}
	u->s.fcr = v & FCR_MASK;
	if (!(u->s.fcr & FCR_ENABLE))
		u->s.fcr = 0;
	return flushed;
}

/* Returns true when a rx_space callback is owed. */
static bool reg_write(struct uart8250 *u, unsigned reg, uint8_t v)
{
	bool dlab = u->s.lcr & LCR_DLAB, room = false;

	switch (reg) {
	case REG_DATA:
		if (dlab)
			u->s.dll = v;
		else
			write_thr(u, v);
		break;
	case REG_IER:
		if (dlab)
			u->s.dlm = v;
		else
			write_ier(u, v);
		break;
	case REG_IIR:
		room = write_fcr(u, v);
		break;
	case REG_LCR:
		u->s.lcr = v;
		break;
	case REG_MCR:
		/* Leaving loopback lets the backend's held-back input in. */
		room = (u->s.mcr & MCR_LOOP) && !(v & MCR_LOOP);
		set_modem(u, v & MCR_MASK);
		break;
	case REG_SCR:
		u->s.scr = v;
		break;
	default:	/* LSR and MSR are read-only */
		break;
	}
	return room;
}

static uint8_t read_iir(struct uart8250 *u)
{
	uint8_t src = iir_source(&u->s);

	if (src == IIR_TXRDY)
		u->s.thre_pending = false;
	return src | ((u->s.fcr & FCR_ENABLE) ? IIR_FIFO : 0);
}

static uint8_t read_lsr(struct uart8250 *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT | u->s.lsr_err;

	if (u->s.fifo_count)
		lsr |= LSR_DR;
	u->s.lsr_err = 0;
	return lsr;
}

static uint8_t reg_read(struct uart8250 *u, unsigned reg, bool *room)
{
	bool dlab = u->s.lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case REG_DATA:
		if (dlab)
			return u->s.dll;
		v = fifo_get(u);
		*room = true;
		return v;
	case REG_IER:
		return dlab ? u->s.dlm : u->s.ier;
	case REG_IIR:
		return read_iir(u);
	case REG_LCR:
		return u->s.lcr;
	case REG_MCR:
		return u->s.mcr;
	case REG_LSR:
		return read_lsr(u);
	case REG_MSR:
		v = u->s.msr;
		u->s.msr &= ~MSR_DELTAS;
		return v;
	default:
		return u->s.scr;
	}
}

/* Called with the lock held; tells the caller whether to run rx_space. */
static bool owe_rx_space(struct uart8250 *u, bool room)
{
	if (!room || !u->rx_waiting || u->s.fifo_count >= fifo_capacity(&u->s))
		return false;
	u->rx_waiting = false;
	return u->rx_space != NULL;
}

static void finish_access(struct uart8250 *u, bool room)
{
	bool notify = owe_rx_space(u, room);
	void (*cb)(void *) = u->rx_space;
	void *opaque = u->rx_space_opaque;

	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (notify)
		cb(opaque);
}

static uint64_t uart_read(void *dev, uint64_t offset, unsigned size)
{
	struct uart8250 *u = dev;
	bool room = false;
	uint8_t v;

	if (offset > REG_SCR)
		return 0xff;
	pthread_mutex_lock(&u->lock);
	v = reg_read(u, (unsigned)offset, &room);
	finish_access(u, room);
	return v;
}

static void uart_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart8250 *u = dev;
	bool room;

	if (offset > REG_SCR)
		return;
	pthread_mutex_lock(&u->lock);
	room = reg_write(u, (unsigned)offset, (uint8_t)value);
	finish_access(u, room);
}

const struct io_ops uart8250_ops = {
	.name = "uart8250",
	.read = uart_read,
	.write = uart_write,
};

struct uart8250 *uart8250_new(const struct irq_line *irq)
{
	struct uart8250 *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return NULL;
	err = pthread_mutex_init(&u->lock, NULL);
	if (err) {
		free(u);
		errno = err;
		return NULL;
	}
	u->irq = irq;
	u->s.dll = 12;	/* 9600 baud: never 0, early consoles divide by it */
	u->s.msr = modem_lines(0);
	return u;
}

void uart8250_free(struct uart8250 *uart)
{
	if (!uart)
		return;
	pthread_mutex_destroy(&uart->lock);
	free(uart);
}

void uart8250_set_tx(struct uart8250 *uart,
		     void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *opaque)
{
	pthread_mutex_lock(&uart->lock);
	uart->tx = tx;
	uart->tx_opaque = opaque;
	pthread_mutex_unlock(&uart->lock);
}

void uart8250_set_rx_space(struct uart8250 *uart, void (*cb)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&uart->lock);
	uart->rx_space = cb;
	uart->rx_space_opaque = opaque;
	pthread_mutex_unlock(&uart->lock);
}

size_t uart8250_rx_push(struct uart8250 *uart, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&uart->lock);
	/* In loopback the receiver hears only the transmitter. */
	while (!(uart->s.mcr & MCR_LOOP) && n < len && fifo_put(uart, buf[n]))
		n++;
	if (n < len)
		uart->rx_waiting = true;
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

/* ---- checkpoint ---- */

void uart8250_save(struct uart8250 *u, struct snap_writer *w)
{
	const struct uart8250_state *s = &u->s;

	pthread_mutex_lock(&u->lock);
	snap_put_u8(w, s->dll);
	snap_put_u8(w, s->dlm);
	snap_put_u8(w, s->ier);
	snap_put_u8(w, s->fcr);
	snap_put_u8(w, s->lcr);
	snap_put_u8(w, s->mcr);
	snap_put_u8(w, s->lsr_err);
	snap_put_u8(w, s->msr);
	snap_put_u8(w, s->scr);
	snap_put_u8(w, s->thre_pending);
	snap_put(w, s->fifo, sizeof(s->fifo));
	snap_put_u8(w, s->fifo_head);
	snap_put_u8(w, s->fifo_count);
	snap_put_u8(w, (uint8_t)s->irq_level);
	pthread_mutex_unlock(&u->lock);
}

int uart8250_restore(struct uart8250 *u, struct snap_cursor *c)
{
	struct uart8250_state s;
	uint8_t thre, level;

	s.dll = snap_get_u8(c);
	s.dlm = snap_get_u8(c);
	s.ier = snap_get_u8(c);
	s.fcr = snap_get_u8(c);
	s.lcr = snap_get_u8(c);
	s.mcr = snap_get_u8(c);
	s.lsr_err = snap_get_u8(c);
	s.msr = snap_get_u8(c);
	s.scr = snap_get_u8(c);
	thre = snap_get_u8(c);
	snap_get(c, s.fifo, sizeof(s.fifo));
	s.fifo_head = snap_get_u8(c);
	s.fifo_count = snap_get_u8(c);
	level = snap_get_u8(c);
	if (c->bad || thre > 1 || level > 1 || s.fifo_head >= UART8250_FIFO_SIZE ||
	    s.fifo_count > UART8250_FIFO_SIZE)
		return -EPROTO;
	s.thre_pending = thre;
	/* The line's level is in the restored irqchip: only remembered here. */
	s.irq_level = level;
	pthread_mutex_lock(&u->lock);
	u->s = s;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

