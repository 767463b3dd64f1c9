/* Starting and stopping domains (see lifecycle.h). */
#include "virt/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/client.h"
#include "lib/fileio.h"
#include "virt/domain_xml.h"
#include "virt/hostnet.h"
#include "virt/native.h"

#define LOG_TAIL_MAX	4096	/* of a failed start's log, for its last line */

/* ---- the control socket ---- */

struct khv_domctl {
	struct ipc_client *ipc;
};

static int sock_path(const struct khv_conn *c, const char *name, char *buf, size_t len)
{
	if (!*name || strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	return snprintf(buf, len, "%s/%s", c->run_dir, name) < (int)len ? 0 : -ENAMETOOLONG;
}

int khv_domctl_open(struct khv_conn *c, const char *name, struct khv_domctl **out, char *err,
		    size_t errlen)
{
	char path[PATH_MAX + KHV_NAME_MAX + 2], why[256];
	struct khv_domctl *d;
	int rc;

	/* No registry lookup first: a VM that is not running has no one
	 * listening on its socket, which the connect says as well. */
	if (sock_path(c, name, path, sizeof(path))) {
		snprintf(err, errlen, "domain '%s' is not running", name);
		return -ESRCH;
	}
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	rc = ipc_client_connect(path, 0, &d->ipc);
	if (rc) {
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			snprintf(err, errlen, "domain '%s' is not running", name);
		else
			snprintf(err, errlen, "domain '%s': %s", name,
				 ipc_client_strerror(rc, 0, why, sizeof(why)));
		free(d);
		return rc == -ENOENT || rc == -ECONNREFUSED ? -ESRCH : rc;
	}
	*out = d;
	return 0;
}

int khv_domctl_call(struct khv_domctl *d, struct ipc_request *req, struct ipc_reply *rep,
		    char *err, size_t errlen)
{
	char why[256];
	int rc = ipc_client_call(d->ipc, req, rep);

	if (rc < 0) {
		snprintf(err, errlen, "%s", ipc_client_strerror(rc, ipc_client_timeout_ms(d->ipc),
								  why, sizeof(why)));
		return rc;
	}
	if (rep->status) {
		snprintf(err, errlen, "%s", rep->text[0] ? rep->text : strerror(rep->status));
		return -rep->status;
	}
	return 0;
}

void khv_domctl_close(struct khv_domctl *d)
{
	if (!d)
		return;
	ipc_client_close(d->ipc);
	free(d);
}

int khv_domctl_request(struct khv_conn *c, const char *name, struct ipc_request *req,
		       struct ipc_reply *rep, char *err, size_t errlen)
{
	struct khv_domctl *d;
	struct ipc_reply local;
	int rc = khv_domctl_open(c, name, &d, err, errlen);

	if (rc)
		return rc;
	rc = khv_domctl_call(d, req, rep ? rep : &local, err, errlen);
	khv_domctl_close(d);
	return rc;
}

static int simple_request(struct khv_conn *c, const char *name, enum ipc_type t, char *err,
			  size_t errlen)
{
	struct ipc_request req = { .type = t, .fd = -1 };

	return khv_domctl_request(c, name, &req, NULL, err, errlen);
}

int khv_domain_request(struct khv_conn *c, const char *name, enum khv_dom_request r,
		       char *err, size_t errlen)
{
	static const enum ipc_type types[] = {
		[KHV_REQ_SHUTDOWN] = IPC_ACPI_SHUTDOWN, [KHV_REQ_REBOOT] = IPC_ACPI_REBOOT,
		[KHV_REQ_RESET] = IPC_FORCE_RESET, [KHV_REQ_SUSPEND] = IPC_PAUSE,
		[KHV_REQ_RESUME] = IPC_RESUME,
	};
	int rc;

	if ((unsigned)r >= sizeof(types) / sizeof(types[0]))
		return -EINVAL;
	rc = simple_request(c, name, types[r], err, errlen);
	/* libvirt's words for asking a state the domain is in already. */
	if (rc == -EALREADY)
		snprintf(err, errlen, "domain '%s' is %s", name,
			 r == KHV_REQ_SUSPEND ? "already paused" : "not paused");
	return rc;
}

int khv_domain_inject_nmi(struct khv_conn *c, const char *name, char *err, size_t errlen)
{
	struct ipc_request req = { .type = IPC_INJECT_NMI, .cpu = 0, .fd = -1 };

	return khv_domctl_request(c, name, &req, NULL, err, errlen);
}

int khv_domain_get_time(struct khv_conn *c, const char *name, long long *seconds, char *err,
			size_t errlen)
{
	struct ipc_request req = { .type = IPC_GET_RTC, .fd = -1 };
	struct ipc_reply rep;
	int rc = khv_domctl_request(c, name, &req, &rep, err, errlen);

	if (!rc)
		*seconds = rep.seconds;
	return rc;
}

int khv_domain_set_time(struct khv_conn *c, const char *name, long long seconds, char *err,
			size_t errlen)
{
	struct ipc_request req = { .type = IPC_SET_RTC, .seconds = seconds, .fd = -1 };

	if (seconds < 0) {
		snprintf(err, errlen, "time %lld: before 1970", seconds);
		return -EINVAL;
	}
	return khv_domctl_request(c, name, &req, NULL, err, errlen);
}

int khv_domain_get_state(struct khv_conn *c, const char *name, enum khv_dom_state *state)
{
	struct ipc_request req = { .type = IPC_GET_INFO, .fd = -1 };
	struct ipc_reply rep;
	char why[256];

	if (khv_domain_running(c, name, NULL)) {
		*state = KHV_STATE_SHUTOFF;
		return 0;
	}
	/* A VM that is still setting up or does not answer is running. */
	*state = KHV_STATE_RUNNING;
	if (!khv_domctl_request(c, name, &req, &rep, why, sizeof(why)) &&
	    rep.info.state == IPC_STATE_PAUSED)
		*state = KHV_STATE_PAUSED;
	return 0;
}

/* ---- waiting on processes that are not our children ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 once the process behind pidfd has ended, 0 if not within ms. */
static int wait_gone(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	return n > 0;
}

/* ---- destroy ---- */

int khv_domain_destroy(struct khv_conn *c, const char *name, char *err, size_t errlen)
{
	char why[256];
	pid_t pid;
	int pidfd, rc;

	if (khv_domain_running(c, name, &pid)) {
		snprintf(err, errlen, "domain '%s' is not running", name);
		return -ESRCH;
	}
	if ((pidfd = pidfd_open(pid, 0)) < 0) {
		rc = -errno;
		if (rc == -ESRCH)
			goto gone;
		snprintf(err, errlen, "domain '%s' (pid %d): %s", name, (int)pid, strerror(-rc));
		return rc;
	}
	/* The VM's own way out first; a VM that will not take it is killed
	 * (its VM process dies with its monitor: PR_SET_PDEATHSIG). */
	if (simple_request(c, name, IPC_DESTROY, why, sizeof(why)) ||
	    !wait_gone(pidfd, KHV_STOP_TIMEOUT_MS)) {
		if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH) {
			rc = -errno;
			snprintf(err, errlen, "killing domain '%s' (pid %d): %s", name, (int)pid,
				 strerror(-rc));
			close(pidfd);
			return rc;
		}
		wait_gone(pidfd, KHV_STOP_TIMEOUT_MS);
	}
	close(pidfd);
gone:
	khv_live_remove(c, name);
	return 0;
}

/* ---- start ---- */

struct start {
	struct khv_conn *c;
	struct khv_domain *d;		/* its nets' tap_fd: the taps opened here */
	char **argv;
	char log_path[PATH_MAX + KHV_NAME_MAX + 8];
	int log_fd;
	off_t log_start;
	pid_t pid;
	int pidfd;
	char *err;
	size_t errlen;
};

/* A descriptor that survives the child's dup2() onto 0..2. */
static int above_stdio(int fd)
{
	int moved;

	if (fd < 0 || fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved < 0 ? -errno : moved;
}

static int check_nets(struct start *s)
{
	for (unsigned i = 0; i < s->d->nnets; i++)
		if (s->d->nets[i].type == KHV_NET_NETWORK) {
			snprintf(s->err, s->errlen, "interface %u: network '%s': khyve has no "
				 "virtual networks yet; use <interface type='bridge'>", i + 1,
				 s->d->nets[i].source ? s->d->nets[i].source : "");
			return -ENOTSUP;
		}
	return 0;
}

static int open_taps(struct start *s)
{
	for (unsigned i = 0; i < s->d->nnets; i++) {
		struct khv_net *n = &s->d->nets[i];
		char name[IFNAMSIZ], why[384];
		int fd = khv_tap_open(n->target_dev, n->source, n->has_mac ? n->mac : NULL, name,
				      why, sizeof(why));

		if (fd >= 0)
			fd = above_stdio(fd);
		if (fd < 0) {
			snprintf(s->err, s->errlen, "interface %u: %s", i + 1, why);
			return fd;
		}
		n->tap_fd = fd;
		if (khv_strset(&n->target_dev, name))
			return -ENOMEM;
	}
	return 0;
}

/* khyve's argv for the domain, with the connection's run directory. */
static int build_argv(struct start *s)
{
	char **argv = NULL, **out;
	size_t n = 0;
	int rc = khv_domain_to_argv(s->d, khv_conn_khyve_path(s->c), &argv, s->err, s->errlen);

	if (rc)
		return rc;
	while (argv[n])
		n++;
	if (!(out = calloc(n + 3, sizeof(*out)))) {
		khv_argv_free(argv);
		return -ENOMEM;
	}
	/* Everything but the trailing VM name, then -o rundir=, the name. */
	memcpy(out, argv, (n - 1) * sizeof(*out));
	out[n - 1] = strdup("-o");
	if (asprintf(&out[n], "rundir=%s", s->c->run_dir) < 0)
		out[n] = NULL;
	out[n + 1] = argv[n - 1];
	free(argv);
	s->argv = out;
	return out[n - 1] && out[n] ? 0 : -ENOMEM;
}

/* Appends a header line naming the command to <log_dir>/<name>.log. */
static int open_log(struct start *s)
{
	char stamp[32], *line;
	time_t t = time(NULL);
	struct tm tm;
	int rc = mkdir_p(s->c->log_dir, s->c->system ? 0755 : 0700);

	if (!rc && snprintf(s->log_path, sizeof(s->log_path), "%s/%s.log", s->c->log_dir,
			    s->d->name) >= (int)sizeof(s->log_path))
		rc = -ENAMETOOLONG;
	if (!rc && (s->log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
				     O_NOCTTY, 0600)) < 0)
		rc = -errno;
	if (!rc && (s->log_fd = above_stdio(s->log_fd)) < 0)
		rc = s->log_fd;
	if (rc) {
		snprintf(s->err, s->errlen, "log %s/%s.log: %s", s->c->log_dir, s->d->name,
			 strerror(-rc));
		return rc;
	}
	s->log_start = lseek(s->log_fd, 0, SEEK_END);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	if (!(line = khv_argv_to_text(s->argv)))
		return -ENOMEM;
	dprintf(s->log_fd, "%s: starting up: %s\n", stamp, line);
	free(line);
	return 0;
}

/* In the grandchild: stdio on the log, the taps inherited, khyve run. */
static void __attribute__((noreturn)) exec_khyve(struct start *s, int go)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char b;

	if (read(go, &b, 1) != 1 || null < 0 || dup2(null, 0) < 0 || dup2(s->log_fd, 1) < 0 ||
	    dup2(s->log_fd, 2) < 0)
		_exit(127);
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
	for (unsigned i = 0; i < s->d->nnets; i++)
		if (fcntl(s->d->nets[i].tap_fd, F_SETFD, 0) < 0)
			_exit(127);
	execvp(s->argv[0], s->argv);	/* a path with '/' is run as is */
	dprintf(2, "khyvesh: cannot run %s: %s\n", s->argv[0], strerror(errno));
	_exit(127);
}

static void __attribute__((noreturn)) middle_child(struct start *s, int info, int go)
{
	pid_t pid;

	if (setsid() < 0)
		_exit(127);
	pid = fork();
	if (pid == 0)
		exec_khyve(s, go);
	_exit(write(info, &pid, sizeof(pid)) == sizeof(pid) && pid > 0 ? 0 : 127);
}

/* Runs khyve as a grandchild, so init reaps it and no caller of libkhyve
 * collects zombies; it waits on `go` until its pidfd is open, so the pid
 * cannot name another process by then. */
static int spawn(struct start *s)
{
	int info[2], go[2], ws, rc = 0;
	pid_t mid;

	if (pipe2(info, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(go, O_CLOEXEC) < 0) {
		rc = -errno;
		close(info[0]);
		close(info[1]);
		return rc;
	}
	fflush(NULL);
	mid = fork();
	if (mid == 0) {
		close(info[0]);
		close(go[1]);
		middle_child(s, info[1], go[0]);
	}
	close(info[1]);
	close(go[0]);
	if (mid < 0 || read(info[0], &s->pid, sizeof(s->pid)) != sizeof(s->pid))
		rc = mid < 0 ? -errno : -ECHILD;
	if (mid > 0)
		while (waitpid(mid, &ws, 0) < 0 && errno == EINTR)
			;
	if (!rc && (s->pidfd = pidfd_open(s->pid, 0)) < 0)
		rc = -errno;
	if (!rc && write(go[1], "g", 1) != 1)
		rc = -errno;
	close(info[0]);
	close(go[1]);	/* without "g" the grandchild ends unrun */
	if (rc)
		snprintf(s->err, s->errlen, "cannot start khyve: %s", strerror(-rc));
	return rc;
}

/* The last line khyve wrote to the log since this start. */
static void log_reason(struct start *s, char *buf, size_t len)
{
	char tail[LOG_TAIL_MAX + 1], *end, *line;
	off_t size = lseek(s->log_fd, 0, SEEK_END), from = s->log_start;
	int fd = open(s->log_path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;

	if (size > from + LOG_TAIL_MAX)
		from = size - LOG_TAIL_MAX;
	if (fd >= 0) {
		n = pread(fd, tail, LOG_TAIL_MAX, from);
		close(fd);
	}
	tail[n > 0 ? n : 0] = '\0';
	for (end = tail + strlen(tail); end > tail && (end[-1] == '\n' || end[-1] == ' '); )
		*--end = '\0';
	line = strrchr(tail, '\n');
	line = line ? line + 1 : tail;
	snprintf(buf, len, "%.400s", *line ? line : "khyve exited without a message");
}

/* Until the VM answers on its socket (0), or khyve ends or the time is up. */
static int wait_ready(struct start *s)
{
	long long deadline = now_ms() + KHV_START_TIMEOUT_MS;
	int delay = 2;

	for (;;) {
		struct ipc_request req = { .type = IPC_GET_INFO, .fd = -1 };
		struct ipc_reply rep;
		char why[256], reason[512];

		if (wait_gone(s->pidfd, 0)) {
			log_reason(s, reason, sizeof(reason));
			snprintf(s->err, s->errlen, "domain '%s' did not start: %s (log: %s)",
				 s->d->name, reason, s->log_path);
			return -EINVAL;
		}
		if (!khv_domctl_request(s->c, s->d->name, &req, &rep, why, sizeof(why)) &&
		    rep.info.monitor_pid == (uint32_t)s->pid)
			return 0;
		if (now_ms() > deadline) {
			snprintf(s->err, s->errlen, "domain '%s' did not answer on its control "
				 "socket within %d s; killed it (log: %s)", s->d->name,
				 KHV_START_TIMEOUT_MS / 1000, s->log_path);
			pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
			wait_gone(s->pidfd, KHV_STOP_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		wait_gone(s->pidfd, delay);
		if (delay < 50)
			delay *= 2;
	}
}

static int run_start(struct start *s)
{
	int rc;

	if (!khv_domain_running(s->c, s->d->name, NULL)) {
		snprintf(s->err, s->errlen, "domain '%s' is already running", s->d->name);
		return -EEXIST;
	}
	if ((rc = check_nets(s)) || (rc = khv_domain_assign_addresses(s->d, s->err, s->errlen)) ||
	    (rc = open_taps(s)) || (rc = build_argv(s)) ||
	    (rc = khv_live_save(s->c, s->d, s->err, s->errlen)) || (rc = open_log(s)))
		return rc;
	if ((rc = spawn(s)) || (rc = wait_ready(s)))
		khv_live_remove(s->c, s->d->name);
	return rc;
}

static int start_def(struct khv_conn *c, struct khv_domain *d, pid_t *pid, char *err,
		     size_t errlen)
{
	struct start s = { .c = c, .d = d, .log_fd = -1, .pidfd = -1, .err = err,
			   .errlen = errlen };
	int lock, rc;

	/* One start at a time per connection: two of the same name must not
	 * both write its live definition. */
	if ((lock = khv_live_lock(c, err, errlen)) < 0)
		return lock;
	rc = run_start(&s);
	khv_live_unlock(lock);
	if (!rc && pid)
		*pid = s.pid;
	for (unsigned i = 0; i < d->nnets; i++)
		if (d->nets[i].tap_fd > 0) {
			close(d->nets[i].tap_fd);	/* khyve holds its own now */
			d->nets[i].tap_fd = 0;
		}
	if (s.pidfd >= 0)
		close(s.pidfd);
	if (s.log_fd >= 0)
		close(s.log_fd);
	khv_argv_free(s.argv);
	return rc;
}

int khv_domain_start(struct khv_conn *c, const char *name, pid_t *pid, char *err,
		     size_t errlen)
{
	struct khv_domain *d = NULL;
	int rc = khv_domain_lookup(c, name, &d, err, errlen);

	if (rc)
		return rc;
	rc = start_def(c, d, pid, err, errlen);
	khv_domain_free(d);
	return rc;
}

int khv_domain_create_xml(struct khv_conn *c, const char *xml, size_t len, char *name_out,
			  pid_t *pid, char *err, size_t errlen)
{
	struct khv_domain *d = NULL, *defined = NULL;
	char why[8];
	int rc = khv_domain_parse_xml(xml, len, &d, err, errlen);

	if (rc)
		return rc;
	khv_domain_forget_generated(d);
	/* libvirt: a transient domain may not take a defined one's name
	 * with another UUID. */
	if (!khv_domain_lookup(c, d->name, &defined, why, sizeof(why)) && d->has_uuid &&
	    memcmp(defined->uuid, d->uuid, 16)) {
		snprintf(err, errlen, "domain '%s' is already defined with another uuid", d->name);
		rc = -EEXIST;
	} else if (defined && !d->has_uuid) {
		memcpy(d->uuid, defined->uuid, 16);
		d->has_uuid = defined->has_uuid;
	}
	khv_domain_free(defined);
	if (!rc && !d->has_uuid)
		rc = khv_uuid_generate(d);
	if (!rc)
		rc = start_def(c, d, pid, err, errlen);
	if (!rc)
		snprintf(name_out, KHV_NAME_MAX, "%s", d->name);
	khv_domain_free(d);
	return rc;
}

/* ---- the serial console ---- */

/* The pty khyve opened for com<port> in its latest boot: it logs
 * "khyve: NAME: comN: /dev/pts/M" each time the VM process opens it, and
 * a monitor's VM process (so the pty) is new after every guest reboot. */
int khv_domain_pty_path(struct khv_conn *c, const char *name, unsigned port, char *buf,
			size_t len)
{
	char path[PATH_MAX + KHV_NAME_MAX + 8], line[512], want[KHV_NAME_MAX + 32];
	size_t wlen;
	FILE *f;
	int rc = -ENOENT;

	if (snprintf(path, sizeof(path), "%s/%s.log", c->log_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (!(f = fopen(path, "re")))
		return -errno;
	wlen = (size_t)snprintf(want, sizeof(want), "khyve: %s: com%u: /dev/pts/", name, port + 1);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, ": starting up: "))
			rc = -ENOENT;	/* a new start: earlier ptys are gone */
		if (strncmp(line, want, wlen))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + wlen - strlen("/dev/pts/"));
		rc = 0;
	}
	fclose(f);
	return rc;
}
