#include "lib.h"

void serial_putc(char c)
{
	/* Bounded wait: khyve's THR is always ready, a broken LSR must not hang us. */
	for (int i = 0; i < 64 && !(inb(COM1 + 5) & COM_LSR_THRE); i++)
		;
	outb(COM1, (u8)c);
}

void serial_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s);
	}
}

void serial_hex(u32 v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	while (digits-- > 0)
		serial_putc(hex[(v >> (digits * 4)) & 0xf]);
}

int serial_getc(void)
{
	while (!(inb(COM1 + 5) & COM_LSR_DR))
		;
	return inb(COM1);
}

void halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void poweroff(void)
{
	outw(PM1A_CNT, (5 << 10) | (1 << 13));	/* SLP_TYP = S5, SLP_EN */
	serial_puts("poweroff: still running after S5\n");
	halt();
}
