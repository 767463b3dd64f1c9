/* CPU models as x86-64 psABI levels (see cpumodel.h). */
#include "vmm/cpumodel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm/vmm.h"

enum reg { EAX, EBX, ECX, EDX };

/* A CPUID bit a model either promises (level 1..4: it and the levels
 * above) or hides (HIDDEN: an extension no level has). */
#define HIDDEN	5
struct feature {
	const char *name;
	uint32_t leaf, subleaf;
	enum reg reg;
	unsigned bit;
	unsigned level;
};

static const struct feature features[] = {
	/* x86-64-v1: the baseline every x86-64 CPU has. */
	{ "cmov", 1, 0, EDX, 15, 1 }, { "cx8", 1, 0, EDX, 8, 1 }, { "fpu", 1, 0, EDX, 0, 1 },
	{ "fxsr", 1, 0, EDX, 24, 1 }, { "mmx", 1, 0, EDX, 23, 1 }, { "sse", 1, 0, EDX, 25, 1 },
	{ "sse2", 1, 0, EDX, 26, 1 }, { "syscall", 0x80000001, 0, EDX, 11, 1 },
	{ "lm", 0x80000001, 0, EDX, 29, 1 },
	/* x86-64-v2 */
	{ "cx16", 1, 0, ECX, 13, 2 }, { "lahf_lm", 0x80000001, 0, ECX, 0, 2 },
	{ "popcnt", 1, 0, ECX, 23, 2 }, { "pni", 1, 0, ECX, 0, 2 }, { "sse4.1", 1, 0, ECX, 19, 2 },
	{ "sse4.2", 1, 0, ECX, 20, 2 }, { "ssse3", 1, 0, ECX, 9, 2 },
	/* x86-64-v3 */
	{ "avx", 1, 0, ECX, 28, 3 }, { "avx2", 7, 0, EBX, 5, 3 }, { "bmi1", 7, 0, EBX, 3, 3 },
	{ "bmi2", 7, 0, EBX, 8, 3 }, { "f16c", 1, 0, ECX, 29, 3 }, { "fma", 1, 0, ECX, 12, 3 },
	{ "abm", 0x80000001, 0, ECX, 5, 3 }, { "movbe", 1, 0, ECX, 22, 3 },
	{ "xsave", 1, 0, ECX, 26, 3 },
	/* x86-64-v4 */
	{ "avx512f", 7, 0, EBX, 16, 4 }, { "avx512bw", 7, 0, EBX, 30, 4 },
	{ "avx512cd", 7, 0, EBX, 28, 4 }, { "avx512dq", 7, 0, EBX, 17, 4 },
	{ "avx512vl", 7, 0, EBX, 31, 4 },
};

/* Per register, the bits a model keeps whatever its level: the ones no
 * level speaks of that an OS needs or that khyve itself manages.  Every
 * other bit of these registers is an extension: kept only when a level
 * up to the model's promises it. */
struct keep {
	uint32_t leaf, subleaf;
	enum reg reg;
	uint32_t bits;
};

static const struct keep keeps[] = {
	/* Leaf 1 EDX: all of it is 1990s baseline (APIC, PAE, PGE, PAT...). */
	{ 1, 0, EDX, 0xffffffffu },
	/* Leaf 1 ECX: PCID 17, x2APIC 21, TSC-deadline 24 (khyve sets these two),
	 * OSXSAVE 27 (the guest's CR4), hypervisor 31. */
	{ 1, 0, ECX, (1u << 17) | (1u << 21) | (1u << 24) | (1u << 27) | (1u << 31) },
	/* Leaf 7 EBX: SMEP 7, INVPCID 10, SMAP 20. */
	{ 7, 0, EBX, (1u << 7) | (1u << 10) | (1u << 20) },
	/* Leaf 7 ECX: UMIP 2. */
	{ 7, 0, ECX, 1u << 2 },
	/* Leaf 7 EDX: speculation controls (MD_CLEAR 10, IBRS/IBPB 26, STIBP 27,
	 * L1D_FLUSH 28, ARCH_CAPABILITIES 29, SSBD 31). */
	{ 7, 0, EDX, (1u << 10) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29) | (1u << 31) },
	{ 7, 1, EAX, 0 },
	/* 0x80000001 EDX: SYSCALL 11, NX 20, 1 GiB pages 26, RDTSCP 27, LM 29. */
	{ 0x80000001, 0, EDX, (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29) },
	{ 0x80000001, 0, ECX, 0 },
};

struct cpu_model {
	const char *name;
	unsigned level;			/* 0: host, nothing hidden */
};

static const struct cpu_model models[] = {
	{ "host", 0 }, { "x86-64-v1", 1 }, { "x86-64-v2", 2 }, { "x86-64-v3", 3 },
	{ "x86-64-v4", 4 },
};
#define NMODELS (sizeof(models) / sizeof(models[0]))

const struct cpu_model *cpumodel_find(const char *name)
{
	for (unsigned i = 0; i < NMODELS; i++)
		if (!strcmp(models[i].name, name))
			return &models[i];
	return NULL;
}

const char *cpumodel_name(const struct cpu_model *m)
{
	return m->name;
}

unsigned cpumodel_count(void)
{
	return NMODELS;
}

const char *cpumodel_name_at(unsigned i)
{
	return i < NMODELS ? models[i].name : NULL;
}

const char *cpumodel_names(void)
{
	return "host, x86-64-v1, x86-64-v2, x86-64-v3, x86-64-v4";
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum reg r)
{
	switch (r) {
	case EAX: return &e->eax;
	case EBX: return &e->ebx;
	case ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static struct kvm_cpuid_entry2 *find_entry(const struct kvm_cpuid2 *c, uint32_t leaf,
					   uint32_t subleaf)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)&c->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

		if (e->function == leaf && (!indexed || e->index == subleaf))
			return e;
	}
	return NULL;
}

int cpumodel_check(const struct cpu_model *m, const struct kvm_cpuid2 *supported,
		   const char **missing)
{
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		const struct feature *f = &features[i];
		struct kvm_cpuid_entry2 *e;

		if (f->level > m->level)
			continue;
		e = find_entry(supported, f->leaf, f->subleaf);
		if (!e || !(*reg_of(e, f->reg) & (1u << f->bit))) {
			*missing = f->name;
			return -ENOTSUP;
		}
	}
	return 0;
}

/* The bits of one register the model lets through. */
static uint32_t allowed(const struct cpu_model *m, uint32_t leaf, uint32_t subleaf, enum reg r)
{
	uint32_t bits = 0;

	for (size_t i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++)
		if (keeps[i].leaf == leaf && keeps[i].subleaf == subleaf && keeps[i].reg == r)
			bits |= keeps[i].bits;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (features[i].leaf == leaf && features[i].subleaf == subleaf &&
		    features[i].reg == r && features[i].level <= m->level)
			bits |= 1u << features[i].bit;
	return bits;
}

/* XSAVE state components the model's instructions use: x87 and SSE, AVX's
 * YMM from v3, AVX-512's opmask and ZMM from v4. */
static uint32_t xsave_components(const struct cpu_model *m)
{
	return 0x3u | (m->level >= 3 ? 1u << 2 : 0) | (m->level >= 4 ? 0xe0u : 0);
}

void cpumodel_apply(const struct cpu_model *m, struct kvm_cpuid2 *cpuid)
{
	if (!m || m->level == 0)
		return;
	for (size_t i = 0; i < sizeof(keeps) / sizeof(keeps[0]); i++) {
		struct kvm_cpuid_entry2 *e = find_entry(cpuid, keeps[i].leaf, keeps[i].subleaf);

		if (e)
			*reg_of(e, keeps[i].reg) &= allowed(m, keeps[i].leaf, keeps[i].subleaf,
							    keeps[i].reg);
	}
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != 0xd)
			continue;
		if (e->index == 0) {
			e->eax &= xsave_components(m);
			e->edx = 0;
		} else if (e->index == 1) {
			e->eax = m->level >= 3 ? e->eax & 0x1u : 0;	/* XSAVEOPT with XSAVE */
			e->ecx = e->edx = 0;
		} else if (e->index >= 2 && e->index < 32 &&
			   !(xsave_components(m) & (1u << e->index))) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		}
	}
}
