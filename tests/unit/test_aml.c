/* AML builder: encodings checked against the byte sequences the ACPI spec
 * (and iasl) produce. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/aml.h"
#include "hw/fwbytes.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void mem_eq(const uint8_t *got, const uint8_t *want, size_t n)
{
	assert_memory_equal(got, want, n);
}

static void expect(const struct aml *a, const uint8_t *want, size_t n)
{
	assert_int_equal(aml_finish(a), 0);
	assert_int_equal(a->len, n);
	assert_memory_equal(a->buf, want, n);
}

static void expect_int(uint64_t v, const uint8_t *want, size_t n)
{
	struct aml a;

	aml_init(&a);
	aml_int(&a, v);
	expect(&a, want, n);
	aml_free(&a);
}

static void test_integers(void **state)
{
	expect_int(0, BYTES(0x00));
	expect_int(1, BYTES(0x01));
	expect_int(2, BYTES(0x0A, 0x02));
	expect_int(0xFF, BYTES(0x0A, 0xFF));
	expect_int(0x100, BYTES(0x0B, 0x00, 0x01));
	expect_int(0xFFFF, BYTES(0x0B, 0xFF, 0xFF));
	expect_int(0x10000, BYTES(0x0C, 0x00, 0x00, 0x01, 0x00));
	expect_int(0xFFFFFFFF, BYTES(0x0C, 0xFF, 0xFF, 0xFF, 0xFF));
	expect_int(1ULL << 32, BYTES(0x0E, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00));
	expect_int(UINT64_MAX, BYTES(0x0E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF));
}

static void expect_pkglen(size_t len, const uint8_t *want, size_t n)
{
	uint8_t out[4];

	assert_int_equal(aml_pkglength_encode(len, out), n);
	assert_memory_equal(out, want, n);
}

static void test_pkglength_encode(void **state)
{
	uint8_t out[4];

	expect_pkglen(0, BYTES(0x00));
	expect_pkglen(63, BYTES(0x3F));
	expect_pkglen(64, BYTES(0x40, 0x04));
	expect_pkglen(4095, BYTES(0x4F, 0xFF));
	expect_pkglen(4096, BYTES(0x80, 0x00, 0x01));
	expect_pkglen(0xFFFFF, BYTES(0x8F, 0xFF, 0xFF));
	expect_pkglen(0x100000, BYTES(0xC0, 0x00, 0x00, 0x01));
	expect_pkglen(0x0FFFFFFF, BYTES(0xCF, 0xFF, 0xFF, 0xFF));
	assert_int_equal(aml_pkglength_encode(0x10000000, out), 0);
}

/* Scope (_SB) { <fill bytes> }: the PkgLength counts itself, the name and
 * the body, so a body of b bytes needs value 4 + b + (size of the length). */
static void check_scope(size_t fill, const uint8_t *head, size_t nhead)
{
	struct aml a;
	uint8_t *body = malloc(fill);

	assert_non_null(body);
	memset(body, 0xA5, fill);
	aml_init(&a);
	aml_scope_begin(&a, "_SB");
	aml_bytes(&a, body, fill);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, nhead + 4 + fill);
	assert_memory_equal(a.buf, head, nhead);
	assert_memory_equal(a.buf + nhead, "_SB_", 4);
	assert_memory_equal(a.buf + nhead + 4, body, fill);
	aml_free(&a);
	free(body);
}

static void test_pkglength_backpatch(void **state)
{
	/* Total 63: the largest one-byte length. */
	check_scope(63 - 1 - 4, BYTES(0x10, 0x3F));
	/* One more byte of body makes the length 65 in two bytes. */
	check_scope(63 - 4, BYTES(0x10, 0x41, 0x04));
	/* Total 4095: the largest two-byte length. */
	check_scope(4095 - 2 - 4, BYTES(0x10, 0x4F, 0xFF));
	/* Total 4096 would need 3 bytes, making it 4097. */
	check_scope(4095 - 2 - 4 + 1, BYTES(0x10, 0x81, 0x00, 0x01));
}

static void test_names(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_namestring(&a, "\\_SB.PCI0");
	aml_namestring(&a, "\\_SB.PCI0.ISA");
	aml_namestring(&a, "^COM1");
	aml_namestring(&a, "_S5");
	aml_namestring(&a, "\\_S5");
	expect(&a, BYTES('\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
			 '\\', 0x2F, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_',
			 '^', 'C', 'O', 'M', '1',
			 '_', 'S', '5', '_',
			 '\\', '_', 'S', '5', '_'));
	aml_free(&a);
}

static void expect_bad_name(const char *name)
{
	struct aml a;

	aml_init(&a);
	aml_namestring(&a, name);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

static void test_bad_names(void **state)
{
	expect_bad_name("");
	expect_bad_name("\\");
	expect_bad_name("pci0");
	expect_bad_name("1ABC");
	expect_bad_name("ABCDE");
	expect_bad_name("_SB..PCI0");
	expect_bad_name("_SB.");
	expect_bad_name("\\^_SB");
}

static void test_string_name_eisaid(void **state)
{
	struct aml a;
	uint32_t v;

	assert_int_equal(aml_eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030AD041);
	assert_int_equal(aml_eisaid_value("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105D041);
	assert_int_equal(aml_eisaid_value("pnp0a03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0A0", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0A0G", &v), -EINVAL);
	aml_init(&a);
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A03");
	aml_string(&a, "AB");
	expect(&a, BYTES(0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03,
			 0x0D, 'A', 'B', 0x00));
	aml_free(&a);
}

static void test_package_s5(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_name(&a, "_S5");
	aml_package_begin(&a, 4);
	aml_int(&a, 5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_end(&a);
	/* What iasl emits for Name (_S5, Package (4) {5, 0, 0, 0}). */
	expect(&a, BYTES(0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0A, 0x05, 0x00, 0x00, 0x00));
	aml_free(&a);
}

static void test_device_method(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_device_begin(&a, "DEV");
	aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_int(&a, 0x0F);
	aml_end(&a);
	aml_method_begin(&a, "FOO", 2, true);
	aml_end(&a);
	aml_end(&a);
	expect(&a, BYTES(0x5B, 0x82, 0x16, 'D', 'E', 'V', '_',
			 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0F,
			 0x14, 0x06, 'F', 'O', 'O', '_', 0x0A));
	aml_free(&a);
}

static void test_resource_template_small(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_rt_begin(&a);
	aml_rt_io(&a, 0x3F8, 0x3F8, 1, 8);
	aml_rt_irq_noflags(&a, 4);
	aml_rt_irq(&a, 11, true, true, true);
	aml_rt_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 4 + 8 + 3 + 4 + 2);
	mem_eq(a.buf, BYTES(0x11, 0x14, 0x0A, 0x11,
					 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08,
					 0x22, 0x10, 0x00,
					 0x23, 0x00, 0x08, 0x18,
					 0x79));
	/* The EndTag checksum makes the descriptors sum to zero. */
	assert_int_equal(fw_sum8(a.buf + 4, a.len - 4), 0);
	aml_free(&a);
}

static void test_resource_template_windows(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_rt_begin(&a);
	aml_rt_word_bus(&a, 0, 0xFF);
	aml_rt_word_io(&a, 0, 0xCF7);
	aml_rt_dword_mem(&a, 0xC0000000, 0xFEBFFFFF, false);
	aml_rt_qword_mem(&a, 0x8000000000ULL, 0xFFFFFFFFFFULL, true);
	aml_rt_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 5 + 16 + 16 + 26 + 46 + 2);
	/* Length 111 > 63: two-byte PkgLength; BufferSize 106. */
	mem_eq(a.buf, BYTES(0x11, 0x4E, 0x06, 0x0A, 106));
	mem_eq(a.buf + 5, BYTES(0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00,
					     0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01));
	mem_eq(a.buf + 21, BYTES(0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00,
					      0x00, 0x00, 0xF7, 0x0C, 0x00, 0x00, 0xF8, 0x0C));
	mem_eq(a.buf + 37,
			    BYTES(0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00,
				  0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0xBF, 0xFE, 0x00, 0x00,
				  0x00, 0x00, 0x00, 0x00, 0xC0, 0x3E));
	mem_eq(a.buf + 63,
			    BYTES(0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x03,
				  0, 0, 0, 0, 0, 0, 0, 0,
				  0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
				  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00,
				  0, 0, 0, 0, 0, 0, 0, 0,
				  0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00));
	assert_int_equal(a.buf[109], 0x79);
	assert_int_equal(fw_sum8(a.buf + 5, a.len - 5), 0);
	aml_free(&a);
}

/* More than 255 descriptor bytes: BufferSize needs a WordPrefix. */
static void test_resource_template_large(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_rt_begin(&a);
	for (int i = 0; i < 40; i++)
		aml_rt_io(&a, (uint16_t)(0x100 + i), (uint16_t)(0x100 + i), 1, 1);
	aml_rt_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	/* 322 bytes of descriptors, 3 of BufferSize, 2 of PkgLength: 327. */
	assert_int_equal(a.len, 1 + 327);
	mem_eq(a.buf, BYTES(0x11, 0x47, 0x14, 0x0B, 0x42, 0x01));
	aml_free(&a);
}

static void test_nesting_errors(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_device_begin(&a, "DEV");
	assert_int_equal(aml_finish(&a), -EINVAL);	/* still open */
	aml_free(&a);

	aml_init(&a);
	aml_rt_io(&a, 1, 1, 1, 1);			/* outside a template */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_rt_begin(&a);
	aml_end(&a);					/* wrong closer */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_scope_begin(&a, "_SB");
	aml_rt_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&a, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_rt_begin(&a);
	aml_rt_irq_noflags(&a, 16);
	aml_rt_word_io(&a, 2, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	aml_init(&a);
	aml_package_begin(&a, 256);
	aml_method_begin(&a, "M", 8, false);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

/* Errors are sticky: nothing is appended after the first one. */
static void test_sticky_error(void **state)
{
	struct aml a;
	size_t len;

	aml_init(&a);
	aml_int(&a, 5);
	aml_namestring(&a, "bad");
	len = a.len;
	aml_int(&a, 6);
	aml_scope_begin(&a, "_SB");
	aml_end(&a);
	assert_int_equal(a.len, len);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_pkglength_encode),
		cmocka_unit_test(test_pkglength_backpatch),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_string_name_eisaid),
		cmocka_unit_test(test_package_s5),
		cmocka_unit_test(test_device_method),
		cmocka_unit_test(test_resource_template_small),
		cmocka_unit_test(test_resource_template_windows),
		cmocka_unit_test(test_resource_template_large),
		cmocka_unit_test(test_nesting_errors),
		cmocka_unit_test(test_sticky_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
