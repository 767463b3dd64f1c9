/* CPU models: a level needs every feature of itself and the levels below
 * (the first one missing is named), and presents no extension above it
 * while the bits an OS needs (SMEP, SMAP, x2APIC, the speculation
 * controls) stay as KVM offered them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpumodel.h"

#define BIT(n) (1u << (n))

/* A CPUID with every bit set in the leaves models touch. */
static struct kvm_cpuid2 *full_cpuid(void)
{
	static const uint32_t leaves[][2] = {
		{ 1, 0 }, { 7, 0 }, { 7, 1 }, { 0xd, 0 }, { 0xd, 1 }, { 0xd, 2 }, { 0xd, 5 },
		{ 0x80000001, 0 },
	};
	size_t n = sizeof(leaves) / sizeof(leaves[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		e->function = leaves[i][0];
		e->index = leaves[i][1];
		e->flags = e->function == 7 || e->function == 0xd ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		e->eax = e->ebx = e->ecx = e->edx = 0xffffffffu;
	}
	return c;
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	fail_msg("no leaf %x.%x", fn, idx);
	return NULL;
}

static void test_names(void **state)
{
	assert_int_equal(cpumodel_count(), 5);
	assert_string_equal(cpumodel_name_at(0), "host");
	assert_string_equal(cpumodel_name(cpumodel_find("x86-64-v3")), "x86-64-v3");
	assert_null(cpumodel_find("Skylake-Client"));
	assert_null(cpumodel_name_at(5));
}

static void test_check(void **state)
{
	struct kvm_cpuid2 *c = full_cpuid();
	const char *missing = NULL;

	for (unsigned i = 0; i < cpumodel_count(); i++)
		assert_int_equal(cpumodel_check(cpumodel_find(cpumodel_name_at(i)), c, &missing), 0);
	leaf(c, 7, 0)->ebx &= ~BIT(16);		/* no AVX-512F */
	assert_int_equal(cpumodel_check(cpumodel_find("x86-64-v4"), c, &missing), -ENOTSUP);
	assert_string_equal(missing, "avx512f");
	assert_int_equal(cpumodel_check(cpumodel_find("x86-64-v3"), c, &missing), 0);
	leaf(c, 1, 0)->ecx &= ~BIT(23);		/* no POPCNT */
	assert_int_equal(cpumodel_check(cpumodel_find("x86-64-v2"), c, &missing), -ENOTSUP);
	assert_string_equal(missing, "popcnt");
	assert_int_equal(cpumodel_check(cpumodel_find("x86-64-v1"), c, &missing), 0);
	assert_int_equal(cpumodel_check(cpumodel_find("host"), c, &missing), 0);
	free(c);
}

static void test_apply_v2(void **state)
{
	struct kvm_cpuid2 *c = full_cpuid();

	cpumodel_apply(cpumodel_find("x86-64-v2"), c);
	/* v2's own, the OS's and khyve's kept; AVX, FMA, AES, RDRAND, VMX gone. */
	assert_int_equal(leaf(c, 1, 0)->ecx, BIT(0) | BIT(9) | BIT(13) | BIT(19) | BIT(20) |
			 BIT(23) | BIT(17) | BIT(21) | BIT(24) | BIT(27) | BIT(31));
	assert_int_equal(leaf(c, 1, 0)->edx, 0xffffffffu);
	assert_int_equal(leaf(c, 7, 0)->ebx, BIT(7) | BIT(10) | BIT(20));	/* no AVX2, BMI */
	assert_int_equal(leaf(c, 7, 0)->ecx, BIT(2));
	assert_int_equal(leaf(c, 7, 0)->edx,
			 BIT(10) | BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(31));
	assert_int_equal(leaf(c, 7, 1)->eax, 0);
	assert_int_equal(leaf(c, 0x80000001, 0)->ecx, BIT(0));		/* LAHF only */
	assert_int_equal(leaf(c, 0x80000001, 0)->edx,
			 BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29));
	assert_int_equal(leaf(c, 0xd, 0)->eax, 0x3);			/* x87, SSE */
	assert_int_equal(leaf(c, 0xd, 1)->eax, 0);
	assert_int_equal(leaf(c, 0xd, 2)->eax, 0);			/* no YMM area */
	free(c);
}

static void test_apply_v3_v4_host(void **state)
{
	struct kvm_cpuid2 *c = full_cpuid();

	cpumodel_apply(cpumodel_find("x86-64-v3"), c);
	assert_true(leaf(c, 1, 0)->ecx & BIT(28));			/* AVX */
	assert_false(leaf(c, 1, 0)->ecx & BIT(25));			/* AES */
	assert_int_equal(leaf(c, 7, 0)->ebx & (BIT(3) | BIT(5) | BIT(8) | BIT(16)),
			 BIT(3) | BIT(5) | BIT(8));			/* no AVX-512F */
	assert_int_equal(leaf(c, 0xd, 0)->eax, 0x7);
	assert_int_equal(leaf(c, 0xd, 2)->eax, 0xffffffffu);		/* the YMM area stays */
	assert_int_equal(leaf(c, 0xd, 5)->eax, 0);
	free(c);
	c = full_cpuid();
	cpumodel_apply(cpumodel_find("x86-64-v4"), c);
	assert_int_equal(leaf(c, 7, 0)->ebx & 0xd0030000u, 0xd0030000u);
	assert_int_equal(leaf(c, 0xd, 0)->eax, 0xe7);
	assert_int_equal(leaf(c, 7, 0)->ecx, BIT(2));			/* no VBMI, VNNI... */
	free(c);
	c = full_cpuid();
	cpumodel_apply(cpumodel_find("host"), c);
	for (unsigned i = 0; i < c->nent; i++)
		assert_int_equal(c->entries[i].ecx, 0xffffffffu);
	cpumodel_apply(NULL, c);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_apply_v2),
		cmocka_unit_test(test_apply_v3_v4_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
