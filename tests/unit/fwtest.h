/* Shared by the firmware table tests: a window in the middle of a
 * canary-filled buffer (to catch stray writes on either side) and
 * little-endian readers. */
#ifndef KHYVE_FWTEST_H
#define KHYVE_FWTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/fw.h"

#define GUARD	4096
#define CANARY	0x5A

struct tbuf {
	uint8_t *mem;
	struct fw_window win;
};

static inline void tbuf_init(struct tbuf *b, size_t len, uint64_t gpa)
{
	b->mem = malloc(len + 2 * GUARD);
	assert_non_null(b->mem);
	memset(b->mem, CANARY, len + 2 * GUARD);
	b->win.hva = b->mem + GUARD;
	b->win.gpa = gpa;
	b->win.len = len;
}

/* inside: the window itself must be untouched too (a refused build). */
static inline void check_guards(const struct tbuf *b, bool inside)
{
	for (size_t i = 0; i < GUARD; i++) {
		assert_int_equal(b->mem[i], CANARY);
		assert_int_equal(b->win.hva[b->win.len + i], CANARY);
	}
	for (size_t i = 0; inside && i < b->win.len; i++)
		assert_int_equal(b->win.hva[i], CANARY);
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

#endif
