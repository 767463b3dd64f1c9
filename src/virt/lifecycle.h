/* Running domains (virDomainCreate, CreateXML, Destroy, Shutdown, Reboot,
 * Reset, Suspend, Resume, GetState), with no daemon: start runs the
 * domain's khyve in monitor mode as a process of its own (its own
 * session, reparented to init, stdout and stderr appended to
 * <log_dir>/<name>.log), and every other call goes over the VM's control
 * socket in the run directory.  The VM holds its registry name itself
 * (destroy-on-close on the VM's own descriptor), so nothing a khyvesh
 * holds decides how long it lives, and a VM that dies leaves no name, no
 * socket and no tap behind (see hostnet.h).
 *
 * Errors: a negative errno and one line in err, libvirt's wording where
 * it has one ("domain is not running", "domain is already running"). */
#ifndef KHYVE_VIRT_LIFECYCLE_H
#define KHYVE_VIRT_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ipc/ipc.h"
#include "virt/conn.h"
#include "virt/domain.h"
#include "virt/domstore.h"

/* How long start waits for the new VM to answer on its socket, and
 * destroy for it to be gone before it is killed. */
#define KHV_START_TIMEOUT_MS	30000
#define KHV_STOP_TIMEOUT_MS	10000

/* Starts the defined domain name (or UUID): 0 with *pid the VM's id
 * (its monitor's pid), or -errno: -ENOENT, -EEXIST (running), -EINVAL
 * (a definition khyve cannot run, or khyve refused it: the log's last
 * line is in err). */
int khv_domain_start(struct khv_conn *c, const char *name, pid_t *pid, char *err,
		     size_t errlen);
/* Starts a transient domain from XML (not stored; gone once it stops).
 * *name_out (KHV_NAME_MAX bytes) receives its name. */
int khv_domain_create_xml(struct khv_conn *c, const char *xml, size_t len, char *name_out,
			  pid_t *pid, char *err, size_t errlen);

/* Ends the VM now (khyve exits 4, as bhyvectl --destroy), waiting until
 * its processes are gone; a VM that does not answer or end in time is
 * killed. */
int khv_domain_destroy(struct khv_conn *c, const char *name, char *err, size_t errlen);

/* The requests that return once the VM took them. */
enum khv_dom_request {
	KHV_REQ_SHUTDOWN,		/* ACPI power button */
	KHV_REQ_REBOOT,			/* power button; the guest's poweroff reboots */
	KHV_REQ_RESET,			/* reset now, as the reset line */
	KHV_REQ_SUSPEND,		/* vCPUs paused */
	KHV_REQ_RESUME,
};
int khv_domain_request(struct khv_conn *c, const char *name, enum khv_dom_request r,
		       char *err, size_t errlen);
/* virDomainInjectNMI (to vCPU 0), GetTime / SetTime (the guest's RTC). */
int khv_domain_inject_nmi(struct khv_conn *c, const char *name, char *err, size_t errlen);
int khv_domain_get_time(struct khv_conn *c, const char *name, long long *seconds, char *err,
			size_t errlen);
int khv_domain_set_time(struct khv_conn *c, const char *name, long long seconds, char *err,
			size_t errlen);

/* Shut off, running or paused (from the VM when it runs). */
int khv_domain_get_state(struct khv_conn *c, const char *name, enum khv_dom_state *state);

/* The pty of a running domain's serial com<port+1> (port 0 = com1), as its
 * latest boot opened it: 0, or -ENOENT. */
int khv_domain_pty_path(struct khv_conn *c, const char *name, unsigned port, char *buf,
			size_t len);

/* A connection to a running domain's control socket, for calls that
 * read a reply (stats).  khv_domctl_call: 0, or the VM's refusal or a
 * transport failure as -errno with err set; rep's pointers stay valid
 * until the next call or close. */
struct khv_domctl;
int khv_domctl_open(struct khv_conn *c, const char *name, struct khv_domctl **out, char *err,
		    size_t errlen);
int khv_domctl_call(struct khv_domctl *d, struct ipc_request *req, struct ipc_reply *rep,
		    char *err, size_t errlen);
void khv_domctl_close(struct khv_domctl *d);
/* Open, one call, close: for replies without pointers (rep may be NULL). */
int khv_domctl_request(struct khv_conn *c, const char *name, struct ipc_request *req,
		       struct ipc_reply *rep, char *err, size_t errlen);

#endif
