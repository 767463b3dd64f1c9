/* khyvectl's output helpers: see khyvectl.h. */
#include "khyvectl/khyvectl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void out_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void out_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned u = 0;

	while (bytes && !(bytes & 1023) && u < sizeof(units) - 2) {
		bytes >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", bytes, units[u]);
}

const char *out_clean(const char *text, char *buf, size_t len)
{
	size_t i;

	if (!len)
		return "";
	for (i = 0; text[i] && i < len - 1; i++) {
		unsigned char c = (unsigned char)text[i];

		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

void out_hexdump(FILE *f, uint64_t gpa, const uint8_t *data, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;
		char ascii[17];

		fprintf(f, "%016" PRIx64 " ", gpa + off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', f);
			if (i < n)
				fprintf(f, " %02x", data[off + i]);
			else
				fputs("   ", f);
		}
		for (size_t i = 0; i < n; i++)
			ascii[i] = data[off + i] >= 0x20 && data[off + i] < 0x7f ? (char)data[off + i] : '.';
		ascii[n] = '\0';
		fprintf(f, "  |%s|\n", ascii);
	}
}
