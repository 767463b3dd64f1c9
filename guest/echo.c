/* Echoes COM1 input upper-cased until '\n' or 'q', then powers off: the
 * guest for testing console input (stdio, unix sockets, ptys). */
#include "lib.h"

int main(void)
{
	serial_puts("echo: ready\n");
	for (;;) {
		int c = serial_getc();

		if (c == '\n' || c == '\r')
			break;
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		serial_putc((char)c);
		if (c == 'Q')
			break;
	}
	serial_puts("\necho: done\n");
	poweroff();
}
