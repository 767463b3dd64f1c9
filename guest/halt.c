/* Halts with interrupts disabled: khyve exits 2. */
#include "lib.h"

int main(void)
{
	serial_puts("halt: halting with interrupts off\n");
	halt();
}
