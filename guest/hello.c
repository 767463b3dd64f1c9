/* Prints a greeting and the CPU state khyve's ELF boot promises, then powers
 * off through ACPI PM1a (S5): khyve exits 1.  Built as hello.elf (ELF64,
 * long mode) and hello32.elf (ELF32, flat protected mode). */
#include "lib.h"

static u16 read_seg(int which)
{
	u16 v = 0;

	switch (which) {
	case 0: __asm__ volatile("mov %%cs, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%ds, %0" : "=r"(v)); break;
	default: __asm__ volatile("mov %%ss, %0" : "=r"(v)); break;
	}
	return v;
}

int main(void)
{
	unsigned long cr0;

#ifdef __x86_64__
	serial_puts("hello from khyve guest\n");
#else
	serial_puts("hello from khyve guest (32-bit)\n");
#endif
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	serial_puts("cs=");
	serial_hex(read_seg(0), 4);
	serial_puts(" ds=");
	serial_hex(read_seg(1), 4);
	serial_puts(" ss=");
	serial_hex(read_seg(2), 4);
	serial_puts(" pe=");
	serial_hex(cr0 & 1, 1);
	serial_puts(" pg=");
	serial_hex((u32)(cr0 >> 31) & 1, 1);
	serial_puts("\n");
	poweroff();
}
