/* The control socket server: see server.h. */
#include "ipc/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/evloop.h"

struct client {
	struct ipc_server *srv;
	int fd;				/* -1: free slot */
	uid_t uid;
};

struct ipc_server {
	struct evloop *loop;
	int listen_fd;
	uid_t owner;
	ipc_handler_fn fn;
	void *opaque;
	struct client clients[IPC_MAX_CLIENTS];
	/* Loop thread only. */
	uint8_t rx[IPC_MAX_MSG], tx[IPC_MAX_MSG], data[IPC_MAX_MEM_READ];
	struct ipc_stat stats[IPC_MAX_STATS];
};

int ipc_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "%s: control socket path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);		/* left by a VM of this name that died */
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		rc = -errno;
	old = umask(077);		/* 0600 from the start, no window */
	if (!rc && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		rc = -errno;
	umask(old);
	if (!rc && chmod(path, 0600) < 0)	/* umask left it 0700: no execute bit */
		rc = -errno;
	if (!rc && listen(fd, 64) < 0)
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

static void drop(struct client *c)
{
	evloop_del(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void fail(struct ipc_reply *rep, int err, const char *text)
{
	rep->status = err;
	snprintf(rep->text, sizeof(rep->text), "%s", text);
}

/* A request that did not decode: answered when its header is readable
 * (an unknown type, a newer version, a wrong length...), else the peer
 * does not speak the protocol and is disconnected. */
static bool reject(struct ipc_server *s, int rc, size_t len, struct ipc_reply *rep)
{
	uint16_t type;
	uint32_t seq;

	if (!ipc_peek_header(s->rx, len, &type, &seq) || type == 0 || (type & IPC_REPLY_BIT))
		return false;
	rep->type = (enum ipc_type)type;
	rep->seq = seq;
	switch (rc) {
	case -ENOSYS:
		rep->status = ENOSYS;
		snprintf(rep->text, sizeof(rep->text), "unknown request type %u", type);
		break;
	case -EPROTONOSUPPORT:
		fail(rep, EPROTONOSUPPORT, "unsupported protocol version");
		break;
	case -EMSGSIZE:
		fail(rep, EMSGSIZE, "malformed request: wrong length");
		break;
	default:
		fail(rep, EINVAL, "malformed request: a field is out of range");
		break;
	}
	return true;
}

static void serve(struct ipc_server *s, struct client *c, size_t len, int fd)
{
	struct ipc_request req;
	struct ipc_reply rep;
	int rc = ipc_decode_request(s->rx, len, &req), n;

	memset(&rep, 0, sizeof(rep));
	if (rc && !reject(s, rc, len, &rep)) {
		if (fd >= 0)
			close(fd);
		drop(c);
		return;
	}
	if (!rc) {
		req.fd = fd;
		fd = -1;
		rep.type = req.type;
		rep.seq = req.seq;
		if (c->uid != s->owner && c->uid != 0)
			fail(&rep, EPERM, "not the owner of this VM");
		else
			s->fn(s->opaque, &req, &rep, s->data, s->stats);
		if (req.fd >= 0)
			close(req.fd);
	}
	if (fd >= 0)
		close(fd);
	n = ipc_encode_reply(&rep, s->tx, sizeof(s->tx));
	if (n < 0 || ipc_send(c->fd, s->tx, (size_t)n, -1, MSG_DONTWAIT) < 0)
		drop(c);		/* a client that does not read is not waited for */
}

static void on_client(void *opaque, int fd, uint32_t events)
{
	struct client *c = opaque;
	int n, passed;

	n = ipc_recv(c->fd, c->srv->rx, sizeof(c->srv->rx), &passed, MSG_DONTWAIT);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {			/* EOF, error, or an oversized packet */
		drop(c);
		return;
	}
	serve(c->srv, c, (size_t)n, passed);
}

static void on_accept(void *opaque, int fd, uint32_t events)
{
	struct ipc_server *s = opaque;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct client *c = NULL;

	if (cfd < 0)
		return;
	for (unsigned i = 0; i < IPC_MAX_CLIENTS && !c; i++)
		if (s->clients[i].fd < 0)
			c = &s->clients[i];
	if (!c || getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    evloop_add(s->loop, cfd, EPOLLIN, on_client, c)) {
		close(cfd);		/* full, or the peer vanished */
		return;
	}
	c->fd = cfd;
	c->uid = cred.uid;
}

int ipc_server_start(struct evloop *loop, int listen_fd, uid_t owner, ipc_handler_fn fn,
		     void *opaque, struct ipc_server **out)
{
	struct ipc_server *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	*s = (struct ipc_server){ .loop = loop, .listen_fd = listen_fd, .owner = owner,
				  .fn = fn, .opaque = opaque };
	for (unsigned i = 0; i < IPC_MAX_CLIENTS; i++)
		s->clients[i] = (struct client){ .srv = s, .fd = -1 };
	rc = evloop_add(loop, listen_fd, EPOLLIN, on_accept, s);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void ipc_server_stop(struct ipc_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < IPC_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			drop(&s->clients[i]);
	evloop_del(s->loop, s->listen_fd);
	free(s);
}
