/* VM and vCPU creation on /dev/kvm. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/layout.h"
#include "vmm/cpumodel.h"

/* Intel needs these two pages for real-mode emulation; top of the 4G hole,
 * below the BIOS area KVM never uses. */
#define KVM_TSS_ADDR		0xFFFBD000ULL
#define KVM_IDENTITY_MAP_ADDR	0xFFFBC000ULL


const uint64_t boot_gdt[BOOT_GDT_ENTRIES] = {
	0,
	0x00cf9b000000ffffULL,	/* 0x08: 32-bit flat code */
	0x00af9b000000ffffULL,	/* 0x10: 64-bit code */
	0x00cf93000000ffffULL,	/* 0x18: flat data */
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && (errno == EINTR || errno == EAGAIN));
	return rc < 0 ? -errno : rc;
}

static int kvm_open(struct vm *vm, char *err, size_t errlen)
{
	int v;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "/dev/kvm: not found (is the kvm module loaded and virtualization enabled?)");
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen, "/dev/kvm: permission denied (add the user to group kvm)");
		else
			snprintf(err, errlen, "/dev/kvm: %s", strerror(e));
		return -e;
	}
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v < 0) {
		snprintf(err, errlen, "/dev/kvm: not a KVM device (%s)", strerror(errno));
		return -ENODEV;
	}
	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm: API version %d, khyve needs %d", v, KVM_API_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

static int kvm_require_caps(struct vm *vm, char *err, size_t errlen)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel irqchip" },
		{ KVM_CAP_PIT2, "in-kernel PIT" },
		{ KVM_CAP_USER_MEMORY, "user memory" },
		{ KVM_CAP_EXT_CPUID, "CPUID setting" },
		{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
		{ KVM_CAP_MP_STATE, "MP state" },
		{ KVM_CAP_SIGNAL_MSI, "MSI injection" },
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			snprintf(err, errlen, "/dev/kvm: lacks %s (KVM capability %d)",
				 caps[i].name, caps[i].cap);
			return -ENOTSUP;
		}
	return 0;
}

static int vm_memory_create(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_params *p = &vm->params;
	struct kvm_userspace_memory_region low = { 0 }, high = { 0 };
	struct stat st;

	vm->lowmem = p->mem_size < LAYOUT_LOWMEM_LIMIT ? p->mem_size : LAYOUT_LOWMEM_LIMIT;
	vm->highmem = p->mem_size - vm->lowmem;
	vm->mem_size = p->mem_size;
	if (p->mem_fd >= 0)
		vm->mem_fd = fcntl(p->mem_fd, F_DUPFD_CLOEXEC, 0);
	else
		vm->mem_fd = memfd_create("khyve-guest-ram", MFD_CLOEXEC);
	if (vm->mem_fd < 0 || fstat(vm->mem_fd, &st) < 0 ||
	    (st.st_size == 0 && ftruncate(vm->mem_fd, (off_t)p->mem_size) < 0)) {
		snprintf(err, errlen, "guest memory: %s", strerror(errno));
		return -errno;
	}
	if (st.st_size && (uint64_t)st.st_size != p->mem_size) {
		snprintf(err, errlen, "guest memory: the kept memory has %lld bytes, not %llu",
			 (long long)st.st_size, (unsigned long long)p->mem_size);
		return -EINVAL;
	}
	vm->mem = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		snprintf(err, errlen, "guest memory: mapping %llu MiB: %s",
			 (unsigned long long)(p->mem_size >> 20), strerror(errno));
		return -ENOMEM;
	}
	/* Huge pages where the host allows them for shared memory
	 * (transparent_hugepage/shmem_enabled advise or within_size): fewer
	 * nested page-table walks, and O_DIRECT pins one folio, not 512
	 * pages.  Not having them is not an error. */
	(void)madvise(vm->mem, p->mem_size, MADV_HUGEPAGE);
	if (!p->guest_in_core && madvise(vm->mem, p->mem_size, MADV_DONTDUMP) < 0) {
		snprintf(err, errlen, "guest memory: madvise: %s", strerror(errno));
		return -errno;
	}
	if (p->wired && mlock(vm->mem, p->mem_size) < 0) {
		snprintf(err, errlen, "guest memory: wiring (-S) %llu MiB: %s (see ulimit -l)",
			 (unsigned long long)(p->mem_size >> 20), strerror(errno));
		return -errno;
	}
	low = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = vm->lowmem, .userspace_addr = (uintptr_t)vm->mem };
	if (xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &low) < 0) {
		snprintf(err, errlen, "guest memory: KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -errno;
	}
	if (!vm->highmem)
		return 0;
	high = (struct kvm_userspace_memory_region){ .slot = 1,
		.guest_phys_addr = LAYOUT_HIGHMEM_BASE, .memory_size = vm->highmem,
		.userspace_addr = (uintptr_t)vm->mem + vm->lowmem };
	if (xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &high) < 0) {
		snprintf(err, errlen, "guest memory above 4G: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int vm_platform_create(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	int rc;

	/* Only Intel (VMX) needs these; AMD accepts and ignores them. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
		snprintf(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	rc = xioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (rc == 0)
		rc = xioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (rc < 0) {
		snprintf(err, errlen, "creating the in-kernel irqchip/PIT: %s", strerror(-rc));
		return rc;
	}
	if (vm->params.ignore_unknown_msrs) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
					      .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN |
							 KVM_MSR_EXIT_REASON_INVAL };

		rc = xioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap);
		if (rc < 0) {
			snprintf(err, errlen, "-w (ignore unknown MSRs): KVM_CAP_X86_USER_SPACE_MSR: %s",
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

static int kvm_get_supported_cpuid(struct vm *vm, char *err, size_t errlen)
{
	int rc = kvm_supported_cpuid(vm->kvm_fd, &vm->cpuid);

	if (rc)
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-rc));
	return rc;
}

int vm_create(struct vm *vm, const struct vm_params *p, char *err, size_t errlen)
{
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = -1;
	vm->params = *p;
	rc = kvm_open(vm, err, errlen);
	if (!rc)
		rc = kvm_require_caps(vm, err, errlen);
	if (!rc) {
		vm->vm_fd = xioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
		if (vm->vm_fd < 0) {
			rc = vm->vm_fd;
			snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(-rc));
		}
	}
	if (!rc)
		rc = vm_platform_create(vm, err, errlen);
	if (!rc)
		rc = vm_memory_create(vm, err, errlen);
	if (!rc)
		rc = kvm_get_supported_cpuid(vm, err, errlen);
	if (!rc && p->cpu_model) {
		const char *missing = "";

		if ((rc = cpumodel_check(p->cpu_model, vm->cpuid, &missing)))
			snprintf(err, errlen, "cpu.model=%s: this host's KVM lacks %s, which the "
				 "model has", cpumodel_name(p->cpu_model), missing);
	}
	/* KVM leaves this CPUID bit to userspace: it emulates the timer mode
	 * but the bit is not in the supported list. */
	vm->tsc_deadline = !rc && ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (!rc) {
		int n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);

		/* Asked here: the sandboxed VM process cannot ask at checkpoint. */
		vm->nested_state_max = n >= (int)sizeof(struct kvm_nested_state) ? (uint32_t)n : 0;
	}
	if (!rc)
		rc = vm_vcpus_create(vm, err, errlen);
	if (rc)
		vm_destroy(vm);
	return rc;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	free(vm->cpuid);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = -1;
}

void *vm_gpa(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa < vm->lowmem) {
		if (len > vm->lowmem - gpa)
			return NULL;
		return vm->mem + gpa;
	}
	if (gpa >= LAYOUT_HIGHMEM_BASE && gpa - LAYOUT_HIGHMEM_BASE < vm->highmem) {
		uint64_t off = gpa - LAYOUT_HIGHMEM_BASE;

		if (len > vm->highmem - off)
			return NULL;
		return vm->mem + vm->lowmem + off;
	}
	return NULL;
}

int vm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };

	return xioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
			       .data = data };
	int rc = xioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	return rc < 0 ? rc : 0;
}
