/* Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst). */
#include "boot/boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SETUP_HDR_OFF	0x1f1
#define BOOT_FLAG	0xAA55
#define HDRS_MAGIC	0x53726448	/* "HdrS" */
#define MIN_PROTOCOL	0x020c		/* xloadflags and the 64-bit entry */
#define LOADER_UNDEF	0xff

int bzimage_probe(struct boot_files *bf, const uint8_t *head, size_t headlen,
		  uint64_t lowmem, char *err, size_t errlen)
{
	struct setup_header *h = &bf->hdr;
	size_t hdrlen;
	unsigned sects;

	if (headlen < 0x202 + 1 + 1) {
		snprintf(err, errlen, "kernel %s: too small to be a bzImage or ELF file", bf->kernel_path);
		return -ENOEXEC;
	}
	/* The header runs to the end of the jump at 0x200. */
	hdrlen = 0x202 + head[0x201] - SETUP_HDR_OFF;
	if (hdrlen > sizeof(*h))
		hdrlen = sizeof(*h);
	memset(h, 0, sizeof(*h));
	memcpy(h, head + SETUP_HDR_OFF, hdrlen);
	if (h->boot_flag != BOOT_FLAG || h->header != HDRS_MAGIC) {
		snprintf(err, errlen, "kernel %s: not a Linux bzImage (no HdrS signature) nor an ELF file",
			 bf->kernel_path);
		return -ENOEXEC;
	}
	if (h->version < MIN_PROTOCOL || !(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel %s: boot protocol %u.%02u without a 64-bit entry point; "
			 "khyve needs 2.12+ with XLF_KERNEL_64", bf->kernel_path,
			 h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	sects = h->setup_sects ? h->setup_sects : 4;
	bf->setup_size = (uint64_t)(sects + 1) * 512;
	if (bf->setup_size >= bf->kernel_size) {
		snprintf(err, errlen, "kernel %s: truncated bzImage", bf->kernel_path);
		return -ENOEXEC;
	}
	bf->kind = KERNEL_BZIMAGE;
	bf->load_addr = h->pref_address && (h->loadflags & LOADED_HIGH) ? h->pref_address
									: BOOT_BZ_LOW_LOAD;
	if (bf->load_addr < BOOT_SCRATCH_END || bf->load_addr + h->init_size > lowmem) {
		snprintf(err, errlen, "kernel %s needs %llu MiB of guest memory to start; raise -m",
			 bf->kernel_path,
			 (unsigned long long)((bf->load_addr + h->init_size + (1 << 20) - 1) >> 20));
		return -E2BIG;
	}
	if (bf->cmdline && h->cmdline_size && strlen(bf->cmdline) > h->cmdline_size) {
		snprintf(err, errlen, "boot.cmdline: %zu bytes, this kernel takes at most %u",
			 strlen(bf->cmdline), h->cmdline_size);
		return -E2BIG;
	}
	return 0;
}

void bzimage_fill_zeropage(const struct boot_files *bf, struct boot_params *bp,
			   uint64_t lowmem, uint64_t highmem, uint64_t rsdp_gpa)
{
	struct setup_header *h = &bp->hdr;

	memset(bp, 0, sizeof(*bp));
	*h = bf->hdr;
	h->type_of_loader = LOADER_UNDEF;
	h->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	h->heap_end_ptr = 0xfe00;
	h->vid_mode = 0xffff;		/* "normal": no video mode switch */
	h->code32_start = (uint32_t)bf->load_addr;
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
	if (bf->initrd_path) {
		h->ramdisk_image = (uint32_t)bf->initrd_addr;
		h->ramdisk_size = (uint32_t)bf->initrd_size;
		bp->ext_ramdisk_image = (uint32_t)(bf->initrd_addr >> 32);
		bp->ext_ramdisk_size = (uint32_t)(bf->initrd_size >> 32);
	}
	bp->acpi_rsdp_addr = rsdp_gpa;
	bp->e820_entries = (uint8_t)e820_build(bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE,
					       lowmem, highmem);
}
