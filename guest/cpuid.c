/* Prints the CPUID words a CPU model decides ("cpuid LEAF.SUB REG=XXXXXXXX"
 * for leaf 1 ECX/EDX, leaf 7.0 EBX/ECX/EDX, 0x80000001 ECX/EDX and 0xD.0
 * EAX), then powers off: exit 1. */
#include "lib.h"

static void cpuid(u32 leaf, u32 sub, u32 r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void show(u32 leaf, u32 sub, const char *name, u32 v)
{
	serial_puts("cpuid ");
	serial_hex(leaf, 8);
	serial_puts(".");
	serial_hex(sub, 1);
	serial_puts(" ");
	serial_puts(name);
	serial_puts("=");
	serial_hex(v, 8);
	serial_puts("\n");
}

int main(void)
{
	u32 r[4];

	cpuid(1, 0, r);
	show(1, 0, "ecx", r[2]);
	show(1, 0, "edx", r[3]);
	cpuid(7, 0, r);
	show(7, 0, "ebx", r[1]);
	show(7, 0, "ecx", r[2]);
	show(7, 0, "edx", r[3]);
	cpuid(0x80000001, 0, r);
	show(0x80000001, 0, "ecx", r[2]);
	show(0x80000001, 0, "edx", r[3]);
	cpuid(0xd, 0, r);
	show(0xd, 0, "eax", r[0]);
	serial_puts("cpuid: done\n");
	poweroff();
	return 0;
}
