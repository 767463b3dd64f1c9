/* Named CPU models: what a guest's CPUID may show beyond KVM's defaults.
 *
 * "host" (khyve's default) is every feature KVM supports here.  The
 * x86-64-v1 .. x86-64-v4 models are the x86-64 psABI's microarchitecture
 * levels, as QEMU's models of those names: the instructions of the level
 * and the levels below it and no other user-visible extension (no AES,
 * RDRAND, AVX-512 beyond v4's five, AMX, ...), so a guest sees the same ISA
 * on every host that has the level.  Supervisor features an OS needs for
 * its own protection (SMEP, SMAP, UMIP, PCID, the speculation controls)
 * are left as KVM offers them. */
#ifndef KHYVE_VMM_CPUMODEL_H
#define KHYVE_VMM_CPUMODEL_H

#include <stddef.h>
#include <linux/kvm.h>

struct cpu_model;

/* The model of that name, NULL if there is none. */
const struct cpu_model *cpumodel_find(const char *name);
const char *cpumodel_name(const struct cpu_model *m);
/* The models, "host" first: count and the name of each. */
unsigned cpumodel_count(void);
const char *cpumodel_name_at(unsigned i);
/* "host, x86-64-v1, ..." for messages. */
const char *cpumodel_names(void);

/* Whether the supported CPUID (KVM_GET_SUPPORTED_CPUID) has every
 * feature the model promises: 0, or -ENOTSUP with *missing naming the
 * first one it lacks ("avx512f"). */
int cpumodel_check(const struct cpu_model *m, const struct kvm_cpuid2 *supported,
		   const char **missing);
/* Clears in a vCPU's CPUID what the model does not have ("host": nothing). */
void cpumodel_apply(const struct cpu_model *m, struct kvm_cpuid2 *cpuid);

#endif
