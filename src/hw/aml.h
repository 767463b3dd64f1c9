/* A small AML (ACPI Machine Language) byte-code builder: just what khyve's
 * DSDT needs.  Every call appends to a growable buffer; the first error
 * (allocation failure, invalid name, bad nesting, oversized package) is
 * remembered and turns all later calls into no-ops, so callers check once,
 * with aml_finish().
 *
 * Scopes (Scope, Device, Method, Package, ResourceTemplate) are opened with
 * a *_begin() call and closed with aml_end() / aml_rt_end(); their PkgLength
 * is back-patched on close with the shortest (1-4 byte) encoding. */
#ifndef KHYVE_AML_H
#define KHYVE_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH	16
#define AML_PKGLEN_MAX	0x0FFFFFFFu	/* 28 bits: the 4-byte encoding */

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;			/* 0 or the first negative errno */
	unsigned depth;
	size_t open[AML_MAX_DEPTH];	/* body start of each open scope */
	uint8_t kind[AML_MAX_DEPTH];	/* what each open scope is */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0 when the byte code is complete (no error, every scope closed), else a
 * negative errno: -ENOMEM, -EINVAL (bad name/argument/nesting), -E2BIG. */
int aml_finish(const struct aml *a);

/* Raw bytes (for callers that know the encoding). */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* Encodes a PkgLength whose value is len (it counts its own bytes) into
 * out; returns the number of bytes (1-4), 0 if len > AML_PKGLEN_MAX. */
size_t aml_pkglength_encode(size_t len, uint8_t out[4]);

/* Data objects. */
void aml_int(struct aml *a, uint64_t v);	/* shortest encoding */
void aml_string(struct aml *a, const char *s);	/* ASCII 0x01-0x7F */
/* EISA ID ("PNP0A03") as its 32-bit compressed integer. */
int aml_eisaid_value(const char *id, uint32_t *out);
void aml_eisaid(struct aml *a, const char *id);

/* NameString: optional '\' or '^'... prefix, then dot-separated NameSegs of
 * 1-4 characters ([A-Z_][A-Z0-9_]*), padded with '_'. */
void aml_namestring(struct aml *a, const char *path);
/* Name (name, <object>): the caller appends the object next. */
void aml_name(struct aml *a, const char *name);
/* Return (<value>): the caller appends the value next. */
void aml_return(struct aml *a);

/* Open scopes, closed by aml_end(). */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *name);
void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
/* Package (nelems) { ... }: the caller appends exactly nelems objects. */
void aml_package_begin(struct aml *a, unsigned nelems);
void aml_end(struct aml *a);

/* ResourceTemplate () { ... }: a Buffer of resource descriptors. */
void aml_rt_begin(struct aml *a);
/* Appends the EndTag (with checksum) and closes the buffer. */
void aml_rt_end(struct aml *a);
/* IO (Decode16, min, max, align, len). */
void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags () {irq}: edge, active high, exclusive. */
void aml_rt_irq_noflags(struct aml *a, unsigned irq);
/* IRQ (Edge|Level, ActiveHigh|ActiveLow, Exclusive|Shared) {irq}. */
void aml_rt_irq(struct aml *a, unsigned irq, bool level, bool active_low, bool shared);
/* Bridge windows: ResourceProducer, MinFixed, MaxFixed, PosDecode,
 * granularity 0, translation 0, length max - min + 1. */
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max);		/* EntireRange */
void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max, bool cacheable);	/* ReadWrite */
void aml_rt_qword_mem(struct aml *a, uint64_t min, uint64_t max, bool cacheable);	/* ReadWrite */

#endif
