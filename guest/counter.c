/* A guest for checkpoint and restore: it counts, once about every 2^27
 * TSC cycles, in memory and in a register (r15, reserved for it in this
 * file), and prints
 *	counter: start			(once, at boot)
 *	counter: N			(N = 1, 2, ...)
 * A restored guest goes on from where it was saved: the next N with no
 * second "start".  If the two counts ever differ (memory or registers
 * restored wrongly) it prints "counter: MISMATCH mem=M reg=R" and powers
 * off.  Interrupts stay off; the TSC is the only clock it uses. */
#include "lib.h"

register u64 reg_count __asm__("r15");
static volatile u64 mem_count;

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

int main(void)
{
	u64 last;

	serial_puts("counter: start\n");
	reg_count = 0;
	mem_count = 0;
	last = rdtsc();
	for (;;) {
		if (rdtsc() - last < (1ull << 27)) {
			__asm__ volatile("pause");
			continue;
		}
		last = rdtsc();
		mem_count++;
		reg_count++;
		if (reg_count != mem_count) {
			serial_puts("counter: MISMATCH mem=");
			serial_dec((u32)mem_count);
			serial_puts(" reg=");
			serial_dec((u32)reg_count);
			serial_puts("\n");
			poweroff();
		}
		serial_puts("counter: ");
		serial_dec((u32)mem_count);
		serial_puts("\n");
	}
}
