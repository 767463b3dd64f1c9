/* A domain as a khyve/bhyve command line, both ways (libvirt's
 * "bhyve-argv" native format: virConnectDomainXMLFromNative/ToNative).
 *
 * From native: the text holds an optional loader line (bhyveload, or any
 * other program, which khyve refuses: it boots kernels directly) and one
 * bhyve or khyve line (argv[0] ending in "/bhyve", "bhyve", "/khyve" or
 * "khyve"), with backslash-newline continuations; the semantics, defaults
 * and errors of libvirt's bhyve driver (bhyve_parse_command.c) unless
 * khyve deliberately differs, which tests/unit/test_native.c's table
 * lists.  To native: the khyve command line that starting the domain runs
 * (monitor mode, the taps named as given or "tapN" placeholders, or
 * tapfd=N for an interface whose tap the manager opened). */
#ifndef KHYVE_VIRT_NATIVE_H
#define KHYVE_VIRT_NATIVE_H

#include <stddef.h>

#include "virt/domain.h"

#define KHV_NATIVE_MAX_BYTES	(64u << 10)
#define KHV_NATIVE_MAX_ARGS	1024

/* 0 with *out a new definition, or -EINVAL/-ENOMEM with a one-line reason
 * in err. */
int khv_domain_from_native(const char *text, size_t len, struct khv_domain **out,
			   char *err, size_t errlen);
/* 0 with *argv_out a NULL-terminated malloc'd argv (free with
 * khv_argv_free) whose argv[0] is `khyve` (the path to run), or
 * -EINVAL/-ENOMEM with the reason in err (a definition khyve cannot run
 * yet: "filesystem passthrough needs VirtFS, which khyve does not have
 * yet"). */
int khv_domain_to_argv(const struct khv_domain *d, const char *khyve, char ***argv_out,
		       char *err, size_t errlen);
void khv_argv_free(char **argv);
/* Gives every device without a PCI address the one the command line
 * would (libvirt fills addresses in the same way), so a running domain's
 * definition says where each disk and interface is.  0 or -EINVAL with
 * err set. */
int khv_domain_assign_addresses(struct khv_domain *d, char *err, size_t errlen);
/* The argv as one shell-quoted line (what domxml-to-native prints);
 * malloc'd, NULL on ENOMEM. */
char *khv_argv_to_text(char *const *argv);

#endif
