/* The checkpoint state file: see snapfile.h. */
#include "snapshot/snapfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"
/* ---- CRC32C (Castagnoli, reflected 0x82F63B78), as iSCSI and ext4 ---- */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc_table[1])
		crc_table_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian fields ---- */

static void le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static bool name_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* ---- writing ---- */

void snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}

static void fail(struct snap_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

void snap_begin(struct snap_writer *w, const char *name, uint32_t version)
{
	struct snap_section *s;

	if (w->open || !name_ok(name, SNAP_NAME_MAX)) {
		fail(w, -EINVAL);
		return;
	}
	if (w->n == SNAP_MAX_SECTIONS) {
		fail(w, -E2BIG);
		return;
	}
	for (unsigned i = 0; i < w->n; i++)
		if (!strcmp(w->sec[i].name, name)) {
			fail(w, -EEXIST);
			return;
		}
	w->open = true;
	while (w->len % 8)
		snap_put_u8(w, 0);
	s = &w->sec[w->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->version = version;
	s->offset = w->len;
}

void snap_put(struct snap_writer *w, const void *data, size_t len)
{
	if (w->err)
		return;
	if (!w->open) {
		fail(w, -EINVAL);	/* bytes outside any section */
		return;
	}
	if (len > SNAP_MAX_FILE - w->len) {
		fail(w, -EFBIG);
		return;
	}
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *nb;

		while (cap < w->len + len)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			fail(w, -ENOMEM);
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	if (len)
		memcpy(w->buf + w->len, data, len);
	w->len += len;
}

static void put_le(struct snap_writer *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	le_put(b, v, n);
	snap_put(w, b, n);
}

void snap_put_u8(struct snap_writer *w, uint8_t v) { put_le(w, v, 1); }
void snap_put_u16(struct snap_writer *w, uint16_t v) { put_le(w, v, 2); }
void snap_put_u32(struct snap_writer *w, uint32_t v) { put_le(w, v, 4); }
void snap_put_u64(struct snap_writer *w, uint64_t v) { put_le(w, v, 8); }

void snap_end(struct snap_writer *w)
{
	struct snap_section *s = &w->sec[w->n];

	if (!w->open) {
		fail(w, -EINVAL);
		return;
	}
	w->open = false;
	if (w->err)
		return;
	s->size = w->len - s->offset;
	/* No data yet means no buffer: nothing to offset. */
	s->crc = s->size ? crc32c(0, w->buf + s->offset, s->size) : crc32c(0, NULL, 0);
	w->n++;
}

int snap_write(struct snap_writer *w, int fd)
{
	size_t table_len = (size_t)w->n * SNAP_ENTRY_SIZE, data_at = SNAP_HEADER_SIZE + table_len;
	uint8_t hdr[SNAP_HEADER_SIZE] = { 0 }, *table;
	int rc;

	if (w->open)
		fail(w, -EINVAL);
	if (w->err)
		return w->err;
	table = calloc(1, table_len ? table_len : 1);
	if (!table)
		return -ENOMEM;
	for (unsigned i = 0; i < w->n; i++) {
		uint8_t *e = table + (size_t)i * SNAP_ENTRY_SIZE;

		memcpy(e, w->sec[i].name, strlen(w->sec[i].name));
		le_put(e + 24, w->sec[i].version, 4);
		le_put(e + 28, w->sec[i].crc, 4);
		le_put(e + 32, data_at + w->sec[i].offset, 8);
		le_put(e + 40, w->sec[i].size, 8);
	}
	memcpy(hdr, SNAP_MAGIC, 8);
	le_put(hdr + 8, SNAP_FORMAT_VERSION, 4);
	le_put(hdr + 12, w->n, 4);
	le_put(hdr + 16, data_at + w->len, 8);
	le_put(hdr + 24, crc32c(0, table, table_len), 4);
	le_put(hdr + 28, crc32c(0, hdr, sizeof(hdr)), 4);
	rc = fd_write_all(fd, hdr, sizeof(hdr));
	if (!rc)
		rc = fd_write_all(fd, table, table_len);
	if (!rc)
		rc = fd_write_all(fd, w->buf, w->len);
	free(table);
	return rc;
}

/* ---- reading ---- */

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_header(const uint8_t *buf, size_t len, unsigned *n, char *err, size_t errlen)
{
	uint8_t hdr[SNAP_HEADER_SIZE];
	uint32_t version, want;

	if (len < SNAP_HEADER_SIZE || memcmp(buf, SNAP_MAGIC, 8))
		return bad(err, errlen, "not a khyve checkpoint state file");
	memcpy(hdr, buf, sizeof(hdr));
	want = (uint32_t)le_get(hdr + 28, 4);
	le_put(hdr + 28, 0, 4);
	if (crc32c(0, hdr, sizeof(hdr)) != want)
		return bad(err, errlen, "header checksum mismatch (damaged file)");
	version = (uint32_t)le_get(buf + 8, 4);
	if (version != SNAP_FORMAT_VERSION)
		return bad(err, errlen, "format version %u, this khyve reads %u", version,
			   SNAP_FORMAT_VERSION);
	for (size_t i = 32; i < SNAP_HEADER_SIZE; i++)
		if (buf[i])
			return bad(err, errlen, "reserved header bytes are not zero");
	if (le_get(buf + 16, 8) != len)
		return bad(err, errlen, "file is %zu bytes, its header says %llu (truncated?)", len,
			   (unsigned long long)le_get(buf + 16, 8));
	*n = (uint32_t)le_get(buf + 12, 4);
	if (*n > SNAP_MAX_SECTIONS)
		return bad(err, errlen, "%u sections, at most %u", *n, SNAP_MAX_SECTIONS);
	if ((size_t)*n * SNAP_ENTRY_SIZE > len - SNAP_HEADER_SIZE)
		return bad(err, errlen, "section table runs past the end of the file");
	if (crc32c(0, buf + SNAP_HEADER_SIZE, (size_t)*n * SNAP_ENTRY_SIZE) !=
	    (uint32_t)le_get(buf + 24, 4))
		return bad(err, errlen, "section table checksum mismatch (damaged file)");
	return 0;
}

/* Sections follow each other in table order, 8-aligned, from the end of
 * the table to the end of the file. */
static int parse_entry(const uint8_t *buf, size_t len, const uint8_t *e, uint64_t *at,
		       struct snap_section *s, char *err, size_t errlen)
{
	uint64_t aligned = (*at + 7) & ~(uint64_t)7;

	memcpy(s->name, e, SNAP_NAME_MAX);
	if (!name_ok(s->name, SNAP_NAME_MAX))
		return bad(err, errlen, "a section has an invalid name");
	for (size_t i = strlen(s->name); i < SNAP_NAME_MAX; i++)
		if (s->name[i])
			return bad(err, errlen, "section %s: name not NUL-padded", s->name);
	s->version = (uint32_t)le_get(e + 24, 4);
	s->crc = (uint32_t)le_get(e + 28, 4);
	s->offset = le_get(e + 32, 8);
	s->size = le_get(e + 40, 8);
	if (s->offset != aligned || s->offset > len || s->size > len - s->offset)
		return bad(err, errlen, "section %s: offset %llu size %llu out of place", s->name,
			   (unsigned long long)s->offset, (unsigned long long)s->size);
	for (uint64_t i = *at; i < aligned; i++)
		if (buf[i])
			return bad(err, errlen, "section %s: padding is not zero", s->name);
	s->data = buf + s->offset;
	if (crc32c(0, s->data, s->size) != s->crc)
		return bad(err, errlen, "section %s: checksum mismatch (damaged file)", s->name);
	*at = s->offset + s->size;
	return 0;
}

int snap_parse(const uint8_t *buf, size_t len, struct snap_file *f, char *err, size_t errlen)
{
	uint64_t at;
	int rc = parse_header(buf, len, &f->n, err, errlen);

	if (rc) {
		f->n = 0;
		return rc;
	}
	at = SNAP_HEADER_SIZE + (uint64_t)f->n * SNAP_ENTRY_SIZE;
	for (unsigned i = 0; i < f->n && !rc; i++) {
		rc = parse_entry(buf, len, buf + SNAP_HEADER_SIZE + (size_t)i * SNAP_ENTRY_SIZE,
				 &at, &f->sec[i], err, errlen);
		for (unsigned j = 0; j < i && !rc; j++)
			if (!strcmp(f->sec[j].name, f->sec[i].name))
				rc = bad(err, errlen, "section %s appears twice", f->sec[i].name);
	}
	if (!rc && at != len)
		rc = bad(err, errlen, "%llu bytes after the last section",
			 (unsigned long long)(len - at));
	if (rc)
		f->n = 0;
	return rc;
}

const struct snap_section *snap_find(const struct snap_file *f, const char *name)
{
	for (unsigned i = 0; i < f->n; i++)
		if (!strcmp(f->sec[i].name, name))
			return &f->sec[i];
	return NULL;
}

void snap_cursor_init(struct snap_cursor *c, const struct snap_section *s)
{
	c->p = s ? s->data : NULL;
	c->left = s ? (size_t)s->size : 0;
	c->bad = !s;
}

void snap_get(struct snap_cursor *c, void *out, size_t len)
{
	if (c->bad || len > c->left) {
		c->bad = true;
		memset(out, 0, len);
		return;
	}
	memcpy(out, c->p, len);
	c->p += len;
	c->left -= len;
}

static uint64_t get_le(struct snap_cursor *c, unsigned n)
{
	uint8_t b[8];

	snap_get(c, b, n);
	return le_get(b, n);
}

uint8_t snap_get_u8(struct snap_cursor *c) { return (uint8_t)get_le(c, 1); }
uint16_t snap_get_u16(struct snap_cursor *c) { return (uint16_t)get_le(c, 2); }
uint32_t snap_get_u32(struct snap_cursor *c) { return (uint32_t)get_le(c, 4); }
uint64_t snap_get_u64(struct snap_cursor *c) { return get_le(c, 8); }

bool snap_cursor_done(const struct snap_cursor *c)
{
	return !c->bad && c->left == 0;
}
