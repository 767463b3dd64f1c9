/* Persistent domain definitions of a connection (virDomainDefineXML,
 * Undefine, LookupByName/UUID, ListAllDomains): one file
 * <config_dir>/domains/<name>.xml each, written whole under a temporary
 * name and renamed into place, with <config_dir>/domains/.lock flock()ed
 * around every change so several khyvesh at once never interleave.
 * Whether a domain runs comes from khyve's registry in the run
 * directory (src/vmmctl), which also holds transient domains. */
#ifndef KHYVE_VIRT_DOMSTORE_H
#define KHYVE_VIRT_DOMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "virt/conn.h"
#include "virt/domain.h"

/* Validates xml, gives it a UUID when it has none (the one already
 * defined under its name, else a random one), refuses a name or UUID
 * that another domain holds, and stores it formatted.  0 with *out the
 * stored definition (may be NULL to skip), or negative errno, err set. */
int khv_domain_define_xml(struct khv_conn *c, const char *xml, size_t len,
			  struct khv_domain **out, char *err, size_t errlen);
/* Removes name's definition: 0, -ENOENT ("domain not found"), err set. */
int khv_domain_undefine(struct khv_conn *c, const char *name, char *err, size_t errlen);
/* The stored definition of name (or of a UUID string): 0 or -ENOENT. */
int khv_domain_lookup(struct khv_conn *c, const char *name_or_uuid, struct khv_domain **out,
		      char *err, size_t errlen);

enum khv_dom_state {
	KHV_STATE_SHUTOFF,		/* defined, no process */
	KHV_STATE_RUNNING,
	KHV_STATE_PAUSED,
};

struct khv_dom_entry {
	char name[KHV_NAME_MAX];
	bool persistent;		/* has a definition */
	bool active;			/* khyve's registry holds it, alive */
	pid_t pid;			/* the holder, when active */
};

/* Every domain, defined or running, sorted by name: the count, or a
 * negative errno; *out malloc'd. */
int khv_domain_list(struct khv_conn *c, struct khv_dom_entry **out, char *err, size_t errlen);

/* Whether name has a stored definition. */
bool khv_domain_is_persistent(struct khv_conn *c, const char *name);
/* The autostart flag of a persistent domain (virDomainGet/SetAutostart):
 * a link <config_dir>/autostart/<name>.xml to its definition, as
 * libvirt keeps it.  With no daemon to act on it at boot, the flag is
 * for whatever starts khyve's domains then (khyvesh list --autostart, as
 * doc/khyve-autostart.service does). */
int khv_domain_get_autostart(struct khv_conn *c, const char *name, bool *on);
int khv_domain_set_autostart(struct khv_conn *c, const char *name, bool on, char *err,
			     size_t errlen);

/* Whether khyve's registry holds name with a live process: 0 (*pid its
 * holder, the monitor) or -ESRCH. */
int khv_domain_running(struct khv_conn *c, const char *name, pid_t *pid);

/* The definition a running domain was started with, its taps and PCI
 * addresses filled in: <run_dir>/.domains/<name>.xml, written by start
 * and removed by destroy.  One left by a VM that ended on its own is
 * never read (the registry says it is not running); khv_live_prune, which
 * list and undefine call, removes such leftovers.  khv_live_lock
 * serialises starts and prunes (an fd, or -errno). */
int khv_live_lock(struct khv_conn *c, char *err, size_t errlen);
void khv_live_unlock(int fd);
int khv_live_save(struct khv_conn *c, const struct khv_domain *d, char *err, size_t errlen);
void khv_live_remove(struct khv_conn *c, const char *name);
void khv_live_prune(struct khv_conn *c);
/* The running definition of key (a name or a UUID) when it runs, else
 * the persistent one: 0 with *active set, or -ENOENT ("failed to get
 * domain") or another -errno, err set. */
int khv_domain_lookup_live(struct khv_conn *c, const char *key, struct khv_domain **out,
			   bool *active, char *err, size_t errlen);

#endif
