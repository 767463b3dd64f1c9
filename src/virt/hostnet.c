/* Taps for bridged interfaces (see hostnet.h). */
#include "virt/hostnet.h"

#include <errno.h>
#include <fcntl.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hw/tap.h"

#define TUN_DEV		"/dev/net/tun"
#define NEW_TAP_NAME	"khv%d"		/* the kernel picks the first free N */

static int tap_create(const char *name, char name_out[IFNAMSIZ], char *err, size_t errlen)
{
	int fd = open(TUN_DEV, O_RDWR | O_CLOEXEC), e;
	bool vnet_hdr;

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s%s", TUN_DEV, strerror(e),
			 e == ENOENT ? " (modprobe tun)" : "");
		return -e;
	}
	if ((e = -tap_setiff(fd, name ? name : NEW_TAP_NAME, name_out, &vnet_hdr))) {
		close(fd);
		if (e == EPERM)
			snprintf(err, errlen, "creating tap %s needs CAP_NET_ADMIN (an unprivileged "
				 "user needs a tap an administrator made for them, already on "
				 "the bridge)", name ? name : "");
		else if (e == EBUSY)
			snprintf(err, errlen, "tap %s is in use by another program", name);
		else
			snprintf(err, errlen, "creating tap %s: %s", name ? name : "", strerror(e));
		return -e;
	}
	return fd;
}

static int nl_fail(char *err, size_t errlen, const char *what, const char *tap, int nlerr)
{
	snprintf(err, errlen, "%s %s: %s", what, tap, nl_geterror(nlerr));
	return nlerr == -NLE_PERM ? -EPERM : -EIO;
}

/* The change that puts tap on br, up; NULL when it is there already. */
static struct rtnl_link *bridge_change(struct rtnl_link *tap, struct rtnl_link *br,
				       const uint8_t *guest_mac, int *rc)
{
	struct rtnl_link *chg;

	*rc = 0;
	if (rtnl_link_get_master(tap) == rtnl_link_get_ifindex(br) &&
	    (rtnl_link_get_flags(tap) & IFF_UP))
		return NULL;
	if (!(chg = rtnl_link_alloc())) {
		*rc = -ENOMEM;
		return NULL;
	}
	rtnl_link_set_master(chg, rtnl_link_get_ifindex(br));
	rtnl_link_set_flags(chg, IFF_UP);
	rtnl_link_set_mtu(chg, rtnl_link_get_mtu(br));
	if (guest_mac) {
		uint8_t mac[6];
		struct nl_addr *a;

		memcpy(mac, guest_mac, sizeof(mac));
		mac[0] = 0xfe;
		if (!(a = nl_addr_build(AF_LLC, mac, sizeof(mac)))) {
			rtnl_link_put(chg);
			*rc = -ENOMEM;
			return NULL;
		}
		rtnl_link_set_addr(chg, a);
		nl_addr_put(a);
	}
	return chg;
}

static int tap_to_bridge(struct nl_sock *sk, const char *tap, const char *bridge,
			 const uint8_t *guest_mac, char *err, size_t errlen)
{
	struct rtnl_link *br = NULL, *link = NULL, *chg = NULL;
	int rc = rtnl_link_get_kernel(sk, 0, bridge, &br);

	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
		snprintf(err, errlen, "bridge %s does not exist (ip link add %s type bridge)",
			 bridge, bridge);
		return -ENODEV;
	}
	if (rc)
		return nl_fail(err, errlen, "looking up bridge", bridge, rc);
	if (!rtnl_link_is_bridge(br)) {
		snprintf(err, errlen, "%s is not a bridge", bridge);
		rc = -EINVAL;
	} else if ((rc = rtnl_link_get_kernel(sk, 0, tap, &link))) {
		rc = nl_fail(err, errlen, "looking up tap", tap, rc);
	} else if ((chg = bridge_change(link, br, guest_mac, &rc)) &&
		   (rc = rtnl_link_change(sk, link, chg, 0))) {
		char what[IFNAMSIZ + 32];

		snprintf(what, sizeof(what), "putting on bridge %s: tap", bridge);
		rc = nl_fail(err, errlen, what, tap, rc);
	} else if (rc) {
		snprintf(err, errlen, "tap %s: %s", tap, strerror(-rc));
	}
	if (chg)
		rtnl_link_put(chg);
	if (link)
		rtnl_link_put(link);
	rtnl_link_put(br);
	return rc;
}

int khv_tap_open(const char *name, const char *bridge, const uint8_t *guest_mac,
		 char name_out[IFNAMSIZ], char *err, size_t errlen)
{
	struct nl_sock *sk;
	int fd, rc;

	if (!bridge || !*bridge) {
		snprintf(err, errlen, "the interface names no bridge");
		return -EINVAL;
	}
	if ((fd = tap_create(name, name_out, err, errlen)) < 0)
		return fd;
	if (!(sk = nl_socket_alloc())) {
		close(fd);
		return -ENOMEM;
	}
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc)
		rc = nl_fail(err, errlen, "netlink for tap", name_out, rc);
	else
		rc = tap_to_bridge(sk, name_out, bridge, guest_mac, err, errlen);
	nl_socket_free(sk);
	if (rc) {
		close(fd);	/* a tap made here goes with its last descriptor */
		return rc;
	}
	return fd;
}
