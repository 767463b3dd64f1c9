/* CPUID for each vCPU: what KVM supports, with the topology from -c and the
 * bits a hypervisor must set or hide. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpumodel.h"
#include "vmm/vmm.h"

#define CPUID_1_ECX_X2APIC	(1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)

/* Bits needed to number n things (ceil(log2(n))). */
static unsigned order(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void cpuid_leaf1(struct kvm_cpuid_entry2 *e, const struct vm *vm, unsigned id)
{
	const struct vm_topology *t = &vm->params.topo;
	unsigned per_pkg = t->cores * t->threads;

	e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | ((per_pkg > 0xff ? 0xff : per_pkg) << 16);
	e->ecx |= CPUID_1_ECX_HYPERVISOR;
	if (vm->params.x2apic)
		e->ecx |= CPUID_1_ECX_X2APIC;
	else
		e->ecx &= ~CPUID_1_ECX_X2APIC;	/* bhyve: xAPIC only unless -x */
	if (vm->tsc_deadline)
		e->ecx |= CPUID_1_ECX_TSC_DEADLINE;	/* saves a LAPIC timer exit per tick */
	if (per_pkg > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
}

/* Extended topology (0xB and 0x1F): SMT level then core level. */
static void cpuid_topology(struct kvm_cpuid_entry2 *e, const struct vm *vm, unsigned id)
{
	const struct vm_topology *t = &vm->params.topo;
	unsigned smt_bits = order(t->threads), core_bits = order(t->cores) + smt_bits;

	e->edx = id;
	switch (e->index) {
	case 0:
		e->eax = smt_bits;
		e->ebx = t->threads;
		e->ecx = (1u << 8) | 0;
		break;
	case 1:
		e->eax = core_bits;
		e->ebx = t->cores * t->threads;
		e->ecx = (2u << 8) | 1;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

static void cpuid_fixup(struct kvm_cpuid_entry2 *e, const struct vm *vm, unsigned id)
{
	const struct vm_topology *t = &vm->params.topo;

	switch (e->function) {
	case 1:
		cpuid_leaf1(e, vm, id);
		break;
	case 4:		/* Intel caches: cores per package, threads per cache */
		e->eax &= 0x3ff;
		if (e->eax & 0x1f)
			e->eax |= ((t->cores - 1) << 26) |
				  ((((e->eax >> 5) & 7) <= 2 ? t->threads - 1
							     : t->cores * t->threads - 1) << 14);
		break;
	case 0xb:
	case 0x1f:
		cpuid_topology(e, vm, id);
		break;
	case 0x80000008:	/* AMD: cores per package */
		e->ecx = (e->ecx & ~0xf0ffu) | (order(t->cores * t->threads) << 12) |
			 (t->cores * t->threads - 1);
		break;
	case 0x8000001e:	/* AMD extended APIC ID, core and node IDs */
		e->eax = id;
		e->ebx = ((t->threads - 1) << 8) | ((id >> order(t->threads)) & 0xff);
		e->ecx = 0;
		break;
	default:
		break;
	}
}

int cpuid_for_vcpu(const struct vm *vm, unsigned vcpu_id, struct kvm_cpuid2 **out)
{
	size_t sz = sizeof(**out) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);

	if (!c)
		return -ENOMEM;
	memcpy(c, vm->cpuid, sz);
	for (unsigned i = 0; i < c->nent; i++)
		cpuid_fixup(&c->entries[i], vm, vcpu_id);
	cpumodel_apply(vm->params.cpu_model, c);
	*out = c;
	return 0;
}
