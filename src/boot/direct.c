/* What every direct boot shares: file probing, GDT, identity page tables,
 * the e820 map, and copying file contents into guest memory. */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/layout.h"

#define PTE_PRESENT_RW	0x3ULL
#define PDE_2M		0x80ULL

unsigned e820_build(struct boot_e820_entry *t, unsigned max, uint64_t lowmem, uint64_t highmem)
{
	struct boot_e820_entry all[] = {
		{ 0, LAYOUT_EBDA_BASE, 1 },
		{ LAYOUT_EBDA_BASE, LAYOUT_BIOS_END - LAYOUT_EBDA_BASE, 2 },
		{ LAYOUT_BIOS_END, lowmem > LAYOUT_BIOS_END ? lowmem - LAYOUT_BIOS_END : 0, 1 },
		{ LAYOUT_HIGHMEM_BASE, highmem, 1 },
	};
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		if (all[i].size)
			t[n++] = all[i];
	return n;
}

int boot_read_into(int fd, uint64_t off, struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint8_t *dst = vm_gpa(vm, gpa, len);

	if (!dst)
		return -EFAULT;
	while (len) {
		ssize_t n = pread(fd, dst, len > (1u << 30) ? (1u << 30) : len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;	/* the file shrank under us */
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int open_sized(const char *what, const char *path, int *fd, uint64_t *size,
		      char *err, size_t errlen)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -errno;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static int probe_initrd(struct boot_files *bf, uint64_t lowmem, char *err, size_t errlen)
{
	uint64_t top = lowmem, kernel_end, max;
	int rc;

	if (!bf->initrd_path)
		return 0;
	if (bf->kind != KERNEL_BZIMAGE) {
		snprintf(err, errlen, "boot.initrd: only a Linux bzImage kernel takes an initrd");
		return -EINVAL;
	}
	rc = open_sized("initrd", bf->initrd_path, &bf->initrd_fd, &bf->initrd_size, err, errlen);
	if (rc)
		return rc;
	max = (uint64_t)bf->hdr.initrd_addr_max + 1;
	if (top > max)
		top = max;
	kernel_end = bf->load_addr + (bf->hdr.init_size ? bf->hdr.init_size
							: bf->kernel_size - bf->setup_size);
	if (bf->initrd_size > top || ((top - bf->initrd_size) & ~0xfffULL) < kernel_end) {
		snprintf(err, errlen, "initrd %s (%llu MiB) does not fit in guest memory "
			 "(%llu MiB) beside the kernel: raise -m", bf->initrd_path,
			 (unsigned long long)((bf->initrd_size + (1 << 20) - 1) >> 20),
			 (unsigned long long)(lowmem >> 20));
		return -E2BIG;
	}
	bf->initrd_addr = (top - bf->initrd_size) & ~0xfffULL;
	return 0;
}

int boot_probe(struct boot_files *bf, uint64_t lowmem, char *err, size_t errlen)
{
	uint8_t head[4096];
	ssize_t n;
	int rc;

	bf->kernel_fd = bf->initrd_fd = -1;
	if (!bf->kernel_path) {
		snprintf(err, errlen, "no kernel given: set -o boot.kernel=PATH (a bzImage or ELF guest)");
		return -EINVAL;
	}
	rc = open_sized("kernel", bf->kernel_path, &bf->kernel_fd, &bf->kernel_size, err, errlen);
	if (rc)
		return rc;
	n = pread(bf->kernel_fd, head, sizeof(head), 0);
	if (n < 0) {
		snprintf(err, errlen, "kernel %s: %s", bf->kernel_path, strerror(errno));
		return -errno;
	}
	if (n >= 4 && !memcmp(head, "\177ELF", 4))
		rc = elf_probe(bf, head, (size_t)n, lowmem, err, errlen);
	else
		rc = bzimage_probe(bf, head, (size_t)n, lowmem, err, errlen);
	if (!rc)
		rc = probe_initrd(bf, lowmem, err, errlen);
	if (!rc && bf->cmdline && strlen(bf->cmdline) + 1 > BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "boot.cmdline: %zu bytes, at most %llu", strlen(bf->cmdline),
			 (unsigned long long)BOOT_CMDLINE_MAX - 1);
		rc = -E2BIG;
	}
	return rc;
}

void boot_files_close(struct boot_files *bf)
{
	if (bf->kernel_fd >= 0)
		close(bf->kernel_fd);
	if (bf->initrd_fd >= 0)
		close(bf->initrd_fd);
	bf->kernel_fd = bf->initrd_fd = -1;
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
static int build_page_tables(struct vm *vm)
{
	uint64_t *pml4 = vm_gpa(vm, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = vm_gpa(vm, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = vm_gpa(vm, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_PRESENT_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT_RW | PDE_2M;
	return 0;
}

static int boot_common(struct vm *vm, struct vcpu_boot *out)
{
	void *gdt = vm_gpa(vm, BOOT_GDT_ADDR, sizeof(boot_gdt));

	if (!gdt || vm->lowmem < BOOT_SCRATCH_END)
		return -EFAULT;
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	out->gdt_base = BOOT_GDT_ADDR;
	out->gdt_limit = sizeof(boot_gdt) - 1;
	out->cr3 = BOOT_PML4_ADDR;
	return build_page_tables(vm);
}

static int bzimage_load(struct boot_files *bf, struct vm *vm, uint64_t rsdp_gpa,
			struct vcpu_boot *out)
{
	struct boot_params *bp = vm_gpa(vm, BOOT_ZEROPAGE_ADDR, sizeof(*bp));
	char *cmdline = vm_gpa(vm, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX);
	int rc;

	if (!bp || !cmdline)
		return -EFAULT;
	rc = boot_read_into(bf->kernel_fd, bf->setup_size, vm, bf->load_addr,
			    bf->kernel_size - bf->setup_size);
	if (!rc && bf->initrd_path)
		rc = boot_read_into(bf->initrd_fd, 0, vm, bf->initrd_addr, bf->initrd_size);
	if (rc)
		return rc;
	snprintf(cmdline, BOOT_CMDLINE_MAX, "%s", bf->cmdline ? bf->cmdline : "");
	bzimage_fill_zeropage(bf, bp, vm->lowmem, vm->highmem, rsdp_gpa);
	out->mode = VCPU_BOOT_LONG64;
	out->rip = bf->load_addr + 0x200;	/* startup_64 */
	out->rsi = BOOT_ZEROPAGE_ADDR;
	out->rsp = BOOT_STACK_TOP;
	return 0;
}

int boot_load(struct boot_files *bf, struct vm *vm, uint64_t rsdp_gpa,
	      struct vcpu_boot *out, char *err, size_t errlen)
{
	uint64_t entry = 0;
	int rc = boot_common(vm, out);

	if (rc) {
		snprintf(err, errlen, "guest memory too small for the boot area");
		return rc;
	}
	if (bf->kind == KERNEL_BZIMAGE) {
		rc = bzimage_load(bf, vm, rsdp_gpa, out);
		if (rc)
			snprintf(err, errlen, "loading %s: %s", bf->kernel_path, strerror(-rc));
		return rc;
	}
	rc = elf_load(bf, vm, &entry, err, errlen);
	if (rc)
		return rc;
	out->mode = bf->kind == KERNEL_ELF64 ? VCPU_BOOT_LONG64 : VCPU_BOOT_PROT32;
	out->rip = entry;
	out->rsp = BOOT_ELF_STACK_TOP;
	out->rsi = 0;
	return 0;
}
