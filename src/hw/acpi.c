/* ACPI tables for a directly booted Linux: RSDP, XSDT + RSDT, FADT, FACS,
 * MADT and a DSDT (ACPI 6.3 layouts).  Everything is laid out first, so a
 * window that is too small is refused before any byte is written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw/aml.h"
#include "hw/fw.h"
#include "hw/fwbytes.h"
#include "hw/layout.h"

#define OEM_ID		"KHYVE "
#define OEM_TABLE_ID	"KHYVEVM "
#define CREATOR_ID	"KHYV"
#define OEM_REVISION	1
#define CREATOR_REV	1

#define HDR_LEN		36
#define RSDP_LEN	36
#define FADT_LEN	276
#define FACS_LEN	64
#define NTABLES		2	/* in the XSDT/RSDT: FADT, MADT */

/* FADT Flags (ACPI 6.3 table 5-34). */
#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_PWR_BUTTON		(1u << 4)	/* set: power button is NOT fixed */
#define FADT_SLP_BUTTON		(1u << 5)	/* set: no fixed sleep button */
#define FADT_TMR_VAL_EXT	(1u << 8)	/* set: 32-bit PM timer */
#define FADT_RESET_REG_SUP	(1u << 10)
/* IA-PC boot architecture flags (table 5-35). */
#define BOOT_LEGACY_DEVICES	(1u << 0)
#define BOOT_8042		(1u << 1)
#define BOOT_VGA_NOT_PRESENT	(1u << 2)
#define BOOT_MSI_NOT_SUPPORTED	(1u << 3)
/* Generic Address Structure. */
#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2
#define GAS_ACCESS_DWORD	3
/* Latencies above 100 / 1000 us say C2 / C3 are not supported. */
#define C2_UNSUPPORTED		101
#define C3_UNSUPPORTED		1001

/* MADT (ACPI 6.3 5.2.12). */
#define MADT_PCAT_COMPAT	1
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_X2APIC		9
#define MADT_X2APIC_NMI		10
#define MADT_ENABLED		1
#define LAPIC_LEN		8
#define IOAPIC_LEN		12
#define ISO_LEN			10
#define LAPIC_NMI_LEN		6
#define X2APIC_LEN		16
#define X2APIC_NMI_LEN		12
#define MPS_HIGH_EDGE		0x0005	/* polarity active high, edge */
#define MPS_HIGH_LEVEL		0x000D	/* polarity active high, level */
#define IOAPIC_ID		0	/* KVM's IOAPIC ID register after reset */
#define XAPIC_MAX_ID		254	/* 255 is the xAPIC broadcast ID */
#define ISA_TIMER_IRQ		0
#define ISA_TIMER_GSI		2

/* CMOS index of the century byte (the PC/AT convention, which khyve's
 * rtc.c follows); lets Linux read four-digit years. */
#define RTC_CENTURY_INDEX	0x32

#define PCI_SLOTS_ACPI		32
#define PCI_PINS		4

/* The 8042 boot flag: Linux (arch/x86/kernel/acpi/boot.c) marks the i8042
 * "firmware absent" when a rev >= 2 FADT lacks it, and the i8042 driver then
 * refuses to probe unless PNP lists the controller.  khyve always has an
 * i8042 (reset, Ctrl-Alt-Del), so the flag is set and PNP0303 is listed. */
#define FADT_BOOT_ARCH	(BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_VGA_NOT_PRESENT)

static void st8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Where each table goes, as offsets into the window. */
struct acpi_layout {
	size_t rsdp, xsdt, rsdt, fadt, facs, madt, dsdt, end;
	size_t madt_len;
	size_t nx2apic;		/* x2APIC entries in the MADT */
};

static void header(uint8_t *t, const char sig[4], size_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	fw_st32(t, 4, (uint32_t)len);
	st8(t, 8, rev);
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	fw_st32(t, 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	fw_st32(t, 32, CREATOR_REV);
}

/* Checksum byte at offset 9: the whole table sums to zero. */
static void checksum(uint8_t *t, size_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)-fw_sum8(t, len);
}

/* ---- DSDT ---------------------------------------------------------- */

static void pci_crs(struct aml *a)
{
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_word_bus(a, 0x00, 0xFF);
	/* The config ports are the bridge's own; Linux drops this range from
	 * the windows. */
	aml_rt_io(a, LAYOUT_PCI_CONFIG_ADDR, LAYOUT_PCI_CONFIG_ADDR, 1, 8);
	aml_rt_word_io(a, 0x0000, LAYOUT_PCI_CONFIG_ADDR - 1);
	aml_rt_word_io(a, LAYOUT_PCI_IO_BASE, LAYOUT_PCI_IO_END - 1);
	aml_rt_dword_mem(a, (uint32_t)LAYOUT_PCI_MMIO32_BASE, (uint32_t)(LAYOUT_PCI_MMIO32_END - 1),
			 false);
	aml_rt_end(a);
}

/* Static routing: Package {Address (slot, any function), Pin, Source 0,
 * GSI}; GSIs from a zero source are level, active low. */
static void pci_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_package_begin(a, PCI_SLOTS_ACPI * PCI_PINS);
	for (unsigned slot = 0; slot < PCI_SLOTS_ACPI; slot++)
		for (unsigned pin = 0; pin < PCI_PINS; pin++) {
			aml_package_begin(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xFFFF);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, layout_pci_intx_gsi(slot, pin));
			aml_end(a);
		}
	aml_end(a);
}

static void dev_hid_begin(struct aml *a, const char *name, const char *hid)
{
	aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
}

static void isa_com(struct aml *a, unsigned n)
{
	static const uint16_t port[] = { LAYOUT_COM1_PORT, LAYOUT_COM2_PORT,
					 LAYOUT_COM3_PORT, LAYOUT_COM4_PORT };
	static const uint8_t irq[] = { LAYOUT_COM13_IRQ, LAYOUT_COM24_IRQ,
				       LAYOUT_COM13_IRQ, LAYOUT_COM24_IRQ };
	char name[5];

	snprintf(name, sizeof(name), "COM%u", n + 1);
	dev_hid_begin(a, name, "PNP0501");
	aml_name(a, "_UID");
	aml_int(a, n + 1);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, port[n], port[n], 1, 8);
	aml_rt_irq_noflags(a, irq[n]);
	aml_rt_end(a);
	aml_end(a);
}

static void isa_rtc(struct aml *a)
{
	dev_hid_begin(a, "RTC", "PNP0B00");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, LAYOUT_RTC_PORT, LAYOUT_RTC_PORT, 1, 2);
	aml_rt_irq_noflags(a, LAYOUT_RTC_IRQ);
	aml_rt_end(a);
	aml_end(a);
}

/* Keyboard port only: khyve's i8042 has no mouse behind its AUX port, and
 * with no PNP0F13 listed Linux's i8042 driver marks the port absent
 * (i8042_noaux) instead of probing it. */
static void isa_kbd(struct aml *a)
{
	dev_hid_begin(a, "KBD", "PNP0303");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, LAYOUT_I8042_DATA_PORT, LAYOUT_I8042_DATA_PORT, 1, 1);
	aml_rt_io(a, LAYOUT_I8042_CMD_PORT, LAYOUT_I8042_CMD_PORT, 1, 1);
	aml_rt_irq_noflags(a, LAYOUT_I8042_KBD_IRQ);
	aml_rt_end(a);
	aml_end(a);
}

/* The LPC bridge's slot is configurable and not known here, so the ISA
 * devices sit in a generic ISA container (PNP0A05) rather than under an
 * _ADR that could name the wrong function. */
static void isa(struct aml *a, const struct fw_info *info)
{
	dev_hid_begin(a, "ISA", "PNP0A05");
	for (unsigned n = 0; n < 4; n++)
		if (info->com_mask & (1u << n))
			isa_com(a, n);
	isa_rtc(a);
	isa_kbd(a);
	aml_end(a);
}

static void pci0(struct aml *a, const struct fw_info *info)
{
	aml_scope_begin(a, "\\_SB");
	dev_hid_begin(a, "PCI0", "PNP0A03");
	aml_name(a, "_ADR");
	aml_int(a, 0);
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_name(a, "_BBN");
	aml_int(a, 0);
	pci_crs(a);
	pci_prt(a);
	isa(a, info);
	aml_end(a);
	aml_end(a);
}

static int dsdt_aml(struct aml *a, const struct fw_info *info)
{
	aml_init(a);
	/* SLP_TYPa, SLP_TYPb, reserved, reserved. */
	aml_name(a, "\\_S5");
	aml_package_begin(a, 4);
	aml_int(a, LAYOUT_SLP_TYP_S5);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_end(a);
	pci0(a, info);
	return aml_finish(a);
}

/* ---- layout -------------------------------------------------------- */

static size_t count_x2apic(const struct fw_info *info)
{
	if (info->x2apic)
		return info->ncpus;
	/* xAPIC IDs stop at 254; higher IDs need x2APIC entries anyway. */
	return info->ncpus > XAPIC_MAX_ID + 1 ? info->ncpus - (XAPIC_MAX_ID + 1) : 0;
}

static size_t madt_len(const struct fw_info *info, size_t nx2)
{
	size_t nx = info->ncpus - nx2;
	size_t len = HDR_LEN + 8 + IOAPIC_LEN + 2 * ISO_LEN;

	len += nx * LAPIC_LEN + nx2 * X2APIC_LEN;
	len += (nx ? LAPIC_NMI_LEN : 0) + (nx2 ? X2APIC_NMI_LEN : 0);
	return len;
}

static int plan(const struct fw_window *win, const struct fw_info *info, size_t dsdt_len,
		struct acpi_layout *l)
{
	/* The RSDP must sit on a 16-byte boundary. */
	l->rsdp = align_up(win->gpa, 16) - win->gpa;
	l->xsdt = align_up(l->rsdp + RSDP_LEN, 16);
	l->rsdt = align_up(l->xsdt + HDR_LEN + 8 * NTABLES, 16);
	l->fadt = align_up(l->rsdt + HDR_LEN + 4 * NTABLES, 16);
	/* The FACS must sit on a 64-byte boundary (in guest physical terms). */
	l->facs = align_up(win->gpa + l->fadt + FADT_LEN, 64) - win->gpa;
	l->nx2apic = count_x2apic(info);
	l->madt_len = madt_len(info, l->nx2apic);
	l->madt = align_up(l->facs + FACS_LEN, 16);
	l->dsdt = align_up(l->madt + l->madt_len, 16);
	l->end = l->dsdt + HDR_LEN + dsdt_len;
	if (l->end > win->len)
		return -ENOSPC;
	/* RSDT entries and FIRMWARE_CTRL/DSDT are 32-bit addresses. */
	if (win->gpa + l->end > UINT32_MAX)
		return -ERANGE;
	return 0;
}

/* ---- tables -------------------------------------------------------- */

static void write_rsdp(uint8_t *p, uint64_t xsdt, uint64_t rsdt)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	st8(p, 15, 2);			/* revision: ACPI 2.0+ */
	fw_st32(p, 16, (uint32_t)rsdt);
	fw_st32(p, 20, RSDP_LEN);
	fw_st64(p, 24, xsdt);
	/* First checksum covers the ACPI 1.0 part, the second all of it. */
	st8(p, 8, (uint8_t)-fw_sum8(p, 20));
	st8(p, 32, (uint8_t)-fw_sum8(p, RSDP_LEN));
}

static void write_sdts(uint8_t *w, const struct acpi_layout *l, uint64_t gpa)
{
	const size_t entries[NTABLES] = { l->fadt, l->madt };
	uint8_t *x = w + l->xsdt, *r = w + l->rsdt;

	header(x, "XSDT", HDR_LEN + 8 * NTABLES, 1);
	header(r, "RSDT", HDR_LEN + 4 * NTABLES, 1);
	for (size_t i = 0; i < NTABLES; i++) {
		fw_st64(x, HDR_LEN + 8 * i, gpa + entries[i]);
		fw_st32(r, HDR_LEN + 4 * i, (uint32_t)(gpa + entries[i]));
	}
	checksum(x, HDR_LEN + 8 * NTABLES);
	checksum(r, HDR_LEN + 4 * NTABLES);
}

static void gas_io(uint8_t *t, size_t off, uint16_t port, unsigned bytes, uint8_t access)
{
	st8(t, off, GAS_SYSTEM_IO);
	st8(t, off + 1, (uint8_t)(8 * bytes));	/* bit width */
	st8(t, off + 2, 0);			/* bit offset */
	st8(t, off + 3, access);
	fw_st64(t, off + 4, port);
}

static void fadt_pm_blocks(uint8_t *t)
{
	fw_st32(t, 56, LAYOUT_PM1A_EVT_PORT);
	fw_st32(t, 64, LAYOUT_PM1A_CNT_PORT);
	fw_st32(t, 76, LAYOUT_PM_TMR_PORT);
	st8(t, 88, LAYOUT_PM1A_EVT_LEN);
	st8(t, 89, LAYOUT_PM1A_CNT_LEN);
	st8(t, 91, LAYOUT_PM_TMR_LEN);
	gas_io(t, 148, LAYOUT_PM1A_EVT_PORT, LAYOUT_PM1A_EVT_LEN, GAS_ACCESS_WORD);
	gas_io(t, 172, LAYOUT_PM1A_CNT_PORT, LAYOUT_PM1A_CNT_LEN, GAS_ACCESS_WORD);
	gas_io(t, 208, LAYOUT_PM_TMR_PORT, LAYOUT_PM_TMR_LEN, GAS_ACCESS_DWORD);
}

static void write_fadt(uint8_t *w, const struct acpi_layout *l, uint64_t gpa)
{
	uint8_t *t = w + l->fadt;

	header(t, "FACP", FADT_LEN, 6);
	fw_st32(t, 36, (uint32_t)(gpa + l->facs));	/* FIRMWARE_CTRL */
	fw_st32(t, 40, (uint32_t)(gpa + l->dsdt));	/* DSDT */
	fw_st16(t, 46, LAYOUT_SCI_IRQ);
	/* SMI_CMD (48), ACPI_ENABLE, ACPI_DISABLE stay 0: ACPI is always on,
	 * so the OS finds SCI_EN set and never asks for the transition. */
	fadt_pm_blocks(t);
	fw_st16(t, 96, C2_UNSUPPORTED);
	fw_st16(t, 98, C3_UNSUPPORTED);
	st8(t, 108, RTC_CENTURY_INDEX);
	fw_st16(t, 109, FADT_BOOT_ARCH);
	/* PWR_BUTTON clear: fixed power button; TMR_VAL_EXT clear: 24 bits. */
	fw_st32(t, 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
	gas_io(t, 116, LAYOUT_RESET_PORT, 1, GAS_ACCESS_BYTE);
	st8(t, 128, LAYOUT_RESET_VALUE);
	st8(t, 131, 3);				/* FADT minor version: 6.3 */
	fw_st64(t, 132, gpa + l->facs);		/* X_FIRMWARE_CTRL */
	fw_st64(t, 140, gpa + l->dsdt);		/* X_DSDT */
	checksum(t, FADT_LEN);
}

static void write_facs(uint8_t *w, const struct acpi_layout *l)
{
	uint8_t *t = w + l->facs;

	/* No checksum: the FACS is read-write for the OS. */
	memcpy(t, "FACS", 4);
	fw_st32(t, 4, FACS_LEN);
	st8(t, 32, 2);				/* version */
}

/* Appends MADT entries; returns the new offset. */
static size_t madt_cpus(uint8_t *t, size_t off, const struct fw_info *info, size_t nx2)
{
	size_t nx = info->ncpus - nx2;

	for (uint32_t id = 0; id < info->ncpus; id++) {
		if (id < nx) {
			st8(t, off, MADT_LAPIC);
			st8(t, off + 1, LAPIC_LEN);
			st8(t, off + 2, (uint8_t)id);	/* ACPI processor UID */
			st8(t, off + 3, (uint8_t)id);	/* APIC ID */
			fw_st32(t, off + 4, MADT_ENABLED);
			off += LAPIC_LEN;
		} else {
			st8(t, off, MADT_X2APIC);
			st8(t, off + 1, X2APIC_LEN);
			fw_st32(t, off + 4, id);		/* x2APIC ID */
			fw_st32(t, off + 8, MADT_ENABLED);
			fw_st32(t, off + 12, id);		/* ACPI processor UID */
			off += X2APIC_LEN;
		}
	}
	return off;
}

static size_t madt_iso(uint8_t *t, size_t off, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	st8(t, off, MADT_ISO);
	st8(t, off + 1, ISO_LEN);
	st8(t, off + 2, 0);			/* bus: ISA */
	st8(t, off + 3, irq);
	fw_st32(t, off + 4, gsi);
	fw_st16(t, off + 8, flags);
	return off + ISO_LEN;
}

/* NMI on LINT1 of every processor (UID all-ones), in the form(s) matching
 * the processor entries present. */
static size_t madt_nmi(uint8_t *t, size_t off, const struct fw_info *info, size_t nx2)
{
	if (info->ncpus > nx2) {
		st8(t, off, MADT_LAPIC_NMI);
		st8(t, off + 1, LAPIC_NMI_LEN);
		st8(t, off + 2, 0xFF);
		fw_st16(t, off + 3, MPS_HIGH_EDGE);
		st8(t, off + 5, 1);		/* LINT1 */
		off += LAPIC_NMI_LEN;
	}
	if (nx2) {
		st8(t, off, MADT_X2APIC_NMI);
		st8(t, off + 1, X2APIC_NMI_LEN);
		fw_st16(t, off + 2, MPS_HIGH_EDGE);
		fw_st32(t, off + 4, UINT32_MAX);
		st8(t, off + 8, 1);		/* LINT1 */
		off += X2APIC_NMI_LEN;
	}
	return off;
}

static void write_madt(uint8_t *w, const struct acpi_layout *l, const struct fw_info *info)
{
	uint8_t *t = w + l->madt;
	size_t off;

	header(t, "APIC", l->madt_len, 5);
	fw_st32(t, 36, (uint32_t)LAYOUT_LAPIC_BASE);
	fw_st32(t, 40, MADT_PCAT_COMPAT);
	off = madt_cpus(t, HDR_LEN + 8, info, l->nx2apic);
	st8(t, off, MADT_IOAPIC);
	st8(t, off + 1, IOAPIC_LEN);
	st8(t, off + 2, IOAPIC_ID);
	fw_st32(t, off + 4, (uint32_t)LAYOUT_IOAPIC_BASE);
	fw_st32(t, off + 8, 0);			/* GSI base */
	off += IOAPIC_LEN;
	off = madt_iso(t, off, ISA_TIMER_IRQ, ISA_TIMER_GSI, 0);
	off = madt_iso(t, off, LAYOUT_SCI_IRQ, LAYOUT_SCI_IRQ, MPS_HIGH_LEVEL);
	off = madt_nmi(t, off, info, l->nx2apic);
	(void)off;
	checksum(t, l->madt_len);
}

static void write_dsdt(uint8_t *w, const struct acpi_layout *l, const struct aml *a)
{
	uint8_t *t = w + l->dsdt;

	/* Revision 2: 64-bit integers. */
	header(t, "DSDT", HDR_LEN + a->len, 2);
	memcpy(t + HDR_LEN, a->buf, a->len);
	checksum(t, HDR_LEN + a->len);
}

static int check_info(const struct fw_window *win, const struct fw_info *info)
{
	if (!win || !win->hva || !info || info->ncpus == 0)
		return -EINVAL;
	/* x2APIC IDs are 32-bit, but the MADT length field must still fit. */
	if (info->ncpus > UINT16_MAX)
		return -EINVAL;
	return 0;
}

int acpi_build(const struct fw_window *win, const struct fw_info *info, uint64_t *rsdp_gpa)
{
	struct acpi_layout l;
	struct aml a;
	int rc = check_info(win, info);

	if (rc)
		return rc;
	rc = dsdt_aml(&a, info);
	if (!rc)
		rc = plan(win, info, a.len, &l);
	if (rc) {
		aml_free(&a);
		return rc;
	}
	memset(win->hva, 0, win->len);
	write_rsdp(win->hva + l.rsdp, win->gpa + l.xsdt, win->gpa + l.rsdt);
	write_sdts(win->hva, &l, win->gpa);
	write_fadt(win->hva, &l, win->gpa);
	write_facs(win->hva, &l);
	write_madt(win->hva, &l, info);
	write_dsdt(win->hva, &l, &a);
	aml_free(&a);
	if (rsdp_gpa)
		*rsdp_gpa = win->gpa + l.rsdp;
	return 0;
}
