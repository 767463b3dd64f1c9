/* Guest physical and port layout of the khyve x86 machine.  Firmware
 * tables, devices and loaders all read it from here so they cannot drift. */
#ifndef KHYVE_LAYOUT_H
#define KHYVE_LAYOUT_H

#include <stdint.h>

/* Guest RAM: [0, min(mem, LOWMEM_LIMIT)) then [4G, 4G + rest). */
#define LAYOUT_LOWMEM_LIMIT	0xC0000000ULL	/* 3 GiB, as bhyve */
#define LAYOUT_HIGHMEM_BASE	0x100000000ULL
#define LAYOUT_EBDA_BASE	0x9FC00ULL	/* e820: reserved from here to 1 MiB */
#define LAYOUT_BIOS_BASE	0xE0000ULL	/* firmware tables live in [E0000, 100000) */
#define LAYOUT_BIOS_END		0x100000ULL

/* Inside the BIOS area (each builder gets its own window). */
#define LAYOUT_ACPI_BASE	0xE0000ULL	/* RSDP first, then the tables */
#define LAYOUT_ACPI_SIZE	0x10000ULL
#define LAYOUT_SMBIOS_BASE	0xF0000ULL
#define LAYOUT_SMBIOS_SIZE	0x8000ULL
#define LAYOUT_MPTABLE_BASE	0xF8000ULL
#define LAYOUT_MPTABLE_SIZE	0x8000ULL

/* PCI windows (the 3G..4G hole minus the chipset area at the top). */
#define LAYOUT_PCI_MMIO32_BASE	0xC0000000ULL
#define LAYOUT_PCI_MMIO32_END	0xFEC00000ULL	/* exclusive */
#define LAYOUT_PCI_IO_BASE	0x2000
#define LAYOUT_PCI_IO_END	0x10000		/* exclusive */
#define LAYOUT_IOAPIC_BASE	0xFEC00000ULL
#define LAYOUT_LAPIC_BASE	0xFEE00000ULL
#define LAYOUT_IOAPIC_PINS	24
#define LAYOUT_IRQS_USED	16		/* ISA IRQs devices are wired to */

/* ISA ports and IRQs. */
#define LAYOUT_COM1_PORT	0x3F8
#define LAYOUT_COM2_PORT	0x2F8
#define LAYOUT_COM3_PORT	0x3E8
#define LAYOUT_COM4_PORT	0x2E8
#define LAYOUT_COM13_IRQ	4
#define LAYOUT_COM24_IRQ	3
#define LAYOUT_I8042_DATA_PORT	0x60
#define LAYOUT_I8042_CMD_PORT	0x64
#define LAYOUT_I8042_KBD_IRQ	1
#define LAYOUT_I8042_AUX_IRQ	12
#define LAYOUT_RTC_PORT		0x70		/* index 0x70, data 0x71 */
#define LAYOUT_RTC_IRQ		8
#define LAYOUT_PCI_CONFIG_ADDR	0xCF8
#define LAYOUT_PCI_CONFIG_DATA	0xCFC
#define LAYOUT_RESET_PORT	0xCF9		/* FADT reset register */
#define LAYOUT_RESET_VALUE	0x06

/* ACPI fixed hardware (same ports as bhyve). */
#define LAYOUT_PM1A_EVT_PORT	0x400		/* status(2) + enable(2) */
#define LAYOUT_PM1A_EVT_LEN	4
#define LAYOUT_PM1A_CNT_PORT	0x404
#define LAYOUT_PM1A_CNT_LEN	2
#define LAYOUT_PM_TMR_PORT	0x408
#define LAYOUT_PM_TMR_LEN	4
#define LAYOUT_SCI_IRQ		9		/* level, active high */
#define LAYOUT_SLP_TYP_S5	5		/* \_S5 package value */

/* Legacy PCI INTx routing (DSDT _PRT and the interrupt line register):
 * slot s, pin p (0 = INTA) -> IOAPIC pin 16 + (s + p) % 8, level/low. */
static inline unsigned layout_pci_intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + (slot + pin) % 8;
}

#endif
