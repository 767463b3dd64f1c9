/* SMBIOS 2.8 (DMTF DSP0134): the 32-bit "_SM_" entry point followed by the
 * structure table.  Structures are formatted into the window after the
 * entry point; each writer checks room first, so a small window gets
 * -ENOSPC and the window is left untouched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fw.h"
#include "hw/fwbytes.h"
#include "hw/layout.h"

#define EP_LEN		0x1F
#define EP_ANCHOR2	16	/* offset of "_DMI_" */
#define EP_ALIGNED	32	/* the table starts after the padded entry point */
#define SM_MAJOR	2
#define SM_MINOR	8

#define VENDOR		"khyve"
#define BIOS_VERSION	"1.0"
/* Linux uses ACPI _CRS host bridge windows only for BIOS dates >= 2008
 * (arch/x86/pci/acpi.c), so the date must be recent. */
#define BIOS_DATE	"01/01/2025"
#define PRODUCT		"khyve VM"
#define FAMILY		"Virtual Machine"
#define MAX_STRINGS	8
#define MAX_STRLEN	64	/* longer strings (vmname) are cut here */

/* Type 0 characteristics: bit 3, "BIOS characteristics not supported";
 * extension byte 2 bit 4, "SMBIOS describes a virtual machine". */
#define BIOS_CHAR_UNSUPPORTED	(1ull << 3)
#define BIOS_EXT2_VM		(1u << 4)

/* Type 17 size encoding. */
#define MEM_SIZE_KB_GRAN	0x8000
#define MEM_SIZE_USE_EXT	0x7FFF

struct smb {
	uint8_t *p;		/* window */
	size_t len, off;	/* window length, next free byte */
	size_t start;		/* where the structure table starts */
	size_t max_struct;
	unsigned count;
	uint16_t handle;
	bool full;
};

/* One structure being formatted: fixed part, then its strings. */
struct sstruct {
	uint8_t f[0x40];
	size_t flen;
	const char *str[MAX_STRINGS];
	unsigned nstr;
};

static uint16_t s_begin(struct smb *b, struct sstruct *s, uint8_t type, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->f[0] = type;
	s->f[1] = (uint8_t)len;
	s->flen = len;
	fw_st16(s->f, 2, b->handle);
	return b->handle++;
}

/* Adds a string and returns its number (1-based), 0 for none: empty
 * strings are not allowed in a string set. */
static uint8_t s_str(struct sstruct *s, const char *str)
{
	if (!str || !*str || s->nstr == MAX_STRINGS)
		return 0;
	s->str[s->nstr++] = str;
	return (uint8_t)s->nstr;
}

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (n < MAX_STRLEN && s[n])
		n++;
	return n;
}

/* Copies the structure out: formatted area, each string with its NUL, and
 * the final NUL (two NULs when there are no strings). */
static void s_end(struct smb *b, const struct sstruct *s)
{
	size_t need = s->flen + (s->nstr ? 1 : 2), at;

	for (unsigned i = 0; i < s->nstr; i++)
		need += str_len(s->str[i]) + 1;
	if (b->full || need > b->len - b->off) {
		b->full = true;
		return;
	}
	at = b->off;
	memcpy(b->p + at, s->f, s->flen);
	at += s->flen;
	for (unsigned i = 0; i < s->nstr; i++) {
		size_t n = str_len(s->str[i]);

		memcpy(b->p + at, s->str[i], n);
		b->p[at + n] = 0;
		at += n + 1;
	}
	memset(b->p + at, 0, s->nstr ? 1 : 2);
	b->off += need;
	b->count++;
	if (need > b->max_struct)
		b->max_struct = need;
}

static void type0_bios(struct smb *b)
{
	struct sstruct s;

	s_begin(b, &s, 0, 0x18);
	s.f[4] = s_str(&s, VENDOR);
	s.f[5] = s_str(&s, BIOS_VERSION);
	fw_st16(s.f, 6, (uint16_t)(LAYOUT_BIOS_BASE >> 4));	/* starting segment */
	s.f[8] = s_str(&s, BIOS_DATE);
	s.f[9] = 0;			/* ROM size: 64 KiB units minus one */
	fw_st64(s.f, 0x0A, BIOS_CHAR_UNSUPPORTED);
	s.f[0x13] = BIOS_EXT2_VM;
	s.f[0x14] = 1;			/* system BIOS major.minor release */
	s.f[0x15] = 0;
	s.f[0x16] = 0xFF;		/* no embedded controller */
	s.f[0x17] = 0xFF;
	s_end(b, &s);
}

/* SMBIOS 2.6+ stores time_low, time_mid and time_hi_and_version little
 * endian; the rest keeps RFC 4122 (network) order. */
static void uuid_smbios(uint8_t *out, const uint8_t *u)
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
					   8, 9, 10, 11, 12, 13, 14, 15 };

	for (unsigned i = 0; i < 16; i++)
		out[i] = u[order[i]];
}

static void type1_system(struct smb *b, const struct fw_info *info)
{
	struct sstruct s;

	s_begin(b, &s, 1, 0x1B);
	s.f[4] = s_str(&s, VENDOR);
	s.f[5] = s_str(&s, PRODUCT);
	s.f[6] = s_str(&s, BIOS_VERSION);
	s.f[7] = s_str(&s, info->vmname);		/* serial */
	uuid_smbios(s.f + 8, info->uuid);
	s.f[0x18] = 6;					/* wake-up: power switch */
	s.f[0x19] = 0;					/* SKU */
	s.f[0x1A] = s_str(&s, FAMILY);
	s_end(b, &s);
}

static void type3_chassis(struct smb *b)
{
	struct sstruct s;

	s_begin(b, &s, 3, 0x16);
	s.f[4] = s_str(&s, VENDOR);
	s.f[5] = 0x01;			/* type: other */
	s.f[9] = 0x03;			/* boot-up state: safe */
	s.f[0x0A] = 0x03;		/* power supply state: safe */
	s.f[0x0B] = 0x03;		/* thermal state: safe */
	s.f[0x0C] = 0x02;		/* security status: unknown */
	/* OEM-defined, height, cords, no contained elements, no SKU: 0. */
	s_end(b, &s);
}

static void type4_cpu(struct smb *b, const struct fw_info *info)
{
	uint8_t cores = (uint8_t)(info->ncpus > 0xFF ? 0xFF : info->ncpus);
	struct sstruct s;

	s_begin(b, &s, 4, 0x2A);
	s.f[4] = s_str(&s, "CPU 0");	/* socket designation */
	s.f[5] = 0x03;			/* central processor */
	s.f[6] = 0x01;			/* family: other */
	s.f[7] = s_str(&s, VENDOR);
	s.f[0x18] = 0x41;		/* socket populated, CPU enabled */
	s.f[0x19] = 0x01;		/* upgrade: other */
	fw_st16(s.f, 0x1A, 0xFFFF);	/* no L1/L2/L3 cache information */
	fw_st16(s.f, 0x1C, 0xFFFF);
	fw_st16(s.f, 0x1E, 0xFFFF);
	s.f[0x23] = cores;
	s.f[0x24] = cores;		/* enabled */
	s.f[0x25] = cores;		/* threads */
	fw_st16(s.f, 0x26, 0x0004);	/* 64-bit capable */
	fw_st16(s.f, 0x28, 0x0001);	/* family 2: other */
	s_end(b, &s);
}

static uint64_t ram_bytes(const struct fw_info *info)
{
	return info->lowmem + info->highmem;
}

static uint16_t type16_array(struct smb *b, const struct fw_info *info)
{
	uint64_t kib = ram_bytes(info) >> 10;
	struct sstruct s;
	uint16_t h = s_begin(b, &s, 16, 0x17);

	s.f[4] = 0x03;			/* location: system board */
	s.f[5] = 0x03;			/* use: system memory */
	s.f[6] = 0x03;			/* error correction: none */
	if (kib < 0x80000000u) {
		fw_st32(s.f, 7, (uint32_t)kib);
	} else {			/* 2 TiB and more: extended, in bytes */
		fw_st32(s.f, 7, 0x80000000u);
		fw_st64(s.f, 0x0F, ram_bytes(info));
	}
	fw_st16(s.f, 0x0B, 0xFFFE);	/* no error information */
	fw_st16(s.f, 0x0D, 1);		/* one memory device */
	s_end(b, &s);
	return h;
}

/* Size field: MiB with bit 15 clear, KiB with it set for tiny sizes,
 * 0x7FFF and the extended field (MiB) from 32 GiB - 1 MiB up. */
static void mem_size(uint8_t *f, uint64_t bytes)
{
	uint64_t mib = bytes >> 20;

	if (mib == 0)
		fw_st16(f, 0x0C, (uint16_t)(MEM_SIZE_KB_GRAN | (bytes >> 10)));
	else if (mib < MEM_SIZE_USE_EXT)
		fw_st16(f, 0x0C, (uint16_t)mib);
	else {
		fw_st16(f, 0x0C, MEM_SIZE_USE_EXT);
		fw_st32(f, 0x1C, mib > 0x7FFFFFFF ? 0x7FFFFFFF : (uint32_t)mib);
	}
}

static void type17_device(struct smb *b, const struct fw_info *info, uint16_t array)
{
	struct sstruct s;

	s_begin(b, &s, 17, 0x28);
	fw_st16(s.f, 4, array);
	fw_st16(s.f, 6, 0xFFFE);		/* no error information */
	fw_st16(s.f, 8, 64);		/* total width */
	fw_st16(s.f, 0x0A, 64);		/* data width */
	mem_size(s.f, ram_bytes(info));
	s.f[0x0E] = 0x09;		/* form factor: DIMM */
	s.f[0x10] = s_str(&s, "DIMM 0");
	s.f[0x12] = 0x07;		/* type: RAM */
	fw_st16(s.f, 0x13, 0x0002);	/* type detail: other */
	s.f[0x17] = s_str(&s, VENDOR);
	s_end(b, &s);
}

/* One mapped range; addresses in KiB, or in the extended fields (bytes)
 * when the end does not fit 32 bits of KiB. */
static void type19_range(struct smb *b, uint16_t array, uint64_t start, uint64_t len)
{
	uint64_t last = start + len - 1;
	struct sstruct s;

	s_begin(b, &s, 19, 0x1F);
	if ((last >> 10) < UINT32_MAX) {
		fw_st32(s.f, 4, (uint32_t)(start >> 10));
		fw_st32(s.f, 8, (uint32_t)(last >> 10));
	} else {
		fw_st32(s.f, 4, UINT32_MAX);
		fw_st32(s.f, 8, UINT32_MAX);
		fw_st64(s.f, 0x0F, start);
		fw_st64(s.f, 0x17, last);
	}
	fw_st16(s.f, 0x0C, array);
	s.f[0x0E] = 1;			/* partition width */
	s_end(b, &s);
}

static void type32_boot(struct smb *b)
{
	struct sstruct s;

	s_begin(b, &s, 32, 0x0B);	/* status 0: no errors detected */
	s_end(b, &s);
}

static void type127_end(struct smb *b)
{
	struct sstruct s;

	s_begin(b, &s, 127, 4);
	s_end(b, &s);
}

static void put_entry_point(struct smb *b, uint8_t *ep, uint64_t table_gpa)
{
	memcpy(ep, "_SM_", 4);
	ep[5] = EP_LEN;
	ep[6] = SM_MAJOR;
	ep[7] = SM_MINOR;
	fw_st16(ep, 8, (uint16_t)b->max_struct);
	memcpy(ep + EP_ANCHOR2, "_DMI_", 5);
	fw_st16(ep, 22, (uint16_t)(b->off - b->start));
	fw_st32(ep, 24, (uint32_t)table_gpa);
	fw_st16(ep, 28, (uint16_t)b->count);
	ep[30] = SM_MAJOR << 4 | SM_MINOR;	/* BCD revision */
	/* The intermediate checksum covers "_DMI_" to the end, then the
	 * entry point checksum covers everything. */
	ep[21] = (uint8_t)-fw_sum8(ep + EP_ANCHOR2, EP_LEN - EP_ANCHOR2);
	ep[4] = (uint8_t)-fw_sum8(ep, EP_LEN);
}

static void put_tables(struct smb *b, const struct fw_info *info)
{
	uint16_t array;

	type0_bios(b);
	type1_system(b, info);
	type3_chassis(b);
	type4_cpu(b, info);
	array = type16_array(b, info);
	type17_device(b, info, array);
	if (info->lowmem)
		type19_range(b, array, 0, info->lowmem);
	if (info->highmem)
		type19_range(b, array, LAYOUT_HIGHMEM_BASE, info->highmem);
	type32_boot(b);
	type127_end(b);
}

int smbios_build(const struct fw_window *win, const struct fw_info *info)
{
	struct smb b = { 0 };
	size_t ep;
	uint8_t *tmp;

	if (!win || !win->hva || !info)
		return -EINVAL;
	/* The OS finds the entry point by scanning 16-byte boundaries. */
	ep = (size_t)(((win->gpa + 15) & ~(uint64_t)15) - win->gpa);
	if (ep + EP_ALIGNED > win->len)
		return -ENOSPC;
	/* Format into a scratch copy so a failure leaves the window as is. */
	tmp = calloc(1, win->len);
	if (!tmp)
		return -ENOMEM;
	b.p = tmp;
	b.len = win->len;
	b.start = b.off = ep + EP_ALIGNED;
	put_tables(&b, info);
	if (b.full || b.off - b.start > UINT16_MAX || win->gpa + b.off > UINT32_MAX) {
		free(tmp);
		return b.full ? -ENOSPC : -ERANGE;
	}
	put_entry_point(&b, tmp + ep, win->gpa + b.start);
	memcpy(win->hva, tmp, win->len);
	free(tmp);
	return 0;
}
