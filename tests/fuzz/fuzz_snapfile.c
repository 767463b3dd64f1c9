/* The checkpoint state file parser on untrusted bytes (what khyve -r reads).
 *
 * Input byte 0, bit 0 clear: the rest is a state file; the parser must
 * refuse it or give sections that lie inside it, which are then read
 * field by field.  Bit 0 set: the rest describes sections (name length,
 * name, data length, data) that the writer writes; the parser must accept
 * the result and give back the same sections. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot/snapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct snap_file file;
static struct snap_writer writer;

static void parse_untrusted(const uint8_t *data, size_t size)
{
	char err[256];

	if (snap_parse(data, size, &file, err, sizeof(err)))
		return;
	for (unsigned i = 0; i < file.n; i++) {
		const struct snap_section *s = &file.sec[i];
		struct snap_cursor c;

		if (s->data < data || s->size > size || s->data + s->size > data + size)
			abort();
		snap_cursor_init(&c, s);
		while (!c.bad)
			(void)snap_get_u64(&c);
	}
}

static void round_trip(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-snap", MFD_CLOEXEC);
	char names[SNAP_MAX_SECTIONS][SNAP_NAME_MAX];
	unsigned n = 0;
	off_t len;
	uint8_t *buf;
	char err[256];

	if (fd < 0)
		abort();
	snap_writer_init(&writer);
	while (size >= 2 && n < SNAP_MAX_SECTIONS) {
		size_t nl = 1 + data[0] % (SNAP_NAME_MAX - 1), dl = data[1];

		data += 2;
		size -= 2;
		if (nl > size)
			break;
		memset(names[n], 0, SNAP_NAME_MAX);
		for (size_t i = 0; i < nl; i++)
			names[n][i] = "abcdefghijklmnopqrstuvwxyz0123456789._-"[data[i] % 39];
		data += nl;
		size -= nl;
		if (dl > size)
			dl = size;
		snap_begin(&writer, names[n], n);
		snap_put(&writer, data, dl);
		snap_end(&writer);
		data += dl;
		size -= dl;
		if (!writer.err)
			n++;
		else
			break;
	}
	if (writer.err) {		/* a repeated name: nothing may be written */
		if (snap_write(&writer, fd) == 0)
			abort();
		snap_writer_free(&writer);
		close(fd);
		return;
	}
	if (snap_write(&writer, fd))
		abort();
	len = lseek(fd, 0, SEEK_END);
	buf = malloc((size_t)len);
	if (!buf || pread(fd, buf, (size_t)len, 0) != len)
		abort();
	if (snap_parse(buf, (size_t)len, &file, err, sizeof(err)) || file.n != n)
		abort();
	for (unsigned i = 0; i < n; i++) {
		const struct snap_section *s = snap_find(&file, names[i]);

		if (!s || s->size != writer.sec[i].size ||
		    (s->size && memcmp(s->data, writer.buf + writer.sec[i].offset, s->size)))
			abort();
	}
	free(buf);
	snap_writer_free(&writer);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		round_trip(data + 1, size - 1);
	else
		parse_untrusted(data + 1, size - 1);
	return 0;
}
