/* khyve(8): run one VM, bhyve(8)-style.  Exit status is bhyve's:
 * 0 reboot, 1 poweroff, 2 halt, 3 triple fault, 4 error, 5 suspend. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/options.h"
#include "hw/platform.h"
#include "ipc/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "machine/control.h"
#include "machine/machine.h"
#include "vmmctl/vmmctl.h"

/* The VM's name in the registry and its control socket. */
struct vm_name {
	struct vmmctl *ctl;
	const char *name;
	uint32_t flags;			/* of the registry entry */
	int listen_fd;
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int khyve_configure(struct config *cfg, int argc, char *argv[])
{
	char err[512];
	bool dump = false;
	int rc = options_parse(cfg, argc, argv, stdout);

	if (rc)
		return rc;
	if (config_validate(cfg, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (config_get_bool(cfg, "config.dump", false, &dump)) {
		log_error("config.dump=%s: not a boolean", config_get(cfg, "config.dump"));
		return -EINVAL;
	}
	if (dump) {
		config_dump(cfg, stdout);
		return OPTIONS_EXIT_OK;
	}
	return OPTIONS_RUN;
}

static const char *create_error(int rc, unsigned maxvms)
{
	static char buf[128];

	switch (rc) {
	case -EEXIST:
		return "the name is in use by another VM (khyvectl --list)";
	case -ENOMEM:
		snprintf(buf, sizeof(buf), "you already run the most VMs allowed (vmm.maxvms=%u)",
			 maxvms);
		return buf;
	case -EBUSY:
		return "this persistent VM is already running";
	default:
		return strerror(-rc);
	}
}

/* Takes the name: attaches to a persistent VM of that name (khyvectl
 * --create) or creates one that dies with this process. */
static int claim_name(struct config *cfg, struct vm_name *n)
{
	struct vmmctl_vm_create req = { .flags = VMMCTL_CREATE_DESTROY_ON_CLOSE };
	char dir[PATH_MAX], err[512] = "";
	struct vmmctl_entry e;
	int64_t maxvms = 0;
	int rc;

	if (config_get_int(cfg, "vmm.maxvms", 0, 1, 1000000, &maxvms)) {
		log_error("vmm.maxvms=%s: want a number from 1 to 1000000",
			  config_get(cfg, "vmm.maxvms"));
		return -EINVAL;
	}
	rc = vmmctl_open(vmmctl_rundir(cfg, dir, sizeof(dir)), (unsigned)maxvms, &n->ctl, err,
			 sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc;
	}
	snprintf(req.name, sizeof(req.name), "%s", n->name);
	if (!vmmctl_lookup(n->ctl, n->name, &e) && !(e.flags & VMMCTL_CREATE_DESTROY_ON_CLOSE)) {
		n->flags = e.flags;
		rc = vmmctl_attach(n->ctl, n->name);
	} else {
		n->flags = req.flags;
		rc = vmmctl_create(n->ctl, &req);
		if (!rc)
			rc = vmmctl_attach(n->ctl, n->name);
	}
	if (rc) {
		log_error("cannot register the VM in %s: %s", vmmctl_dir(n->ctl),
			  create_error(rc, (unsigned)maxvms));
		return rc;
	}
	if (vmmctl_socket_path(n->ctl, n->name, n->sock, sizeof(n->sock)))
		return -ENAMETOOLONG;
	n->listen_fd = ipc_listen(n->sock, err, sizeof(err));
	if (n->listen_fd < 0) {
		log_error("%s", err);
		return n->listen_fd;
	}
	return 0;
}

/* Gives the name back: a destroy-on-close VM (and its socket) goes, a
 * persistent one stays, stopped, unless -D and the guest powered off. */
static void release_name(struct config *cfg, struct vm_name *n, int status)
{
	bool destroy = false;

	if (n->listen_fd >= 0) {
		close(n->listen_fd);
		unlink(n->sock);
	}
	if (!n->ctl)
		return;
	if (config_get_bool(cfg, "destroy_on_poweroff", false, &destroy) == 0 && destroy &&
	    status == VM_EXIT_POWEROFF) {
		struct vmmctl_vm_destroy req = { 0 };

		snprintf(req.name, sizeof(req.name), "%s", n->name);
		vmmctl_destroy(n->ctl, &req);
	}
	vmmctl_close(n->ctl);
}

static int run(struct machine *m, struct config *cfg, struct vm_name *n)
{
	struct ipc_server *srv = NULL;
	int rc = machine_build(m, cfg), status;

	m->owner = geteuid();
	m->vm_flags = n->flags;
	if (!rc) {
		rc = ipc_server_start(m->loop, n->listen_fd, m->owner, machine_control, m, &srv);
		if (rc)
			log_error("serving the control socket: %s", strerror(-rc));
	}
	status = rc ? VM_EXIT_ERROR : (int)machine_run(m);
	ipc_server_stop(srv);
	return status;
}

int main(int argc, char *argv[])
{
	struct config *cfg = config_new();
	struct vm_name n;
	struct machine m;
	int rc, status;

	log_set_prog("khyve");
	if (!cfg) {
		log_error("out of memory");
		return VM_EXIT_ERROR;
	}
	rc = khyve_configure(cfg, argc, argv);
	if (rc != OPTIONS_RUN) {
		config_free(cfg);
		return rc == OPTIONS_EXIT_OK ? 0 : VM_EXIT_ERROR;
	}
	log_set_vm(config_get(cfg, "name"));
	n = (struct vm_name){ .name = config_get(cfg, "name"), .listen_fd = -1 };
	if (claim_name(cfg, &n)) {
		status = VM_EXIT_ERROR;
	} else {
		status = run(&m, cfg, &n);
		machine_destroy(&m);
	}
	release_name(cfg, &n, status);
	config_free(cfg);
	return status;
}
