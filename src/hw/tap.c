/* Network backends: a Linux tap, or a caller's descriptor.  See tap.h.
 *
 * khyve never creates a tap: that needs CAP_NET_ADMIN, and who owns the
 * interface, its addresses and its bridge is the host administrator's
 * choice.  So a tap must exist (or come as a descriptor from a manager
 * that made it), and every way attaching can fail gets a message saying
 * what to do. */
#include "hw/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TUN_DEV		"/dev/net/tun"

struct netbe_ops {
	ssize_t (*send)(struct netbe *be, const struct iovec *iov, int iovcnt);
	ssize_t (*recv)(struct netbe *be, void *buf, size_t len);
	int (*set_offloads)(struct netbe *be, unsigned flags);
};

struct netbe {
	const struct netbe_ops *ops;
	int fd;
	bool sock;			/* a socket: sends must not raise SIGPIPE */
	bool vnet_hdr;
	unsigned offload_caps;
	unsigned offloads;
	char name[IFNAMSIZ];
};

/* ---- frames on a descriptor (both backends) ---- */

static ssize_t fd_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do {
		if (be->sock) {
			struct msghdr m = { .msg_iov = (struct iovec *)iov,
					    .msg_iovlen = (size_t)iovcnt };

			n = sendmsg(be->fd, &m, MSG_NOSIGNAL);
		} else {
			n = writev(be->fd, iov, iovcnt);
		}
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static ssize_t fd_recv(struct netbe *be, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(be->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

/* The peer of a wrapped descriptor is the caller's: remember only. */
static int fd_set_offloads(struct netbe *be, unsigned flags)
{
	be->offloads = flags;
	return 0;
}

static int tap_set_offloads(struct netbe *be, unsigned flags)
{
	if (ioctl(be->fd, TUNSETOFFLOAD, (unsigned long)flags) < 0)
		return -errno;
	be->offloads = flags;
	return 0;
}

static const struct netbe_ops fd_ops = {
	.send = fd_send, .recv = fd_recv, .set_offloads = fd_set_offloads,
};

static const struct netbe_ops tap_ops = {
	.send = fd_send, .recv = fd_recv, .set_offloads = tap_set_offloads,
};

/* ---- opening a tap ---- */

/* Linux's dev_valid_name(): what `ip` would accept. */
static bool ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
			return false;
	return true;
}

/* Who the tap should belong to, for the advice in messages. */
static void user_name(char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "$(id -un)");
}

/* tun_flags of an existing tun/tap interface, or -1 for another kind. */
static long tun_flags(const char *name)
{
	char path[64], line[32];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f))
		v = strtol(line, NULL, 16);
	fclose(f);
	return v;
}

/* TUNSETIFF refused an existing interface: say what it is instead. */
static void not_a_tap(const char *name, char *err, size_t errlen)
{
	long f = tun_flags(name);

	if (f < 0)
		snprintf(err, errlen, "%s: not a tap device (khyve needs a tap: ip tuntap add "
			 "dev NAME mode tap)", name);
	else if (f & IFF_TUN)
		snprintf(err, errlen, "%s: a tun (layer 3) device, not a tap; recreate it with "
			 "'mode tap'", name);
	else
		snprintf(err, errlen, "%s: a multi-queue tap; khyve attaches one queue, "
			 "recreate it without multi_queue", name);
}

static int attach_error(int e, const char *name, char *err, size_t errlen)
{
	char user[64];

	user_name(user, sizeof(user));
	switch (e) {
	case EINVAL:
		not_a_tap(name, err, errlen);
		break;
	case EPERM:
	case EACCES:
		snprintf(err, errlen, "%s: permission denied: the tap belongs to another user "
			 "or group (ip tuntap add dev %s mode tap user %s)", name, name, user);
		break;
	case EBUSY:
		snprintf(err, errlen, "%s: the tap is already in use by another program", name);
		break;
	default:
		snprintf(err, errlen, "%s: cannot attach to the tap: %s", name, strerror(e));
		break;
	}
	return -e;
}

static int open_tun(const char *name, char *err, size_t errlen)
{
	int fd = open(TUN_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
		snprintf(err, errlen, "%s: %s: the tun driver is not available (modprobe tun)",
			 name, TUN_DEV);
	else
		snprintf(err, errlen, "%s: %s: %s", name, TUN_DEV, strerror(errno));
	return -errno;
}

/* With a vnet header: its size, and which offloads the kernel takes.
 * Offloads start off; the guest's negotiation turns them on. */
static int setup_vnet_hdr(struct netbe *be, char *err, size_t errlen)
{
	int sz = NETBE_HDR_LEN;

	if (ioctl(be->fd, TUNSETVNETHDRSZ, &sz) < 0) {
		snprintf(err, errlen, "%s: cannot set the tap's virtio header size: %s",
			 be->name, strerror(errno));
		return -errno;
	}
	if (ioctl(be->fd, TUNSETOFFLOAD, (unsigned long)NETBE_OFF_ALL) == 0)
		be->offload_caps = NETBE_OFF_ALL;
	if (ioctl(be->fd, TUNSETOFFLOAD, 0ul) < 0) {
		snprintf(err, errlen, "%s: cannot turn the tap's offloads off: %s",
			 be->name, strerror(errno));
		return -errno;
	}
	return 0;
}

int tap_setiff(int fd, const char *name, char name_out[IFNAMSIZ], bool *vnet_hdr)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	unsigned int features = 0;

	/* An old kernel without TUNGETFEATURES has no vnet header either. */
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR))
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (name_out)
		snprintf(name_out, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	*vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	return 0;
}

static int tap_attach(struct netbe *be, char *err, size_t errlen)
{
	int rc = tap_setiff(be->fd, be->name, NULL, &be->vnet_hdr);

	if (rc)
		return attach_error(-rc, be->name, err, errlen);
	return be->vnet_hdr ? setup_vnet_hdr(be, err, errlen) : 0;
}

int netbe_tap_open(const char *ifname, struct netbe **out, char *err, size_t errlen)
{
	char user[64];
	struct netbe *be;
	int rc;

	if (!ifname_valid(ifname)) {
		snprintf(err, errlen, "\"%s\": not a valid interface name (1 to %d characters, "
			 "no '/', ':' or spaces)", ifname, IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (if_nametoindex(ifname) == 0) {
		user_name(user, sizeof(user));
		snprintf(err, errlen, "%s: no such tap; create it first: ip tuntap add dev %s "
			 "mode tap user %s && ip link set %s up", ifname, ifname, user, ifname);
		return -ENODEV;
	}
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->ops = &tap_ops;
	snprintf(be->name, sizeof(be->name), "%s", ifname);
	be->fd = open_tun(ifname, err, errlen);
	if (be->fd < 0) {
		rc = be->fd;
		free(be);
		return rc;
	}
	rc = tap_attach(be, err, errlen);
	if (rc) {
		netbe_close(be);
		return rc;
	}
	*out = be;
	return 0;
}

/* The tap behind an inherited descriptor: "N", a descriptor number. */
static int adopted_fd(const char *spec, struct ifreq *ifr, char *err, size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(spec, &end, 10);
	if (errno || end == spec || *end || n < 3 || n > INT_MAX) {
		snprintf(err, errlen, "tapfd=%s: want the number of an inherited descriptor", spec);
		return -EINVAL;
	}
	if (ioctl((int)n, TUNGETIFF, ifr) < 0) {
		int e = errno;

		snprintf(err, errlen, "tapfd=%s: %s", spec, e == EBADF ? "no such open descriptor"
			 : "not a tun/tap descriptor");
		return -(e == EBADF ? EBADF : ENOTTY);
	}
	if (!(ifr->ifr_flags & IFF_TAP) || (ifr->ifr_flags & IFF_NO_PI) == 0) {
		snprintf(err, errlen, "tapfd=%s: %s is not a tap without packet info", spec,
			 ifr->ifr_name);
		return -EINVAL;
	}
	return (int)n;
}

int netbe_tap_adopt(const char *spec, struct netbe **out, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	struct netbe *be;
	int fd = adopted_fd(spec, &ifr, err, errlen), fl, rc;

	if (fd < 0)
		return fd;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->ops = &tap_ops;
	snprintf(be->name, sizeof(be->name), "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	/* A copy of our own: a monitor's next boot adopts the inherited one again. */
	be->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	fl = be->fd < 0 ? -1 : fcntl(be->fd, F_GETFL);
	if (fl < 0 || fcntl(be->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "tapfd=%s: %s", spec, strerror(errno));
		netbe_close(be);
		return rc;
	}
	be->vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	rc = be->vnet_hdr ? setup_vnet_hdr(be, err, errlen) : 0;
	if (rc) {
		netbe_close(be);
		return rc;
	}
	*out = be;
	return 0;
}

int netbe_fd_wrap(int fd, bool vnet_hdr, unsigned offload_caps, struct netbe **out)
{
	int fl = fcntl(fd, F_GETFL);
	struct netbe *be;
	struct stat st;

	/* The I/O thread must never block on the descriptor. */
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fstat(fd, &st) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	be = calloc(1, sizeof(*be));
	if (!be) {
		close(fd);
		return -ENOMEM;
	}
	be->ops = &fd_ops;
	be->fd = fd;
	be->sock = S_ISSOCK(st.st_mode);
	be->vnet_hdr = vnet_hdr;
	be->offload_caps = vnet_hdr ? offload_caps & NETBE_OFF_ALL : 0;
	snprintf(be->name, sizeof(be->name), "fd%d", fd);
	*out = be;
	return 0;
}

void netbe_close(struct netbe *be)
{
	if (!be)
		return;
	if (be->fd >= 0)
		close(be->fd);
	free(be);
}

const char *netbe_name(const struct netbe *be) { return be->name; }
int netbe_fd(const struct netbe *be) { return be->fd; }
bool netbe_has_vnet_hdr(const struct netbe *be) { return be->vnet_hdr; }
unsigned netbe_offload_caps(const struct netbe *be) { return be->offload_caps; }
unsigned netbe_offloads(const struct netbe *be) { return be->offloads; }

int netbe_set_offloads(struct netbe *be, unsigned flags)
{
	if (flags & ~be->offload_caps)
		return -EINVAL;
	return be->ops->set_offloads(be, flags);
}

ssize_t netbe_send(struct netbe *be, const struct iovec *iov, int iovcnt)
{
	return be->ops->send(be, iov, iovcnt);
}

ssize_t netbe_recv(struct netbe *be, void *buf, size_t len)
{
	return be->ops->recv(be, buf, len);
}
