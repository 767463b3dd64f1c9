/* Resets through the reset control register at 0xCF9: khyve exits 0. */
#include "lib.h"

int main(void)
{
	serial_puts("reset_cf9: resetting via 0xcf9\n");
	outb(RESET_PORT, 0x06);
	serial_puts("reset_cf9: still running after reset\n");
	halt();
}
