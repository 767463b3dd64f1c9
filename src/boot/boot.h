/* Direct kernel boot: Linux bzImage (64-bit boot protocol) or an ELF test
 * guest.  Files are probed before KVM is touched so that bad input fails
 * with nothing created. */
#ifndef KHYVE_BOOT_H
#define KHYVE_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

#include "vmm/vmm.h"

/* Guest low-memory scratch used by direct boot (below the first loadable
 * address, 0x20000 + cmdline). */
#define BOOT_GDT_ADDR		0x500ULL
#define BOOT_ZEROPAGE_ADDR	0x7000ULL
#define BOOT_STACK_TOP		0x8ff0ULL
#define BOOT_PML4_ADDR		0x9000ULL
#define BOOT_PDPT_ADDR		0xA000ULL
#define BOOT_PD_ADDR		0xB000ULL	/* four pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR	0x20000ULL
#define BOOT_CMDLINE_MAX	0x10000ULL
#define BOOT_SCRATCH_END	(BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)
#define BOOT_ELF_STACK_TOP	0x9F000ULL
#define BOOT_BZ_LOW_LOAD	0x100000ULL

enum kernel_kind { KERNEL_BZIMAGE, KERNEL_ELF64, KERNEL_ELF32 };

struct boot_files {
	const char *kernel_path, *initrd_path, *cmdline;
	int kernel_fd, initrd_fd;
	uint64_t kernel_size, initrd_size;
	enum kernel_kind kind;
	/* bzImage */
	struct setup_header hdr;
	uint64_t setup_size;		/* file offset of the protected-mode code */
	uint64_t load_addr, initrd_addr;
};

/* Opens and checks kernel and initrd against a memory layout of lowmem
 * bytes below 4G; fills in load and initrd addresses. -errno + err. */
int boot_probe(struct boot_files *bf, uint64_t lowmem, char *err, size_t errlen);
void boot_files_close(struct boot_files *bf);

/* Writes kernel, initrd, cmdline, GDT, page tables and boot_params into
 * guest memory and fills the BSP's first register state. */
int boot_load(struct boot_files *bf, struct vm *vm, uint64_t rsdp_gpa,
	      struct vcpu_boot *out, char *err, size_t errlen);

/* Pieces, exposed for tests. */
unsigned e820_build(struct boot_e820_entry *t, unsigned max, uint64_t lowmem, uint64_t highmem);
int bzimage_probe(struct boot_files *bf, const uint8_t *head, size_t headlen,
		  uint64_t lowmem, char *err, size_t errlen);
void bzimage_fill_zeropage(const struct boot_files *bf, struct boot_params *bp,
			   uint64_t lowmem, uint64_t highmem, uint64_t rsdp_gpa);
int elf_probe(struct boot_files *bf, const uint8_t *head, size_t headlen,
	      uint64_t lowmem, char *err, size_t errlen);
int elf_load(struct boot_files *bf, struct vm *vm, uint64_t *entry, char *err, size_t errlen);
int boot_read_into(int fd, uint64_t off, struct vm *vm, uint64_t gpa, uint64_t len);

#endif
