/* ELF loader for khyve's own freestanding test guests: ELF64 is entered in
 * long mode, ELF32 in flat protected mode (see guest/). */
#include "boot/boot.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "hw/layout.h"

#define ELF_MAX_PHDRS	64

struct elf_seg { uint64_t off, paddr, filesz, memsz; };

/* Reads the program headers of either class into a common form. */
static int elf_segments(struct boot_files *bf, struct elf_seg *seg, unsigned *nseg,
			uint64_t *entry, char *err, size_t errlen)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	bool is64 = bf->kind == KERNEL_ELF64;
	uint64_t phoff, phnum, phentsize;

	if (pread(bf->kernel_fd, is64 ? (void *)&e64 : (void *)&e32,
		  is64 ? sizeof(e64) : sizeof(e32), 0) != (ssize_t)(is64 ? sizeof(e64) : sizeof(e32)))
		goto bad;
	phoff = is64 ? e64.e_phoff : e32.e_phoff;
	phnum = is64 ? e64.e_phnum : e32.e_phnum;
	phentsize = is64 ? e64.e_phentsize : e32.e_phentsize;
	*entry = is64 ? e64.e_entry : e32.e_entry;
	if (phnum == 0 || phnum > ELF_MAX_PHDRS ||
	    phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		goto bad;
	*nseg = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr p64;
		Elf32_Phdr p32;
		uint64_t off = phoff + i * phentsize;

		if (pread(bf->kernel_fd, is64 ? (void *)&p64 : (void *)&p32, phentsize,
			  (off_t)off) != (ssize_t)phentsize)
			goto bad;
		/* Linkers emit empty PT_LOADs (at address 0, say): nothing to load. */
		if ((is64 ? p64.p_type : p32.p_type) != PT_LOAD ||
		    (is64 ? p64.p_memsz : p32.p_memsz) == 0)
			continue;
		seg[(*nseg)++] = is64 ?
			(struct elf_seg){ p64.p_offset, p64.p_paddr, p64.p_filesz, p64.p_memsz } :
			(struct elf_seg){ p32.p_offset, p32.p_paddr, p32.p_filesz, p32.p_memsz };
	}
	return 0;
bad:
	snprintf(err, errlen, "kernel %s: malformed ELF program headers", bf->kernel_path);
	return -ENOEXEC;
}

static int elf_check_segment(const struct boot_files *bf, const struct elf_seg *s,
			     uint64_t lowmem, char *err, size_t errlen)
{
	if (s->filesz > s->memsz || s->off + s->filesz < s->off ||
	    s->off + s->filesz > bf->kernel_size) {
		snprintf(err, errlen, "kernel %s: ELF segment outside the file", bf->kernel_path);
		return -ENOEXEC;
	}
	if (s->paddr < BOOT_SCRATCH_END ||
	    (s->paddr < LAYOUT_BIOS_END && s->paddr + s->memsz > LAYOUT_EBDA_BASE) ||
	    s->paddr + s->memsz < s->paddr || s->paddr + s->memsz > lowmem) {
		snprintf(err, errlen, "kernel %s: ELF segment at 0x%llx+0x%llx is outside guest RAM "
			 "or overlaps khyve's boot area", bf->kernel_path,
			 (unsigned long long)s->paddr, (unsigned long long)s->memsz);
		return -ENOEXEC;
	}
	return 0;
}

int elf_probe(struct boot_files *bf, const uint8_t *head, size_t headlen,
	      uint64_t lowmem, char *err, size_t errlen)
{
	struct elf_seg seg[ELF_MAX_PHDRS];
	unsigned n = 0;
	uint64_t entry;
	int rc;

	if (headlen < EI_NIDENT + 4 || head[EI_DATA] != ELFDATA2LSB ||
	    (head[EI_CLASS] != ELFCLASS64 && head[EI_CLASS] != ELFCLASS32)) {
		snprintf(err, errlen, "kernel %s: not a little-endian ELF32/ELF64 file", bf->kernel_path);
		return -ENOEXEC;
	}
	bf->kind = head[EI_CLASS] == ELFCLASS64 ? KERNEL_ELF64 : KERNEL_ELF32;
	rc = elf_segments(bf, seg, &n, &entry, err, errlen);
	for (unsigned i = 0; !rc && i < n; i++)
		rc = elf_check_segment(bf, &seg[i], lowmem, err, errlen);
	if (!rc && n == 0) {
		snprintf(err, errlen, "kernel %s: ELF file has nothing to load", bf->kernel_path);
		rc = -ENOEXEC;
	}
	return rc;
}

int elf_load(struct boot_files *bf, struct vm *vm, uint64_t *entry, char *err, size_t errlen)
{
	struct elf_seg seg[ELF_MAX_PHDRS];
	unsigned n = 0;
	int rc = elf_segments(bf, seg, &n, entry, err, errlen);

	for (unsigned i = 0; !rc && i < n; i++) {
		uint8_t *dst = vm_gpa(vm, seg[i].paddr, seg[i].memsz);

		/* Re-checked: the file may have changed since the probe. */
		rc = elf_check_segment(bf, &seg[i], vm->lowmem, err, errlen);
		if (rc)
			break;
		if (!dst)
			return -EFAULT;
		memset(dst, 0, seg[i].memsz);
		rc = boot_read_into(bf->kernel_fd, seg[i].off, vm, seg[i].paddr, seg[i].filesz);
		if (rc)
			snprintf(err, errlen, "loading %s: %s", bf->kernel_path, strerror(-rc));
	}
	return rc;
}
