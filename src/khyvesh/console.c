/* khyvesh console: a terminal on a running domain's serial port, as
 * virsh's: raw mode, Ctrl+] leaves.  The port is khyve's unix socket or
 * its pty; without a terminal on stdin (scripts, tests) input is sent as
 * it comes and the command ends once stdin ends and the guest has gone
 * quiet for a moment. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "khyvesh/khyvesh.h"
#include "lib/fileio.h"
#include "virt/domain.h"
#include "virt/lifecycle.h"

#define ESCAPE_CHAR	0x1d	/* Ctrl+] */
#define QUIET_MS	300	/* after stdin's end, output still awaited */

/* --devname: serialN or console0; NULL: the first serial port. */
static const struct khv_serial *pick_serial(const struct khv_domain *d, const char *dev)
{
	unsigned port = 0;
	char end;

	if (dev && !(sscanf(dev, "serial%u%c", &port, &end) == 1 ||
		     (!strcmp(dev, "console0") && (port = 0, true))))
		return NULL;
	for (unsigned i = 0; i < d->nserials; i++)
		if (d->serials[i].port == port)
			return &d->serials[i];
	return NULL;
}

static int open_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* The port's host end: an fd, or KHYVESH_FAIL-worthy -1 after the error. */
static int open_port(struct sh_ctx *sh, const struct khv_domain *d, const struct khv_serial *s)
{
	char pty[64];
	int fd;

	switch (s->type) {
	case KHV_CHR_UNIX:
		if ((fd = open_unix(s->path)) < 0)
			sh_error("cannot connect to %s: %s", s->path, strerror(-fd));
		return fd < 0 ? -1 : fd;
	case KHV_CHR_PTY:
		if (khv_domain_pty_path(sh->conn, d->name, s->port, pty, sizeof(pty))) {
			sh_error("cannot find the pty of domain '%s' in its log", d->name);
			return -1;
		}
		if ((fd = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
			sh_error("cannot open %s: %s", pty, strerror(errno));
		return fd;
	default:
		sh_error("com%u of domain '%s' is not a pty or unix socket: no console to attach",
			 s->port + 1, d->name);
		return -1;
	}
}

/* Copies stdin to the port and the port to stdout until Ctrl+] (with a
 * terminal), the port closing, or stdin's end and a quiet port. */
static void relay(int port, bool tty)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
			       { .fd = port, .events = POLLIN } };
	char buf[4096];
	bool in_open = true;

	for (;;) {
		ssize_t n;
		int r = poll(p, 2, in_open ? -1 : QUIET_MS);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;		/* quiet after stdin's end, or poll failed */
		if (p[1].revents) {
			n = read(port, buf, sizeof(buf));
			if (n <= 0 || fd_write_all(STDOUT_FILENO, buf, (size_t)n))
				return;
		}
		if (in_open && p[0].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				p[0].fd = -1;
				continue;
			}
			char *esc = tty ? memchr(buf, ESCAPE_CHAR, (size_t)n) : NULL;

			if (fd_write_all(port, buf, esc ? (size_t)(esc - buf) : (size_t)n) || esc)
				return;
		}
	}
}

int sh_attach_console(struct sh_ctx *sh, const char *name, const char *devname)
{
	const struct khv_serial *s;
	struct khv_domain *d = NULL;
	struct termios saved, raw;
	struct sh_args a = { 1, { { "domain", name } } };
	bool active, tty;
	int port;

	if (sh_domain(sh, &a, NULL, &d, &active))
		return KHYVESH_FAIL;
	if (!active || !(s = pick_serial(d, devname))) {
		sh_error(!active ? "domain '%s' is not running" : "domain '%s' has no serial port %s",
			 d->name, devname ? devname : "com1");
		khv_domain_free(d);
		return KHYVESH_FAIL;
	}
	port = open_port(sh, d, s);
	if (port < 0) {
		khv_domain_free(d);
		return KHYVESH_FAIL;
	}
	tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	printf("Connected to domain '%s'\n", d->name);
	if (tty)
		printf("Escape character is ^] (Ctrl + ])\n");
	fflush(stdout);
	khv_domain_free(d);
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tty = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
	}
	relay(port, tty);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	close(port);
	if (tty)
		printf("\n");
	return KHYVESH_OK;
}

int cmd_console(struct sh_ctx *sh, const struct sh_args *a)
{
	return sh_attach_console(sh, sh_opt(a, "domain"), sh_opt(a, "devname"));
}
