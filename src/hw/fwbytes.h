/* Byte-exact little-endian stores and the 8-bit checksum every firmware
 * table format (ACPI, MP, SMBIOS) uses.  Stores go byte by byte because
 * table fields are often misaligned. */
#ifndef KHYVE_FWBYTES_H
#define KHYVE_FWBYTES_H

#include <stddef.h>
#include <stdint.h>

static inline void fw_st16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static inline void fw_st32(uint8_t *p, size_t off, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static inline void fw_st64(uint8_t *p, size_t off, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

/* The byte that, added to the others, makes the sum zero is 0 - this. */
static inline uint8_t fw_sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

#endif
