/* The named-VM registry: see vmmctl.h for the model. */
#include "vmmctl/vmmctl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "lib/config.h"

#define ENTRY_SUFFIX	".vm"
#define REGISTRY_LOCK	".registry"
#define DESTROY_WAIT_MS	5000

struct held {
	char name[VMMCTL_NAMELEN];
	int fd;				/* the entry, flock()ed by us */
	bool owned;			/* created destroy-on-close by this handle */
	pid_t reaper;			/* its reaper, our child; 0 if none */
};

struct vmmctl {
	int dirfd, regfd;
	pid_t *reapers;			/* of VMs we no longer hold */
	unsigned nreapers;
	char dir[PATH_MAX];
	unsigned maxvms;
	uid_t uid;
	unsigned nheld;
	struct held *held;
};

/* ---- names and the run directory ---- */

int vmmctl_name_check(const char *name, size_t max, char *err, size_t errlen)
{
	size_t len = strlen(name);

	if (len == 0) {
		snprintf(err, errlen, "the VM name is empty");
		return -EINVAL;
	}
	if (name[0] == '.' || name[0] == '-') {
		snprintf(err, errlen, "VM name \"%s\" must not start with '%c'", name, name[0]);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-') {
			snprintf(err, errlen, "VM name \"%s\" may only contain letters, digits, "
				 "'.', '_' and '-'", name);
			return -EINVAL;
		}
	}
	if (len > max) {
		snprintf(err, errlen, "VM name \"%s\" is too long: %zu bytes, at most %zu fit "
			 "the control socket path", name, len, max);
		return -ENAMETOOLONG;
	}
	return 0;
}

const char *vmmctl_rundir(struct config *cfg, char *buf, size_t len)
{
	const char *dir = cfg ? config_get(cfg, "rundir") : NULL;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (dir)
		n = snprintf(buf, len, "%s", dir);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/khyve");
	else if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s/khyve", xdg);
	else
		n = snprintf(buf, len, "/tmp/khyve-%u", (unsigned)geteuid());
	return n >= 0 && (size_t)n < len ? buf : NULL;
}

size_t vmmctl_name_max(const char *rundir)
{
	/* "<rundir>/<name>" plus its NUL must fit sun_path; FreeBSD's own
	 * limit (229) applies where the path would allow more. */
	size_t room = sizeof(((struct sockaddr_un *)0)->sun_path), used, max;

	if (!rundir)
		return 0;
	used = strlen(rundir) + 2;
	max = used < room ? room - used : 0;
	return max < VMMCTL_NAMELEN - 1 ? max : VMMCTL_NAMELEN - 1;
}

/* ---- opening ---- */

static int open_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "run directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "run directory %s: %s", dir, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	/* Another user's directory could hand us their sockets and entries. */
	if ((geteuid() != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		snprintf(err, errlen, "run directory %s must belong to you and not be writable "
			 "by others", dir);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int vmmctl_open(const char *rundir, unsigned maxvms, struct vmmctl **out,
		char *err, size_t errlen)
{
	struct vmmctl *c;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int fd;

	if (!rundir || strlen(rundir) >= sizeof(c->dir)) {
		snprintf(err, errlen, "no usable run directory");
		return -EINVAL;
	}
	fd = open_dir(rundir, err, errlen);
	if (fd < 0)
		return fd;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->dirfd = fd;
	c->regfd = openat(fd, REGISTRY_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->regfd < 0) {
		int e = errno;

		snprintf(err, errlen, "run directory %s: %s: %s", rundir, REGISTRY_LOCK, strerror(e));
		close(fd);
		free(c);
		return -e;
	}
	snprintf(c->dir, sizeof(c->dir), "%s", rundir);
	c->maxvms = maxvms ? maxvms : (unsigned)(4 * (ncpu > 0 ? ncpu : 1));
	c->uid = geteuid();
	*out = c;
	return 0;
}

const char *vmmctl_dir(const struct vmmctl *c)
{
	return c->dir;
}

int vmmctl_socket_path(const struct vmmctl *c, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", c->dir, name);

	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* ---- entries ---- */

static void entry_file(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s" ENTRY_SUFFIX, name);
}

static void lock_registry(struct vmmctl *c)
{
	while (flock(c->regfd, LOCK_EX) < 0 && errno == EINTR)
		;
}

static void unlock_registry(struct vmmctl *c)
{
	flock(c->regfd, LOCK_UN);
}

static int write_entry(int fd, uid_t uid, uint32_t flags, pid_t pid)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "uid=%u\nflags=%u\npid=%d\n", (unsigned)uid,
			 flags, (int)pid);

	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) < 0)
		return -EIO;
	return 0;
}

static int read_entry(int fd, struct vmmctl_entry *e)
{
	char buf[128] = "";
	unsigned uid, flags;
	int pid;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0 || sscanf(buf, "uid=%u\nflags=%u\npid=%d", &uid, &flags, &pid) != 3)
		return -EINVAL;
	e->uid = uid;
	e->flags = flags;
	e->pid = pid;
	return 0;
}

static void remove_entry(struct vmmctl *c, const char *name)
{
	char f[VMMCTL_NAMELEN + 8];
	struct stat st;

	entry_file(name, f, sizeof(f));
	unlinkat(c->dirfd, f, 0);
	/* The control socket: only a socket, never what else has the name. */
	if (!fstatat(c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISSOCK(st.st_mode))
		unlinkat(c->dirfd, name, 0);
}

/* Reads an entry and whether a process holds it; removes a stale
 * destroy-on-close one.  Registry lock held.  0, -ENOENT. */
static int probe_entry(struct vmmctl *c, const char *name, struct vmmctl_entry *e)
{
	char f[VMMCTL_NAMELEN + 8];
	int fd, rc;

	entry_file(name, f, sizeof(f));
	fd = openat(c->dirfd, f, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -ENOENT;
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	rc = read_entry(fd, e);
	/* Holders lock exclusively, reapers (waiting for them) shared: a
	 * shared probe fails only while a holder is alive. */
	e->running = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);			/* drops our probe lock, if we got it */
	if (rc || (!e->running && (e->flags & VMMCTL_CREATE_DESTROY_ON_CLOSE))) {
		remove_entry(c, name);	/* its holder is gone: the VM is too */
		return -ENOENT;
	}
	if (!e->running)
		e->pid = 0;
	return 0;
}

static bool is_entry_name(const char *d, char *name, size_t len)
{
	size_t n = strlen(d), s = strlen(ENTRY_SUFFIX);

	if (n <= s || n - s >= len || strcmp(d + n - s, ENTRY_SUFFIX) || d[0] == '.')
		return false;
	memcpy(name, d, n - s);
	name[n - s] = '\0';
	return true;
}

static int compare_entries(const void *a, const void *b)
{
	return strcmp(((const struct vmmctl_entry *)a)->name,
		      ((const struct vmmctl_entry *)b)->name);
}

/* Registry lock held. */
static int scan(struct vmmctl *c, struct vmmctl_entry **out)
{
	int fd = dup(c->dirfd), n = 0, cap = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct vmmctl_entry *list = NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char name[VMMCTL_NAMELEN];
		struct vmmctl_entry e;

		if (!is_entry_name(de->d_name, name, sizeof(name)) || probe_entry(c, name, &e))
			continue;
		if (n == cap) {
			struct vmmctl_entry *nl = realloc(list, sizeof(*nl) * (size_t)(cap = cap * 2 + 8));

			if (!nl) {
				free(list);
				closedir(d);
				return -ENOMEM;
			}
			list = nl;
		}
		list[n++] = e;
	}
	closedir(d);
	if (n)
		qsort(list, (size_t)n, sizeof(*list), compare_entries);
	*out = list;
	return n;
}

int vmmctl_list(struct vmmctl *c, struct vmmctl_entry **out)
{
	int n;

	*out = NULL;
	lock_registry(c);
	n = scan(c, out);
	unlock_registry(c);
	return n;
}

int vmmctl_lookup(struct vmmctl *c, const char *name, struct vmmctl_entry *out)
{
	int rc;

	lock_registry(c);
	rc = probe_entry(c, name, out);
	unlock_registry(c);
	return rc;
}

/* ---- the reaper ---- */

/* Runs in a forked process of a possibly multi-threaded khyve: system
 * calls only, no allocation, no stdio.  Waits for the holder's lock to go,
 * then removes the entry and socket if they are still this VM's. */
static void reap(int dirfd, const char *name, const char *file, dev_t dev, ino_t ino)
{
	struct stat st;
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), reg;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
		_exit(0);
	while (flock(fd, LOCK_SH) < 0)
		if (errno != EINTR)
			_exit(1);
	reg = openat(dirfd, REGISTRY_LOCK, O_RDWR | O_CLOEXEC);
	if (reg >= 0)
		while (flock(reg, LOCK_EX) < 0 && errno == EINTR)
			;
	if (!fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) && st.st_dev == dev &&
	    st.st_ino == ino) {
		unlinkat(dirfd, file, 0);
		if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISSOCK(st.st_mode))
			unlinkat(dirfd, name, 0);
	}
	_exit(0);
}

/* The reaper keeps nothing of khyve open but the run directory.  It is
 * our child (one fork is half the cost of daemonising): it exits once the
 * VM is gone, and is collected by drop_held() then, or by init after we
 * exit. */
static pid_t spawn_reaper(struct vmmctl *c, const char *name, int entry_fd)
{
	char file[VMMCTL_NAMELEN + 8], ok;
	struct stat st;
	int sync[2];
	pid_t pid;

	entry_file(name, file, sizeof(file));
	if (fstat(entry_fd, &st) < 0 || pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sync[0]);
		close(sync[1]);
		return -e;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();		/* a ^C meant for khyve does not stop it */
		if (dup2(c->dirfd, 3) < 0 || dup2(sync[1], 4) < 0)
			_exit(1);
		close_range(5, ~0u, 0);
		close(0), close(1), close(2);
		/* Our copy of the holder's lock is gone: tell the parent. */
		if (write(4, "r", 1) != 1)
			_exit(1);
		close(4);
		prctl(PR_SET_NAME, "khyve-reaper", 0, 0, 0);
		reap(3, name, file, st.st_dev, st.st_ino);
	}
	close(sync[1]);
	/* Until the child dropped its inherited copy of the entry's lock, the
	 * VM would outlive a close by the holder: wait for that. */
	while (read(sync[0], &ok, 1) < 0 && errno == EINTR)
		;
	close(sync[0]);
	return pid;
}

/* Collects reapers that finished (never waits for a running one). */
static void collect_reapers(pid_t *pids, unsigned *n)
{
	for (unsigned i = 0; i < *n;) {
		int st;

		if (waitpid(pids[i], &st, WNOHANG) != 0)
			pids[i] = pids[--*n];
		else
			i++;
	}
}

/* ---- create / destroy ---- */

static bool zeros(const int32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i])
			return false;
	return true;
}

static int check_name(const struct vmmctl *c, const char *buf)
{
	char err[256];

	if (!memchr(buf, '\0', VMMCTL_NAMELEN))
		return -EINVAL;
	return vmmctl_name_check(buf, vmmctl_name_max(c->dir), err, sizeof(err)) ? -EINVAL : 0;
}

static int count_user_vms(struct vmmctl *c)
{
	struct vmmctl_entry *list;
	int n = scan(c, &list), mine = 0;

	for (int i = 0; i < n; i++)
		mine += list[i].uid == c->uid;
	free(list);
	return n < 0 ? n : mine;
}

static int hold(struct vmmctl *c, const char *name, int fd, bool owned)
{
	struct held *h = realloc(c->held, sizeof(*h) * (c->nheld + 1));

	if (!h)
		return -ENOMEM;
	c->held = h;
	h = &c->held[c->nheld++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->fd = fd;
	h->owned = owned;
	h->reaper = 0;
	return 0;
}

/* The new entry appears complete and locked, or not at all: it is written
 * under a temporary name and linked into place. */
static int make_entry(struct vmmctl *c, const char *name, uint32_t flags, int *fd_out)
{
	char tmp[VMMCTL_NAMELEN + 32], file[VMMCTL_NAMELEN + 8];
	bool doc = flags & VMMCTL_CREATE_DESTROY_ON_CLOSE;
	int fd, rc;

	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	entry_file(name, file, sizeof(file));
	fd = openat(c->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_entry(fd, c->uid, flags, doc ? getpid() : 0);
	if (!rc && doc && flock(fd, LOCK_EX) < 0)
		rc = -errno;
	if (!rc && linkat(c->dirfd, tmp, c->dirfd, file, 0) < 0)
		rc = -errno;
	unlinkat(c->dirfd, tmp, 0);
	if (rc || !doc) {
		close(fd);
		fd = -1;
	}
	*fd_out = fd;
	return rc;
}

int vmmctl_create(struct vmmctl *c, const struct vmmctl_vm_create *req)
{
	bool doc = req->flags & VMMCTL_CREATE_DESTROY_ON_CLOSE;
	struct vmmctl_entry e;
	int rc, fd = -1;

	if (!zeros(req->reserved, 15) || (req->flags & ~VMMCTL_FLAGS_MASK) ||
	    check_name(c, req->name))
		return -EINVAL;
	if (!doc && c->uid != 0)
		return -EPERM;
	lock_registry(c);
	if (!probe_entry(c, req->name, &e))
		rc = -EEXIST;
	else if ((rc = count_user_vms(c)) >= 0)
		rc = (unsigned)rc >= c->maxvms ? -ENOMEM : 0;
	if (!rc)
		rc = make_entry(c, req->name, req->flags, &fd);
	if (!rc && doc && (rc = hold(c, req->name, fd, true)) == 0) {
		pid_t pid = spawn_reaper(c, req->name, fd);

		if (pid < 0)
			rc = (int)pid;
		else
			c->held[c->nheld - 1].reaper = pid;
	}
	if (rc && fd >= 0) {
		remove_entry(c, req->name);
		close(fd);
	}
	unlock_registry(c);
	return rc;
}

static struct held *find_held(struct vmmctl *c, const char *name)
{
	for (unsigned i = 0; i < c->nheld; i++)
		if (!strcmp(c->held[i].name, name))
			return &c->held[i];
	return NULL;
}

static void drop_held(struct vmmctl *c, struct held *h)
{
	close(h->fd);
	if (h->reaper > 0) {
		pid_t *r = realloc(c->reapers, sizeof(*r) * (c->nreapers + 1));

		if (r) {
			c->reapers = r;
			r[c->nreapers++] = h->reaper;
		}
	}
	*h = c->held[--c->nheld];
	collect_reapers(c->reapers, &c->nreapers);
}

/* Asks a running VM to end over its control socket. */
static int send_destroy(struct vmmctl *c, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ipc_request q = { .type = IPC_DESTROY, .seq = 1, .fd = -1 };
	struct timeval tv = { DESTROY_WAIT_MS / 1000, 0 };
	uint8_t buf[IPC_MAX_MSG];
	struct ipc_reply rep;
	int s, n, fd, rc;

	if (vmmctl_socket_path(c, name, a.sun_path, sizeof(a.sun_path)))
		return -ENAMETOOLONG;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rc = connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	n = rc ? rc : ipc_encode_request(&q, buf, sizeof(buf));
	if (n > 0)
		rc = ipc_send(s, buf, (size_t)n, -1, 0);
	if (!rc && (n = ipc_recv(s, buf, sizeof(buf), &fd, 0)) >= 0) {
		if (fd >= 0)
			close(fd);
		rc = ipc_decode_reply(buf, (size_t)n, &rep, NULL, 0);
		if (!rc)
			rc = -rep.status;
	} else if (!rc) {
		rc = n;
	}
	close(s);
	return rc;
}

int vmmctl_destroy(struct vmmctl *c, const struct vmmctl_vm_destroy *req)
{
	struct vmmctl_entry e;
	struct held *h;
	int rc;

	if (!zeros(req->reserved, 16) || check_name(c, req->name))
		return -EINVAL;
	lock_registry(c);
	rc = probe_entry(c, req->name, &e);
	if (rc == -ENOENT)
		rc = -EINVAL;			/* FreeBSD: no such VM */
	else if (e.uid != c->uid && c->uid != 0)
		rc = -EPERM;
	if (!rc && (h = find_held(c, req->name))) {
		remove_entry(c, req->name);	/* our own VM: it ends with us */
		drop_held(c, h);
		unlock_registry(c);
		return 0;
	}
	if (!rc && !e.running)
		remove_entry(c, req->name);	/* a persistent VM nobody runs */
	unlock_registry(c);
	if (!rc && e.running)
		rc = send_destroy(c, req->name);
	return rc;
}

int vmmctl_attach(struct vmmctl *c, const char *name)
{
	char file[VMMCTL_NAMELEN + 8];
	struct vmmctl_entry e;
	struct held *h = find_held(c, name);
	int fd, rc = 0;

	if (h)			/* created by us: just say who runs it */
		return write_entry(h->fd, c->uid, VMMCTL_CREATE_DESTROY_ON_CLOSE, getpid());
	entry_file(name, file, sizeof(file));
	lock_registry(c);
	fd = openat(c->dirfd, file, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || read_entry(fd, &e))
		rc = -ENOENT;
	else if (e.uid != c->uid && c->uid != 0)
		rc = -EPERM;
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (!rc)
		rc = write_entry(fd, e.uid, e.flags, getpid());
	if (!rc)
		rc = hold(c, name, fd, false);
	if (rc && fd >= 0)
		close(fd);
	unlock_registry(c);
	return rc;
}

void vmmctl_close(struct vmmctl *c)
{
	if (!c)
		return;
	lock_registry(c);
	while (c->nheld) {
		struct held *h = &c->held[c->nheld - 1];
		char name[VMMCTL_NAMELEN];
		struct vmmctl_entry e;

		snprintf(name, sizeof(name), "%s", h->name);
		if (!h->owned)
			write_entry(h->fd, c->uid, 0, 0);	/* persistent: stopped */
		drop_held(c, h);
		/* Were we the last copy?  Then the entry is stale now and
		 * goes at once; else a fork()ed holder keeps the VM. */
		probe_entry(c, name, &e);
	}
	unlock_registry(c);
	collect_reapers(c->reapers, &c->nreapers);
	free(c->reapers);
	free(c->held);
	close(c->regfd);
	close(c->dirfd);
	free(c);
}

void vmmctl_forget(struct vmmctl *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nheld; i++)
		close(c->held[i].fd);
	free(c->held);
	free(c->reapers);		/* the parent's children, not ours */
	close(c->regfd);
	close(c->dirfd);
	free(c);
}
