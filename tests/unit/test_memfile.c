/* The checkpoint memory file (memfile.h): only non-zero pages take space,
 * untouched memfd pages are not even read, a private map restores the
 * contents without ever writing the file, a wrong-sized file is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/memfile.h"

#define PAGES	64
#define SIZE	((uint64_t)PAGES * MEMFILE_PAGE)

struct guest {
	int fd;
	uint8_t *mem;
};

/* A memfd-backed "guest": pages 1, 5 and 60 hold data, page 7 was touched
 * but holds zeros, the rest were never touched. */
static void guest_new(struct guest *g)
{
	g->fd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(g->fd >= 0);
	assert_int_equal(ftruncate(g->fd, (off_t)SIZE), 0);
	g->mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	assert_true(g->mem != MAP_FAILED);
	memset(g->mem + 1 * MEMFILE_PAGE, 0x11, MEMFILE_PAGE);
	g->mem[5 * MEMFILE_PAGE + 4095] = 0x55;
	g->mem[7 * MEMFILE_PAGE] = 0x77;
	g->mem[7 * MEMFILE_PAGE] = 0;
	memcpy(g->mem + 60 * MEMFILE_PAGE + 100, "sixty", 5);
}

static void guest_free(struct guest *g)
{
	munmap(g->mem, SIZE);
	close(g->fd);
}

static int scratch_file(void)
{
	char path[] = "/tmp/khyve-memfile-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* Offsets of the file's data extents, as a bitmap of pages. */
static uint64_t data_pages(int fd)
{
	uint64_t bits = 0;
	off_t off = 0, d, h;

	while ((d = lseek(fd, off, SEEK_DATA)) >= 0) {
		h = lseek(fd, d, SEEK_HOLE);
		assert_true(h > d);
		for (off_t p = d; p < h; p += MEMFILE_PAGE)
			bits |= 1ull << (p / MEMFILE_PAGE);
		off = h;
	}
	return bits;
}

static void check_saved(int out, const struct memfile_stats *st)
{
	struct stat sb;

	assert_int_equal(fstat(out, &sb), 0);
	assert_int_equal(sb.st_size, SIZE);
	assert_int_equal(st->pages_written, 3);
	assert_int_equal(data_pages(out), (1ull << 1) | (1ull << 5) | (1ull << 60));
	assert_true((uint64_t)sb.st_blocks * 512 <= 3 * MEMFILE_PAGE);
}

static void test_sparse_from_memfd(void **state)
{
	struct memfile_stats st;
	struct guest g;
	int out = scratch_file();

	(void)state;
	guest_new(&g);
	assert_int_equal(memfile_save(g.mem, SIZE, g.fd, out, &st), 0);
	check_saved(out, &st);
	/* pages 1..7 and 60 exist in the memfd: the rest was skipped unread */
	assert_true(st.bytes_scanned < SIZE / 4);
	guest_free(&g);
	close(out);
}

static void test_sparse_without_memfd(void **state)
{
	struct memfile_stats st;
	struct guest g;
	int out = scratch_file();

	(void)state;
	guest_new(&g);
	assert_int_equal(memfile_save(g.mem, SIZE, -1, out, &st), 0);
	check_saved(out, &st);
	assert_int_equal(st.bytes_scanned, SIZE);
	guest_free(&g);
	close(out);
}

static void test_private_map_restores(void **state)
{
	struct guest g;
	int out = scratch_file();
	uint8_t *mem, before[16], after[16];

	(void)state;
	guest_new(&g);
	assert_int_equal(memfile_save(g.mem, SIZE, g.fd, out, NULL), 0);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(memfile_map(mem, SIZE, out), 0);
	assert_memory_equal(mem, g.mem, SIZE);
	/* the guest writes to its memory; the checkpoint stays as it was */
	assert_int_equal(pread(out, before, sizeof(before), 60 * MEMFILE_PAGE + 100), 16);
	memset(mem, 0xee, SIZE);
	assert_int_equal(pread(out, after, sizeof(after), 60 * MEMFILE_PAGE + 100), 16);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(memcmp(before, "sixty", 5), 0);
	munmap(mem, SIZE);
	guest_free(&g);
	close(out);
}

static void test_wrong_size_refused(void **state)
{
	struct guest g;
	int out = scratch_file();
	uint8_t *mem;

	(void)state;
	guest_new(&g);
	assert_int_equal(memfile_save(g.mem, SIZE, g.fd, out, NULL), 0);
	assert_int_equal(ftruncate(out, (off_t)(SIZE - MEMFILE_PAGE)), 0);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(memfile_map(mem, SIZE, out), -EINVAL);
	assert_int_equal(memfile_save(g.mem, SIZE - 1, g.fd, out, NULL), -EINVAL);
	munmap(mem, SIZE);
	guest_free(&g);
	close(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse_from_memfd),
		cmocka_unit_test(test_sparse_without_memfd),
		cmocka_unit_test(test_private_map_restores),
		cmocka_unit_test(test_wrong_size_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
