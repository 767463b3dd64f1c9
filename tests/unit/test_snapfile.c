/* The checkpoint state file (snapfile.h): what is written reads back, and
 * restore's parser refuses every damaged, truncated or inconsistent file
 * with a reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot/snapfile.h"

/* Writes w to a memfd and returns its bytes (malloc'ed) in *len. */
static uint8_t *written(struct snap_writer *w, size_t *len)
{
	int fd = memfd_create("snap", MFD_CLOEXEC);
	off_t end;
	uint8_t *buf;

	assert_true(fd >= 0);
	assert_int_equal(snap_write(w, fd), 0);
	end = lseek(fd, 0, SEEK_END);
	assert_true(end > 0);
	buf = malloc((size_t)end);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
	close(fd);
	*len = (size_t)end;
	return buf;
}

/* Three sections as a checkpoint would have: fixed fields, odd sizes. */
static uint8_t *sample(size_t *len)
{
	struct snap_writer *w = malloc(sizeof(*w));
	uint8_t *buf;

	assert_non_null(w);
	snap_writer_init(w);
	snap_begin(w, "vcpu.0", 3);
	snap_put_u64(w, 0x1122334455667788ull);
	snap_put_u32(w, 0xdeadbeef);
	snap_put_u8(w, 7);
	snap_end(w);
	snap_begin(w, "empty", 1);
	snap_end(w);
	snap_begin(w, "pci.0.3.0", 1);
	snap_put_u16(w, 0xabcd);
	snap_put(w, "hello", 5);
	snap_end(w);
	buf = written(w, len);
	snap_writer_free(w);
	free(w);
	return buf;
}

static void test_crc32c_known_value(void **state)
{
	/* The check value of CRC-32C (RFC 3720 B.4's parameters). */
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

static void test_round_trip(void **state)
{
	struct snap_file *f = malloc(sizeof(*f));
	const struct snap_section *s;
	struct snap_cursor c;
	char err[200] = "", text[6] = "";
	size_t len;
	uint8_t *buf = sample(&len);

	assert_int_equal(snap_parse(buf, len, f, err, sizeof(err)), 0);
	assert_int_equal(f->n, 3);
	s = snap_find(f, "vcpu.0");
	assert_non_null(s);
	assert_int_equal(s->version, 3);
	assert_int_equal(s->offset % 8, 0);
	snap_cursor_init(&c, s);
	assert_true(snap_get_u64(&c) == 0x1122334455667788ull);
	assert_int_equal(snap_get_u32(&c), 0xdeadbeef);
	assert_int_equal(snap_get_u8(&c), 7);
	assert_true(snap_cursor_done(&c));
	s = snap_find(f, "pci.0.3.0");
	assert_non_null(s);
	assert_int_equal(s->offset % 8, 0);
	snap_cursor_init(&c, s);
	assert_int_equal(snap_get_u16(&c), 0xabcd);
	snap_get(&c, text, 5);
	assert_string_equal(text, "hello");
	assert_true(snap_cursor_done(&c));
	s = snap_find(f, "empty");
	assert_non_null(s);
	assert_int_equal(s->size, 0);
	assert_null(snap_find(f, "vcpu.1"));
	free(buf);
	free(f);
}

/* A bit flipped anywhere is caught: in the header, the table, the data or
 * the padding between sections. */
static void test_every_bit_flip_refused(void **state)
{
	struct snap_file *f = malloc(sizeof(*f));
	size_t len;
	uint8_t *buf = sample(&len);

	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			char err[200] = "";

			buf[i] ^= (uint8_t)(1u << bit);
			if (snap_parse(buf, len, f, err, sizeof(err)) == 0)
				fail_msg("byte %zu bit %d flipped: accepted", i, bit);
			assert_true(err[0] != '\0');
			assert_int_equal(f->n, 0);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	free(buf);
	free(f);
}

static void test_every_truncation_refused(void **state)
{
	struct snap_file *f = malloc(sizeof(*f));
	size_t len;
	uint8_t *buf = sample(&len);

	for (size_t n = 0; n < len; n++) {
		char err[200] = "";

		assert_int_not_equal(snap_parse(buf, n, f, err, sizeof(err)), 0);
		assert_true(err[0] != '\0');
	}
	free(buf);
	free(f);
}

static void test_reasons(void **state)
{
	struct snap_file *f = malloc(sizeof(*f));
	char err[200];
	size_t len;
	uint8_t *buf = sample(&len), *longer;

	assert_int_not_equal(snap_parse((const uint8_t *)"ELF", 3, f, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a khyve checkpoint"));
	assert_int_not_equal(snap_parse(buf, len - 1, f, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "truncated"));
	longer = calloc(1, len + 8);
	assert_non_null(longer);
	memcpy(longer, buf, len);
	assert_int_not_equal(snap_parse(longer, len + 8, f, err, sizeof(err)), 0);
	buf[len - 1] ^= 1;	/* the last section's data */
	assert_int_not_equal(snap_parse(buf, len, f, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "section pci.0.3.0: checksum mismatch"));
	free(longer);
	free(buf);
	free(f);
}

static void test_cursor_never_overreads(void **state)
{
	struct snap_section s = { .data = (const uint8_t *)"\x01\x02\x03", .size = 3 };
	struct snap_cursor c;
	uint8_t big[16];

	snap_cursor_init(&c, &s);
	assert_int_equal(snap_get_u16(&c), 0x0201);
	assert_int_equal(snap_get_u32(&c), 0);		/* 1 byte left: refused */
	assert_true(c.bad);
	assert_false(snap_cursor_done(&c));
	snap_cursor_init(&c, &s);
	snap_get(&c, big, sizeof(big));
	assert_true(c.bad);
	snap_cursor_init(&c, &s);
	snap_get(&c, big, 2);
	assert_false(snap_cursor_done(&c));		/* a byte left over */
	snap_cursor_init(&c, NULL);			/* a missing section */
	assert_true(c.bad);
}

static void test_writer_misuse(void **state)
{
	struct snap_writer *w = malloc(sizeof(*w));
	int fd = memfd_create("snap", MFD_CLOEXEC);

	assert_true(fd >= 0);
	snap_writer_init(w);
	snap_begin(w, "Bad Name", 1);
	assert_int_equal(w->err, -EINVAL);
	snap_writer_free(w);

	snap_writer_init(w);
	snap_begin(w, "a", 1);
	snap_end(w);
	snap_begin(w, "a", 1);
	assert_int_equal(w->err, -EEXIST);
	assert_int_equal(snap_write(w, fd), -EEXIST);
	snap_writer_free(w);

	snap_writer_init(w);
	snap_put_u32(w, 1);				/* outside any section */
	assert_int_equal(w->err, -EINVAL);
	snap_writer_free(w);

	snap_writer_init(w);
	snap_begin(w, "open", 1);			/* never ended */
	assert_int_equal(snap_write(w, fd), -EINVAL);
	snap_writer_free(w);

	snap_writer_init(w);
	for (unsigned i = 0; i <= SNAP_MAX_SECTIONS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%u", i);
		snap_begin(w, name, 1);
		snap_end(w);
	}
	assert_int_equal(w->err, -E2BIG);
	snap_writer_free(w);
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);	/* nothing written */
	close(fd);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_value),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_bit_flip_refused),
		cmocka_unit_test(test_every_truncation_refused),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_cursor_never_overreads),
		cmocka_unit_test(test_writer_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
