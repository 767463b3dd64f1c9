/* libvirt domain XML <-> struct khv_domain, with libxml2 (no network, no
 * external entities, no DTD loading).
 *
 * Parsing takes <domain type='kvm'> (and type='bhyve', for XML written
 * for libvirt's bhyve driver) with the subset described in domain.h;
 * any other element or attribute value is refused with its name, never
 * dropped silently: "unsupported element <hostdev>", "unsupported disk
 * bus 'sata' (khyve has virtio disks only)".  Formatting writes
 * <domain type='kvm'> that validates against libvirt's domain.rng. */
#ifndef KHYVE_VIRT_DOMAIN_XML_H
#define KHYVE_VIRT_DOMAIN_XML_H

#include <stddef.h>

#include "virt/domain.h"

#define KHV_XML_MAX_BYTES	(1u << 20)

/* 0 with *out a new definition, or -EINVAL/-ENOMEM with a one-line reason
 * in err (no trailing newline, no "error:" prefix). */
int khv_domain_parse_xml(const char *xml, size_t len, struct khv_domain **out,
			 char *err, size_t errlen);
/* 0 with *out a malloc'd NUL-terminated XML document (two-space indent,
 * ending in a newline), or -ENOMEM. */
int khv_domain_format_xml(const struct khv_domain *d, char **out);

#endif
