/* Network backends for virtio-net.  A frame crosses the backend as one
 * send or one receive on a file descriptor, led by the 12-byte virtio net
 * header (struct virtio_net_hdr_v1, num_buffers included) when the backend
 * has one, so the guest's header passes through untouched.
 *
 * Backends:
 *   netbe_tap_open  an existing Linux tap, by name (never created here)
 *   netbe_tap_adopt a tap whose descriptor khyve inherited (tapfd=N), as
 *                   a manager that created it passes it
 *   netbe_fd_wrap   any descriptor that keeps frame boundaries, e.g. one
 *                   end of a SOCK_SEQPACKET socketpair (tests, fuzzers)
 *
 * All calls on one backend come from one thread at a time, except
 * netbe_set_offloads, which may run concurrently with send/recv. */
#ifndef KHYVE_TAP_H
#define KHYVE_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NETBE_HDR_LEN		12	/* virtio 1.x net header */

/* Offloads the backend may hand to its reader (host -> guest), as the
 * guest negotiated them: same values as TUN_F_*. */
#define NETBE_OFF_CSUM		0x01
#define NETBE_OFF_TSO4		0x02
#define NETBE_OFF_TSO6		0x04
#define NETBE_OFF_TSO_ECN	0x08
#define NETBE_OFF_ALL \
	(NETBE_OFF_CSUM | NETBE_OFF_TSO4 | NETBE_OFF_TSO6 | NETBE_OFF_TSO_ECN)

struct netbe;

/* Attaches to the existing tap `ifname` (IFF_TAP | IFF_NO_PI, plus
 * IFF_VNET_HDR when the kernel offers it), non-blocking, close-on-exec.
 * On failure a negative errno and one line in err ("NAME: why; what to
 * do"). */
int netbe_tap_open(const char *ifname, struct netbe **out, char *err, size_t errlen);
/* TUNSETIFF on an open /dev/net/tun: the tap `name` (a new one if none
 * has it; "%d" in it lets the kernel number it), IFF_TAP | IFF_NO_PI, with
 * a vnet header when the kernel has them.  0 with the tap's name in
 * name_out (NULL: not wanted) and *vnet_hdr set, or -errno. */
int tap_setiff(int fd, const char *name, char name_out[IFNAMSIZ], bool *vnet_hdr);
/* Uses the tap open on descriptor spec ("N", inherited), via a private
 * close-on-exec copy, so the inherited descriptor stays for the next boot
 * of a monitor's VM.  The tap must be IFF_TAP | IFF_NO_PI; its vnet header
 * is used when it was created with one.  0 or a negative errno, err set. */
int netbe_tap_adopt(const char *spec, struct netbe **out, char *err, size_t errlen);
/* Wraps fd (ownership passes to the backend, also on failure; it is made
 * non-blocking and close-on-exec).  vnet_hdr: frames carry the 12-byte
 * header; offload_caps: what set_offloads accepts (recorded only: the
 * peer is the caller's).  0 or a negative errno. */
int netbe_fd_wrap(int fd, bool vnet_hdr, unsigned offload_caps, struct netbe **out);
/* NULL is fine. */
void netbe_close(struct netbe *be);

const char *netbe_name(const struct netbe *be);
/* For poll(): readable when a frame waits. */
int netbe_fd(const struct netbe *be);
bool netbe_has_vnet_hdr(const struct netbe *be);
/* NETBE_OFF_* the backend can deliver (0 without a vnet header). */
unsigned netbe_offload_caps(const struct netbe *be);
/* The offloads last set. */
unsigned netbe_offloads(const struct netbe *be);
/* Which offloads the reader accepts; flags outside the caps: -EINVAL. */
int netbe_set_offloads(struct netbe *be, unsigned flags);

/* One frame out: bytes sent, or -EAGAIN (backend full), other -errno. */
ssize_t netbe_send(struct netbe *be, const struct iovec *iov, int iovcnt);
/* One frame in: its length (a frame longer than len is cut to len), 0 at
 * end of file, -EAGAIN when none waits, other -errno. */
ssize_t netbe_recv(struct netbe *be, void *buf, size_t len);

#endif
