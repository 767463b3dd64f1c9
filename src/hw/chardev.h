/* Host endpoints for a UART (-l comN,<backend>): stdio, a tty device, a
 * fresh pty, a Unix or TCP stream socket, or a file for output.  Output from the guest never blocks
 * a vCPU: it is buffered (bounded) and flushed from the event loop. */
#ifndef KHYVE_CHARDEV_H
#define KHYVE_CHARDEV_H

#include <stdint.h>
#include <stdio.h>

struct chardev;
struct evloop;
struct uart8250;

/* Bytes kept for a slow reader before new output is dropped. */
#define CHARDEV_OUTBUF_SIZE (64 * 1024)

/* spec is the part after "comN,": "stdio", "pty", "unix=PATH",
 * "tcp=HOST:PORT", "file=PATH" (output only) or a tty path.  label ("com1") prefixes messages.  Logs one line and returns a
 * negative errno on failure (-EINVAL unknown backend, -EBUSY stdio taken,
 * -EEXIST/-EADDRINUSE unix path in the way). */
int chardev_open(const char *spec, const char *label, struct evloop *loop,
		 struct chardev **out);
/* Connects the UART both ways (its TX sink and rx-space callback). */
void chardev_attach_uart(struct chardev *chr, struct uart8250 *uart);
/* A generic consumer (anything but a UART), e.g. a virtio-console port.
 * rx runs on the loop thread, without chardev locks held: it returns how
 * many of the len bytes it took; taking fewer pauses input until
 * chardev_rx_ready().  Attach at most one consumer (UART or sink). */
struct chardev_sink {
	size_t (*rx)(void *opaque, const uint8_t *buf, size_t len);
};
void chardev_attach_sink(struct chardev *chr, const struct chardev_sink *sink,
			 void *opaque);
/* Output from the consumer (any thread, never blocks): buffered, bytes
 * past CHARDEV_OUTBUF_SIZE are dropped and counted; discarded while no
 * unix client is connected. */
void chardev_write(struct chardev *chr, const uint8_t *buf, size_t len);
/* From any thread: the consumer can take input again. */
void chardev_rx_ready(struct chardev *chr);
/* Restores terminals, removes the unix socket file, frees.  Call with the
 * loop not running or from the loop thread, after the vCPUs stopped. */
void chardev_close(struct chardev *chr);
/* The host-side name: pty slave, socket or device path ("stdio" else). */
const char *chardev_path(const struct chardev *chr);
/* Output bytes dropped so far because the buffer was full. */
uint64_t chardev_dropped(struct chardev *chr);
/* For -l help. */
void chardev_list_backends(FILE *f);

#endif
