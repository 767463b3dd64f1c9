/* Intel MultiProcessor Specification 1.4 tables, for guests booted with
 * acpi=off (or too old for ACPI): the floating pointer structure followed
 * by the configuration table, base entries only. */
#include <errno.h>
#include <string.h>

#include "hw/fw.h"
#include "hw/fwbytes.h"
#include "hw/layout.h"

#define MPF_LEN		16
#define MPC_HDR_LEN	44
#define SPEC_REV	4	/* MP spec 1.4 */

/* Entry types and sizes (MP spec 4.3). */
#define E_CPU		0
#define E_BUS		1
#define E_IOAPIC	2
#define E_IOINT		3
#define E_LINT		4
#define CPU_LEN		20
#define SMALL_LEN	8	/* every other base entry */

#define CPU_EN		0x01
#define CPU_BP		0x02
#define LAPIC_VERSION	0x14	/* what KVM's local APIC reports */
#define IOAPIC_VERSION	0x11	/* what KVM's IOAPIC reports */
#define IOAPIC_EN	0x01
#define CPU_SIGNATURE	0x600	/* family 6 */
#define CPU_FEATURES	0x201	/* FPU | APIC */

#define INT_INT		0
#define INT_NMI		1
#define INT_EXTINT	3
#define FL_CONFORM	0x0
#define FL_HIGH_LEVEL	0xD	/* polarity active high, trigger level */
#define FL_LOW_LEVEL	0xF	/* polarity active low, trigger level */

#define BUS_PCI		0
#define BUS_ISA		1
#define ISA_IRQS	16
#define ISA_CASCADE	2	/* IRQ 2 is the PIC cascade; pin 2 is IRQ 0's */
#define ISA_TIMER_PIN	2
#define PCI_SLOTS_MP	32
#define PCI_PINS	4
#define ALL_LAPICS	0xFF
#define MAX_APIC_ID	254	/* 8-bit IDs, 255 is broadcast */

/* The IOAPIC gets the first ID after the processors: MP spec APIC IDs are
 * unique across processors and I/O APICs. */
static uint8_t ioapic_id(const struct fw_info *info)
{
	return (uint8_t)info->ncpus;
}

static unsigned n_ioints(void)
{
	return (ISA_IRQS - 1) + PCI_SLOTS_MP * PCI_PINS;
}

static unsigned n_entries(const struct fw_info *info)
{
	return info->ncpus + 2 /* buses */ + 1 /* IOAPIC */ + n_ioints() + 2 /* LINT0/1 */;
}

static size_t table_len(const struct fw_info *info)
{
	return MPC_HDR_LEN + info->ncpus * CPU_LEN + (n_entries(info) - info->ncpus) * SMALL_LEN;
}

static size_t put_cpus(uint8_t *t, size_t off, const struct fw_info *info)
{
	for (unsigned id = 0; id < info->ncpus; id++) {
		t[off] = E_CPU;
		t[off + 1] = (uint8_t)id;
		t[off + 2] = LAPIC_VERSION;
		t[off + 3] = (uint8_t)(CPU_EN | (id == 0 ? CPU_BP : 0));
		fw_st32(t, off + 4, CPU_SIGNATURE);
		fw_st32(t, off + 8, CPU_FEATURES);
		off += CPU_LEN;
	}
	return off;
}

static size_t put_bus(uint8_t *t, size_t off, uint8_t id, const char name[6])
{
	t[off] = E_BUS;
	t[off + 1] = id;
	memcpy(t + off + 2, name, 6);
	return off + SMALL_LEN;
}

/* I/O (E_IOINT) and local (E_LINT) interrupt entries share one layout. */
static size_t put_int(uint8_t *t, size_t off, uint8_t type, uint8_t itype, uint16_t flags,
		      uint8_t bus, uint8_t irq, uint8_t dst, uint8_t pin)
{
	t[off] = type;
	t[off + 1] = itype;
	fw_st16(t, off + 2, flags);
	t[off + 4] = bus;
	t[off + 5] = irq;
	t[off + 6] = dst;
	t[off + 7] = pin;
	return off + SMALL_LEN;
}

static size_t put_isa_ints(uint8_t *t, size_t off, uint8_t apic)
{
	for (unsigned irq = 0; irq < ISA_IRQS; irq++) {
		uint16_t fl = irq == LAYOUT_SCI_IRQ ? FL_HIGH_LEVEL : FL_CONFORM;
		unsigned pin = irq == 0 ? ISA_TIMER_PIN : irq;

		if (irq == ISA_CASCADE)
			continue;
		off = put_int(t, off, E_IOINT, INT_INT, fl, BUS_ISA, (uint8_t)irq, apic,
			      (uint8_t)pin);
	}
	return off;
}

/* PCI source IRQ: device number in bits 2-6, INTx pin (0 = INTA) in 0-1. */
static size_t put_pci_ints(uint8_t *t, size_t off, uint8_t apic)
{
	for (unsigned slot = 0; slot < PCI_SLOTS_MP; slot++)
		for (unsigned pin = 0; pin < PCI_PINS; pin++)
			off = put_int(t, off, E_IOINT, INT_INT, FL_LOW_LEVEL, BUS_PCI,
				      (uint8_t)(slot << 2 | pin), apic,
				      (uint8_t)layout_pci_intx_gsi(slot, pin));
	return off;
}

static void put_header(uint8_t *t, const struct fw_info *info, size_t len)
{
	memcpy(t, "PCMP", 4);
	fw_st16(t, 4, (uint16_t)len);
	t[6] = SPEC_REV;
	memcpy(t + 8, "KHYVE   ", 8);
	memcpy(t + 16, "KHYVE VM    ", 12);
	fw_st16(t, 34, (uint16_t)n_entries(info));
	fw_st32(t, 36, (uint32_t)LAYOUT_LAPIC_BASE);
	/* Extended table: none, so length 0 and checksum 0 (at 40 and 42). */
}

static void put_config(uint8_t *t, const struct fw_info *info, size_t len)
{
	uint8_t apic = ioapic_id(info);
	size_t off;

	put_header(t, info, len);
	off = put_cpus(t, MPC_HDR_LEN, info);
	off = put_bus(t, off, BUS_PCI, "PCI   ");
	off = put_bus(t, off, BUS_ISA, "ISA   ");
	t[off] = E_IOAPIC;
	t[off + 1] = apic;
	t[off + 2] = IOAPIC_VERSION;
	t[off + 3] = IOAPIC_EN;
	fw_st32(t, off + 4, (uint32_t)LAYOUT_IOAPIC_BASE);
	off += SMALL_LEN;
	off = put_isa_ints(t, off, apic);
	off = put_pci_ints(t, off, apic);
	off = put_int(t, off, E_LINT, INT_EXTINT, FL_CONFORM, BUS_ISA, 0, ALL_LAPICS, 0);
	off = put_int(t, off, E_LINT, INT_NMI, FL_CONFORM, BUS_ISA, 0, ALL_LAPICS, 1);
	(void)off;
	t[7] = (uint8_t)-fw_sum8(t, len);
}

static void put_floating(uint8_t *f, uint64_t config_gpa)
{
	memcpy(f, "_MP_", 4);
	fw_st32(f, 4, (uint32_t)config_gpa);
	f[8] = 1;			/* length in 16-byte units */
	f[9] = SPEC_REV;
	/* Feature bytes all 0: a configuration table is present, and the
	 * IMCR is absent (virtual wire mode). */
	f[10] = (uint8_t)-fw_sum8(f, MPF_LEN);
}

int mptable_build(const struct fw_window *win, const struct fw_info *info)
{
	size_t fp, cfg, len;

	if (!win || !win->hva || !info || info->ncpus == 0)
		return -EINVAL;
	/* One ID more for the IOAPIC, and 255 is broadcast. */
	if (info->ncpus > MAX_APIC_ID)
		return -EINVAL;
	fp = (size_t)(((win->gpa + 15) & ~(uint64_t)15) - win->gpa);
	cfg = fp + MPF_LEN;
	len = table_len(info);
	if (cfg + len > win->len)
		return -ENOSPC;
	if (win->gpa + cfg + len > UINT32_MAX)
		return -ERANGE;
	memset(win->hva, 0, win->len);
	put_config(win->hva + cfg, info, len);
	put_floating(win->hva + fp, win->gpa + cfg);
	return 0;
}
