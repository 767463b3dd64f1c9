/* The KVM wrapper: one VM, its guest memory (a memfd, so a later monitor
 * process can keep it across reboots) and its vCPUs. */
#ifndef KHYVE_VMM_H
#define KHYVE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct cpu_model;

struct vm_topology {
	unsigned cpus, sockets, cores, threads;
};

struct vm_params {
	uint64_t mem_size;		/* bytes, multiple of 4 KiB */
	struct vm_topology topo;
	bool x2apic;			/* expose x2APIC in CPUID */
	bool wired;			/* mlock guest memory (-S) */
	bool guest_in_core;		/* keep guest memory in core dumps (-C) */
	bool ignore_unknown_msrs;	/* -w: unknown MSRs read 0, writes dropped */
	const struct cpu_model *cpu_model;	/* cpu.model; NULL: host (vmm/cpumodel.h) */
	/* Guest memory to use (monitor mode keeps it across reboots): a memfd
	 * of size 0 (sized here) or mem_size; -1 to make a new one. */
	int mem_fd;
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
};

struct vm {
	int kvm_fd, vm_fd, mem_fd;
	uint8_t *mem;			/* whole memfd mapping: lowmem then highmem */
	/* A restore mapped a checkpoint's memory file privately over mem:
	 * the memfd's holes no longer tell which pages the guest touched. */
	bool mem_private;
	uint64_t mem_size, lowmem, highmem;
	size_t run_size;
	struct vm_params params;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	bool tsc_deadline;		/* in-kernel LAPIC emulates the TSC-deadline timer */
	uint32_t nested_state_max;	/* KVM_CAP_NESTED_STATE: 0 without nesting */
	unsigned nvcpus;
	struct vcpu *vcpus;
};

/* KVM_GET_SUPPORTED_CPUID on an open /dev/kvm: 0 with *out malloc'd, or
 * -errno. */
int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);

/* Opens /dev/kvm and creates the VM with memory, irqchip, PIT and vCPUs.
 * On failure writes a one-line reason into err, leaves nothing open. */
int vm_create(struct vm *vm, const struct vm_params *p, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* Host pointer to [gpa, gpa+len) if it lies wholly in guest RAM, else NULL.
 * Every guest-supplied address goes through here. */
void *vm_gpa(const struct vm *vm, uint64_t gpa, uint64_t len);
/* Drives an interrupt line of the in-kernel PIC/IOAPIC. */
int vm_irq_line(struct vm *vm, unsigned gsi, int level);
/* Delivers an MSI message (a device's MSI-X table entry).  0: delivered or
 * blocked by the guest's own masking; negative errno on failure. */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* Internal to src/vmm: creates vm->nvcpus vCPUs with CPUID and MSRs set. */
int vm_vcpus_create(struct vm *vm, char *err, size_t errlen);
/* Fills a vCPU's CPUID from KVM's supported list and the topology. */
int cpuid_for_vcpu(const struct vm *vm, unsigned vcpu_id, struct kvm_cpuid2 **out);

/* Register state for the first instruction. */
enum vcpu_boot_mode { VCPU_BOOT_LONG64, VCPU_BOOT_PROT32 };
struct vcpu_boot {
	enum vcpu_boot_mode mode;
	uint64_t rip, rsp, rsi;
	uint64_t gdt_base, cr3;		/* cr3 only for long mode */
	uint16_t gdt_limit;
};
int vcpu_set_boot_state(struct vcpu *vcpu, const struct vcpu_boot *b);
/* Is this vCPU halted with interrupts disabled (or never started)? */
int vcpu_is_stopped(struct vcpu *vcpu, bool *stopped);

/* Checkpoint and restore of KVM's state (src/vmm/vmstate.c): the irqchip,
 * PIT and kvmclock as sections vm.*, each vCPU as cpu.N.  The VM must be
 * paused.  Restore checks every section's version and size; on failure a
 * one-line reason is in err and the VM is half-restored: destroy it. */
struct snap_writer;
struct snap_file;
int vm_state_save(struct vm *vm, struct snap_writer *w, char *err, size_t errlen);
int vm_state_restore(struct vm *vm, const struct snap_file *f, char *err, size_t errlen);

/* The GDT every direct boot uses (Linux's boot protocol wants these). */
#define BOOT_GDT_CODE32		0x08
#define BOOT_GDT_CODE64		0x10
#define BOOT_GDT_DATA		0x18
#define BOOT_GDT_ENTRIES	4
extern const uint64_t boot_gdt[BOOT_GDT_ENTRIES];

#endif
