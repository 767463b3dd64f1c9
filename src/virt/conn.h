/* libkhyve connections, shaped like libvirt's virConnect*: no daemon, a
 * connection is a set of directories plus the VMs' control sockets.
 *
 *   khyve:///system   root only: config /etc/khyve, state /var/lib/khyve,
 *                     runtime /run/khyve (khyve's own registry), logs
 *                     /var/log/khyve
 *   khyve:///session  per user: $XDG_CONFIG_HOME/khyve (~/.config/khyve),
 *                     $XDG_STATE_HOME/khyve (~/.local/state/khyve),
 *                     $XDG_RUNTIME_DIR/khyve, logs under the state dir
 * With no URI: $KHYVE_DEFAULT_URI, else system for root and session for
 * others (virsh's rule). */
#ifndef KHYVE_VIRT_CONN_H
#define KHYVE_VIRT_CONN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KHV_VERSION_MAJOR	0
#define KHV_VERSION_MINOR	6
#define KHV_VERSION_MICRO	0

struct khv_conn {
	bool system;
	char uri[32];
	char config_dir[PATH_MAX];	/* domains/NAME.xml live here */
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];		/* khyve -o rundir= */
	char log_dir[PATH_MAX];
};

/* uri NULL: the default.  0 or -EINVAL (unknown URI), -EPERM (system
 * without root), -ENOENT (no runtime directory for session), with the
 * reason in err.  Directories are created (0700 for session) on demand
 * by the calls that write, not here. */
int khv_connect(const char *uri, struct khv_conn **out, char *err, size_t errlen);
void khv_conn_close(struct khv_conn *c);

/* virConnectGetType / GetVersion (major * 1,000,000 + minor * 1,000 +
 * micro) / GetLibVersion / IsAlive / IsEncrypted / IsSecure. */
const char *khv_conn_get_type(const struct khv_conn *c);
unsigned long khv_conn_get_version(const struct khv_conn *c);
int khv_conn_is_alive(const struct khv_conn *c);
int khv_conn_is_encrypted(const struct khv_conn *c);
int khv_conn_is_secure(const struct khv_conn *c);
/* The host's name (gethostname, then the canonical name if it
 * resolves): malloc'd, NULL with errno set. */
char *khv_conn_get_hostname(const struct khv_conn *c);

/* virNodeGetInfo. */
struct khv_node_info {
	char model[32];			/* "x86_64" */
	uint64_t memory_kib;
	unsigned cpus, mhz, nodes, sockets, cores, threads;
};
int khv_node_get_info(const struct khv_conn *c, struct khv_node_info *info);

/* Capabilities and domain capabilities XML (validating against libvirt's
 * capability.rng and domaincaps.rng): malloc'd, NULL on ENOMEM. */
char *khv_conn_get_capabilities(const struct khv_conn *c);
char *khv_conn_get_domain_capabilities(const struct khv_conn *c);

/* virConnectGetMaxVcpus: khyve's limit, lowered to KVM's when /dev/kvm
 * answers. */
unsigned khv_conn_get_max_vcpus(const struct khv_conn *c);

/* virConnectGetCPUModelNames: khyve's named CPU models (x86-64-v1 to
 * x86-64-v4, vmm/cpumodel.h), each with whether this host's KVM has every
 * feature it needs: the count, or -errno with err set (/dev/kvm cannot be
 * asked). */
int khv_conn_get_cpu_models(const struct khv_conn *c, const char **names, bool *usable,
			    unsigned max, char *err, size_t errlen);

/* The khyve binary a connection starts: $KHYVE_BIN, else khyve next to
 * the running program, else "khyve" on $PATH. */
const char *khv_conn_khyve_path(const struct khv_conn *c);

#endif
