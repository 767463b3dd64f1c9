/* 16550A UART register model (8 I/O ports).  Guest accesses come from
 * vCPU threads, host input from the I/O thread; the device locks itself. */
#ifndef KHYVE_UART8250_H
#define KHYVE_UART8250_H

#include <stddef.h>
#include <stdint.h>

#include "hw/iobus.h"
#include "hw/platform.h"

#define UART8250_FIFO_SIZE 16

struct uart8250;

/* irq is borrowed: it must outlive the UART.  NULL + errno on failure. */
struct uart8250 *uart8250_new(const struct irq_line *irq);
void uart8250_free(struct uart8250 *uart);

/* Register window, dev = the uart. */
extern const struct io_ops uart8250_ops;

/* Bytes the guest transmits; called on the vCPU thread with the UART lock
 * held, so tx must not block and must not call back into the UART. */
void uart8250_set_tx(struct uart8250 *uart,
		     void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *opaque);
/* Queues received bytes; returns how many fitted (the rest stay with the
 * caller, who waits for the rx-space callback). */
size_t uart8250_rx_push(struct uart8250 *uart, const uint8_t *buf, size_t len);
/* cb runs (outside the UART lock, on a vCPU thread) once the guest makes
 * room after a push that did not fit entirely. */
void uart8250_set_rx_space(struct uart8250 *uart, void (*cb)(void *opaque), void *opaque);

/* Checkpoint: the registers and receive FIFO into/from the caller's
 * section.  restore: -EPROTO for values the chip cannot hold. */
struct snap_writer;
struct snap_cursor;
void uart8250_save(struct uart8250 *uart, struct snap_writer *w);
int uart8250_restore(struct uart8250 *uart, struct snap_cursor *c);

#endif
