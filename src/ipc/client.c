/* The control-socket client: see client.h. */
#include "ipc/client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct ipc_client {
	int fd;
	int timeout_ms;
	uint32_t seq;
	uint8_t buf[IPC_MAX_MSG];
	struct ipc_stat stats[IPC_MAX_STATS];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ipc_client_connect(const char *path, int timeout_ms, struct ipc_client **out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ipc_client *c;
	struct timeval tv;
	int rc = 0;

	*out = NULL;
	if (timeout_ms <= 0)
		timeout_ms = IPC_CLIENT_TIMEOUT_MS;
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_ms = timeout_ms;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		free(c);
		return rc;
	}
	/* SO_SNDTIMEO also bounds a connect() to a VM whose backlog is full;
	 * SO_RCVTIMEO is the backstop of the poll() in ipc_client_call(). */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		rc = -errno;
	while (!rc && connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno == EINTR)
			continue;
		rc = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	}
	if (rc) {
		close(c->fd);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void ipc_client_close(struct ipc_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

int ipc_client_timeout_ms(const struct ipc_client *c)
{
	return c->timeout_ms;
}

/* One packet, waiting at most until deadline.  Its length, or -errno. */
static int receive(struct ipc_client *c, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		int n, fd;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = ipc_recv(c->fd, c->buf, sizeof(c->buf), &fd, MSG_DONTWAIT);
		if (fd >= 0)
			close(fd);	/* a reply carries no descriptor */
		if (n == -EAGAIN)
			continue;
		if (n == 0)
			return -ECONNRESET;	/* end of file */
		return n;
	}
}

int ipc_client_call(struct ipc_client *c, struct ipc_request *req, struct ipc_reply *rep)
{
	int64_t deadline;
	int n, rc;

	memset(rep, 0, sizeof(*rep));
	req->seq = ++c->seq;
	n = ipc_encode_request(req, c->buf, sizeof(c->buf));
	if (n < 0)
		return n;
	rc = ipc_send(c->fd, c->buf, (size_t)n, req->fd, 0);
	if (rc == -EAGAIN)
		return -ETIMEDOUT;	/* the VM does not read its socket */
	if (rc == -EPIPE)
		return -ECONNRESET;
	if (rc)
		return rc;
	deadline = now_ms() + c->timeout_ms;
	for (;;) {
		n = receive(c, deadline);
		if (n == -ECONNREFUSED || n == -EPIPE)
			n = -ECONNRESET;
		if (n < 0)
			return n;
		rc = ipc_decode_reply(c->buf, (size_t)n, rep, c->stats, IPC_MAX_STATS);
		if (rc)
			return rc == -EINVAL ? -EMSGSIZE : rc;	/* a field out of range */
		if (rep->seq != req->seq)
			continue;	/* the answer to a request we gave up on */
		if (rep->type != req->type)
			return -EPROTO;
		return 0;
	}
}

const char *ipc_client_strerror(int rc, int timeout_ms, char *buf, size_t len)
{
	if (timeout_ms <= 0)
		timeout_ms = IPC_CLIENT_TIMEOUT_MS;
	switch (rc) {
	case -ETIMEDOUT:
		if (timeout_ms % 1000)
			snprintf(buf, len, "no reply within %d ms", timeout_ms);
		else
			snprintf(buf, len, "no reply within %d s", timeout_ms / 1000);
		break;
	case -ECONNRESET:
		snprintf(buf, len, "the VM closed the connection without a reply");
		break;
	case -EPROTO:
		snprintf(buf, len, "the reply is not khyve's control protocol");
		break;
	case -EPROTONOSUPPORT:
		snprintf(buf, len, "the VM speaks another version of the control protocol");
		break;
	case -EMSGSIZE:
		snprintf(buf, len, "malformed reply");
		break;
	case -ENAMETOOLONG:
		snprintf(buf, len, "the control socket path is too long");
		break;
	default:
		snprintf(buf, len, "%s", strerror(rc < 0 ? -rc : rc));
		break;
	}
	return buf;
}
