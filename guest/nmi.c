/* NMI counter for khyvectl's NMI injection tests.  Masks the 8259s, loads
 * an IDT (lib.c's idt_install; gates use the current CS, 0x10 under
 * khyve's ELF64 boot) and prints "nmi: ready", then waits in an sti;hlt
 * loop.  Each NMI (vector 2) prints "nmi N" (N = NMIs so far, decimal) and
 * returns with iretq, back to hlt; the third also prints "nmi: done" and
 * powers off (exit 1).  Any other vector prints "nmi: unexpected exception
 * V error=0x... rip=0x..." (V decimal) and powers off.
 *
 * The wait is hlt with interrupts ENABLED: khyve (like bhyve) ends a VM
 * whose vCPUs all sit in hlt with IF=0 (exit 2, halt) within ~250 ms, even
 * though an NMI could still wake them.  With the PICs masked and the I/O
 * APIC pins and LAPIC LVTs left masked, nothing but an NMI wakes it. */
#include "lib.h"

static volatile u32 nmis;

static void on_trap(struct trap_frame *f)
{
	if (f->vector == 2) {
		u32 n = ++nmis;

		serial_puts("nmi ");
		serial_dec(n);
		serial_puts("\n");
		if (n >= 3) {
			serial_puts("nmi: done\n");
			poweroff();
		}
		return;
	}
	serial_puts("nmi: unexpected exception ");
	serial_dec((u32)f->vector);
	serial_puts(" error=0x");
	serial_hex64(f->error);
	serial_puts(" rip=0x");
	serial_hex64(f->rip);
	serial_puts("\n");
	poweroff();
}

int main(void)
{
	/* OCW1 (no ICWs given): mask every 8259 input, since IF is set below. */
	outb(0x21, 0xff);
	outb(0xA1, 0xff);
	idt_install(on_trap);
	serial_puts("nmi: ready\n");
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}
