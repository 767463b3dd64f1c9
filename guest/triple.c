/* Loads a zero-limit IDT and raises #UD: #UD -> #GP -> #DF -> triple fault,
 * khyve exits 3. */
#include "lib.h"

struct __attribute__((packed)) idtr {
	u16 limit;
	unsigned long base;
};

int main(void)
{
	static const struct idtr empty = { 0, 0 };

	serial_puts("triple: faulting with an empty IDT\n");
	__asm__ volatile("lidt %0; ud2" :: "m"(empty));
	serial_puts("triple: still running after ud2\n");
	halt();
}
