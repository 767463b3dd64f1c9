#include "machine/uuid.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <md5.h>
#include <string.h>
#include <unistd.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int uuid_parse_str(const char *s, uint8_t out[16])
{
	unsigned n = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (unsigned i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		int hi, lo;

		if (dash) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[++i]);
		if (hi < 0 || lo < 0 || i == 36)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n == 16 ? 0 : -EINVAL;
}

int uuid_for_vm(const char *vmname, uint8_t out[16])
{
	/* bhyve hashes the whole zero-padded hostname buffer; so do we, so the
	 * same VM on the same host keeps its UUID across both. */
	char hostname[256] = { 0 };
	MD5_CTX ctx;

	if (gethostname(hostname, sizeof(hostname) - 1) < 0)
		return -errno;
	MD5Init(&ctx);
	MD5Update(&ctx, (const uint8_t *)vmname, strlen(vmname));
	MD5Update(&ctx, (const uint8_t *)hostname, sizeof(hostname));
	MD5Final(out, &ctx);
	out[6] = (out[6] & 0x0f) | 0x30;	/* version 3 */
	out[8] = (out[8] & 0x3f) | 0x80;	/* DCE 1.1 variant */
	return 0;
}
