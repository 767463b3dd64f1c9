/* khyve(8): run one VM, bhyve(8)-style.  Exit status is bhyve's:
 * 0 reboot, 1 poweroff, 2 halt, 3 triple fault, 4 error, 5 suspend. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/options.h"
#include "hw/platform.h"
#include "ipc/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "machine/checkpoint.h"
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

/* Builds and runs the VM (in monitor mode: one boot of it, in the child). */
static int run(struct machine *m, struct config *cfg, struct vm_name *n, int mem_fd,
	       pid_t monitor_pid, const struct ckpt_image *restore)
{
	struct ipc_server *srv = NULL;
	int rc = machine_build(m, cfg, mem_fd, restore), status;

	m->owner = geteuid();
	m->vm_flags = n->flags;
	m->monitor_pid = monitor_pid;
	/* The monitor's child only runs the guest: it is confined once set up. */
	m->confine = monitor_pid != 0;
	if (!rc) {
		rc = ipc_server_start(m->loop, n->listen_fd, m->owner, machine_control, m, &srv);
		if (rc)
			log_error("serving the control socket: %s", strerror(-rc));
	}
	status = rc ? VM_EXIT_ERROR : (int)machine_run(m);
	ipc_server_stop(srv);
	machine_destroy(m);
	return status;
}

/* ---- monitor mode (bhyve -M) ---- */

static volatile sig_atomic_t vm_child, signals_seen;

/* The monitor passes the signals a user sends it on to the VM, whose own
 * handling applies: the first presses the power button, the next forces
 * poweroff.  The VM process may be a new boot that has not seen the
 * first, so from the second on it gets two distinct signals (a blocked
 * signal sent twice is delivered once). */
static void forward_signal(int sig)
{
	pid_t pid = (pid_t)vm_child;

	if (pid <= 0)
		return;
	kill(pid, sig);
	if (signals_seen++)
		kill(pid, sig == SIGTERM ? SIGINT : SIGTERM);
}

/* One boot, in a child process: it creates its own KVM VM (KVM refuses
 * another process's) over the monitor's memory, so memory survives a
 * guest reboot.  It never touches the registry: the monitor holds it. */
static int vm_process(struct config *cfg, struct vm_name *n, int mem_fd, pid_t monitor,
		      const struct ckpt_image *restore)
{
	struct machine m;
	sigset_t term;

	/* Held until the machine reads them (signalfd): one forwarded while
	 * this boot is still being set up is not lost. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* Nothing outlives the monitor, even after kill -9 of it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor)
		return VM_EXIT_ERROR;
	vmmctl_forget(n->ctl);
	n->ctl = NULL;
	return run(&m, cfg, n, mem_fd, monitor, restore);
}

static int wait_vm(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(ws) && WEXITSTATUS(ws) <= VM_EXIT_SUSPEND)
		return WEXITSTATUS(ws);
	if (WIFEXITED(ws))
		log_error("the VM process exited with status %d", WEXITSTATUS(ws));
	else
		log_error("the VM process died of signal %d (%s)", WTERMSIG(ws),
			  strsignal(WTERMSIG(ws)));
	return VM_EXIT_ERROR;
}

/* Whether the monitor boots the guest again after a boot ended this way
 * (libvirt's <on_reboot>, <on_poweroff>, <on_crash>: khyve's variables of
 * those names, restart or destroy). */
struct boot_policy {
	bool reboot, poweroff, crash;
};

static int read_policy(struct config *cfg, bool mon, struct boot_policy *p)
{
	static const struct { const char *var; bool def; } vars[] = {
		{ "on_reboot", true }, { "on_poweroff", false }, { "on_crash", false },
	};
	bool *dst[] = { &p->reboot, &p->poweroff, &p->crash };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = config_get(cfg, vars[i].var);

		*dst[i] = vars[i].def;
		if (!v)
			continue;
		if (strcmp(v, "restart") && strcmp(v, "destroy")) {
			log_error("%s=%s: want restart or destroy", vars[i].var, v);
			return -EINVAL;
		}
		*dst[i] = !strcmp(v, "restart");
		/* Without a monitor a boot that ends ends khyve: its caller restarts. */
		if (*dst[i] && !mon && i > 0) {
			log_error("%s=restart needs monitor mode (-M)", vars[i].var);
			return -EINVAL;
		}
	}
	return 0;
}

static bool boot_again(const struct boot_policy *p, int status)
{
	switch (status) {
	case VM_EXIT_RESET:
		return p->reboot;
	case VM_EXIT_POWEROFF:
	case VM_EXIT_HALT:
		return p->poweroff;
	case VM_EXIT_TRIPLEFAULT:	/* the guest crashed; 4 is khyve's error or a destroy */
		return p->crash;
	default:
		return false;
	}
}

/* Runs boot after boot while the policy says so (bhyve's monitor loop
 * reboots on reset only); ends with the status of the boot that did not.
 * With restore, the first boot resumes that checkpoint; a boot after it
 * starts afresh. */
static int monitor(struct config *cfg, struct vm_name *n, const struct ckpt_image *restore,
		   const struct boot_policy *policy)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	int mem_fd = memfd_create("khyve-guest-ram", MFD_CLOEXEC), status;
	pid_t self = getpid();

	if (mem_fd < 0) {
		log_error("guest memory: %s", strerror(errno));
		return VM_EXIT_ERROR;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	do {
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			log_error("starting the VM process: %s", strerror(errno));
			status = VM_EXIT_ERROR;
			break;
		}
		if (pid == 0) {
			status = vm_process(cfg, n, mem_fd, self, restore);
			config_free(cfg);
			exit(status);
		}
		vm_child = pid;
		restore = NULL;
		status = wait_vm(pid);
		vm_child = 0;
		/* A forced poweroff was asked for: no boot after this one. */
		if (signals_seen >= 2 && status <= VM_EXIT_HALT) {
			status = VM_EXIT_POWEROFF;
			break;
		}
	} while (boot_again(policy, status));
	close(mem_fd);
	return status < 0 ? VM_EXIT_ERROR : status;
}

/* bhyve's monitor=true; the default for users other than root, whose VMs
 * must die with them. */
static int want_monitor(struct config *cfg, bool *on)
{
	if (config_get_bool(cfg, "monitor", geteuid() != 0, on)) {
		log_error("monitor=%s: not a boolean", config_get(cfg, "monitor"));
		return -EINVAL;
	}
	return 0;
}

/* khyve -r FILE: reads and checks the checkpoint; the VM's name, vCPUs
 * and memory come from it unless the command line gives them. */
static int restore_prepare(struct config *cfg, struct ckpt_image *img)
{
	const char *path = config_get(cfg, "restore");
	char err[768], num[32];
	int rc = ckpt_image_load(path, img, err, sizeof(err));

	if (rc) {
		log_error("cannot restore %s: %s", path, err);
		return rc;
	}
	snprintf(num, sizeof(num), "%u", img->meta.ncpus);
	if (!config_isset(cfg, "cpus") && !config_isset(cfg, "sockets") &&
	    !config_isset(cfg, "cores") && !config_isset(cfg, "threads"))
		rc = config_set(cfg, "cpus", num);
	snprintf(num, sizeof(num), "%lluK", (unsigned long long)(img->meta.memsize >> 10));
	if (!rc && !config_isset(cfg, "memory.size"))
		rc = config_set(cfg, "memory.size", num);
	if (!rc && !config_isset(cfg, "name"))
		rc = config_set(cfg, "name", img->meta.vmname);
	if (rc)
		log_error("cannot restore %s: %s", path, strerror(-rc));
	else
		rc = options_check_name(cfg);
	if (rc)
		ckpt_image_free(img);
	return rc;
}

int main(int argc, char *argv[])
{
	struct config *cfg = config_new();
	struct ckpt_image *img = NULL;
	struct boot_policy policy;
	struct vm_name n;
	struct machine m;
	bool mon = false;
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
	if (config_isset(cfg, "restore") &&
	    (!(img = malloc(sizeof(*img))) || restore_prepare(cfg, img))) {
		if (!img)
			log_error("out of memory");
		free(img);
		config_free(cfg);
		return VM_EXIT_ERROR;
	}
	log_set_vm(config_get(cfg, "name"));
	n = (struct vm_name){ .name = config_get(cfg, "name"), .listen_fd = -1 };
	if (want_monitor(cfg, &mon) || read_policy(cfg, mon, &policy) || claim_name(cfg, &n))
		status = VM_EXIT_ERROR;
	else
		status = mon ? monitor(cfg, &n, img, &policy) : run(&m, cfg, &n, -1, 0, img);
	release_name(cfg, &n, status);
	if (img)
		ckpt_image_free(img);
	free(img);
	config_free(cfg);
	return status;
}
