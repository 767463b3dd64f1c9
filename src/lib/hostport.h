/* "HOST:PORT" as khyve's tcp= serial ports spell it, read in one place by
 * khyve's chardev and by the bhyve-argv converter. */
#ifndef KHYVE_HOSTPORT_H
#define KHYVE_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

/* A TCP port: 1 to 65535, in digits. */
bool hostport_port_ok(const char *s);
/* "HOST:PORT" or "[HOST]:PORT"; a host with ':' (IPv6) must be in
 * brackets, an empty HOST is every address.  0 with the host copied into
 * host (hlen bytes) and *port pointing into spec, or -EINVAL (malformed,
 * a bad port, or a host longer than hlen - 1). */
int hostport_split(const char *spec, char *host, size_t hlen, const char **port);

#endif
