/* Reads PCI config space through mechanism #1 and prints vendor, device
 * and class of 0:0.0 (hostbridge), 0:31.0 (lpc) and an empty slot 0:5.0. */
#include "lib.h"

static u32 cfg_read(u32 dev, u32 reg)
{
	outl(PCI_ADDR, 0x80000000u | (dev << 11) | (reg & 0xfc));
	return inl(PCI_DATA);
}

static void show(u32 dev)
{
	u32 id = cfg_read(dev, 0x00);
	u32 class = cfg_read(dev, 0x08);

	serial_puts("pci 00:");
	serial_hex(dev, 2);
	serial_puts(".0 vendor=");
	serial_hex(id & 0xffff, 4);
	serial_puts(" device=");
	serial_hex(id >> 16, 4);
	serial_puts(" class=");
	serial_hex(class >> 8, 6);
	serial_puts("\n");
}

int main(void)
{
	serial_puts("pci: scanning\n");
	show(0);
	show(31);
	show(5);
	poweroff();
}
