/* vCPU creation and register state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vmm.h"

#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MSR_MTRR_DEF_TYPE	0x000002ff
#define MISC_ENABLE_FAST_STRING	0x1ULL
#define MTRR_ENABLE_WB		((1ULL << 11) | 6)	/* MTRRs on, default write-back */

#define X86_CR0_PE	0x1ULL
#define X86_CR0_ET	0x10ULL
#define X86_CR0_PG	0x80000000ULL
#define X86_CR4_PAE	0x20ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL

static int vcpu_set_boot_msrs(struct vcpu *v)
{
	static const struct kvm_msr_entry boot[] = {
		{ .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
		{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE_WB },
	};
	const unsigned n = sizeof(boot) / sizeof(boot[0]);
	_Alignas(struct kvm_msrs) uint8_t buf[sizeof(struct kvm_msrs) + sizeof(boot)];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	int rc;

	memset(buf, 0, sizeof(buf));
	m->nmsrs = n;
	memcpy(m->entries, boot, sizeof(boot));
	rc = ioctl(v->fd, KVM_SET_MSRS, m);
	/* KVM_SET_MSRS returns how many it set. */
	return rc == (int)n ? 0 : rc < 0 ? -errno : -EIO;
}

static int vcpu_create(struct vm *vm, unsigned id, char *err, size_t errlen)
{
	struct vcpu *v = &vm->vcpus[id];
	struct kvm_cpuid2 *cpuid = NULL;
	int rc;

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		snprintf(err, errlen, "creating vCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		snprintf(err, errlen, "vCPU %u: mapping kvm_run: %s", id, strerror(errno));
		return -errno;
	}
	rc = cpuid_for_vcpu(vm, id, &cpuid);
	if (!rc && ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		rc = -errno;
	free(cpuid);
	if (!rc)
		rc = vcpu_set_boot_msrs(v);
	if (rc)
		snprintf(err, errlen, "vCPU %u: setting CPUID/MSRs: %s", id, strerror(-rc));
	return rc;
}

int vm_vcpus_create(struct vm *vm, char *err, size_t errlen)
{
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	unsigned n = vm->params.topo.cpus;
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (sz <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EIO;
	}
	if (max > 0 && n > (unsigned)max) {
		snprintf(err, errlen, "%u vCPUs requested, this KVM allows %d", n, max);
		return -EINVAL;
	}
	vm->run_size = (size_t)sz;
	vm->vcpus = calloc(n, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		vm->vcpus[i].fd = -1;
	vm->nvcpus = n;
	for (unsigned i = 0; i < n; i++) {
		int rc = vcpu_create(vm, i, err, errlen);

		if (rc)
			return rc;
	}
	return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
		.type = type, .present = 1, .dpl = 0, .s = 1, .g = 1,
		.db = code64 ? 0 : 1, .l = code64 ? 1 : 0 };
}

int vcpu_set_boot_state(struct vcpu *v, const struct vcpu_boot *b)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	bool lm = b->mode == VCPU_BOOT_LONG64;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	seg_flat(&sregs.cs, lm ? BOOT_GDT_CODE64 : BOOT_GDT_CODE32, 0xb, lm);
	seg_flat(&sregs.ds, BOOT_GDT_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* A busy TSS is what VMX insists on; it is never loaded from memory. */
	sregs.tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1 };
	sregs.gdt.base = b->gdt_base;
	sregs.gdt.limit = b->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | (lm ? X86_CR0_PG : 0);
	sregs.cr4 = lm ? X86_CR4_PAE : 0;
	sregs.cr3 = lm ? b->cr3 : 0;
	sregs.efer = lm ? EFER_LME | EFER_LMA : 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	regs.rflags = 0x2;
	regs.rip = b->rip;
	regs.rsp = b->rsp;
	regs.rsi = b->rsi;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

int vcpu_is_stopped(struct vcpu *v, bool *stopped)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0)
		return -errno;
	switch (mp.mp_state) {
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
		*stopped = true;	/* an AP the guest never started, or parked */
		return 0;
	case KVM_MP_STATE_HALTED:
		if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
			return -errno;
		*stopped = !(regs.rflags & 0x200);	/* IF clear: nothing can wake it but NMI */
		return 0;
	default:
		*stopped = false;
		return 0;
	}
}
