/* What a device needs from the machine without knowing it: interrupt lines
 * and a way to end the VM (reset, poweroff...).  Unit tests provide fakes. */
#ifndef KHYVE_PLATFORM_H
#define KHYVE_PLATFORM_H

#include <stdint.h>

/* bhyve(8) exit statuses; khyve exits with these. */
enum vm_exit_code {
	VM_EXIT_RESET = 0,
	VM_EXIT_POWEROFF = 1,
	VM_EXIT_HALT = 2,
	VM_EXIT_TRIPLEFAULT = 3,
	VM_EXIT_ERROR = 4,
	VM_EXIT_SUSPEND = 5,
};

/* A wire to the interrupt controller.  set(opaque, gsi, level): level 1
 * asserts, 0 deasserts; edge devices pulse 1 then 0. */
struct irq_line {
	void (*set)(void *opaque, unsigned gsi, int level);
	void *opaque;
	unsigned gsi;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
	if (l && l->set)
		l->set(l->opaque, l->gsi, level);
}

static inline void irq_line_pulse(const struct irq_line *l)
{
	irq_line_set(l, 1);
	irq_line_set(l, 0);
}

/* Asks the machine to stop all vCPUs and end with the given code.  Safe to
 * call from any thread, more than once (the first code wins). */
struct vm_exit_sink {
	void (*request)(void *opaque, enum vm_exit_code code);
	void *opaque;
};

static inline void vm_exit_request(const struct vm_exit_sink *s, enum vm_exit_code c)
{
	if (s && s->request)
		s->request(s->opaque, c);
}

#endif
