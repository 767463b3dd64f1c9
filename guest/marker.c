/* Does guest memory survive a guest reboot?  At MARKER_ADDR (16 MiB: past
 * the ELF at 1 MiB and everything khyve writes at boot, inside its 4 GiB
 * identity map; run with -m 32M or more) lives
 *	16 bytes of magic "khyve-marker-v1\0", then a u32 boot counter.
 * Magic absent: write it with boots = 1, print "marker: set", reset through
 * 0xCF9 (plain khyve exits 0).  Magic present: boots += 1, print
 * "marker: found boot=N" (decimal) and power off (exit 1).  So khyve -M,
 * which keeps memory across the reboot, prints "marker: set" then
 * "marker: found boot=2" and exits 1. */
#include "lib.h"

#define MARKER_ADDR	0x1000000UL

static const char magic[16] = "khyve-marker-v1";

int main(void)
{
	volatile u8 *m = (volatile u8 *)MARKER_ADDR;
	volatile u32 *boots = (volatile u32 *)(MARKER_ADDR + 16);
	int found = 1;

	for (int i = 0; i < 16; i++)
		if (m[i] != (u8)magic[i])
			found = 0;
	if (found) {
		u32 n = *boots + 1;

		*boots = n;
		serial_puts("marker: found boot=");
		serial_dec(n);
		serial_puts("\n");
		poweroff();
	}
	*boots = 1;
	for (int i = 0; i < 16; i++)
		m[i] = (u8)magic[i];
	serial_puts("marker: set\n");
	outb(RESET_PORT, 0x06);
	serial_puts("marker: still running after reset\n");
	halt();
}
