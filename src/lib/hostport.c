#include "lib/hostport.h"

#include <errno.h>
#include <string.h>

bool hostport_port_ok(const char *s)
{
	unsigned long v = 0;
	size_t i = 0;

	for (; s[i] >= '0' && s[i] <= '9' && i < 6; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	return i > 0 && !s[i] && v >= 1 && v <= 65535;
}

int hostport_split(const char *spec, char *host, size_t hlen, const char **port)
{
	bool bracket = spec[0] == '[';
	const char *h = bracket ? spec + 1 : spec;
	const char *colon = bracket ? strstr(spec, "]:") : strchr(spec, ':');
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - h);
	*port = colon + (bracket ? 2 : 1);
	if (!hostport_port_ok(*port) || (bracket && n == 0) || n >= hlen ||
	    memchr(h, bracket ? '[' : ']', n))
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}
