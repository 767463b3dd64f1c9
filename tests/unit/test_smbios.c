/* SMBIOS: entry point checksums, the structure table walked the way
 * Linux's dmi_scan does, the type 1 UUID byte order, memory sizes and
 * window bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fw.h"
#include "hw/layout.h"

#include "fwtest.h"
#define MAXS	32

/* The parsed structure table. */
struct smb {
	const uint8_t *s[MAXS];		/* each structure's formatted area */
	size_t n;
};

/* String number idx of structure s (NULL for 0 or missing). */
static const char *str(const uint8_t *s, uint8_t idx)
{
	const char *p = (const char *)s + s[1];

	if (idx == 0)
		return NULL;
	while (--idx) {
		if (!*p)
			return NULL;
		p += strlen(p) + 1;
	}
	return *p ? p : NULL;
}

static const uint8_t *find_type(const struct smb *t, uint8_t type)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->s[i][0] == type)
			return t->s[i];
	return NULL;
}

/* Checks the entry point and walks the table like Linux's dmi_table(). */
static void parse(const struct tbuf *b, struct smb *t)
{
	const uint8_t *ep = NULL, *p, *end;
	size_t maxs = 0;

	for (size_t off = (16 - b->win.gpa % 16) % 16; off + 31 <= b->win.len; off += 16)
		if (!memcmp(b->win.hva + off, "_SM_", 4)) {
			ep = b->win.hva + off;
			break;
		}
	assert_non_null(ep);
	assert_int_equal(ep[5], 0x1F);
	assert_int_equal(sum(ep, 0x1F), 0);
	assert_memory_equal(ep + 16, "_DMI_", 5);
	assert_int_equal(sum(ep + 16, 15), 0);
	assert_int_equal(ep[6], 2);
	assert_int_equal(ep[7], 8);
	assert_int_equal(ep[30], 0x28);
	assert_true(rd32(ep + 24) >= b->win.gpa);
	p = b->win.hva + (rd32(ep + 24) - b->win.gpa);
	end = p + rd16(ep + 22);
	assert_true(end <= b->win.hva + b->win.len);
	t->n = 0;
	while (p + 4 <= end) {
		const uint8_t *s = p;

		assert_true(s[1] >= 4);
		assert_true(t->n < MAXS);
		t->s[t->n++] = s;
		/* Strings end at the first double NUL after the formatted area. */
		p += s[1];
		while (p + 1 < end && (p[0] || p[1]))
			p++;
		p += 2;
		assert_true(p <= end);
		if ((size_t)(p - s) > maxs)
			maxs = (size_t)(p - s);
		if (s[0] == 127)
			break;
	}
	assert_true(p == end);
	assert_int_equal(t->n, rd16(ep + 28));
	assert_int_equal(maxs, rd16(ep + 8));
}

static const struct fw_info base_info = {
	.ncpus = 4, .lowmem = 1ULL << 30, .highmem = 2ULL << 30, .vmname = "testvm",
	.uuid = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 },
};

static void build(struct tbuf *b, const struct fw_info *info, struct smb *t)
{
	tbuf_init(b, LAYOUT_SMBIOS_SIZE, LAYOUT_SMBIOS_BASE);
	assert_int_equal(smbios_build(&b->win, info), 0);
	check_guards(b, false);
	parse(b, t);
}

static void test_types_in_order(void **state)
{
	static const uint8_t want[] = { 0, 1, 3, 4, 16, 17, 19, 19, 32, 127 };
	struct tbuf b;
	struct smb t;

	build(&b, &base_info, &t);
	assert_int_equal(t.n, sizeof(want));
	for (size_t i = 0; i < t.n; i++) {
		assert_int_equal(t.s[i][0], want[i]);
		/* Handles are unique. */
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(rd16(t.s[i] + 2), rd16(t.s[j] + 2));
	}
	free(b.mem);
}

/* 01020304-0506-0708-090a-0b0c0d0e0f10 is stored with its first three
 * fields little endian, which Linux (SMBIOS >= 2.6) prints back as the
 * same string in /sys/class/dmi/id/product_uuid. */
static void test_uuid(void **state)
{
	static const uint8_t want[16] = { 0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x08, 0x07,
					  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };
	const uint8_t *s1;
	char printed[40];
	struct tbuf b;
	struct smb t;

	build(&b, &base_info, &t);
	s1 = find_type(&t, 1);
	assert_non_null(s1);
	assert_memory_equal(s1 + 8, want, 16);
	/* Linux's %pUl: little-endian first three fields. */
	snprintf(printed, sizeof(printed),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 s1[11], s1[10], s1[9], s1[8], s1[13], s1[12], s1[15], s1[14], s1[16], s1[17],
		 s1[18], s1[19], s1[20], s1[21], s1[22], s1[23]);
	assert_string_equal(printed, "01020304-0506-0708-090a-0b0c0d0e0f10");
	free(b.mem);
}

static void test_strings(void **state)
{
	const uint8_t *s0, *s1;
	struct tbuf b;
	struct smb t;
	const char *date;

	build(&b, &base_info, &t);
	s0 = find_type(&t, 0);
	s1 = find_type(&t, 1);
	assert_string_equal(str(s0, s0[4]), "khyve");
	assert_true(s0[0x0A] & (1u << 3));	/* characteristics not supported */
	/* Linux only trusts ACPI host bridge windows from 2008 on. */
	date = str(s0, s0[8]);
	assert_non_null(date);
	assert_int_equal(strlen(date), 10);
	assert_true(atoi(date + 6) >= 2008);
	assert_string_equal(str(s1, s1[4]), "khyve");
	assert_string_equal(str(s1, s1[5]), "khyve VM");
	assert_string_equal(str(s1, s1[7]), "testvm");
	assert_non_null(str(s1, s1[0x1A]));
	free(b.mem);
}

static void test_no_vmname(void **state)
{
	struct fw_info info = base_info;
	const uint8_t *s1;
	struct tbuf b;
	struct smb t;

	info.vmname = NULL;
	build(&b, &info, &t);
	s1 = find_type(&t, 1);
	assert_int_equal(s1[7], 0);
	free(b.mem);
	info.vmname = "";
	build(&b, &info, &t);
	assert_int_equal(find_type(&t, 1)[7], 0);
	free(b.mem);
}

static void test_long_vmname(void **state)
{
	struct fw_info info = base_info;
	char name[1000];
	const uint8_t *s1;
	struct tbuf b;
	struct smb t;

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	info.vmname = name;
	build(&b, &info, &t);
	s1 = find_type(&t, 1);
	assert_int_equal(strlen(str(s1, s1[7])), 64);
	free(b.mem);
}

static void test_memory(void **state)
{
	struct fw_info info = base_info;
	const uint8_t *s17;
	struct tbuf b;
	struct smb t;

	build(&b, &info, &t);
	s17 = find_type(&t, 17);
	assert_int_equal(rd16(s17 + 0x0C), 3072);		/* MiB */
	assert_int_equal(rd16(s17 + 4), rd16(find_type(&t, 16) + 2));
	/* Type 19 ranges in KiB: [0, 1G) and [4G, 6G). */
	assert_int_equal(rd32(t.s[6] + 4), 0);
	assert_int_equal(rd32(t.s[6] + 8), (1u << 20) - 1);
	assert_int_equal(rd32(t.s[7] + 4), LAYOUT_HIGHMEM_BASE >> 10);
	assert_int_equal(rd32(t.s[7] + 8), ((LAYOUT_HIGHMEM_BASE + (2ULL << 30)) >> 10) - 1);
	free(b.mem);

	/* 64 GiB: too big for the 15-bit MiB field. */
	info.lowmem = LAYOUT_LOWMEM_LIMIT;
	info.highmem = (64ULL << 30) - LAYOUT_LOWMEM_LIMIT;
	build(&b, &info, &t);
	s17 = find_type(&t, 17);
	assert_int_equal(rd16(s17 + 0x0C), 0x7FFF);
	assert_int_equal(rd32(s17 + 0x1C), 64 * 1024);
	free(b.mem);

	/* No high memory: a single type 19. */
	info.lowmem = 256ULL << 20;
	info.highmem = 0;
	build(&b, &info, &t);
	assert_int_equal(t.s[6][0], 19);
	assert_int_equal(t.s[7][0], 32);
	free(b.mem);
}

static void test_cpu(void **state)
{
	struct fw_info info = base_info;
	struct tbuf b;
	struct smb t;

	info.ncpus = 300;
	build(&b, &info, &t);
	assert_int_equal(find_type(&t, 4)[0x23], 0xFF);
	free(b.mem);
	build(&b, &base_info, &t);
	assert_int_equal(find_type(&t, 4)[0x23], base_info.ncpus);
	free(b.mem);
}

static void test_enospc(void **state)
{
	const size_t small[] = { 0, 16, 32, 100, 200 };
	struct tbuf b;

	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		tbuf_init(&b, small[i], LAYOUT_SMBIOS_BASE);
		assert_int_equal(smbios_build(&b.win, &base_info), -ENOSPC);
		check_guards(&b, true);
		free(b.mem);
	}
}

/* The smallest window that works is exactly entry point + table. */
static void test_exact_fit(void **state)
{
	struct tbuf b;
	struct smb t;
	size_t need;

	build(&b, &base_info, &t);
	need = (size_t)(t.s[t.n - 1] - b.win.hva) + 4 + 2;
	free(b.mem);
	tbuf_init(&b, need, LAYOUT_SMBIOS_BASE);
	assert_int_equal(smbios_build(&b.win, &base_info), 0);
	check_guards(&b, false);
	parse(&b, &t);
	free(b.mem);
	tbuf_init(&b, need - 1, LAYOUT_SMBIOS_BASE);
	assert_int_equal(smbios_build(&b.win, &base_info), -ENOSPC);
	check_guards(&b, true);
	free(b.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_in_order),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_no_vmname),
		cmocka_unit_test(test_long_vmname),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_exact_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
