/* UART backends.  Locking: the UART calls chr_tx with its own lock held,
 * so chardev code never calls into the UART while holding c->lock (input
 * is pushed with c->lock released).  The UART's rx-space callback comes
 * from a vCPU thread and only writes an eventfd: the loop does the rest,
 * and closing the chardev removes that fd, so nothing can call back into
 * a freed chardev. */
#include "hw/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "hw/uart8250.h"
#include "lib/evloop.h"
#include "lib/hostport.h"
#include "lib/log.h"

enum chr_kind { CHR_STDIO, CHR_TTY, CHR_PTY, CHR_UNIX, CHR_TCP, CHR_FILE };

#define CHARDEV_CLOSE_DRAIN_MS	1000

struct chardev {
	pthread_mutex_t lock;
	struct evloop *loop;
	enum chr_kind kind;
	char label[16];
	char *path;
	struct uart8250 *uart;
	const struct chardev_sink *sink;	/* generic consumer instead */
	void *sink_opaque;
	int in_fd, out_fd;		/* equal for ttys and sockets; -1: none */
	bool in_reg, out_reg;		/* registered with the loop */
	bool out_sync;			/* unpollable (regular file): write through */
	bool in_nopoll;			/* unpollable input: read whenever there is room */
	bool in_paused, in_eof, dead;
	int listen_fd, pty_slave_fd, kick_fd;
	dev_t sock_dev;
	ino_t sock_ino;
	bool tio_saved;
	struct termios tio;
	/* Output ring: the newest bytes are dropped when it is full. */
	uint8_t *obuf;
	size_t ohead, olen;
	uint64_t dropped;
	bool out_armed;
	/* Input read but not yet taken by the UART (loop thread only). */
	uint8_t pend[256];
	size_t pend_off, pend_len;
};

/* stdin/stdout are process-wide, so their owner and saved state are too. */
static pthread_mutex_t stdio_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t stdio_once = PTHREAD_ONCE_INIT;
static struct {
	const struct chardev *owner;
	char owner_label[16];
	bool tio_saved, fl_saved;
	struct termios tio;
	int fl[2];
} stdio_saved;

static void stdio_restore_locked(void)
{
	if (stdio_saved.tio_saved && tcsetattr(STDIN_FILENO, TCSANOW, &stdio_saved.tio) < 0)
		log_error("restoring the terminal: %s", strerror(errno));
	stdio_saved.tio_saved = false;
	if (stdio_saved.fl_saved) {
		(void)fcntl(STDIN_FILENO, F_SETFL, stdio_saved.fl[0]);
		(void)fcntl(STDOUT_FILENO, F_SETFL, stdio_saved.fl[1]);
	}
	stdio_saved.fl_saved = false;
}

/* Last line of defence for exit() paths that skip chardev_close(). */
static void stdio_restore_atexit(void)
{
	pthread_mutex_lock(&stdio_lock);
	stdio_restore_locked();
	pthread_mutex_unlock(&stdio_lock);
}

static void stdio_register_atexit(void)
{
	if (atexit(stdio_restore_atexit))
		log_error("cannot register terminal restore at exit");
}

static uint32_t in_mask(const struct chardev *c)
{
	return (c->in_fd >= 0 && !c->in_paused && !c->in_eof) ? EPOLLIN : 0;
}

/* Called with c->lock held. */
static void chr_update_events(struct chardev *c)
{
	uint32_t out = c->out_armed ? EPOLLOUT : 0;
	int rc = 0;

	if (c->in_fd >= 0 && c->in_fd == c->out_fd && c->in_reg)
		rc = evloop_mod(c->loop, c->in_fd, in_mask(c) | out);
	else {
		if (c->in_reg)
			rc = evloop_mod(c->loop, c->in_fd, in_mask(c));
		if (!rc && c->out_reg)
			rc = evloop_mod(c->loop, c->out_fd, out);
	}
	if (rc)
		log_error("%s: event loop: %s", c->label, strerror(-rc));
}

/* Returns how many bytes are gone (written, or lost to a dead peer).
 * Called with c->lock held. */
static size_t write_some(struct chardev *c, const uint8_t *buf, size_t len)
{
	ssize_t n = write(c->out_fd, buf, len);

	if (n >= 0)
		return (size_t)n;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	/* EPIPE/EIO: the reader is gone for good (a unix client's hangup is
	 * noticed by the input side, which resets this). */
	c->dead = true;
	c->olen = 0;
	return len;
}

static void ring_append(struct chardev *c, const uint8_t *buf, size_t len)
{
	size_t room = CHARDEV_OUTBUF_SIZE - c->olen;

	if (len > room) {
		c->dropped += len - room;
		len = room;
	}
	for (size_t i = 0; i < len; i++)
		c->obuf[(c->ohead + c->olen + i) % CHARDEV_OUTBUF_SIZE] = buf[i];
	c->olen += len;
}

static void chr_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct chardev *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (c->out_fd < 0 || c->dead) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (c->out_sync) {
		/* Regular files and /dev/null do not return EAGAIN. */
		while (len && !c->dead) {
			size_t n = write_some(c, buf, len);

			if (!n)
				break;
			buf += n;
			len -= n;
		}
		c->dropped += len;
		len = 0;
	} else if (!c->olen) {
		size_t n = write_some(c, buf, len);

		buf += n;
		len -= n;
	}
	if (len && !c->dead) {
		ring_append(c, buf, len);
		if (!c->out_armed) {
			c->out_armed = true;
			chr_update_events(c);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static void chr_flush(struct chardev *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->olen && c->out_fd >= 0) {
		size_t chunk = CHARDEV_OUTBUF_SIZE - c->ohead;
		size_t n;

		if (chunk > c->olen)
			chunk = c->olen;
		n = write_some(c, c->obuf + c->ohead, chunk);
		if (!n)
			break;
		c->ohead = (c->ohead + n) % CHARDEV_OUTBUF_SIZE;
		c->olen -= n;
	}
	if (!c->olen && c->out_armed) {
		c->out_armed = false;
		chr_update_events(c);
	}
	/* A separate output fd in error would be reported forever. */
	if (c->dead && c->out_reg) {
		(void)evloop_del(c->loop, c->out_fd);
		c->out_reg = false;
	}
	pthread_mutex_unlock(&c->lock);
}

static void chr_set_paused(struct chardev *c, bool paused)
{
	pthread_mutex_lock(&c->lock);
	if (c->in_paused != paused) {
		c->in_paused = paused;
		chr_update_events(c);
	}
	pthread_mutex_unlock(&c->lock);
}

static void chr_rx_space(void *opaque);

/* Hands pending input to the UART; pauses reading while it is full. */
static void chr_push_pending(struct chardev *c)
{
	size_t n = c->pend_len;

	if (c->uart)
		n = uart8250_rx_push(c->uart, c->pend + c->pend_off, c->pend_len);
	else if (c->sink)
		n = c->sink->rx(c->sink_opaque, c->pend + c->pend_off, c->pend_len);
	c->pend_off += n;
	c->pend_len -= n;
	chr_set_paused(c, c->pend_len != 0);
	/* No readiness event will come for a file: ask for the next chunk. */
	if (c->in_nopoll && !c->pend_len && !c->in_eof && (c->uart || c->sink))
		chr_rx_space(c);
}

static void chr_drop_client(struct chardev *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->in_fd >= 0) {
		(void)evloop_del(c->loop, c->in_fd);
		close(c->in_fd);
	}
	c->in_fd = c->out_fd = -1;
	c->in_reg = false;
	c->olen = 0;
	c->out_armed = c->in_paused = c->dead = false;
	c->pend_len = 0;
	pthread_mutex_unlock(&c->lock);
	/* The next waiting client may come in. */
	if (evloop_mod(c->loop, c->listen_fd, EPOLLIN) < 0)
		log_error("%s: %s: cannot accept clients any more", c->label, c->path);
}

/* EOF or hangup: stop polling input so a dead fd cannot spin the loop. */
static void chr_input_ended(struct chardev *c)
{
	if (c->kind == CHR_UNIX || c->kind == CHR_TCP) {
		chr_drop_client(c);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->in_eof = true;
	if (c->in_reg) {
		(void)evloop_del(c->loop, c->in_fd);
		c->in_reg = false;
	}
	/* A tty that hung up cannot take output either. */
	if (c->in_fd == c->out_fd) {
		c->dead = true;
		c->olen = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

static void chr_read(struct chardev *c)
{
	ssize_t n;

	if (c->pend_len) {
		chr_push_pending(c);
		return;
	}
	n = read(c->in_fd, c->pend, sizeof(c->pend));
	if (n > 0) {
		c->pend_off = 0;
		c->pend_len = (size_t)n;
		chr_push_pending(c);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		chr_input_ended(c);
	}
}

static void chr_on_io(void *opaque, int fd, uint32_t events)
{
	struct chardev *c = opaque;

	if (fd == c->out_fd && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		chr_flush(c);
	if (fd == c->in_fd && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		chr_read(c);
}

static void chr_on_kick(void *opaque, int fd, uint32_t events)
{
	struct chardev *c = opaque;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("%s: reading the wake-up eventfd: %s", c->label, strerror(errno));
	if (c->pend_len)
		chr_push_pending(c);
	else if (c->in_nopoll && !c->in_eof)
		chr_read(c);
	else
		chr_set_paused(c, false);
}

/* From a vCPU thread: the UART has room again. */
static void chr_rx_space(void *opaque)
{
	struct chardev *c = opaque;
	uint64_t one = 1;

	/* EAGAIN: counter saturated, a wake-up is pending anyway. */
	(void)!write(c->kick_fd, &one, sizeof(one));
}

static void chr_on_accept(void *opaque, int fd, uint32_t events)
{
	struct chardev *c = opaque;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int rc;

	if (cfd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	c->in_fd = c->out_fd = cfd;
	c->in_paused = c->in_eof = false;
	rc = evloop_add(c->loop, cfd, EPOLLIN, chr_on_io, c);
	c->in_reg = !rc;
	pthread_mutex_unlock(&c->lock);
	if (rc) {
		log_error("%s: %s: client: %s", c->label, c->path, strerror(-rc));
		chr_drop_client(c);
		return;
	}
	/* One client at a time: the others wait in the listen backlog. */
	if (evloop_mod(c->loop, fd, 0) < 0)
		log_error("%s: %s: cannot hold back other clients", c->label, c->path);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int make_raw(int fd, struct termios *saved)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	if (saved)
		*saved = t;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

static int stdio_claim(struct chardev *c)
{
	int rc = 0;

	pthread_once(&stdio_once, stdio_register_atexit);
	pthread_mutex_lock(&stdio_lock);
	if (stdio_saved.owner) {
		log_error("%s: stdio is already the console of %s; only one device can use it",
			  c->label, stdio_saved.owner_label);
		rc = -EBUSY;
	} else {
		stdio_saved.owner = c;
		snprintf(stdio_saved.owner_label, sizeof(stdio_saved.owner_label), "%s", c->label);
	}
	pthread_mutex_unlock(&stdio_lock);
	return rc;
}

static int stdio_setup_fds(struct chardev *c)
{
	int rc = 0;

	pthread_mutex_lock(&stdio_lock);
	stdio_saved.fl[0] = fcntl(STDIN_FILENO, F_GETFL);
	stdio_saved.fl[1] = fcntl(STDOUT_FILENO, F_GETFL);
	if (stdio_saved.fl[0] < 0 || stdio_saved.fl[1] < 0) {
		rc = -errno;
		log_error("%s: stdio: %s", c->label, strerror(errno));
	} else {
		stdio_saved.fl_saved = true;
		if (set_nonblock(STDIN_FILENO) || set_nonblock(STDOUT_FILENO))
			rc = -errno;
	}
	if (!rc && isatty(STDIN_FILENO)) {
		rc = make_raw(STDIN_FILENO, &stdio_saved.tio);
		stdio_saved.tio_saved = !rc;
	}
	if (rc) {
		log_error("%s: stdio: %s", c->label, strerror(-rc));
		stdio_restore_locked();
	}
	pthread_mutex_unlock(&stdio_lock);
	return rc;
}

static void stdio_release(struct chardev *c)
{
	pthread_mutex_lock(&stdio_lock);
	if (stdio_saved.owner == c) {
		stdio_restore_locked();
		stdio_saved.owner = NULL;
	}
	pthread_mutex_unlock(&stdio_lock);
}

/* /dev/null and regular files cannot be polled; they never block either. */
static int register_stdio(struct chardev *c)
{
	int rc = evloop_add(c->loop, STDIN_FILENO, EPOLLIN, chr_on_io, c);

	c->in_reg = !rc;
	if (rc == -EPERM) {
		c->in_nopoll = true;
		rc = 0;
	}
	if (!rc) {
		rc = evloop_add(c->loop, STDOUT_FILENO, 0, chr_on_io, c);
		c->out_reg = !rc;
		c->out_sync = rc == -EPERM;
		if (c->out_sync)
			rc = 0;
	}
	if (rc)
		log_error("%s: stdio: event loop: %s", c->label, strerror(-rc));
	return rc;
}

static int open_stdio(struct chardev *c)
{
	int rc = stdio_claim(c);

	if (rc)
		return rc;
	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	rc = stdio_setup_fds(c);
	if (!rc)
		rc = register_stdio(c);
	return rc;
}

static int register_fd(struct chardev *c, int fd, const char *what)
{
	int rc = evloop_add(c->loop, fd, EPOLLIN, chr_on_io, c);

	if (rc) {
		log_error("%s: %s: event loop: %s", c->label, what, strerror(-rc));
		return rc;
	}
	c->in_fd = c->out_fd = fd;
	c->in_reg = true;
	return 0;
}

static int open_tty(struct chardev *c, const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int rc;

	if (fd < 0) {
		rc = -errno;
		log_error("%s: %s: %s", c->label, path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ||
				    S_ISSOCK(st.st_mode))) {
		log_error("%s: %s: not a terminal device", c->label, path);
		close(fd);
		return -EINVAL;
	}
	if (isatty(fd)) {
		rc = make_raw(fd, &c->tio);
		if (rc) {
			log_error("%s: %s: raw mode: %s", c->label, path, strerror(-rc));
			close(fd);
			return rc;
		}
		c->tio_saved = true;
	}
	rc = register_fd(c, fd, path);
	if (rc) {
		(void)tcsetattr(fd, TCSANOW, &c->tio);
		c->tio_saved = false;
		close(fd);
	}
	return rc;
}

static int pty_open_pair(struct chardev *c, int *master, char *name, size_t len)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	int rc;

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || (errno = ptsname_r(m, name, len)) != 0)
		goto fail;
	/* Holding the slave open keeps the master from reporting a hangup
	 * (and spinning the loop) while no terminal program is attached. */
	c->pty_slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_slave_fd < 0)
		goto fail;
	rc = make_raw(c->pty_slave_fd, NULL);
	if (!rc)
		rc = set_nonblock(m);
	if (rc) {
		errno = -rc;
		goto fail;
	}
	*master = m;
	return 0;
fail:
	rc = -errno;
	close(m);
	return rc;
}

static int open_pty(struct chardev *c)
{
	char name[64];
	int m = -1, rc = pty_open_pair(c, &m, name, sizeof(name));

	if (rc) {
		log_error("%s: pty: %s", c->label, strerror(-rc));
		return rc;
	}
	c->path = strdup(name);
	if (!c->path) {
		close(m);
		return -ENOMEM;
	}
	rc = register_fd(c, m, "pty");
	if (rc) {
		close(m);
		return rc;
	}
	log_error("%s: %s", c->label, name);
	return 0;
}

static int unix_addr(struct chardev *c, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!c->path[0] || strlen(c->path) >= sizeof(sa->sun_path)) {
		log_error("%s: unix=%s: path must be 1 to %zu bytes", c->label, c->path,
			  sizeof(sa->sun_path) - 1);
		return -EINVAL;
	}
	memcpy(sa->sun_path, c->path, strlen(c->path));
	return 0;
}

/* A socket file nobody listens on is left over from a dead khyve. */
static int unix_clear_stale(struct chardev *c, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(c->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("%s: unix=%s: exists and is not a socket; refusing to replace it",
			  c->label, c->path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (!rc) {
		log_error("%s: unix=%s: socket is in use by a running program", c->label, c->path);
		return -EADDRINUSE;
	}
	if (rc != -ECONNREFUSED)
		return rc;
	return unlink(c->path) < 0 ? -errno : 0;
}

static int unix_listen(struct chardev *c, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || lstat(c->path, &st) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	/* Remember which file is ours so close removes only that one. */
	c->sock_dev = st.st_dev;
	c->sock_ino = st.st_ino;
	c->listen_fd = fd;
	return listen(fd, 4) < 0 ? -errno : 0;
}

static int open_unix(struct chardev *c, const char *path)
{
	struct sockaddr_un sa;
	int rc;

	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	rc = unix_addr(c, &sa);
	if (rc)
		return rc;
	rc = unix_clear_stale(c, &sa);
	if (rc == -EEXIST || rc == -EADDRINUSE)
		return rc;
	if (!rc)
		rc = unix_listen(c, &sa);
	if (!rc)
		rc = evloop_add(c->loop, c->listen_fd, EPOLLIN, chr_on_accept, c);
	if (rc)
		log_error("%s: unix=%s: %s", c->label, c->path, strerror(-rc));
	return rc;
}

static int tcp_listen(struct chardev *c, const struct addrinfo *ai)
{
	int one = 1, fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				 ai->ai_protocol);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	c->listen_fd = fd;
	return 0;
}

/* tcp=HOST:PORT: a TCP server, one client at a time, as unix=. */
static int open_tcp(struct chardev *c, const char *spec)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[256];
	const char *port;
	int rc, grc;

	if (!(c->path = strdup(spec)))
		return -ENOMEM;
	if (hostport_split(spec, host, sizeof(host), &port)) {
		log_error("%s: tcp=%s: want HOST:PORT (or [IPv6]:PORT), the port 1 to 65535",
			  c->label, spec);
		return -EINVAL;
	}
	grc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (grc) {
		log_error("%s: tcp=%s: %s", c->label, spec, gai_strerror(grc));
		return -EINVAL;
	}
	rc = tcp_listen(c, res);
	freeaddrinfo(res);
	if (!rc)
		rc = evloop_add(c->loop, c->listen_fd, EPOLLIN, chr_on_accept, c);
	if (rc)
		log_error("%s: tcp=%s: %s", c->label, spec, strerror(-rc));
	return rc;
}

/* file=PATH: the guest's output appended to a file; no input. */
static int open_file(struct chardev *c, const char *path)
{
	int rc;

	if (!(c->path = strdup(path)))
		return -ENOMEM;
	c->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (c->out_fd < 0) {
		rc = -errno;
		log_error("%s: file=%s: %s", c->label, path, strerror(errno));
		return rc;
	}
	/* A regular file never blocks and cannot be polled: write through. */
	rc = evloop_add(c->loop, c->out_fd, 0, chr_on_io, c);
	c->out_reg = !rc;
	c->out_sync = rc == -EPERM;
	if (rc && rc != -EPERM)
		log_error("%s: file=%s: event loop: %s", c->label, path, strerror(-rc));
	return c->out_sync ? 0 : rc;
}

static int chr_open_backend(struct chardev *c, const char *spec)
{
	if (!strcmp(spec, "stdio")) {
		c->kind = CHR_STDIO;
		return open_stdio(c);
	}
	if (!strcmp(spec, "pty")) {
		c->kind = CHR_PTY;
		return open_pty(c);
	}
	if (!strncmp(spec, "unix=", 5)) {
		c->kind = CHR_UNIX;
		return open_unix(c, spec + 5);
	}
	if (!strncmp(spec, "tcp=", 4)) {
		c->kind = CHR_TCP;
		return open_tcp(c, spec + 4);
	}
	if (!strncmp(spec, "file=", 5)) {
		c->kind = CHR_FILE;
		return open_file(c, spec + 5);
	}
	if (strchr(spec, '/')) {
		c->kind = CHR_TTY;
		c->path = strdup(spec);
		return c->path ? open_tty(c, spec) : -ENOMEM;
	}
	log_error("%s: unknown backend '%s' (expected stdio, pty, unix=PATH, tcp=HOST:PORT, "
		  "file=PATH or a tty path)", c->label, spec);
	return -EINVAL;
}

static struct chardev *chr_alloc(const char *label, struct evloop *loop)
{
	struct chardev *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->obuf = malloc(CHARDEV_OUTBUF_SIZE);
	c->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!c->obuf || c->kick_fd < 0 || pthread_mutex_init(&c->lock, NULL)) {
		if (c->kick_fd >= 0)
			close(c->kick_fd);
		free(c->obuf);
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->in_fd = c->out_fd = c->listen_fd = c->pty_slave_fd = -1;
	c->kind = CHR_TTY;
	snprintf(c->label, sizeof(c->label), "%s", label ? label : "serial");
	return c;
}

int chardev_open(const char *spec, const char *label, struct evloop *loop,
		 struct chardev **out)
{
	struct chardev *c = chr_alloc(label, loop);
	int rc;

	*out = NULL;
	if (!c) {
		log_error("%s: %s", label, strerror(ENOMEM));
		return -ENOMEM;
	}
	rc = evloop_add(loop, c->kick_fd, EPOLLIN, chr_on_kick, c);
	if (rc) {
		log_error("%s: event loop: %s", c->label, strerror(-rc));
		close(c->kick_fd);
		c->kick_fd = -1;
	}
	if (!rc)
		rc = chr_open_backend(c, spec);
	if (rc) {
		chardev_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void chardev_attach_uart(struct chardev *chr, struct uart8250 *uart)
{
	chr->uart = uart;
	uart8250_set_tx(uart, chr_tx, chr);
	uart8250_set_rx_space(uart, chr_rx_space, chr);
	if (chr->in_nopoll)
		chr_rx_space(chr);	/* start reading the file */
}

void chardev_attach_sink(struct chardev *chr, const struct chardev_sink *sink,
			 void *opaque)
{
	chr->sink_opaque = opaque;
	chr->sink = sink;
	if (chr->in_nopoll)
		chr_rx_space(chr);
}

void chardev_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
	chr_tx(chr, buf, len);
}

void chardev_rx_ready(struct chardev *chr)
{
	chr_rx_space(chr);
}

const char *chardev_path(const struct chardev *chr)
{
	return chr->path ? chr->path : "stdio";
}

uint64_t chardev_dropped(struct chardev *chr)
{
	uint64_t n;

	pthread_mutex_lock(&chr->lock);
	n = chr->dropped;
	pthread_mutex_unlock(&chr->lock);
	return n;
}

void chardev_list_backends(FILE *f)
{
	fprintf(f, "comN backends (-l comN,BACKEND):\n"
		   "  stdio       khyve's stdin/stdout (raw mode if a terminal); one port only\n"
		   "  pty         a new pseudo-terminal; its /dev/pts path is printed at start\n"
		   "  unix=PATH   listen on a Unix stream socket at PATH, one client at a time\n"
		   "  tcp=HOST:PORT  listen on TCP (HOST empty: every address), one client at a time\n"
		   "  file=PATH   append the guest's output to PATH (no input)\n"
		   "  /dev/...    an existing terminal device, e.g. /dev/pts/N\n");
}

static void unix_remove_socket(struct chardev *c)
{
	struct stat st;

	if (c->listen_fd < 0 || c->kind != CHR_UNIX)
		return;
	if (!lstat(c->path, &st) && st.st_dev == c->sock_dev && st.st_ino == c->sock_ino &&
	    unlink(c->path) < 0)
		log_error("%s: removing %s: %s", c->label, c->path, strerror(errno));
}

static void close_fd(struct chardev *c, int fd, bool registered)
{
	if (fd < 0)
		return;
	if (registered)
		(void)evloop_del(c->loop, fd);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void chr_release_fds(struct chardev *c)
{
	if (c->tio_saved && tcsetattr(c->in_fd, TCSANOW, &c->tio) < 0)
		log_error("%s: restoring %s: %s", c->label, c->path, strerror(errno));
	c->tio_saved = false;
	close_fd(c, c->in_fd, c->in_reg);
	if (c->out_fd != c->in_fd)
		close_fd(c, c->out_fd, c->out_reg);
	unix_remove_socket(c);
	close_fd(c, c->listen_fd, c->listen_fd >= 0);
	close_fd(c, c->kick_fd, c->kick_fd >= 0);
	close_fd(c, c->pty_slave_fd, false);
	if (c->kind == CHR_STDIO)
		stdio_release(c);
}

/* Bytes written to the pty that its reader has not taken yet: closing the
 * master would hang the slave up and discard them. */
static bool chr_pty_unread(const struct chardev *c)
{
	int n = 0;

	return c->kind == CHR_PTY && c->pty_slave_fd >= 0 &&
	       ioctl(c->pty_slave_fd, FIONREAD, &n) == 0 && n > 0;
}

/* The guest's last words (a shutdown message) must reach the reader, but a
 * reader that never comes must not hold khyve up: bounded wait. */
static void chr_drain(struct chardev *c)
{
	for (int waited = 0; waited < CHARDEV_CLOSE_DRAIN_MS; waited += 10) {
		struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };

		chr_flush(c);
		if ((!c->olen || c->dead || c->out_fd < 0) && !chr_pty_unread(c))
			return;
		if (c->olen && c->out_fd >= 0)
			(void)poll(&p, 1, 10);
		else
			(void)poll(NULL, 0, 10);
	}
}

void chardev_close(struct chardev *chr)
{
	if (!chr)
		return;
	if (chr->uart) {
		uart8250_set_tx(chr->uart, NULL, NULL);
		uart8250_set_rx_space(chr->uart, NULL, NULL);
	}
	chr->sink = NULL;
	chr_drain(chr);
	if (chr->dropped)
		log_error("%s: %llu bytes of guest output dropped (nobody was reading)",
			  chr->label, (unsigned long long)chr->dropped);
	chr_release_fds(chr);
	pthread_mutex_destroy(&chr->lock);
	free(chr->obuf);
	free(chr->path);
	free(chr);
}
