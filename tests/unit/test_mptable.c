/* MP table: floating pointer, configuration table checksums, entry order
 * and contents, window bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fw.h"
#include "hw/layout.h"

#include "fwtest.h"

static const struct fw_info base_info = {
	.ncpus = 4, .lowmem = 1ULL << 30, .com_mask = 1, .vmname = "vm0",
};

/* Finds the floating pointer the way Linux does (16-byte steps) and
 * returns the configuration table it points to. */
static const uint8_t *find_config(const struct tbuf *b)
{
	const uint8_t *f = NULL, *c;

	for (size_t off = (16 - b->win.gpa % 16) % 16; off + 16 <= b->win.len; off += 16)
		if (!memcmp(b->win.hva + off, "_MP_", 4)) {
			f = b->win.hva + off;
			break;
		}
	assert_non_null(f);
	assert_int_equal(sum(f, 16), 0);
	assert_int_equal(f[8], 1);
	assert_int_equal(f[9], 4);
	assert_int_equal(f[11], 0);		/* configuration table present */
	assert_true(rd32(f + 4) >= b->win.gpa);
	c = b->win.hva + (rd32(f + 4) - b->win.gpa);
	assert_true(c + 44 <= b->win.hva + b->win.len);
	assert_memory_equal(c, "PCMP", 4);
	assert_true(c + rd16(c + 4) <= b->win.hva + b->win.len);
	assert_int_equal(sum(c, rd16(c + 4)), 0);
	assert_int_equal(c[6], 4);
	assert_int_equal(rd32(c + 36), LAYOUT_LAPIC_BASE);
	/* No extended entries: their length is 0 and they sum to 0. */
	assert_int_equal(rd16(c + 40), 0);
	assert_int_equal((uint8_t)(sum(c + rd16(c + 4), rd16(c + 40)) + c[42]), 0);
	return c;
}

struct counts {
	unsigned cpu, bus, ioapic, isa, pci, lint;
	uint8_t ioapic_id;
	bool pci_seen[32][4];
};

static void check_cpu(const uint8_t *e, struct counts *n)
{
	assert_int_equal(e[1], n->cpu);
	assert_true(e[3] & 1);				/* enabled */
	assert_int_equal(!!(e[3] & 2), e[1] == 0);	/* BSP is APIC ID 0 */
	n->cpu++;
}

static void check_bus(const uint8_t *e, struct counts *n)
{
	if (e[1] == 0)
		assert_memory_equal(e + 2, "PCI   ", 6);
	else {
		assert_int_equal(e[1], 1);
		assert_memory_equal(e + 2, "ISA   ", 6);
	}
	n->bus++;
}

static void check_ioint(const uint8_t *e, struct counts *n)
{
	assert_int_equal(e[6], n->ioapic_id);
	if (e[4] == 1) {				/* ISA */
		assert_int_equal(e[1], 0);
		assert_true(e[5] < 16 && e[5] != 2);
		assert_int_equal(e[7], e[5] == 0 ? 2 : e[5]);
		n->isa++;
	} else {
		unsigned slot = e[5] >> 2, pin = e[5] & 3;

		assert_int_equal(e[4], 0);		/* PCI */
		assert_int_equal(rd16(e + 2), 0xF);	/* level, active low */
		assert_int_equal(e[7], layout_pci_intx_gsi(slot, pin));
		assert_false(n->pci_seen[slot][pin]);
		n->pci_seen[slot][pin] = true;
		n->pci++;
	}
}

static void check_lint(const uint8_t *e, struct counts *n)
{
	assert_int_equal(e[6], 0xFF);
	/* ExtINT on LINT0, NMI on LINT1. */
	assert_int_equal(e[1], e[7] == 0 ? 3 : 1);
	assert_int_equal(e[7], n->lint);
	n->lint++;
}

static void walk(const uint8_t *c, struct counts *n)
{
	size_t off = 44, len = rd16(c + 4);
	unsigned entries = 0;
	int last = -1;

	memset(n, 0, sizeof(*n));
	while (off < len) {
		const uint8_t *e = c + off;

		assert_true(e[0] <= 4);
		assert_true(e[0] >= last);		/* sorted by type */
		last = e[0];
		switch (e[0]) {
		case 0:
			check_cpu(e, n);
			break;
		case 1:
			check_bus(e, n);
			break;
		case 2:
			assert_true(e[3] & 1);
			assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC_BASE);
			n->ioapic_id = e[1];
			n->ioapic++;
			break;
		case 3:
			check_ioint(e, n);
			break;
		case 4:
			check_lint(e, n);
			break;
		}
		off += e[0] == 0 ? 20 : 8;
		entries++;
	}
	assert_int_equal(off, len);
	assert_int_equal(entries, rd16(c + 34));
}

static void test_tables(void **state)
{
	struct counts n;
	struct tbuf b;
	const uint8_t *c;

	tbuf_init(&b, LAYOUT_MPTABLE_SIZE, LAYOUT_MPTABLE_BASE);
	assert_int_equal(mptable_build(&b.win, &base_info), 0);
	check_guards(&b, false);
	c = find_config(&b);
	walk(c, &n);
	assert_int_equal(n.cpu, base_info.ncpus);
	assert_int_equal(n.bus, 2);
	assert_int_equal(n.ioapic, 1);
	assert_true(n.ioapic_id >= base_info.ncpus);	/* unique APIC IDs */
	assert_int_equal(n.isa, 15);
	assert_int_equal(n.pci, 32 * 4);
	assert_int_equal(n.lint, 2);
	free(b.mem);
}

static void test_max_cpus(void **state)
{
	struct fw_info info = base_info;
	struct counts n;
	struct tbuf b;

	info.ncpus = 254;
	tbuf_init(&b, LAYOUT_MPTABLE_SIZE, LAYOUT_MPTABLE_BASE);
	assert_int_equal(mptable_build(&b.win, &info), 0);
	walk(find_config(&b), &n);
	assert_int_equal(n.cpu, 254);
	free(b.mem);
	/* 8-bit APIC IDs, one kept for the IOAPIC and 255 broadcast. */
	info.ncpus = 255;
	tbuf_init(&b, LAYOUT_MPTABLE_SIZE, LAYOUT_MPTABLE_BASE);
	assert_int_equal(mptable_build(&b.win, &info), -EINVAL);
	check_guards(&b, true);
	free(b.mem);
	info.ncpus = 0;
	tbuf_init(&b, LAYOUT_MPTABLE_SIZE, LAYOUT_MPTABLE_BASE);
	assert_int_equal(mptable_build(&b.win, &info), -EINVAL);
	check_guards(&b, true);
	free(b.mem);
}

static void test_enospc(void **state)
{
	struct tbuf b;
	const uint8_t *c;
	size_t need;

	tbuf_init(&b, LAYOUT_MPTABLE_SIZE, LAYOUT_MPTABLE_BASE);
	assert_int_equal(mptable_build(&b.win, &base_info), 0);
	c = find_config(&b);
	need = (size_t)(c - b.win.hva) + rd16(c + 4);
	free(b.mem);

	tbuf_init(&b, need, LAYOUT_MPTABLE_BASE);
	assert_int_equal(mptable_build(&b.win, &base_info), 0);
	check_guards(&b, false);
	free(b.mem);

	const size_t small[] = { need - 1, 64, 16, 0 };
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		tbuf_init(&b, small[i], LAYOUT_MPTABLE_BASE);
		assert_int_equal(mptable_build(&b.win, &base_info), -ENOSPC);
		check_guards(&b, true);
		free(b.mem);
	}
}

static void test_unaligned_window(void **state)
{
	struct counts n;
	struct tbuf b;

	tbuf_init(&b, LAYOUT_MPTABLE_SIZE, LAYOUT_MPTABLE_BASE);
	b.win.gpa += 8;
	b.win.hva += 8;
	b.win.len -= 8;
	assert_int_equal(mptable_build(&b.win, &base_info), 0);
	/* The floating pointer lands on the next 16-byte boundary. */
	assert_memory_equal(b.win.hva + 8, "_MP_", 4);
	walk(find_config(&b), &n);
	free(b.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_max_cpus),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_unaligned_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
