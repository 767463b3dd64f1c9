/* AML byte-code builder (ACPI 6.x section 20, "ACPI Machine Language
 * Specification").  See aml.h for the error and scope model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/aml.h"

/* Opcodes (ACPI 6.x 20.3). */
#define ZERO_OP		0x00
#define ONE_OP		0x01
#define NAME_OP		0x08
#define BYTE_PREFIX	0x0A
#define WORD_PREFIX	0x0B
#define DWORD_PREFIX	0x0C
#define STRING_PREFIX	0x0D
#define QWORD_PREFIX	0x0E
#define SCOPE_OP	0x10
#define BUFFER_OP	0x11
#define PACKAGE_OP	0x12
#define METHOD_OP	0x14
#define DUAL_NAME	0x2E
#define MULTI_NAME	0x2F
#define EXT_OP		0x5B
#define DEVICE_OP	0x82	/* after EXT_OP */
#define RETURN_OP	0xA4

/* Resource descriptors (ACPI 6.x 6.4). */
#define RD_IRQ		0x22	/* small, length 2 (no flags) or 3 */
#define RD_IO		0x47	/* small, length 7 */
#define RD_END		0x79	/* small, length 1 */
#define RD_DWORD	0x87
#define RD_WORD		0x88
#define RD_QWORD	0x8A
#define RT_MEM		0
#define RT_IO		1
#define RT_BUS		2
/* General flags of a bridge window: producer, positive decode, fixed. */
#define GF_WINDOW	0x0C	/* MinFixed (bit 2) | MaxFixed (bit 3) */

enum scope_kind { K_PKGLEN, K_BUFFER };

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

int aml_finish(const struct aml *a)
{
	if (a->err)
		return a->err;
	return a->depth ? -EINVAL : 0;
}

static bool reserve(struct aml *a, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (a->err)
		return false;
	if (n <= a->cap - a->len)
		return true;
	if (n > AML_PKGLEN_MAX || a->len > AML_PKGLEN_MAX) {
		fail(a, -E2BIG);
		return false;
	}
	cap = a->cap ? a->cap : 256;
	while (cap - a->len < n)
		cap *= 2;
	p = realloc(a->buf, cap);
	if (!p) {
		fail(a, -ENOMEM);
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (n && reserve(a, n)) {
		memcpy(a->buf + a->len, p, n);
		a->len += n;
	}
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Inserts n bytes at off, moving what follows: how closed scopes get their
 * length prefixes once the body size is known. */
static void insert(struct aml *a, size_t off, const uint8_t *p, size_t n)
{
	if (!reserve(a, n))
		return;
	memmove(a->buf + off + n, a->buf + off, a->len - off);
	memcpy(a->buf + off, p, n);
	a->len += n;
}

static void put_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

size_t aml_pkglength_encode(size_t len, uint8_t out[4])
{
	size_t n;

	if (len <= 0x3F) {	/* one byte: bits 0-5 hold the length */
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len <= 0xFFF)
		n = 2;
	else if (len <= 0xFFFFF)
		n = 3;
	else if (len <= AML_PKGLEN_MAX)
		n = 4;
	else
		return 0;
	/* Lead byte: count of following bytes in bits 6-7, low nibble of the
	 * length in bits 0-3; the following bytes carry 8 bits each. */
	out[0] = (uint8_t)(((n - 1) << 6) | (len & 0x0F));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	return n;
}

/* The PkgLength counts its own bytes, so the encoding size depends on the
 * value it encodes: try the smaller sizes first. */
static size_t pkglength_for_body(size_t body, uint8_t out[4])
{
	for (size_t n = 1; n <= 4; n++) {
		if (body > AML_PKGLEN_MAX - n)
			return 0;
		if (aml_pkglength_encode(body + n, out) == n)
			return n;
	}
	return 0;
}

static void scope_open(struct aml *a, enum scope_kind kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -EINVAL);
		return;
	}
	a->kind[a->depth] = (uint8_t)kind;
	a->open[a->depth++] = a->len;
}

static void scope_close(struct aml *a, enum scope_kind kind)
{
	uint8_t pl[4];
	size_t start, n;

	if (a->err)
		return;
	if (!a->depth || a->kind[a->depth - 1] != kind) {
		fail(a, -EINVAL);
		return;
	}
	start = a->open[--a->depth];
	n = pkglength_for_body(a->len - start, pl);
	if (!n) {
		fail(a, -E2BIG);
		return;
	}
	insert(a, start, pl, n);
}

void aml_end(struct aml *a)
{
	scope_close(a, K_PKGLEN);
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, ZERO_OP);
	else if (v == 1)
		aml_byte(a, ONE_OP);
	else if (v <= UINT8_MAX) {
		aml_byte(a, BYTE_PREFIX);
		put_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		aml_byte(a, QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] > 0x7F) {
			fail(a, -EINVAL);
			return;
		}
	aml_byte(a, STRING_PREFIX);
	aml_bytes(a, s, n + 1);
}

static bool eisa_letter(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Three letters as 5-bit values ('A' = 1) then four hex digits, stored big
 * endian byte by byte; the resulting 4 bytes are read as a little-endian
 * DWORD (so "PNP0A03" is 0x030AD041). */
int aml_eisaid_value(const char *id, uint32_t *out)
{
	uint8_t b[4];
	uint16_t l;

	if (strlen(id) != 7 || !eisa_letter(id[0]) || !eisa_letter(id[1]) || !eisa_letter(id[2]))
		return -EINVAL;
	for (int i = 3; i < 7; i++)
		if (hexval(id[i]) < 0)
			return -EINVAL;
	l = (uint16_t)(((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40));
	b[0] = (uint8_t)(l >> 8);
	b[1] = (uint8_t)l;
	b[2] = (uint8_t)((hexval(id[3]) << 4) | hexval(id[4]));
	b[3] = (uint8_t)((hexval(id[5]) << 4) | hexval(id[6]));
	*out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (aml_eisaid_value(id, &v)) {
		fail(a, -EINVAL);
		return;
	}
	/* Always a DWORD, as iasl emits it, whatever its value. */
	aml_byte(a, DWORD_PREFIX);
	put_le(a, v, 4);
}

static bool seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Parses one NameSeg of path at *p into seg (padded with '_'). */
static bool parse_seg(const char **p, char seg[4])
{
	size_t n = 0;

	while (seg_char((*p)[n], n == 0)) {
		if (n == 4)
			return false;
		n++;
	}
	if (n == 0)
		return false;
	memcpy(seg, *p, n);
	memset(seg + n, '_', 4 - n);
	*p += n;
	return true;
}

void aml_namestring(struct aml *a, const char *path)
{
	char segs[AML_MAX_DEPTH][4];
	const char *p = path;
	size_t nseg = 0, prefix = 0;

	if (*p == '\\')
		prefix = 1;
	else
		while (p[prefix] == '^')
			prefix++;
	p += prefix;
	for (;;) {
		if (nseg == AML_MAX_DEPTH || !parse_seg(&p, segs[nseg])) {
			fail(a, -EINVAL);
			return;
		}
		nseg++;
		if (*p == '\0')
			break;
		if (*p++ != '.') {
			fail(a, -EINVAL);
			return;
		}
	}
	aml_bytes(a, path, prefix);
	if (nseg == 2)
		aml_byte(a, DUAL_NAME);
	else if (nseg > 2) {
		aml_byte(a, MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, 4 * nseg);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, NAME_OP);
	aml_namestring(a, name);
}

void aml_return(struct aml *a)
{
	aml_byte(a, RETURN_OP);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, SCOPE_OP);
	scope_open(a, K_PKGLEN);
	aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, EXT_OP);
	aml_byte(a, DEVICE_OP);
	scope_open(a, K_PKGLEN);
	aml_namestring(a, name);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	if (nargs > 7) {
		fail(a, -EINVAL);
		return;
	}
	aml_byte(a, METHOD_OP);
	scope_open(a, K_PKGLEN);
	aml_namestring(a, name);
	/* MethodFlags: ArgCount in bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
	aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	if (nelems > UINT8_MAX) {	/* would need VarPackageOp */
		fail(a, -EINVAL);
		return;
	}
	aml_byte(a, PACKAGE_OP);
	scope_open(a, K_PKGLEN);
	aml_byte(a, (uint8_t)nelems);
}

void aml_rt_begin(struct aml *a)
{
	aml_byte(a, BUFFER_OP);
	scope_open(a, K_PKGLEN);	/* the PkgLength wraps BufferSize + bytes */
	scope_open(a, K_BUFFER);	/* the descriptors, counted for BufferSize */
}

void aml_rt_end(struct aml *a)
{
	struct aml size;
	uint8_t sum = 0;
	size_t start;

	if (a->err)
		return;
	if (!a->depth || a->kind[a->depth - 1] != K_BUFFER) {
		fail(a, -EINVAL);
		return;
	}
	start = a->open[a->depth - 1];
	/* EndTag checksum: all descriptor bytes, this one included, sum to 0. */
	aml_byte(a, RD_END | 1);
	for (size_t i = start; !a->err && i < a->len; i++)
		sum = (uint8_t)(sum + a->buf[i]);
	aml_byte(a, (uint8_t)-sum);
	if (a->err)
		return;
	a->depth--;
	/* BufferSize is an integer in front of the bytes: encode it on the
	 * side, then move it in. */
	aml_init(&size);
	aml_int(&size, a->len - start);
	if (size.err)
		fail(a, size.err);
	else
		insert(a, start, size.buf, size.len);
	aml_free(&size);
	scope_close(a, K_PKGLEN);
}

/* Descriptors may only appear inside a ResourceTemplate. */
static bool in_rt(struct aml *a)
{
	if (!a->err && (!a->depth || a->kind[a->depth - 1] != K_BUFFER))
		fail(a, -EINVAL);
	return !a->err;
}

void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	if (!in_rt(a))
		return;
	aml_byte(a, RD_IO);
	aml_byte(a, 0x01);	/* Decode16 */
	put_le(a, min, 2);
	put_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

static void irq_desc(struct aml *a, unsigned irq, int flags)
{
	if (!in_rt(a))
		return;
	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(RD_IRQ | (flags < 0 ? 2 : 3)));
	put_le(a, 1u << irq, 2);
	if (flags >= 0)
		aml_byte(a, (uint8_t)flags);
}

void aml_rt_irq_noflags(struct aml *a, unsigned irq)
{
	irq_desc(a, irq, -1);
}

void aml_rt_irq(struct aml *a, unsigned irq, bool level, bool active_low, bool shared)
{
	/* Bit 0: 1 = edge; bit 3: 1 = active low; bit 4: shared. */
	irq_desc(a, irq, (level ? 0 : 0x01) | (active_low ? 0x08 : 0) | (shared ? 0x10 : 0));
}

/* Word/DWord/QWord address space descriptors share one layout with fields
 * of 2, 4 or 8 bytes: type, general flags, type-specific flags, then
 * granularity, min, max, translation offset and length. */
static void addr_desc(struct aml *a, uint8_t tag, unsigned w, uint8_t type, uint8_t tflags,
		      uint64_t min, uint64_t max)
{
	if (!in_rt(a))
		return;
	if (min > max) {
		fail(a, -EINVAL);
		return;
	}
	aml_byte(a, tag);
	put_le(a, 3 + 5 * w, 2);	/* length after the 3-byte header */
	aml_byte(a, type);
	aml_byte(a, GF_WINDOW);
	aml_byte(a, tflags);
	put_le(a, 0, w);
	put_le(a, min, w);
	put_le(a, max, w);
	put_le(a, 0, w);
	/* A full 64-bit range's length does not fit: max - min + 1 wraps to
	 * 0, which no caller here needs. */
	put_le(a, max - min + 1, w);
}

void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	addr_desc(a, RD_WORD, 2, RT_BUS, 0, min, max);
}

void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	addr_desc(a, RD_WORD, 2, RT_IO, 0x03 /* EntireRange */, min, max);
}

/* Memory type-specific flags: bit 0 ReadWrite, bits 1-2 cacheability. */
static uint8_t mem_flags(bool cacheable)
{
	return (uint8_t)(0x01 | (cacheable ? 0x02 : 0));
}

void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max, bool cacheable)
{
	addr_desc(a, RD_DWORD, 4, RT_MEM, mem_flags(cacheable), min, max);
}

void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max, bool cacheable)
{
	addr_desc(a, RD_QWORD, 8, RT_MEM, mem_flags(cacheable), min, max);
}
