/* Pulses the reset line through the i8042 (command 0xFE): khyve exits 0. */
#include "lib.h"

int main(void)
{
	serial_puts("reset_kbd: resetting via i8042\n");
	outb(I8042_CMD, 0xFE);
	serial_puts("reset_kbd: still running after reset\n");
	halt();
}
