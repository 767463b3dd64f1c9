/* The state file of a checkpoint: what restore reads from an untrusted
 * file, checked before anything is used (doc/snapshot.md).
 *
 * Layout, all little-endian:
 *   header   64 bytes: magic "KHYVSNAP", u32 format version, u32 number of
 *            sections, u64 file size, u32 CRC32C of the section table,
 *            u32 CRC32C of the header (this field zero), zeros
 *   table    one 48-byte entry per section: name (NUL-padded, 24 bytes,
 *            [a-z0-9._-]), u32 section version, u32 CRC32C of the data,
 *            u64 offset, u64 size
 *   data     each section's bytes, 8-byte aligned, in table order, no
 *            overlap, nothing after the last
 * A section's contents are the device's own business, read through a
 * snap_cursor so that a short or long section is an error, not an
 * overread. */
#ifndef KHYVE_SNAPFILE_H
#define KHYVE_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC		"KHYVSNAP"
#define SNAP_FORMAT_VERSION	1
#define SNAP_HEADER_SIZE	64
#define SNAP_ENTRY_SIZE		48
#define SNAP_NAME_MAX		24	/* with the NUL */
#define SNAP_MAX_SECTIONS	512
#define SNAP_MAX_FILE		(256u << 20)	/* device and vCPU state only */

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

struct snap_section {
	char name[SNAP_NAME_MAX];
	uint32_t version;
	uint32_t crc;
	uint64_t offset, size;
	const uint8_t *data;		/* in the parsed buffer */
};

/* ---- writing ---- */

struct snap_writer {
	uint8_t *buf;			/* the sections' data */
	size_t len, cap;
	struct snap_section sec[SNAP_MAX_SECTIONS];
	unsigned n;
	bool open;			/* a section is being written */
	int err;			/* first error (-errno), sticky */
};

void snap_writer_init(struct snap_writer *w);
void snap_writer_free(struct snap_writer *w);
/* Starts section name (at most SNAP_NAME_MAX - 1 of [a-z0-9._-]). */
void snap_begin(struct snap_writer *w, const char *name, uint32_t version);
void snap_put(struct snap_writer *w, const void *data, size_t len);
void snap_put_u8(struct snap_writer *w, uint8_t v);
void snap_put_u16(struct snap_writer *w, uint16_t v);
void snap_put_u32(struct snap_writer *w, uint32_t v);
void snap_put_u64(struct snap_writer *w, uint64_t v);
void snap_end(struct snap_writer *w);
/* Writes header, table and data to fd (from its current offset, which
 * should be 0).  0 or the first error of the whole writer. */
int snap_write(struct snap_writer *w, int fd);

/* ---- reading ---- */

struct snap_file {
	unsigned n;
	struct snap_section sec[SNAP_MAX_SECTIONS];
};

/* Checks buf (the whole file) and fills f; its sections point into buf.
 * 0, or -EINVAL/-EPROTO with the reason in err. */
int snap_parse(const uint8_t *buf, size_t len, struct snap_file *f, char *err, size_t errlen);
const struct snap_section *snap_find(const struct snap_file *f, const char *name);

/* Reads a section field by field; any read past its end sets bad and
 * yields zeros.  snap_cursor_done: everything read, nothing left over. */
struct snap_cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

void snap_cursor_init(struct snap_cursor *c, const struct snap_section *s);
void snap_get(struct snap_cursor *c, void *out, size_t len);
uint8_t snap_get_u8(struct snap_cursor *c);
uint16_t snap_get_u16(struct snap_cursor *c);
uint32_t snap_get_u32(struct snap_cursor *c);
uint64_t snap_get_u64(struct snap_cursor *c);
bool snap_cursor_done(const struct snap_cursor *c);

#endif
