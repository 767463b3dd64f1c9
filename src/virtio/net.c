/* virtio-net (virtio device id 1, spec 5.1) on a network backend:
 *   -s N,virtio-net,TAP[,mac=xx:xx:xx:xx:xx:xx][,mtu=N]   as in bhyve
 * (tap=NAME names the tap too; tapfd=N uses a tap descriptor inherited from
 * a manager, as backend "tapfd:N"; the config variables are bhyve's:
 * backend, mac, mtu).  Two queues, 0 receive and 1 transmit; no control queue.
 *
 * The data path runs on one I/O thread per card, so a slow or busy
 * network never stalls a vCPU: a queue notify only records the kick and
 * writes an eventfd.  The thread poll()s that eventfd, a control eventfd
 * (reset, drain, stop) and the backend (only while the guest has receive
 * buffers), and handles at most NET_BUDGET frames per queue per wakeup so
 * neither direction starves the other.
 *   transmit: the guest's buffers go to the backend in one writev; its
 *             12-byte header is the tap's vnet header as is (stripped for
 *             a backend without one).
 *   receive:  one frame is read into a bounce buffer, then copied into as
 *             many posted buffers as it needs (one without MRG_RXBUF),
 *             num_buffers set in its header.  With too few buffers posted
 *             the frame and the buffers popped so far are kept until the
 *             guest posts more, and the backend is not read meanwhile.
 *
 * Everything from the guest is untrusted: frames too short or too long,
 * buffers too small for a header, headers asking for offloads the guest
 * did not negotiate are counted and dropped; a broken queue sets
 * DEVICE_NEEDS_RESET with one log line.
 *
 * Locking: n->lock guards the fields marked shared; the rest belongs to
 * the I/O thread.  vCPUs never touch the queues.  ops->reset parks the
 * thread (it stops touching the queues and forgets what it held) and
 * waits for it; the next kick restarts it.  Lock order: n->lock, then the
 * transport's. */
#include "virtio/net.h"

#include <ctype.h>
#include <errno.h>
#include <md5.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hw/tap.h"
#include "lib/config.h"
#include "lib/log.h"
#include "snapshot/snapfile.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"

#define NET_RXQ			0
#define NET_TXQ			1
#define NET_QUEUE_SIZE		256
#define NET_BUDGET		64	/* frames per queue per wakeup */
#define NET_HDR_LEN		NETBE_HDR_LEN
#define NET_ETH_HLEN		14
/* Ethernet header, a VLAN tag and the largest IP packet (a GSO frame). */
#define NET_MAX_FRAME		(NET_ETH_HLEN + 4 + 65535)
/* One byte more than the longest frame: a longer one shows as too long. */
#define NET_RX_BUF_LEN		(NET_HDR_LEN + NET_MAX_FRAME + 1)
#define NET_MIN_MTU		46	/* bhyve's VTNET_MIN_MTU (ETHERMIN) */
#define NET_MAX_MTU		65535	/* bhyve's VTNET_MAX_MTU */
#define NET_DEFAULT_MTU		1500

/* Feature bits (spec 5.1.3). */
#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_MTU		3
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16
#define BIT(f)				(1ull << (f))

#define VIRTIO_NET_S_LINK_UP		1

/* struct virtio_net_hdr_v1 */
#define HDR_FLAGS		0
#define HDR_GSO_TYPE		1
#define HDR_NUM_BUFFERS		10
#define HDR_F_NEEDS_CSUM	1
#define HDR_F_DATA_VALID	2
#define GSO_NONE		0
#define GSO_TCPV4		1
#define GSO_TCPV6		4
#define GSO_ECN			0x80

/* struct virtio_net_config: mac, status, max_virtqueue_pairs, mtu. */
#define CFG_MAC			0
#define CFG_STATUS		6
#define CFG_MAX_PAIRS		8
#define CFG_MTU			10
#define CFG_LEN			12

enum net_stat {
	S_RX_PACKETS, S_RX_BYTES, S_RX_ERRORS, S_RX_DROPPED,
	S_TX_PACKETS, S_TX_BYTES, S_TX_ERRORS, S_TX_DROPPED, S_COUNT,
};

/* Where the thread is with respect to resets. */
enum net_state {
	NET_RUN,		/* may use the queues it was kicked on */
	NET_PAUSE_REQ,		/* a reset waits for the thread to let go */
	NET_PAUSED,		/* let go; the next kick restarts it */
};

enum ctl { CTL_RUN, CTL_PAUSED, CTL_STOP };
enum rx_status { RX_OK, RX_NO_BUFFERS, RX_BROKEN };
enum rx_read { RD_FRAME, RD_NONE, RD_SKIPPED };

struct net_params {
	const char *backend;		/* NULL when the caller brings one */
	uint8_t mac[6];
	bool mac_derived;		/* no mac=: from slot, function, VM name */
	bool has_mtu;
	uint16_t mtu;
};

struct virtio_net {
	struct virtio_pci *t;
	struct virtio_dev_ops ops;	/* features depend on the backend */
	struct vq_mem mem;		/* the transport's, cached */
	struct netbe *be;
	uint8_t config[CFG_LEN];
	bool mac_derived;
	int kick_fd, ctl_fd;
	pthread_t thread;
	bool thread_started;

	/* Shared, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum net_state state;
	bool stop;
	bool hold, held;		/* checkpoint: parked between two frames */
	unsigned kicked;		/* queues kicked since the thread looked */
	uint64_t drain_seq, drain_done;	/* virtio_net_drain requests, answered */

	/* I/O thread only. */
	bool q_live[2];			/* kicked since reset: enabled, usable */
	bool mrg_rxbuf;
	uint64_t features;
	bool rx_wait;			/* out of receive buffers until a kick */
	bool rx_kicks, tx_kicks;	/* do we ask the driver to kick? */
	bool tx_more;			/* budget ran out with frames left */
	bool be_dead;			/* the backend stopped delivering */
	bool broken[2];
	uint8_t *rx_pkt;		/* bounce buffer, NET_RX_BUF_LEN */
	size_t rx_len;			/* frame waiting in it, header included */
	struct vq_elem *rx_pool[NET_QUEUE_SIZE];	/* [0, rx_held) popped */
	unsigned rx_held;
	uint64_t rx_held_bytes;
	struct vq_elem tx_elem;		/* large: kept here, not on a stack */
	struct iovec tx_iov[VQ_MAX_SEGS];
	int broken_once, tx_bad_once, tx_err_once, rx_bad_once, rx_off_once, be_bad_once;
	int be_once, poll_once, offload_once, wake_once;

	_Atomic uint64_t stat[S_COUNT];
};

static void stat_add(struct virtio_net *n, enum net_stat s, uint64_t v)
{
	atomic_fetch_add_explicit(&n->stat[s], v, memory_order_relaxed);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wake(struct virtio_net *n, int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error_once(&n->wake_once, "virtio-net: %s: cannot wake the I/O thread: %s",
			       netbe_name(n->be), strerror(errno));
}

static void drain_eventfd(struct virtio_net *n, int fd)
{
	uint64_t v;

	/* Non-blocking: EAGAIN when an earlier read took the count. */
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error_once(&n->poll_once, "virtio-net: %s: reading an eventfd: %s",
			       netbe_name(n->be), strerror(errno));
}

static void queue_broken(struct virtio_net *n, unsigned q, int rc)
{
	n->broken[q] = true;
	log_error_once(&n->broken_once, "virtio-net: %s: the guest broke its %s queue (%s); "
		       "device needs a reset", netbe_name(n->be),
		       q == NET_RXQ ? "receive" : "transmit", strerror(-rc));
	virtio_pci_set_needs_reset(n->t);
}

/* ---- transmit ---- */

/* The iovecs of src past its first `skip` bytes, into dst. */
static int iov_skip(struct iovec *dst, const struct iovec *src, unsigned cnt, size_t skip)
{
	int out = 0;

	for (unsigned i = 0; i < cnt; i++) {
		size_t len = src[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		dst[out].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[out].iov_len = len - skip;
		skip = 0;
		out++;
	}
	return out;
}

/* One frame from the guest to the backend. */
static void tx_frame(struct virtio_net *n, const struct vq_elem *e)
{
	const struct iovec *iov = e->iov;
	int cnt = e->out_num;
	ssize_t rc;

	if (e->out_len < NET_HDR_LEN + NET_ETH_HLEN || e->out_len > NET_HDR_LEN + NET_MAX_FRAME) {
		stat_add(n, S_TX_ERRORS, 1);
		log_error_once(&n->tx_bad_once, "virtio-net: %s: the guest sent %llu bytes as a "
			       "frame (a frame takes %d to %d with its header); dropped",
			       netbe_name(n->be), (unsigned long long)e->out_len,
			       NET_HDR_LEN + NET_ETH_HLEN, NET_HDR_LEN + NET_MAX_FRAME);
		return;
	}
	if (!netbe_has_vnet_hdr(n->be)) {
		cnt = iov_skip(n->tx_iov, e->iov, e->out_num, NET_HDR_LEN);
		iov = n->tx_iov;
	}
	rc = netbe_send(n->be, iov, cnt);
	if (rc >= 0) {
		stat_add(n, S_TX_PACKETS, 1);
		stat_add(n, S_TX_BYTES, e->out_len - NET_HDR_LEN);
	} else if (rc == -EAGAIN || rc == -ENOBUFS) {
		stat_add(n, S_TX_DROPPED, 1);	/* the backend is full: a busy link */
	} else {
		stat_add(n, S_TX_ERRORS, 1);
		log_error_once(&n->tx_err_once, "virtio-net: %s: sending a frame: %s",
			       netbe_name(n->be), strerror((int)-rc));
	}
}

/* Sends up to NET_BUDGET frames.  While frames come, the driver is told
 * not to kick; once the queue is empty kicks are asked for again and the
 * queue looked at once more, since a frame queued before the driver saw
 * that came without a kick. */
static void tx_run(struct virtio_net *n)
{
	struct virtqueue *vq = virtio_pci_queue(n->t, NET_TXQ);
	unsigned done = 0;
	int rc = 0;

	n->tx_more = false;
	while (done < NET_BUDGET) {
		rc = vq_pop(vq, &n->mem, &n->tx_elem);
		if (rc == 0 && !n->tx_kicks) {
			rc = vq_set_notify(vq, &n->mem, true);
			n->tx_kicks = true;
			if (rc == 0)
				continue;
		}
		if (rc <= 0)
			break;
		if (n->tx_kicks) {
			rc = vq_set_notify(vq, &n->mem, false);
			n->tx_kicks = false;
			if (rc < 0)
				break;
		}
		tx_frame(n, &n->tx_elem);
		rc = vq_push(vq, &n->mem, &n->tx_elem, 0);
		if (rc < 0)
			break;
		done++;
	}
	if (rc < 0)
		queue_broken(n, NET_TXQ, rc);
	else if (done == NET_BUDGET)
		n->tx_more = true;
	if (done)
		virtio_pci_notify_used(n->t, NET_TXQ);
}

/* ---- receive ---- */

/* The backend's header asks only for what the guest negotiated (the tap
 * follows TUNSETOFFLOAD, but frames queued before a renegotiation may
 * not). */
static bool rx_hdr_acceptable(struct virtio_net *n, uint8_t *hdr)
{
	uint64_t f = n->features;
	uint8_t gso = hdr[HDR_GSO_TYPE], type = gso & (uint8_t)~GSO_ECN;

	hdr[HDR_FLAGS] &= HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID;
	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM))) {
		if (hdr[HDR_FLAGS] & HDR_F_NEEDS_CSUM)
			return false;
		hdr[HDR_FLAGS] = 0;	/* spec 5.1.6.4.1: DATA_VALID needs GUEST_CSUM */
	}
	if ((gso & GSO_ECN) && (type == GSO_NONE || !(f & BIT(VIRTIO_NET_F_GUEST_ECN))))
		return false;
	switch (type) {
	case GSO_NONE:
		return true;
	case GSO_TCPV4:
		return f & BIT(VIRTIO_NET_F_GUEST_TSO4);
	case GSO_TCPV6:
		return f & BIT(VIRTIO_NET_F_GUEST_TSO6);
	default:
		return false;		/* UDP fragmentation/segmentation: not offered */
	}
}

static void backend_gone(struct virtio_net *n, ssize_t rc)
{
	n->be_dead = true;
	log_error_once(&n->be_once, "virtio-net: %s: the backend stopped delivering frames (%s)",
		       netbe_name(n->be), rc ? strerror((int)-rc) : "end of file");
}

/* One frame from the backend into the bounce buffer, header first. */
static enum rx_read rx_read(struct virtio_net *n)
{
	size_t off = netbe_has_vnet_hdr(n->be) ? 0 : NET_HDR_LEN;
	ssize_t len = netbe_recv(n->be, n->rx_pkt + off, NET_RX_BUF_LEN - off);
	size_t total;

	if (len == -EAGAIN)
		return RD_NONE;
	if (len <= 0) {
		backend_gone(n, len);
		return RD_NONE;
	}
	total = off + (size_t)len;
	if (total >= NET_RX_BUF_LEN || total < NET_HDR_LEN + NET_ETH_HLEN) {
		stat_add(n, S_RX_ERRORS, 1);
		log_error_once(&n->be_bad_once, "virtio-net: %s: dropping a frame of %zd bytes "
			       "from the backend (too %s)", netbe_name(n->be), len,
			       total < NET_RX_BUF_LEN ? "short" : "long");
		return RD_SKIPPED;
	}
	if (off)
		memset(n->rx_pkt, 0, NET_HDR_LEN);
	else if (!rx_hdr_acceptable(n, n->rx_pkt)) {
		stat_add(n, S_RX_DROPPED, 1);
		log_error_once(&n->rx_off_once, "virtio-net: %s: dropping a frame with offloads "
			       "the guest did not accept", netbe_name(n->be));
		return RD_SKIPPED;
	}
	n->rx_len = total;
	return RD_FRAME;
}

/* Room for one more popped element, allocated on first use (most guests
 * need a few; a 64 KiB frame in 1.5 KiB buffers needs about 45). */
static struct vq_elem *rx_slot(struct virtio_net *n)
{
	struct vq_elem **e = &n->rx_pool[n->rx_held];

	if (!*e)
		*e = malloc(sizeof(**e));
	return *e;
}

/* Returns a buffer the driver got wrong, unused. */
static int rx_reject(struct virtio_net *n, struct virtqueue *vq, struct vq_elem *e,
		     bool *pushed)
{
	stat_add(n, S_RX_ERRORS, 1);
	log_error_once(&n->rx_bad_once, "virtio-net: %s: the guest posted a receive buffer "
		       "of %llu bytes, too small for a header", netbe_name(n->be),
		       (unsigned long long)e->in_len);
	*pushed = true;
	return vq_push(vq, &n->mem, e, 0);
}

static bool rx_have_room(const struct virtio_net *n, uint64_t need)
{
	return n->mrg_rxbuf ? n->rx_held_bytes >= need : n->rx_held > 0;
}

/* Pops receive buffers until those held can take `need` bytes: any
 * number of them with MRG_RXBUF, else the first must take it all.  Out of
 * buffers, kicks are asked for and the ring looked at once more. */
static enum rx_status rx_gather(struct virtio_net *n, uint64_t need, bool *pushed)
{
	struct virtqueue *vq = virtio_pci_queue(n->t, NET_RXQ);
	int rc = 0;

	while (!rx_have_room(n, need) && n->rx_held < NET_QUEUE_SIZE) {
		struct vq_elem *e = rx_slot(n);

		if (!e)
			break;		/* out of memory: the frame will be dropped */
		rc = vq_pop(vq, &n->mem, e);
		if (rc == 0) {
			if (n->rx_kicks)
				return RX_NO_BUFFERS;
			rc = vq_set_notify(vq, &n->mem, true);
			n->rx_kicks = true;
			if (rc == 0)
				continue;
		}
		if (rc < 0)
			break;
		if (e->in_len < NET_HDR_LEN) {
			rc = rx_reject(n, vq, e, pushed);
			if (rc < 0)
				break;
			continue;
		}
		n->rx_held++;
		n->rx_held_bytes += e->in_len;
	}
	if (rc >= 0 && n->rx_kicks && n->rx_held) {
		rc = vq_set_notify(vq, &n->mem, false);	/* buffers at hand */
		n->rx_kicks = false;
	}
	if (rc < 0) {
		queue_broken(n, NET_RXQ, rc);
		return RX_BROKEN;
	}
	return RX_OK;
}

/* How many held buffers the frame takes, 0 if they cannot hold it. */
static unsigned rx_buffers_for(const struct virtio_net *n, uint64_t need)
{
	uint64_t have = 0;

	if (!n->mrg_rxbuf)
		return n->rx_held && n->rx_pool[0]->in_len >= need;
	for (unsigned i = 0; i < n->rx_held; i++) {
		have += n->rx_pool[i]->in_len;
		if (have >= need)
			return i + 1;
	}
	return 0;
}

/* Copies up to len bytes into e's writable segments; returns how many. */
static uint32_t elem_fill(const struct vq_elem *e, const uint8_t *src, size_t len)
{
	uint32_t done = 0;

	for (unsigned i = e->out_num; i < (unsigned)e->out_num + e->in_num && len; i++) {
		size_t k = e->iov[i].iov_len < len ? e->iov[i].iov_len : len;

		memcpy(e->iov[i].iov_base, src, k);
		src += k;
		len -= k;
		done += (uint32_t)k;
	}
	return done;
}

/* The first k held buffers were used: the others move to the front. */
static void rx_release(struct virtio_net *n, unsigned k)
{
	struct vq_elem *used[NET_QUEUE_SIZE];

	for (unsigned i = 0; i < k; i++)
		n->rx_held_bytes -= n->rx_pool[i]->in_len;
	memcpy(used, n->rx_pool, k * sizeof(used[0]));
	memmove(n->rx_pool, n->rx_pool + k, (n->rx_held - k) * sizeof(used[0]));
	memcpy(n->rx_pool + n->rx_held - k, used, k * sizeof(used[0]));
	n->rx_held -= k;
}

/* Copies the waiting frame into k buffers and hands them over together. */
static int rx_publish(struct virtio_net *n, unsigned k)
{
	struct virtqueue *vq = virtio_pci_queue(n->t, NET_RXQ);
	const uint8_t *src = n->rx_pkt;
	size_t left = n->rx_len;
	uint32_t written[NET_QUEUE_SIZE];
	int rc = 0;

	put_le16(n->rx_pkt + HDR_NUM_BUFFERS, (uint16_t)k);
	for (unsigned i = 0; i < k; i++) {
		written[i] = elem_fill(n->rx_pool[i], src, left);
		src += written[i];
		left -= written[i];
	}
	/* The driver reads num_buffers from the first and expects the rest
	 * to be there already: all k become visible at once. */
	rc = vq_push_batch(vq, &n->mem, n->rx_pool, written, k);
	rx_release(n, k);
	return rc;
}

/* Delivers the frame in the bounce buffer, or drops it when the guest's
 * buffers cannot hold it. */
static enum rx_status rx_deliver(struct virtio_net *n, bool *pushed)
{
	enum rx_status s = rx_gather(n, n->rx_len, pushed);
	unsigned k;
	int rc;

	if (s != RX_OK)
		return s;
	k = rx_buffers_for(n, n->rx_len);
	if (!k) {
		stat_add(n, S_RX_DROPPED, 1);	/* buffers stay held for the next one */
		log_error_once(&n->rx_bad_once, "virtio-net: %s: a frame of %zu bytes does not "
			       "fit the guest's receive buffers; dropped", netbe_name(n->be),
			       n->rx_len - NET_HDR_LEN);
		n->rx_len = 0;
		return RX_OK;
	}
	rc = rx_publish(n, k);
	*pushed = true;
	if (rc < 0) {
		queue_broken(n, NET_RXQ, rc);
		return RX_BROKEN;
	}
	stat_add(n, S_RX_PACKETS, 1);
	stat_add(n, S_RX_BYTES, n->rx_len - NET_HDR_LEN);
	n->rx_len = 0;
	return RX_OK;
}

/* Up to NET_BUDGET frames from the backend to the guest. */
static void rx_run(struct virtio_net *n)
{
	bool pushed = false;

	for (unsigned done = 0; done < NET_BUDGET; done++) {
		enum rx_status s;

		if (!n->rx_len) {
			enum rx_read r = rx_read(n);

			if (r == RD_NONE)
				break;
			if (r == RD_SKIPPED)
				continue;
		}
		s = rx_deliver(n, &pushed);
		if (s == RX_NO_BUFFERS)
			n->rx_wait = true;
		if (s != RX_OK)
			break;
	}
	if (pushed)
		virtio_pci_notify_used(n->t, NET_RXQ);
}

/* ---- the I/O thread ---- */

/* Back to the state after a reset: what was held belongs to a queue the
 * transport is about to clear. */
static void quiesce(struct virtio_net *n)
{
	if (n->rx_len)
		stat_add(n, S_RX_DROPPED, 1);
	n->rx_len = 0;
	n->rx_held = 0;
	n->rx_held_bytes = 0;
	n->q_live[NET_RXQ] = n->q_live[NET_TXQ] = false;
	n->broken[NET_RXQ] = n->broken[NET_TXQ] = false;
	n->rx_wait = n->tx_more = false;
}

/* The first kick after a reset: the features are final (a queue can only
 * be enabled after FEATURES_OK) and the rings start with kicks on. */
static void go_live(struct virtio_net *n)
{
	n->features = virtio_pci_features(n->t);
	n->mrg_rxbuf = n->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	/* On after a reset; as saved after a restore. */
	n->rx_kicks = !virtio_pci_queue(n->t, NET_RXQ)->no_notify;
	n->tx_kicks = !virtio_pci_queue(n->t, NET_TXQ)->no_notify;
}

/* A kick proves its queue enabled: only then does the thread touch it. */
static void take_kicks(struct virtio_net *n, unsigned kicked)
{
	if (!kicked)
		return;
	if (!n->q_live[NET_RXQ] && !n->q_live[NET_TXQ])
		go_live(n);
	if (kicked & (1u << NET_RXQ)) {
		n->q_live[NET_RXQ] = true;
		n->rx_wait = false;	/* buffers posted: read the backend again */
	}
	if (kicked & (1u << NET_TXQ))
		n->q_live[NET_TXQ] = true;
}

/* Stop, reset and kick requests; *drain_seq gets the drain requests seen
 * so far, answered once the thread finds nothing to do. */
static enum ctl control(struct virtio_net *n, uint64_t *drain_seq)
{
	unsigned kicked = 0;
	enum ctl c;

	pthread_mutex_lock(&n->lock);
	if (n->state == NET_PAUSE_REQ) {
		quiesce(n);
		n->state = NET_PAUSED;
		n->kicked = 0;
		pthread_cond_broadcast(&n->cond);
	}
	if (n->hold) {
		n->held = true;
		pthread_cond_broadcast(&n->cond);
		while (n->hold && !n->stop)
			pthread_cond_wait(&n->cond, &n->lock);
		n->held = false;
	}
	c = n->stop ? CTL_STOP : n->state == NET_RUN ? CTL_RUN : CTL_PAUSED;
	if (c == CTL_RUN) {
		kicked = n->kicked;
		n->kicked = 0;
	}
	*drain_seq = n->drain_seq;
	pthread_mutex_unlock(&n->lock);
	take_kicks(n, kicked);
	return c;
}

static void idle(struct virtio_net *n, uint64_t drain_seq)
{
	pthread_mutex_lock(&n->lock);
	if (n->drain_done < drain_seq) {
		n->drain_done = drain_seq;
		pthread_cond_broadcast(&n->cond);
	}
	pthread_mutex_unlock(&n->lock);
}

/* The backend is read only while the guest can take frames. */
static bool rx_open(const struct virtio_net *n)
{
	return n->q_live[NET_RXQ] && !n->broken[NET_RXQ] && !n->rx_wait && !n->be_dead;
}

static nfds_t poll_setup(const struct virtio_net *n, struct pollfd *p)
{
	p[0] = (struct pollfd){ .fd = n->kick_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = n->ctl_fd, .events = POLLIN };
	if (!rx_open(n))
		return 2;
	p[2] = (struct pollfd){ .fd = netbe_fd(n->be), .events = POLLIN };
	return 3;
}

/* Waits for work: returns the poll() result with p[] filled in. */
static int wait_for_work(struct virtio_net *n, struct pollfd *p, nfds_t *np,
			 uint64_t drain_seq)
{
	int r;

	*np = poll_setup(n, p);
	r = poll(p, *np, 0);
	if (r == 0 && !n->tx_more) {
		idle(n, drain_seq);
		r = poll(p, *np, -1);
	}
	if (r < 0 && errno != EINTR) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		log_error_once(&n->poll_once, "virtio-net: %s: poll: %s", netbe_name(n->be),
			       strerror(errno));
		nanosleep(&ts, NULL);	/* keep going, but do not spin */
	}
	return r;
}

static void *io_thread(void *arg)
{
	struct virtio_net *n = arg;
	uint64_t drain_seq = 0;
	struct pollfd p[3];
	nfds_t np;

	for (;;) {
		int r = wait_for_work(n, p, &np, drain_seq);
		bool backend_ready = r > 0 && np == 3 && p[2].revents;
		enum ctl c;

		if (r > 0 && (p[0].revents & POLLIN))
			drain_eventfd(n, n->kick_fd);
		if (r > 0 && (p[1].revents & POLLIN))
			drain_eventfd(n, n->ctl_fd);
		c = control(n, &drain_seq);
		if (c == CTL_STOP)
			break;
		if (c == CTL_PAUSED)
			continue;
		if (n->q_live[NET_TXQ] && !n->broken[NET_TXQ])
			tx_run(n);
		if (rx_open(n) && (backend_ready || n->rx_len))
			rx_run(n);
	}
	return NULL;
}

/* ---- the transport's callbacks ---- */

static void net_queue_notify(void *dev, unsigned q)
{
	struct virtio_net *n = dev;

	if (q > NET_TXQ)
		return;
	pthread_mutex_lock(&n->lock);
	if (n->state == NET_PAUSED)
		n->state = NET_RUN;	/* the driver is back after a reset */
	/* During NET_PAUSE_REQ a kick can only be one that raced the reset. */
	if (n->state == NET_RUN)
		n->kicked |= 1u << q;
	pthread_mutex_unlock(&n->lock);
	wake(n, n->kick_fd);
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	pthread_mutex_lock(&n->lock);
	if (n->state == NET_RUN)
		n->state = NET_PAUSE_REQ;
	wake(n, n->ctl_fd);
	while (n->state == NET_PAUSE_REQ && !n->stop)
		pthread_cond_wait(&n->cond, &n->lock);
	pthread_mutex_unlock(&n->lock);
}

/* Spec 5.1.3.1: what each feature depends on. */
static bool features_consistent(uint64_t f)
{
	static const struct { unsigned bit; uint64_t needs; } deps[] = {
		{ VIRTIO_NET_F_GUEST_TSO4, BIT(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_TSO6, BIT(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_ECN, BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) },
		{ VIRTIO_NET_F_HOST_TSO4, BIT(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_TSO6, BIT(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_ECN, BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) },
	};

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		if ((f & BIT(deps[i].bit)) && !(f & deps[i].needs))
			return false;
	return true;
}

/* Called with the transport lock held (nothing here takes n->lock): the
 * backend hands the guest only the offloads it accepted. */
static int net_features_ok(void *dev, uint64_t f)
{
	struct virtio_net *n = dev;
	unsigned off = 0;
	int rc;

	if (!features_consistent(f))
		return -EINVAL;
	if (f & BIT(VIRTIO_NET_F_GUEST_CSUM))
		off |= NETBE_OFF_CSUM;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		off |= NETBE_OFF_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		off |= NETBE_OFF_TSO6;
	if (f & BIT(VIRTIO_NET_F_GUEST_ECN))
		off |= NETBE_OFF_TSO_ECN;
	rc = netbe_set_offloads(n->be, off);
	if (rc)
		log_error_once(&n->offload_once, "virtio-net: %s: setting the backend's "
			       "offloads: %s", netbe_name(n->be), strerror(-rc));
	return rc;
}

static void net_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
	struct virtio_net *n = dev;

	memcpy(buf, n->config + off, len);
}

static void net_config_write(void *dev, unsigned off, const void *buf, unsigned len)
{
	/* The MAC is writable only with CTRL_MAC_ADDR, not offered. */
}

/* ---- configuration ---- */

static const char *const net_vars[] = { "device", "backend", "mac", "mtu" };

/* bhyve's net_parsemac(): six hex bytes separated by ':', neither a
 * multicast nor the zero address. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	static const uint8_t zero[6];

	for (int i = 0; i < 6; i++) {
		unsigned v = 0, digits = 0;

		for (; digits < 2 && isxdigit((unsigned char)*s); digits++, s++)
			v = v * 16 + (unsigned)(isdigit((unsigned char)*s) ? *s - '0' :
						tolower((unsigned char)*s) - 'a' + 10);
		if (!digits || (i < 5 && *s != ':'))
			return -EINVAL;
		if (i < 5)
			s++;
		mac[i] = (uint8_t)v;
	}
	if (*s || (mac[0] & 1) || !memcmp(mac, zero, 6))
		return -EINVAL;
	return 0;
}

/* bhyve's net_parsemtu() and range. */
static int parse_mtu(const char *s, uint16_t *mtu)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < NET_MIN_MTU || v > NET_MAX_MTU)
		return -EINVAL;
	*mtu = (uint16_t)v;
	return 0;
}

/* bhyve's net_genmac(): MD5 of "slot-func-vmname" behind the FreeBSD
 * Foundation's OUI 58:9c:fc, so a VM keeps its MAC moving between the
 * two.  bhyve formats into 80 bytes; so does this. */
static void gen_mac(unsigned slot, unsigned func, const char *vmname, uint8_t mac[6])
{
	uint8_t d[MD5_DIGEST_LENGTH];
	char nstr[80];
	MD5_CTX ctx;

	snprintf(nstr, sizeof(nstr), "%u-%u-%s", slot, func, vmname ? vmname : "");
	MD5Init(&ctx);
	MD5Update(&ctx, (const uint8_t *)nstr, strlen(nstr));
	MD5Final(d, &ctx);
	mac[0] = 0x58;
	mac[1] = 0x9c;
	mac[2] = 0xfc;
	memcpy(mac + 3, d, 3);
}

struct errbuf {
	char *buf;
	size_t len;
};

#define TAPFD_PREFIX	"tapfd:"

static int check_var(void *opaque, const char *name, const char *value,
		     struct config_node *child)
{
	struct errbuf *err = opaque;

	for (size_t i = 0; i < sizeof(net_vars) / sizeof(net_vars[0]); i++)
		if (!strcmp(name, net_vars[i]) && !child)
			return 0;
	snprintf(err->buf, err->len, "unknown option \"%s\" (virtio-net takes TAP, tapfd=, mac=, "
		 "mtu=)", name);
	return -EINVAL;
}

/* bhyve's other backends, named so their users learn why they fail. */
static bool foreign_backend(const char *b)
{
	return !strcmp(b, "slirp") || !strcmp(b, "netgraph") || !strncmp(b, "netmap:", 7) ||
	       (!strncmp(b, "vale", 4) && strchr(b, ':'));
}

/* Checks the node's variables; fills p (MAC still unset when not given).
 * why gets "what: reason" without the node. */
static int parse_node(struct config *cfg, const char *node, bool need_backend,
		      struct net_params *p, bool *has_mac, char *why, size_t len)
{
	struct config_node *cn = config_find_node(cfg, node);
	struct errbuf eb = { why, len };
	const char *mac, *mtu;
	char var[256];
	int rc;

	snprintf(var, sizeof(var), "%s.backend", node);
	p->backend = config_get(cfg, var);
	/* First, as their options would read as unknown ones. */
	if (p->backend && foreign_backend(p->backend)) {
		snprintf(why, len, "backend \"%s\" is not available in khyve (only taps)",
			 p->backend);
		return -ENOTSUP;
	}
	rc = cn ? config_node_foreach(cfg, cn, check_var, &eb) : 0;
	if (rc)
		return rc;
	if (need_backend && (!p->backend || !*p->backend)) {
		snprintf(why, len, "no backend (-s SLOT,virtio-net,TAPNAME)");
		return -EINVAL;
	}
	snprintf(var, sizeof(var), "%s.mac", node);
	mac = config_get(cfg, var);
	*has_mac = mac != NULL;
	if (mac && parse_mac(mac, p->mac)) {
		snprintf(why, len, "invalid MAC address \"%s\" (want xx:xx:xx:xx:xx:xx, not "
			 "multicast, not zero)", mac);
		return -EINVAL;
	}
	snprintf(var, sizeof(var), "%s.mtu", node);
	mtu = config_get(cfg, var);
	p->has_mtu = mtu != NULL;
	p->mtu = NET_DEFAULT_MTU;
	if (mtu && parse_mtu(mtu, &p->mtu)) {
		snprintf(why, len, "invalid MTU \"%s\" (want %d to %d)", mtu, NET_MIN_MTU,
			 NET_MAX_MTU);
		return -EINVAL;
	}
	return 0;
}

/* One "-s" item: the first without '=' (or tap=NAME) is the backend. */
static int legacy_item(struct config *cfg, const char *node, char *tok, bool *have_backend,
		       char *err, size_t errlen)
{
	char *eq = strchr(tok, '='), var[256], fdspec[32];
	const char *key = "backend", *val = tok;
	int rc;

	if (eq) {
		*eq = '\0';
		key = tok;
		val = eq + 1;
		if (!strcmp(key, "tap"))
			key = "backend";
		if (!strcmp(key, "tapfd")) {
			snprintf(fdspec, sizeof(fdspec), "%s%.16s", TAPFD_PREFIX, val);
			key = "backend";
			val = fdspec;
		}
	} else if (*have_backend) {
		snprintf(err, errlen, "virtio-net: unknown option \"%s\" (virtio-net takes TAP, "
			 "tapfd=, mac=, mtu=)", tok);
		return -EINVAL;
	}
	if (!strcmp(key, "backend")) {
		if (*have_backend) {
			snprintf(err, errlen, "virtio-net: more than one backend (\"%s\")", val);
			return -EINVAL;
		}
		*have_backend = true;
	}
	snprintf(var, sizeof(var), "%s.%s", node, key);
	rc = config_set(cfg, var, val);
	if (rc)
		snprintf(err, errlen, "virtio-net: %s: %s", var, strerror(-rc));
	return rc;
}

/* bhyve's legacy form: "TAP[,mac=MAC][,mtu=N]" into backend, mac, mtu,
 * checked here so bad options fail while the command line is parsed. */
static int net_legacy_config(struct config *cfg, const char *node, const char *opts,
			     char *err, size_t errlen)
{
	char *copy = strdup(opts ? opts : ""), *next, why[256];
	bool have_backend = false, has_mac;
	struct net_params p;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (char *tok = copy; tok && !rc; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (*tok)
			rc = legacy_item(cfg, node, tok, &have_backend, err, errlen);
	}
	free(copy);
	if (!rc) {
		rc = parse_node(cfg, node, true, &p, &has_mac, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "virtio-net: %s", why);
	}
	return rc;
}

static uint64_t net_features(const struct netbe *be, bool mtu)
{
	unsigned caps = netbe_offload_caps(be);
	uint64_t f = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
		     BIT(VIRTIO_NET_F_MRG_RXBUF);

	if (mtu)
		f |= BIT(VIRTIO_NET_F_MTU);
	/* A tap with a vnet header takes checksum and TSO requests as is. */
	if (netbe_has_vnet_hdr(be))
		f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
		     BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN);
	if (caps & NETBE_OFF_CSUM) {
		f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
		if (caps & NETBE_OFF_TSO4)
			f |= BIT(VIRTIO_NET_F_GUEST_TSO4);
		if (caps & NETBE_OFF_TSO6)
			f |= BIT(VIRTIO_NET_F_GUEST_TSO6);
		if ((caps & NETBE_OFF_TSO_ECN) && (caps & (NETBE_OFF_TSO4 | NETBE_OFF_TSO6)))
			f |= BIT(VIRTIO_NET_F_GUEST_ECN);
	}
	return f;
}

static const struct virtio_dev_ops net_ops_template = {
	.name = "virtio-net",
	.type = VIRTIO_ID_NET,
	.pci_class = 0x02,		/* network controller */
	.pci_subclass = 0x00,		/* Ethernet */
	.nqueues = 2,
	.queue_max_size = NET_QUEUE_SIZE,
	.config_len = CFG_LEN,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.features_ok = net_features_ok,
};

static void net_free(struct virtio_net *n)
{
	if (n->thread_started) {
		pthread_mutex_lock(&n->lock);
		n->stop = true;
		pthread_cond_broadcast(&n->cond);
		pthread_mutex_unlock(&n->lock);
		wake(n, n->ctl_fd);
		pthread_join(n->thread, NULL);
	}
	for (unsigned i = 0; i < NET_QUEUE_SIZE; i++)
		free(n->rx_pool[i]);
	free(n->rx_pkt);
	if (n->kick_fd >= 0)
		close(n->kick_fd);
	if (n->ctl_fd >= 0)
		close(n->ctl_fd);
	netbe_close(n->be);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
}

static void build_config(struct virtio_net *n, const struct net_params *p)
{
	memcpy(n->config + CFG_MAC, p->mac, 6);
	put_le16(n->config + CFG_STATUS, VIRTIO_NET_S_LINK_UP);	/* always up, as bhyve */
	put_le16(n->config + CFG_MAX_PAIRS, 1);
	put_le16(n->config + CFG_MTU, p->mtu);
}

static struct virtio_net *net_alloc(struct netbe *be)
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n) {
		netbe_close(be);
		return NULL;
	}
	n->be = be;
	n->state = NET_PAUSED;		/* nothing to touch before the first kick */
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	n->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->rx_pkt = malloc(NET_RX_BUF_LEN);
	if (n->kick_fd < 0 || n->ctl_fd < 0 || !n->rx_pkt) {
		net_free(n);
		return NULL;
	}
	return n;
}

/* The card from checked parameters and an open backend (taken over). */
static int net_create(struct pci_dev *dev, struct config *cfg, const char *node,
		      const struct net_params *p, struct netbe *be, char *err, size_t errlen)
{
	struct virtio_net *n = net_alloc(be);
	int rc;

	if (!n) {
		snprintf(err, errlen, "%s: virtio-net: %s", node, strerror(ENOMEM));
		return -ENOMEM;
	}
	build_config(n, p);
	n->mac_derived = p->mac_derived;
	n->ops = net_ops_template;
	n->ops.features = net_features(be, p->has_mtu);
	rc = virtio_pci_attach(dev, cfg, node, &n->ops, n, &n->t, err, errlen);
	if (!rc) {
		n->mem = *virtio_pci_vq_mem(n->t);
		rc = -pthread_create(&n->thread, NULL, io_thread, n);
		n->thread_started = !rc;
		if (rc) {
			snprintf(err, errlen, "%s: virtio-net: starting the I/O thread: %s", node,
				 strerror(-rc));
			virtio_pci_destroy(n->t);
			dev->priv = NULL;
		}
	}
	if (rc)
		net_free(n);
	return rc;
}

static int net_params_of(struct pci_dev *dev, struct config *cfg, const char *node,
			 bool need_backend, struct net_params *p, char *err, size_t errlen)
{
	char why[384];
	bool has_mac;
	int rc = parse_node(cfg, node, need_backend, p, &has_mac, why, sizeof(why));

	if (rc) {
		snprintf(err, errlen, "%s: virtio-net: %s", node, why);
		return rc;
	}
	p->mac_derived = !has_mac;
	if (!has_mac)
		gen_mac(dev->slot, dev->func, config_get(cfg, "name"), p->mac);
	return 0;
}

static int net_init(struct pci_dev *dev, struct config *cfg, const char *node,
		    char *err, size_t errlen)
{
	struct net_params p;
	struct netbe *be;
	char why[384];
	int rc = net_params_of(dev, cfg, node, true, &p, err, errlen);

	if (rc)
		return rc;
	if (!strncmp(p.backend, TAPFD_PREFIX, strlen(TAPFD_PREFIX)))
		rc = netbe_tap_adopt(p.backend + strlen(TAPFD_PREFIX), &be, why, sizeof(why));
	else
		rc = netbe_tap_open(p.backend, &be, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: virtio-net: %s", node, why);
		return rc;
	}
	return net_create(dev, cfg, node, &p, be, err, errlen);
}

int virtio_net_init_backend(struct pci_dev *dev, struct config *cfg, const char *node,
			    struct netbe *be, char *err, size_t errlen)
{
	struct net_params p;
	int rc = net_params_of(dev, cfg, node, false, &p, err, errlen);

	if (rc) {
		netbe_close(be);
		return rc;
	}
	return net_create(dev, cfg, node, &p, be, err, errlen);
}

static void net_destroy(struct pci_dev *dev)
{
	struct virtio_pci *t = dev->priv;
	struct virtio_net *n = t ? virtio_pci_device(t) : NULL;

	if (n)
		net_free(n);	/* the I/O thread stops before the transport goes */
	virtio_pci_destroy(t);
}

static struct virtio_net *net_of(struct pci_dev *dev)
{
	struct virtio_pci *t = dev->priv;

	if (dev->emu != &virtio_net_emu || !t)
		return NULL;
	return virtio_pci_device(t);
}

int virtio_net_stats(struct pci_dev *dev, struct virtio_net_stats *out)
{
	struct virtio_net *n = net_of(dev);
	uint64_t v[S_COUNT];

	if (!n)
		return -ENODEV;
	for (unsigned i = 0; i < S_COUNT; i++)
		v[i] = atomic_load_explicit(&n->stat[i], memory_order_relaxed);
	*out = (struct virtio_net_stats){
		.rx_packets = v[S_RX_PACKETS], .rx_bytes = v[S_RX_BYTES],
		.rx_errors = v[S_RX_ERRORS], .rx_dropped = v[S_RX_DROPPED],
		.tx_packets = v[S_TX_PACKETS], .tx_bytes = v[S_TX_BYTES],
		.tx_errors = v[S_TX_ERRORS], .tx_dropped = v[S_TX_DROPPED],
	};
	return 0;
}

int virtio_net_drain(struct pci_dev *dev)
{
	struct virtio_net *n = net_of(dev);
	uint64_t want;

	if (!n)
		return -ENODEV;
	pthread_mutex_lock(&n->lock);
	want = ++n->drain_seq;
	wake(n, n->ctl_fd);
	while (n->drain_done < want && !n->stop)
		pthread_cond_wait(&n->cond, &n->lock);
	pthread_mutex_unlock(&n->lock);
	return 0;
}

/* ---- checkpoint ---- */

/* The thread parks in control(), between frames: no transmit is half
 * done; receive buffers it holds for a frame are given back in the
 * saved copy of the queue (the frame is lost, as on a wire). */
static void net_pause(struct pci_dev *dev)
{
	struct virtio_net *n = net_of(dev);

	pthread_mutex_lock(&n->lock);
	n->hold = true;
	wake(n, n->ctl_fd);
	while (!n->held && !n->stop)
		pthread_cond_wait(&n->cond, &n->lock);
	pthread_mutex_unlock(&n->lock);
}

static void net_resume(struct pci_dev *dev)
{
	struct virtio_net *n = net_of(dev);

	pthread_mutex_lock(&n->lock);
	n->hold = false;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

static void net_save(struct pci_dev *dev, struct snap_writer *w)
{
	struct virtio_net *n = net_of(dev);
	struct virtio_pci_state *s = malloc(sizeof(*s));

	if (!s) {
		w->err = w->err ? w->err : -ENOMEM;
		return;
	}
	virtio_pci_save(n->t, s);
	for (unsigned i = n->rx_held; i-- > 0;)
		vq_unpop(&s->q[NET_RXQ].vq, n->rx_pool[i]);
	virtio_pci_put_state(n->t, s, w);
	snap_put(w, n->config, sizeof(n->config));
	free(s);
}

static int net_restore(struct pci_dev *dev, struct snap_cursor *c, char *err, size_t errlen)
{
	struct virtio_net *n = net_of(dev);
	uint8_t config[CFG_LEN];
	int rc = virtio_pci_get(n->t, c);

	if (rc) {
		snprintf(err, errlen, "virtio-net %s: its saved transport state is %s",
			 netbe_name(n->be), rc == -EFAULT ? "outside guest memory" :
			 "inconsistent with this backend's offloads");
		return -EPROTO;
	}
	snap_get(c, config, sizeof(config));
	/* Restored under another VM name, a derived MAC would change under
	 * the guest's feet: the card keeps the one the guest knows. */
	if (!c->bad && n->mac_derived)
		memcpy(n->config + CFG_MAC, config + CFG_MAC, 6);
	if (c->bad) {
		snprintf(err, errlen, "virtio-net %s: its saved state is too short",
			 netbe_name(n->be));
		return -EPROTO;
	}
	if (memcmp(config, n->config, sizeof(config))) {
		snprintf(err, errlen, "virtio-net %s: the %s differs from the checkpoint's",
			 netbe_name(n->be), memcmp(config, n->config, 6) ? "MAC address" : "MTU");
		return -EPROTO;
	}
	/* The thread takes up the queues the driver had enabled, as if
	 * kicked on each. */
	pthread_mutex_lock(&n->lock);
	if (n->state == NET_PAUSED)
		n->state = NET_RUN;
	for (unsigned q = NET_RXQ; q <= NET_TXQ; q++)
		if (virtio_pci_queue(n->t, q)->ready)
			n->kicked |= 1u << q;
	pthread_mutex_unlock(&n->lock);
	wake(n, n->kick_fd);
	return 0;
}

const struct pci_devemu virtio_net_emu = {
	.name = "virtio-net",
	.help = "virtio network card on a tap (TAP|tapfd=N[,mac=xx:xx:xx:xx:xx:xx][,mtu=N])",
	.legacy_config = net_legacy_config,
	.init = net_init,
	.destroy = net_destroy,
	.cfg_read = virtio_pci_cfg_read,
	.cfg_write = virtio_pci_cfg_write,
	.cfg_written = virtio_pci_cfg_written,
	.save = net_save,
	.restore = net_restore,
	.pause = net_pause,
	.resume = net_resume,
};
