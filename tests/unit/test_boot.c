/* e820 map, bzImage header checks and boot_params construction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "hw/layout.h"

static void test_e820_small(void **state)
{
	struct boot_e820_entry t[8];
	unsigned n = e820_build(t, 8, 64 << 20, 0);

	assert_int_equal(n, 3);
	assert_int_equal(t[0].addr, 0);
	assert_int_equal(t[0].size, LAYOUT_EBDA_BASE);
	assert_int_equal(t[0].type, 1);
	assert_int_equal(t[1].type, 2);
	assert_int_equal(t[1].addr + t[1].size, 0x100000);
	assert_int_equal(t[2].addr, 0x100000);
	assert_int_equal(t[2].addr + t[2].size, 64 << 20);
}

static void test_e820_highmem(void **state)
{
	struct boot_e820_entry t[8];
	unsigned n = e820_build(t, 8, LAYOUT_LOWMEM_LIMIT, 1ULL << 30);

	assert_int_equal(n, 4);
	assert_int_equal(t[2].addr + t[2].size, LAYOUT_LOWMEM_LIMIT);
	assert_int_equal(t[3].addr, LAYOUT_HIGHMEM_BASE);
	assert_int_equal(t[3].size, 1ULL << 30);
	/* Never more than the table holds. */
	assert_int_equal(e820_build(t, 2, LAYOUT_LOWMEM_LIMIT, 1ULL << 30), 2);
}

/* A minimal bzImage: setup header only, payload of zeroes. */
static char *make_bzimage(uint16_t version, uint16_t xloadflags, uint32_t init_size,
			  size_t payload)
{
	static char path[] = "/tmp/khyve-test-bzXXXXXX";
	size_t len = 5 * 512 + payload;
	uint8_t *img = calloc(1, len);
	struct setup_header h = { 0 };
	int fd;

	strcpy(path, "/tmp/khyve-test-bzXXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0 && img);
	h.setup_sects = 4;
	h.boot_flag = 0xAA55;
	h.jump = 0x66eb;		/* jmp to 0x268: header ends there */
	h.header = 0x53726448;
	h.version = version;
	h.loadflags = 1;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.xloadflags = xloadflags;
	h.cmdline_size = 2047;
	h.pref_address = 0x1000000;
	h.init_size = init_size;
	memcpy(img + 0x1f1, &h, sizeof(h));
	assert_int_equal(write(fd, img, len), (ssize_t)len);
	close(fd);
	free(img);
	return path;
}

static int probe(const char *kernel, const char *initrd, const char *cmdline, uint64_t lowmem,
		 struct boot_files *bf, char *err)
{
	memset(bf, 0, sizeof(*bf));
	bf->kernel_path = kernel;
	bf->initrd_path = initrd;
	bf->cmdline = cmdline;
	return boot_probe(bf, lowmem, err, 512);
}

static void test_bzimage_accepts_and_fills_zeropage(void **state)
{
	char *k = make_bzimage(0x020f, XLF_KERNEL_64, 8 << 20, 4096);
	struct boot_files bf;
	struct boot_params bp;
	char err[512];

	assert_int_equal(probe(k, NULL, "console=ttyS0", 64 << 20, &bf, err), 0);
	assert_int_equal(bf.kind, KERNEL_BZIMAGE);
	assert_int_equal(bf.setup_size, 5 * 512);
	assert_int_equal(bf.load_addr, 0x1000000);
	bzimage_fill_zeropage(&bf, &bp, 64 << 20, 0, 0xE0000);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(bp.hdr.code32_start, 0x1000000);
	assert_int_equal(bp.acpi_rsdp_addr, 0xE0000);
	assert_int_equal(bp.e820_entries, 3);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	boot_files_close(&bf);
	unlink(k);
}

static void test_bzimage_rejects(void **state)
{
	struct boot_files bf;
	char err[512], *k;

	k = make_bzimage(0x0206, 0, 8 << 20, 4096);
	assert_int_equal(probe(k, NULL, NULL, 64 << 20, &bf, err), -ENOEXEC);
	assert_non_null(strstr(err, "64-bit"));
	boot_files_close(&bf);
	unlink(k);

	k = make_bzimage(0x020f, XLF_KERNEL_64, 60 << 20, 4096);
	assert_int_equal(probe(k, NULL, NULL, 32 << 20, &bf, err), -E2BIG);
	assert_non_null(strstr(err, "raise -m"));
	boot_files_close(&bf);
	unlink(k);

	assert_int_equal(probe("/etc/hostname", NULL, NULL, 64 << 20, &bf, err), -ENOEXEC);
	assert_non_null(strstr(err, "bzImage"));
	boot_files_close(&bf);
	assert_int_equal(probe("/nonexistent/vmlinuz", NULL, NULL, 64 << 20, &bf, err), -ENOENT);
	boot_files_close(&bf);
}

static void test_initrd_placement(void **state)
{
	char *k = make_bzimage(0x020f, XLF_KERNEL_64, 8 << 20, 4096);
	char initrd[] = "/tmp/khyve-test-initrdXXXXXX";
	int fd = mkstemp(initrd);
	struct boot_files bf;
	char err[512];

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 3 << 20), 0);
	close(fd);
	assert_int_equal(probe(k, initrd, NULL, 64 << 20, &bf, err), 0);
	/* Top of low memory, page aligned, above the kernel's working area. */
	assert_int_equal(bf.initrd_addr, (64 << 20) - (3 << 20));
	assert_true(bf.initrd_addr >= bf.load_addr + (8 << 20));
	boot_files_close(&bf);
	/* 16M + 8M kernel area leaves no room for a 3M initrd in 26M. */
	assert_int_equal(probe(k, initrd, NULL, 26 << 20, &bf, err), -E2BIG);
	assert_non_null(strstr(err, "does not fit"));
	boot_files_close(&bf);
	unlink(initrd);
	unlink(k);
}

static void test_cmdline_limit(void **state)
{
	char *k = make_bzimage(0x020f, XLF_KERNEL_64, 8 << 20, 4096);
	char *big = malloc(4096);
	struct boot_files bf;
	char err[512];

	memset(big, 'a', 4095);
	big[4095] = '\0';
	assert_int_equal(probe(k, NULL, big, 64 << 20, &bf, err), -E2BIG);
	assert_non_null(strstr(err, "2047"));
	boot_files_close(&bf);
	free(big);
	unlink(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small),
		cmocka_unit_test(test_e820_highmem),
		cmocka_unit_test(test_bzimage_accepts_and_fills_zeropage),
		cmocka_unit_test(test_bzimage_rejects),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_cmdline_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
