/* The I/O bus and PCI configuration mechanism #1, driven as a guest would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcitest.h"
#include "hw/iobus.h"
#include "hw/layout.h"
#include "hw/pci.h"
#include "snapshot/snapfile.h"

static uint64_t last_off;
static uint64_t dummy_read(void *dev, uint64_t off, unsigned size) { last_off = off; return 0x5a; }
static void dummy_write(void *dev, uint64_t off, unsigned size, uint64_t v) { last_off = off; }
static const struct io_ops dummy_ops = { "dummy", dummy_read, dummy_write };

static void test_iobus_ranges(void **state)
{
	struct io_bus b;
	uint64_t v = 0;

	assert_int_equal(io_bus_init(&b, "pio"), 0);
	assert_int_equal(io_bus_add(&b, 0x100, 8, &dummy_ops, NULL), 0);
	assert_int_equal(io_bus_add(&b, 0x200, 4, &dummy_ops, NULL), 0);
	assert_int_equal(io_bus_add(&b, 0x104, 8, &dummy_ops, NULL), -EEXIST);
	assert_int_equal(io_bus_add(&b, 0xf8, 9, &dummy_ops, NULL), -EEXIST);
	assert_int_equal(io_bus_add(&b, 0x0, 0, &dummy_ops, NULL), -EINVAL);
	assert_int_equal(io_bus_add(&b, ~0ULL, 2, &dummy_ops, NULL), -EINVAL);
	assert_int_equal(io_bus_access(&b, 0x105, 1, false, &v), 0);
	assert_int_equal(v, 0x5a);
	assert_int_equal(last_off, 5);
	/* An access straddling the end of a window belongs to nobody. */
	assert_int_equal(io_bus_access(&b, 0x107, 2, false, &v), -ENOENT);
	assert_int_equal(io_bus_access(&b, 0x108, 1, false, &v), -ENOENT);
	assert_int_equal(io_bus_remove(&b, 0x100), 0);
	assert_int_equal(io_bus_access(&b, 0x105, 1, false, &v), -ENOENT);
	assert_int_equal(io_bus_remove(&b, 0x100), -ENOENT);
	io_bus_destroy(&b);
}

struct fixture {
	struct io_bus pio, mmio;
	struct pci_bus pci;
};

static int setup(void **state)
{
	static struct fixture f;
	static struct pci_devemu emu = { .name = "test" };
	struct pci_dev *d;

	memset(&f, 0, sizeof(f));
	io_bus_init(&f.pio, "pio");
	io_bus_init(&f.mmio, "mmio");
	pci_bus_init(&f.pci, &f.pio, &f.mmio, NULL);
	io_bus_add(&f.pio, LAYOUT_PCI_CONFIG_ADDR, 4, &pci_cfg_addr_ops, &f.pci);
	io_bus_add(&f.pio, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &f.pci);
	d = calloc(1, sizeof(*d));
	d->bus = &f.pci;
	d->emu = &emu;
	d->slot = 3;
	pci_set_ids(d, 0x1af4, 0x1041, 0x02, 0x00, 0x00);
	assert_int_equal(pci_bar_alloc(d, 0, PCI_BAR_MEM32, 0x1000, &dummy_ops, NULL), 0);
	assert_int_equal(pci_bar_alloc(d, 1, PCI_BAR_IO, 0x20, &dummy_ops, NULL), 0);
	f.pci.dev[3][0] = d;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(&f->pci);
	io_bus_destroy(&f->pio);
	io_bus_destroy(&f->mmio);
	return 0;
}

static uint32_t cfg_read(struct fixture *f, unsigned slot, unsigned off, unsigned size)
{
	return pcitest_cfg_read(&f->pio, slot, off, size);
}

static void cfg_write(struct fixture *f, unsigned slot, unsigned off, unsigned size, uint32_t val)
{
	pcitest_cfg_write(&f->pio, slot, off, size, val);
}

static void test_config_reads(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 3, 0, 4), 0x10411af4);
	assert_int_equal(cfg_read(f, 3, 2, 2), 0x1041);
	assert_int_equal(cfg_read(f, 3, 0x0b, 1), 0x02);
	/* Empty slots and other buses read all ones. */
	assert_int_equal(cfg_read(f, 4, 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, 4, 0, 2), 0xffff);
}

static void test_bar_sizing_and_mapping(void **state)
{
	struct fixture *f = *state;
	uint32_t bar0 = cfg_read(f, 3, 0x10, 4);
	uint64_t v;

	assert_int_equal(bar0, LAYOUT_PCI_MMIO32_BASE);
	cfg_write(f, 3, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 3, 0x10, 4), 0xfffff000);
	cfg_write(f, 3, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_read(f, 3, 0x14, 4) & 0xffff, 0xffe1);
	/* Not decoded until the command register enables memory space. */
	cfg_write(f, 3, 0x10, 4, 0xd0000000);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0000010, 4, false, &v), -ENOENT);
	cfg_write(f, 3, 0x04, 2, 0x2);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0000010, 4, false, &v), 0);
	assert_int_equal(last_off, 0x10);
	/* Moving the BAR moves the mapping. */
	cfg_write(f, 3, 0x10, 4, 0xd0001000);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0000010, 4, false, &v), -ENOENT);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0001010, 4, false, &v), 0);
	cfg_write(f, 3, 0x04, 2, 0x0);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0001010, 4, false, &v), -ENOENT);
}

static void test_readonly_header(void **state)
{
	struct fixture *f = *state;

	cfg_write(f, 3, 0x00, 4, 0x12345678);
	assert_int_equal(cfg_read(f, 3, 0, 4), 0x10411af4);
	cfg_write(f, 3, 0x3c, 1, 0x0b);
	assert_int_equal(cfg_read(f, 3, 0x3c, 1), 0x0b);
}

static void test_registry(void **state)
{
	assert_non_null(pci_emul_find("hostbridge"));
	assert_non_null(pci_emul_find("amd_hostbridge"));
	assert_non_null(pci_emul_find("lpc"));
	assert_non_null(pci_emul_find("virtio-blk"));
	assert_null(pci_emul_find("virtio-9p"));
}

/* A function saved with its BARs where the guest put them comes back
 * there, mapped as its command register says; another device, a BAR that
 * does not fit, a missing or an extra section are refused. */
static void test_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *d = f->pci.dev[3][0];
	struct snap_writer *w = malloc(sizeof(*w));
	struct snap_file *file = calloc(1, sizeof(*file));
	char err[256];
	uint64_t v;

	assert_non_null(w);
	assert_non_null(file);
	assert_ptr_equal(pci_bus_unsaveable(&f->pci), d);	/* no hooks, not stateless */
	((struct pci_devemu *)d->emu)->stateless = true;
	assert_null(pci_bus_unsaveable(&f->pci));
	cfg_write(f, 3, 0x10, 4, 0xd0000000);
	cfg_write(f, 3, 0x04, 2, 0x2);
	snap_writer_init(w);
	pci_bus_save(&f->pci, w);
	assert_int_equal(w->err, 0);
	assert_int_equal(w->n, 1);
	file->n = 1;
	file->sec[0] = w->sec[0];
	file->sec[0].data = w->buf + w->sec[0].offset;
	assert_string_equal(file->sec[0].name, "pci.0.3.0");

	cfg_write(f, 3, 0x10, 4, 0xd0004000);
	cfg_write(f, 3, 0x04, 2, 0x0);
	assert_int_equal(pci_bus_restore(&f->pci, file, err, sizeof(err)), 0);
	assert_int_equal(cfg_read(f, 3, 0x10, 4), 0xd0000000);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0000010, 4, false, &v), 0);
	assert_int_equal(io_bus_access(&f->mmio, 0xd0004010, 4, false, &v), -ENOENT);

	w->buf[2] ^= 1;					/* device ID */
	assert_int_equal(pci_bus_restore(&f->pci, file, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "another device"));
	w->buf[2] ^= 1;
	w->buf[256] = 0x08;				/* BAR 0 at 0xd0000008 */
	assert_int_equal(pci_bus_restore(&f->pci, file, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "BAR 0"));
	w->buf[256] = 0;
	strcpy(file->sec[0].name, "pci.0.4.0");
	assert_int_equal(pci_bus_restore(&f->pci, file, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "no such PCI function"));
	file->n = 0;
	assert_int_equal(pci_bus_restore(&f->pci, file, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "has no pci.0.3.0"));
	((struct pci_devemu *)d->emu)->stateless = false;
	snap_writer_free(w);
	free(w);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iobus_ranges),
		cmocka_unit_test_setup_teardown(test_config_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_and_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_header, setup, teardown),
		cmocka_unit_test(test_registry),
		cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
