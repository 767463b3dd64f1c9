/* Touches what khyve does not emulate: an unclaimed I/O port (read as all
 * ones; fatal with -e) and an MSR KVM does not know (#GP, and with no IDT
 * a triple fault; read as 0 with -w).  Prints what it saw, then S5. */
#include "lib.h"

#define UNEMULATED_PORT	0x1234
#define UNKNOWN_MSR	0x4b564dffu	/* past KVM's own MSR range */

static u32 rdmsr_lo(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo;
}

int main(void)
{
	serial_puts("probe: port 0x1234 reads ");
	serial_hex(inb(UNEMULATED_PORT), 2);
	serial_puts("\nprobe: unknown msr reads ");
	serial_hex(rdmsr_lo(UNKNOWN_MSR), 8);
	serial_puts("\nprobe: done\n");
	poweroff();
}
