#ifndef KHYVE_UUID_H
#define KHYVE_UUID_H

#include <stdint.h>

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case) -> 16 bytes in RFC
 * 4122 order; -EINVAL otherwise. */
int uuid_parse_str(const char *s, uint8_t out[16]);
/* bhyve's default: an MD5 (version 3) UUID of the VM name and host name. */
int uuid_for_vm(const char *vmname, uint8_t out[16]);

#endif
