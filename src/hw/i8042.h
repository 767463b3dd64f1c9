/* The PS/2 controller (8042) with a keyboard that answers commands and
 * no mouse: enough for Linux's i8042/atkbd probes and for reset via
 * 0xFE or the output port.  Data port 0x60 and command/status port 0x64. */
#ifndef KHYVE_I8042_H
#define KHYVE_I8042_H

#include "hw/iobus.h"
#include "hw/platform.h"

struct i8042;

/* The irq lines and exit sink are borrowed.  NULL + errno on failure. */
struct i8042 *i8042_new(const struct irq_line *kbd_irq, const struct irq_line *aux_irq,
			const struct vm_exit_sink *exit);
void i8042_free(struct i8042 *kbd);

/* One port each, dev = the i8042. */
extern const struct io_ops i8042_data_ops;	/* 0x60 */
extern const struct io_ops i8042_cmd_ops;	/* 0x64 */

/* Checkpoint: the device's state into/from the caller's section.
 * restore: -EPROTO for values the device cannot hold. */
struct snap_writer;
struct snap_cursor;
void i8042_save(struct i8042 *kbd, struct snap_writer *w);
int i8042_restore(struct i8042 *kbd, struct snap_cursor *c);

#endif
