/* khyvesh's parts: main.c (global options, the command table, dispatch),
 * host.c (commands about the connection and the host), domain.c (domain
 * definitions and conversions), lifecycle.c (starting and stopping), info.c (reports on
 * running domains), console.c (the serial console). */
#ifndef KHYVE_KHYVESH_H
#define KHYVE_KHYVESH_H

#include <stdbool.h>
#include <stdio.h>

#include "virt/conn.h"
#include "virt/domstore.h"

#define KHYVESH_OK	0
#define KHYVESH_FAIL	1	/* virsh's only failure status */

/* A command's options as given: --name value, --name=value, a flag
 * --name, or a bare word filling the next positional option (virsh's
 * rule: `dumpxml vm1` is `dumpxml --domain vm1`).  main.c checks them
 * against the command's option list before the handler runs. */
#define SH_MAX_OPTS 16
struct sh_args {
	unsigned n;
	struct { const char *name, *value; } opt[SH_MAX_OPTS];	/* value NULL: a flag */
};

struct sh_ctx {
	const char *uri;		/* -c/--connect, NULL: the default */
	struct khv_conn *conn;		/* opened on the first command that needs it */
};

/* The connection, opened on first use; NULL after printing the error. */
struct khv_conn *sh_conn(struct sh_ctx *sh);
/* "error: ..." on stderr, one line; returns KHYVESH_FAIL. */
int sh_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The value of --name, or NULL; sh_flag: whether --name was given. */
/* A whole file (or stdin for "-") as a NUL-terminated buffer: 0, or
 * KHYVESH_FAIL after the error. */
int sh_read_input(const char *path, size_t max, char **buf, size_t *len);
/* The name of the domain --domain names (a name or UUID, defined or
 * running) into name (KHV_NAME_MAX bytes), with *d its definition (the
 * running one when it runs) unless d is NULL: 0, or KHYVESH_FAIL after
 * the error. */
struct khv_domain;
int sh_domain(struct sh_ctx *sh, const struct sh_args *a, char *name, struct khv_domain **d,
	      bool *active);
/* "running", "paused", "shut off", as virsh says them. */
const char *sh_state_name(enum khv_dom_state st);
const char *sh_opt(const struct sh_args *a, const char *name);
bool sh_flag(const struct sh_args *a, const char *name);

int cmd_version(struct sh_ctx *sh, const struct sh_args *a);
int cmd_uri(struct sh_ctx *sh, const struct sh_args *a);
int cmd_hostname(struct sh_ctx *sh, const struct sh_args *a);
int cmd_nodeinfo(struct sh_ctx *sh, const struct sh_args *a);
int cmd_capabilities(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domcapabilities(struct sh_ctx *sh, const struct sh_args *a);
int cmd_cpu_models(struct sh_ctx *sh, const struct sh_args *a);

int cmd_define(struct sh_ctx *sh, const struct sh_args *a);
int cmd_undefine(struct sh_ctx *sh, const struct sh_args *a);
int cmd_dumpxml(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domuuid(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domid(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domstate(struct sh_ctx *sh, const struct sh_args *a);
int cmd_list(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domxml_from_native(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domxml_to_native(struct sh_ctx *sh, const struct sh_args *a);

int cmd_start(struct sh_ctx *sh, const struct sh_args *a);
int cmd_create(struct sh_ctx *sh, const struct sh_args *a);
int cmd_destroy(struct sh_ctx *sh, const struct sh_args *a);
int cmd_shutdown(struct sh_ctx *sh, const struct sh_args *a);
int cmd_reboot(struct sh_ctx *sh, const struct sh_args *a);
int cmd_reset(struct sh_ctx *sh, const struct sh_args *a);
int cmd_suspend(struct sh_ctx *sh, const struct sh_args *a);
int cmd_resume(struct sh_ctx *sh, const struct sh_args *a);
int cmd_autostart(struct sh_ctx *sh, const struct sh_args *a);
int cmd_console(struct sh_ctx *sh, const struct sh_args *a);
/* Attaches the terminal to the running domain's serial port (devname
 * serialN / console0, NULL: com1): KHYVESH_OK or KHYVESH_FAIL. */
int sh_attach_console(struct sh_ctx *sh, const char *name, const char *devname);

int cmd_dominfo(struct sh_ctx *sh, const struct sh_args *a);
int cmd_vcpuinfo(struct sh_ctx *sh, const struct sh_args *a);
int cmd_cpu_stats(struct sh_ctx *sh, const struct sh_args *a);
int cmd_dommemstat(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domblkstat(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domifstat(struct sh_ctx *sh, const struct sh_args *a);
int cmd_domtime(struct sh_ctx *sh, const struct sh_args *a);
int cmd_inject_nmi(struct sh_ctx *sh, const struct sh_args *a);
int cmd_maxvcpus(struct sh_ctx *sh, const struct sh_args *a);

#endif
