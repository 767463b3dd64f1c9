/* Reads the CMOS RTC (date, time, status A/B, century) and prints the raw
 * register values in hex, so BCD reads as decimal. */
#include "lib.h"

static u8 cmos(u8 reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static void field(const char *name, u8 reg)
{
	serial_puts(name);
	serial_hex(cmos(reg), 2);
}

int main(void)
{
	serial_puts("rtc: reading\n");
	/* Bounded wait for the end of an update cycle (UIP, status A bit 7). */
	for (int i = 0; i < 100 && (cmos(0x0A) & 0x80); i++)
		;
	field("rtc century=", 0x32);
	field(" year=", 0x09);
	field(" month=", 0x08);
	field(" day=", 0x07);
	field(" hour=", 0x04);
	field(" min=", 0x02);
	field(" sec=", 0x00);
	field(" a=", 0x0A);
	field(" b=", 0x0B);
	serial_puts("\n");
	poweroff();
}
