/* Firmware tables khyve writes into guest memory before boot: ACPI, the MP
 * table and SMBIOS.  Each builder writes only inside the window it is given
 * (see layout.h) and returns 0 or a negative errno (-ENOSPC if it does not
 * fit). */
#ifndef KHYVE_FW_H
#define KHYVE_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fw_info {
	unsigned ncpus;			/* APIC IDs 0 .. ncpus-1 */
	uint64_t lowmem;		/* RAM bytes from 0 (<= LAYOUT_LOWMEM_LIMIT) */
	uint64_t highmem;		/* RAM bytes from LAYOUT_HIGHMEM_BASE */
	bool x2apic;			/* -x: MADT uses x2APIC entries */
	unsigned com_mask;		/* bit n set: COM(n+1) is present */
	uint8_t uuid[16];		/* SMBIOS type 1 UUID, RFC 4122 byte order */
	const char *vmname;		/* SMBIOS type 1 product / serial */
};

/* A window of guest memory: host pointer to its first byte, its guest
 * physical address and length. */
struct fw_window {
	uint8_t *hva;
	uint64_t gpa;
	size_t len;
};

/* RSDP at win->gpa, then XSDT, FADT, FACS, MADT, DSDT (and HPET-less).
 * *rsdp_gpa gets the RSDP address for boot_params.acpi_rsdp_addr. */
int acpi_build(const struct fw_window *win, const struct fw_info *info, uint64_t *rsdp_gpa);
/* MP floating pointer + configuration table (MP spec 1.4). */
int mptable_build(const struct fw_window *win, const struct fw_info *info);
/* SMBIOS 2.8 entry point ("_SM_") + structures: 0, 1 (UUID), 3, 4, 16, 17, 19, 32, 127. */
int smbios_build(const struct fw_window *win, const struct fw_info *info);

#endif
