/* Looks for the firmware tables a direct-booted OS finds by scanning the
 * BIOS area: the ACPI RSDP, the MP floating pointer and the SMBIOS entry
 * point, each with its checksum checked.  Prints one line each, then S5. */
#include "lib.h"

#define BIOS_AREA	0xE0000u
#define BIOS_END	0x100000u

static int sig_at(const u8 *p, const char *sig, u32 len)
{
	for (u32 i = 0; i < len; i++)
		if (p[i] != (u8)sig[i])
			return 0;
	return 1;
}

static int sums_to_zero(const u8 *p, u32 len)
{
	u8 s = 0;

	for (u32 i = 0; i < len; i++)
		s = (u8)(s + p[i]);
	return s == 0;
}

/* Anchors sit on 16-byte boundaries (ACPI, MP and SMBIOS specs). */
static void find(const char *name, const char *sig, u32 siglen, u32 sumlen)
{
	for (u32 a = BIOS_AREA; a < BIOS_END; a += 16) {
		const u8 *p = (const u8 *)(unsigned long)a;

		if (!sig_at(p, sig, siglen))
			continue;
		serial_puts("tables: ");
		serial_puts(name);
		serial_puts(sums_to_zero(p, sumlen) ? " ok at " : " bad checksum at ");
		serial_hex(a, 5);
		serial_puts("\n");
		return;
	}
	serial_puts("tables: ");
	serial_puts(name);
	serial_puts(" missing\n");
}

int main(void)
{
	find("rsdp", "RSD PTR ", 8, 20);	/* ACPI 1.0 checksum covers 20 bytes */
	find("mptable", "_MP_", 4, 16);
	find("smbios", "_SM_", 4, 0x1f);
	poweroff();
}
