/* ACPI tables: checksums, the pointer chain RSDP -> XSDT/RSDT -> FADT ->
 * DSDT/FACS, MADT contents, the DSDT's namespace, window bounds; and, when
 * iasl is installed, that ACPICA's disassembler accepts the tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/aml.h"
#include "hw/fw.h"
#include "hw/layout.h"

#include "fwtest.h"

static void check_untouched(const struct tbuf *b)
{
	check_guards(b, false);
	for (size_t i = 0; i < b->win.len; i++)
		assert_int_equal(b->win.hva[i], CANARY);
}

/* Host pointer to a table at gpa, checked to lie inside the window. */
static const uint8_t *at(const struct tbuf *b, uint64_t gpa, size_t len)
{
	assert_true(gpa >= b->win.gpa);
	assert_true(gpa - b->win.gpa + len <= b->win.len);
	return b->win.hva + (gpa - b->win.gpa);
}

/* A table with a standard header: signature, length within the window,
 * checksum, revision and the OEM fields. */
static const uint8_t *table(const struct tbuf *b, uint64_t gpa, const char *sig, uint8_t rev)
{
	const uint8_t *t = at(b, gpa, 36);
	uint32_t len = rd32(t + 4);

	assert_memory_equal(t, sig, 4);
	assert_true(len >= 36);
	t = at(b, gpa, len);
	assert_int_equal(sum(t, len), 0);
	assert_int_equal(t[8], rev);
	assert_memory_equal(t + 10, "KHYVE ", 6);
	assert_memory_equal(t + 16, "KHYVEVM ", 8);
	assert_memory_equal(t + 28, "KHYV", 4);
	return t;
}

struct tables {
	const uint8_t *rsdp, *xsdt, *rsdt, *fadt, *facs, *madt, *dsdt;
};

static void walk(const struct tbuf *b, uint64_t rsdp_gpa, struct tables *t)
{
	assert_int_equal(rsdp_gpa % 16, 0);
	t->rsdp = at(b, rsdp_gpa, 36);
	assert_memory_equal(t->rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(t->rsdp, 20), 0);
	assert_int_equal(sum(t->rsdp, 36), 0);
	assert_int_equal(t->rsdp[15], 2);
	assert_int_equal(rd32(t->rsdp + 20), 36);
	assert_memory_equal(t->rsdp + 9, "KHYVE ", 6);
	t->xsdt = table(b, rd64(t->rsdp + 24), "XSDT", 1);
	t->rsdt = table(b, rd32(t->rsdp + 16), "RSDT", 1);
	assert_int_equal(rd32(t->xsdt + 4), 36 + 2 * 8);
	assert_int_equal(rd32(t->rsdt + 4), 36 + 2 * 4);
	/* Both lists name the same tables. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(rd64(t->xsdt + 36 + 8 * i), rd32(t->rsdt + 36 + 4 * i));
	t->fadt = table(b, rd64(t->xsdt + 36), "FACP", 6);
	t->madt = table(b, rd64(t->xsdt + 44), "APIC", 5);
	assert_int_equal(rd32(t->fadt + 4), 276);
	assert_int_equal(rd64(t->fadt + 140), rd32(t->fadt + 40));
	assert_int_equal(rd64(t->fadt + 132), rd32(t->fadt + 36));
	t->dsdt = table(b, rd64(t->fadt + 140), "DSDT", 2);
	assert_int_equal(rd64(t->fadt + 132) % 64, 0);
	t->facs = at(b, rd64(t->fadt + 132), 64);
	assert_memory_equal(t->facs, "FACS", 4);
	assert_int_equal(rd32(t->facs + 4), 64);
}

static int build(struct tbuf *b, const struct fw_info *info, struct tables *t)
{
	uint64_t rsdp = 0;
	int rc = acpi_build(&b->win, info, &rsdp);

	check_guards(b, false);
	if (rc == 0)
		walk(b, rsdp, t);
	return rc;
}

static const struct fw_info base_info = {
	.ncpus = 4, .lowmem = 1ULL << 30, .com_mask = 0x3, .vmname = "vm0",
};

static void check_gas_io(const uint8_t *g, unsigned port, unsigned len)
{
	assert_int_equal(g[0], 1);		/* system I/O */
	assert_int_equal(g[1], 8 * len);
	assert_int_equal(g[2], 0);
	assert_int_equal(rd64(g + 4), port);
}

static void test_fadt(void **state)
{
	struct tbuf b;
	struct tables t;
	uint32_t flags;

	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &base_info, &t), 0);
	assert_int_equal(rd16(t.fadt + 46), LAYOUT_SCI_IRQ);
	assert_int_equal(rd32(t.fadt + 48), 0);			/* SMI_CMD */
	assert_int_equal(rd32(t.fadt + 56), LAYOUT_PM1A_EVT_PORT);
	assert_int_equal(rd32(t.fadt + 64), LAYOUT_PM1A_CNT_PORT);
	assert_int_equal(rd32(t.fadt + 76), LAYOUT_PM_TMR_PORT);
	assert_int_equal(t.fadt[88], LAYOUT_PM1A_EVT_LEN);
	assert_int_equal(t.fadt[89], LAYOUT_PM1A_CNT_LEN);
	assert_int_equal(t.fadt[91], LAYOUT_PM_TMR_LEN);
	check_gas_io(t.fadt + 148, LAYOUT_PM1A_EVT_PORT, LAYOUT_PM1A_EVT_LEN);
	check_gas_io(t.fadt + 172, LAYOUT_PM1A_CNT_PORT, LAYOUT_PM1A_CNT_LEN);
	check_gas_io(t.fadt + 208, LAYOUT_PM_TMR_PORT, LAYOUT_PM_TMR_LEN);
	check_gas_io(t.fadt + 116, LAYOUT_RESET_PORT, 1);
	assert_int_equal(t.fadt[128], LAYOUT_RESET_VALUE);
	flags = rd32(t.fadt + 112);
	assert_true(flags & (1u << 0));		/* WBINVD */
	assert_true(flags & (1u << 2));		/* PROC_C1 */
	assert_false(flags & (1u << 4));	/* fixed power button */
	assert_true(flags & (1u << 5));		/* no fixed sleep button */
	assert_false(flags & (1u << 8));	/* 24-bit PM timer */
	assert_true(flags & (1u << 10));	/* RESET_REG_SUP */
	assert_false(flags & (1u << 20));	/* not hardware-reduced */
	/* Legacy devices, 8042, no VGA; MSI allowed. */
	assert_int_equal(rd16(t.fadt + 109), 0x7);
	/* No GPE blocks, no HPET-style extras, no sleep registers. */
	assert_int_equal(rd32(t.fadt + 80), 0);
	assert_int_equal(t.fadt[108], 0x32);		/* CMOS century byte */
	free(b.mem);
}

struct madt_count {
	unsigned lapic, x2apic, ioapic, iso, nmi, x2nmi;
};

static void madt_walk(const uint8_t *m, const struct fw_info *info, struct madt_count *c)
{
	uint32_t len = rd32(m + 4);
	size_t off = 44;

	memset(c, 0, sizeof(*c));
	assert_int_equal(rd32(m + 36), LAYOUT_LAPIC_BASE);
	assert_int_equal(rd32(m + 40) & 1, 1);		/* PCAT_COMPAT */
	while (off < len) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[3], c->lapic);	/* APIC IDs in order */
			assert_int_equal(rd32(e + 4) & 1, 1);
			c->lapic++;
			break;
		case 9:
			assert_int_equal(rd32(e + 4), c->lapic + c->x2apic);
			assert_int_equal(rd32(e + 8) & 1, 1);
			c->x2apic++;
			break;
		case 1:
			assert_int_equal(rd32(e + 4), LAYOUT_IOAPIC_BASE);
			assert_int_equal(rd32(e + 8), 0);
			c->ioapic++;
			break;
		case 2:
			if (e[3] == 0)
				assert_int_equal(rd32(e + 4), 2);
			else {
				assert_int_equal(e[3], LAYOUT_SCI_IRQ);
				assert_int_equal(rd32(e + 4), LAYOUT_SCI_IRQ);
				assert_int_equal(rd16(e + 8), 0x000D);	/* level, high */
			}
			c->iso++;
			break;
		case 4:
			assert_int_equal(e[2], 0xFF);
			assert_int_equal(e[5], 1);		/* LINT1 */
			c->nmi++;
			break;
		case 10:
			assert_int_equal(rd32(e + 4), UINT32_MAX);
			assert_int_equal(e[8], 1);
			c->x2nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(c->lapic + c->x2apic, info->ncpus);
	assert_int_equal(c->ioapic, 1);
	assert_int_equal(c->iso, 2);
}

static void test_madt_xapic(void **state)
{
	struct madt_count c;
	struct tbuf b;
	struct tables t;

	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &base_info, &t), 0);
	madt_walk(t.madt, &base_info, &c);
	assert_int_equal(c.lapic, base_info.ncpus);
	assert_int_equal(c.x2apic, 0);
	assert_int_equal(c.nmi, 1);
	assert_int_equal(c.x2nmi, 0);
	free(b.mem);
}

static void test_madt_x2apic(void **state)
{
	struct fw_info info = base_info;
	struct madt_count c;
	struct tbuf b;
	struct tables t;

	info.x2apic = true;
	info.ncpus = 16;
	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &info, &t), 0);
	madt_walk(t.madt, &info, &c);
	assert_int_equal(c.x2apic, 16);
	assert_int_equal(c.lapic, 0);
	assert_int_equal(c.nmi, 0);
	assert_int_equal(c.x2nmi, 1);
	free(b.mem);
}

/* IDs from 255 up cannot be xAPIC entries even without -x. */
static void test_madt_many_cpus(void **state)
{
	struct fw_info info = base_info;
	struct madt_count c;
	struct tbuf b;
	struct tables t;

	info.ncpus = 300;
	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &info, &t), 0);
	madt_walk(t.madt, &info, &c);
	assert_int_equal(c.lapic, 255);
	assert_int_equal(c.x2apic, 45);
	assert_int_equal(c.nmi, 1);
	assert_int_equal(c.x2nmi, 1);
	free(b.mem);
}

static const uint8_t *find(const uint8_t *p, size_t n, const void *what, size_t wn)
{
	return memmem(p, n, what, wn);
}

static void test_dsdt_content(void **state)
{
	/* Name (\_S5, Package (4) {5, 0, 0, 0}) as iasl would emit it. */
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04,
				      0x0A, LAYOUT_SLP_TYP_S5, 0x00, 0x00, 0x00 };
	static const uint8_t pnp0a03[] = { 0x0C, 0x41, 0xD0, 0x0A, 0x03 };
	struct fw_info info = base_info;
	struct tbuf b;
	struct tables t;
	size_t len;

	info.com_mask = 0x5;		/* COM1 and COM3 */
	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &info, &t), 0);
	len = rd32(t.dsdt + 4);
	assert_non_null(find(t.dsdt, len, s5, sizeof(s5)));
	assert_non_null(find(t.dsdt, len, pnp0a03, sizeof(pnp0a03)));
	assert_non_null(find(t.dsdt, len, "_PRT", 4));
	assert_non_null(find(t.dsdt, len, "COM1", 4));
	assert_non_null(find(t.dsdt, len, "COM3", 4));
	assert_null(find(t.dsdt, len, "COM2", 4));
	assert_null(find(t.dsdt, len, "COM4", 4));
	free(b.mem);
}

/* The last slot's INTD entry routes to the layout's GSI. */
static void test_dsdt_prt(void **state)
{
	static const uint8_t last[] = { 0x12, 0x0C, 0x04, 0x0C, 0xFF, 0xFF, 0x1F, 0x00,
					0x0A, 0x03, 0x00, 0x0A };
	struct tbuf b;
	struct tables t;
	const uint8_t *p;

	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &base_info, &t), 0);
	p = find(t.dsdt, rd32(t.dsdt + 4), last, sizeof(last));
	assert_non_null(p);
	assert_int_equal(p[sizeof(last)], layout_pci_intx_gsi(31, 3));
	free(b.mem);
}

static void test_enospc(void **state)
{
	struct tbuf b;
	struct tables t;
	uint64_t rsdp = 0;
	size_t need;

	/* Find the exact size needed from a successful build. */
	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &base_info, &t), 0);
	need = (size_t)(t.dsdt - b.win.hva) + rd32(t.dsdt + 4);
	free(b.mem);

	tbuf_init(&b, need, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &base_info, &t), 0);
	free(b.mem);

	const size_t small[] = { need - 1, 300, 36, 0 };
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		tbuf_init(&b, small[i], LAYOUT_ACPI_BASE);
		assert_int_equal(acpi_build(&b.win, &base_info, &rsdp), -ENOSPC);
		check_untouched(&b);
		free(b.mem);
	}
}

static void test_bad_args(void **state)
{
	struct fw_info info = base_info;
	struct tbuf b;
	uint64_t rsdp;

	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	info.ncpus = 0;
	assert_int_equal(acpi_build(&b.win, &info, &rsdp), -EINVAL);
	check_untouched(&b);
	free(b.mem);
}

/* An unaligned window still gets a 16-byte aligned RSDP and a 64-byte
 * aligned FACS (walk() checks both). */
static void test_unaligned_window(void **state)
{
	struct tbuf b;
	struct tables t;

	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	b.win.gpa += 4;
	assert_int_equal(build(&b, &base_info, &t), 0);
	free(b.mem);
}

/* ---- iasl ---------------------------------------------------------- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

static int run(const char *dir, const char *cmd)
{
	char line[512];

	snprintf(line, sizeof(line), "cd '%s' && %s >iasl.log 2>&1", dir, cmd);
	return system(line);
}

/* Disassembles one table; returns the .dsl text. */
static char *disassemble(const char *dir, const char *name, const uint8_t *t)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	write_file(path, t, rd32(t + 4));
	snprintf(path, sizeof(path), "iasl -d %s.dat", name);
	assert_int_equal(run(dir, path), 0);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	return read_file(path);
}

static void test_iasl(void **state)
{
	char dir[] = "/tmp/khyve-test-acpiXXXXXX";
	char cmd[300];
	struct fw_info info = base_info;
	struct tbuf b;
	struct tables t;
	char *dsl;

	if (!have_iasl()) {
		print_message("iasl not installed (apt-get install acpica-tools): skipping\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	info.x2apic = true;
	tbuf_init(&b, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_BASE);
	assert_int_equal(build(&b, &info, &t), 0);
	dsl = disassemble(dir, "dsdt", t.dsdt);
	assert_non_null(strstr(dsl, "_S5_"));
	assert_non_null(strstr(dsl, "PNP0A03"));
	assert_non_null(strstr(dsl, "_PRT"));
	assert_non_null(strstr(dsl, "WordBusNumber"));
	assert_non_null(strstr(dsl, "IRQNoFlags"));
	assert_non_null(strstr(dsl, "PNP0501"));
	free(dsl);
	/* The disassembly must compile back without errors. */
	assert_int_equal(run(dir, "iasl dsdt.dsl"), 0);
	dsl = disassemble(dir, "facp", t.fadt);
	assert_non_null(strstr(dsl, "Reset Register Supported (V2) : 1"));
	free(dsl);
	dsl = disassemble(dir, "apic", t.madt);
	assert_non_null(strstr(dsl, "Processor Local x2APIC"));
	free(dsl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(b.mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt_xapic),
		cmocka_unit_test(test_madt_x2apic),
		cmocka_unit_test(test_madt_many_cpus),
		cmocka_unit_test(test_dsdt_content),
		cmocka_unit_test(test_dsdt_prt),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_unaligned_window),
		cmocka_unit_test(test_iasl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
