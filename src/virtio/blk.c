/* virtio-blk (virtio device id 2, spec 5.2) on a blockif backend:
 * -s N,virtio-blk,PATH[,ro][,nocache][,direct][,sync][,nodelete]
 *   [,sectorsize=L[/P]][,ser=ID]  as in bhyve.
 *
 * The data path runs on one I/O thread per disk: a vCPU's queue notify
 * only writes an eventfd; the thread pops requests, hands them to the
 * backend (io_uring or worker threads), reaps completions, pushes them
 * and interrupts the guest.  So a slow disk never stalls a vCPU, and the
 * thread is the only one that touches the queue.
 *
 * Every request is checked before use: header and status sizes, sector
 * ranges (the backend checks them against the disk), segment counts of
 * discard/write-zeroes; a bad request completes with IOERR/UNSUPP, a
 * broken queue sets DEVICE_NEEDS_RESET. */
#include "virtio/blk.h"

#include <errno.h>
#include <md5.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/log.h"
#include "snapshot/snapfile.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"

#define BLK_QUEUE_SIZE		256
#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)	/* as QEMU: header + status */
#define BLK_ID_BYTES		20
#define BLK_MAX_DZ_SECTORS	(1u << 22)		/* 2 GiB per discard/zeroes */
#define SECTOR			512u

/* Feature bits (spec 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

/* Request types and status. */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2
#define VIRTIO_BLK_WZ_UNMAP		1u

/* struct virtio_blk_config, up to write_zeroes_may_unmap. */
enum {
	CFG_CAPACITY = 0, CFG_SIZE_MAX = 8, CFG_SEG_MAX = 12, CFG_BLK_SIZE = 20,
	CFG_PHYS_EXP = 24, CFG_ALIGN_OFF = 25, CFG_MIN_IO = 26, CFG_OPT_IO = 28,
	CFG_MAX_DISCARD = 36, CFG_MAX_DISCARD_SEG = 40, CFG_DISCARD_ALIGN = 44,
	CFG_MAX_WZ = 48, CFG_MAX_WZ_SEG = 52, CFG_WZ_UNMAP = 56, CFG_LEN = 60,
};

struct virtio_blk;

struct blk_req {
	struct virtio_blk *blk;
	struct blk_req *next_free;
	uint8_t *status;
	uint32_t type;
	uint32_t written;		/* bytes the guest gets back, with status */
	struct blockif_req br;
	struct vq_elem elem;		/* large: requests are pooled */
};

struct virtio_blk {
	struct virtio_pci *t;
	struct virtio_dev_ops ops;	/* features depend on the backend */
	struct blockif *bif;
	const char *path;
	char ident[BLK_ID_BYTES];
	bool ident_derived;		/* no ser=: from the path */
	uint8_t config[CFG_LEN];
	int kick_fd;
	pthread_t thread;
	bool thread_started;
	/* Control from other threads (reset, destroy). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, pause_req, paused;
	bool hold, held;		/* checkpoint: idle with nothing in flight */
	/* I/O thread only. */
	struct blk_req *free_reqs;
	unsigned nreqs;
	bool queue_broken;
	int broken_once, bad_req_once, io_err_once;
};

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) { put_le16(p, (uint16_t)v); put_le16(p + 2, (uint16_t)(v >> 16)); }
static void put_le64(uint8_t *p, uint64_t v) { put_le32(p, (uint32_t)v); put_le32(p + 4, (uint32_t)(v >> 32)); }
static uint32_t get_le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get_le64(const uint8_t *p) { return get_le32(p) | (uint64_t)get_le32(p + 4) << 32; }

/* ---- requests ---- */

static struct blk_req *req_get(struct virtio_blk *b)
{
	struct blk_req *r = b->free_reqs;

	if (r) {
		b->free_reqs = r->next_free;
		return r;
	}
	if (b->nreqs >= BLK_QUEUE_SIZE)
		return NULL;
	r = malloc(sizeof(*r));
	if (r) {
		r->blk = b;
		b->nreqs++;
	}
	return r;
}

static void req_put(struct virtio_blk *b, struct blk_req *r)
{
	r->next_free = b->free_reqs;
	b->free_reqs = r;
}

/* Copies n bytes starting at byte off of segments [first, first+cnt). */
static bool iov_copy(const struct iovec *iov, unsigned cnt, uint64_t off, void *dst, size_t n)
{
	uint8_t *d = dst;

	for (unsigned i = 0; i < cnt && n; i++) {
		size_t len = iov[i].iov_len, k;

		if (off >= len) {
			off -= len;
			continue;
		}
		k = len - off < n ? len - off : n;
		memcpy(d, (uint8_t *)iov[i].iov_base + off, k);
		d += k;
		n -= k;
		off = 0;
	}
	return n == 0;
}

/* Drops the first n bytes of segments [0, *cnt) in place; returns the
 * index of the first remaining one. */
static unsigned iov_skip(struct iovec *iov, unsigned cnt, uint64_t n)
{
	unsigned i = 0;

	while (i < cnt && n >= iov[i].iov_len)
		n -= iov[i++].iov_len;
	if (i < cnt) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
		iov[i].iov_len -= n;
	}
	return i;
}

static void finish(struct virtio_blk *b, struct blk_req *r, uint8_t status)
{
	struct virtqueue *vq = virtio_pci_queue(b->t, 0);

	*r->status = status;
	if (vq_push(vq, virtio_pci_vq_mem(b->t), &r->elem,
		    status == VIRTIO_BLK_S_OK ? r->written : 1) < 0)
		log_error_once(&b->broken_once, "virtio-blk: %s: cannot return a request to "
			       "the guest", b->path);
	req_put(b, r);
}

static void io_done(void *opaque, struct blockif_req *br)
{
	struct virtio_blk *b = opaque;
	struct blk_req *r = br->opaque;

	if (br->result && br->result != -EINVAL && br->result != -EROFS)
		log_error_once(&b->io_err_once, "virtio-blk: %s: I/O error: %s (reported to "
			       "the guest)", b->path, strerror((int)-br->result));
	finish(b, r, br->result ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* GET_ID: the serial, NUL-padded, truncated to the guest's buffer. */
static uint8_t do_get_id(struct virtio_blk *b, struct blk_req *r, struct iovec *in,
			 unsigned nin, uint64_t len)
{
	uint64_t n = len < BLK_ID_BYTES ? len : BLK_ID_BYTES, done = 0;

	for (unsigned i = 0; i < nin && done < n; i++) {
		size_t k = in[i].iov_len < n - done ? in[i].iov_len : (size_t)(n - done);

		memcpy(in[i].iov_base, b->ident + done, k);
		done += k;
	}
	r->written = (uint32_t)n + 1;
	return VIRTIO_BLK_S_OK;
}

/* One discard/write-zeroes segment -> backend request (we offer one). */
static int parse_dz(struct virtio_blk *b, struct blk_req *r, uint32_t type, uint64_t data_len)
{
	uint8_t seg[16];
	uint64_t sector;
	uint32_t nsect, flags;

	if (data_len != sizeof(seg) ||
	    !iov_copy(r->elem.iov, r->elem.out_num, 16, seg, sizeof(seg)))
		return -EINVAL;
	sector = get_le64(seg);
	nsect = get_le32(seg + 8);
	flags = get_le32(seg + 12);
	if (nsect > BLK_MAX_DZ_SECTORS || sector > UINT64_MAX / SECTOR ||
	    (flags & ~VIRTIO_BLK_WZ_UNMAP) ||
	    (type == VIRTIO_BLK_T_DISCARD && flags))
		return -EINVAL;
	r->br = (struct blockif_req){
		.op = type == VIRTIO_BLK_T_DISCARD ? BLOCKIF_DISCARD : BLOCKIF_WRITE_ZEROES,
		.offset = sector * SECTOR, .len = (uint64_t)nsect * SECTOR,
		.unmap = flags & VIRTIO_BLK_WZ_UNMAP, .opaque = r,
	};
	return 0;
}

/* Data read or written: the segments between header and status. */
static int parse_rw(struct blk_req *r, uint32_t type, uint64_t sector)
{
	struct vq_elem *e = &r->elem;
	struct iovec *v;
	unsigned first, cnt;
	uint64_t len;

	if (type == VIRTIO_BLK_T_IN) {
		first = e->out_num;
		cnt = e->in_num;
		len = e->in_len - 1;
		e->iov[first + cnt - 1].iov_len--;	/* the status byte */
	} else {
		first = iov_skip(e->iov, e->out_num, 16);
		cnt = e->out_num - first;
		len = e->out_len - 16;
	}
	v = e->iov + first;
	if (cnt && !v[cnt - 1].iov_len)
		cnt--;
	if (len % SECTOR || sector > UINT64_MAX / SECTOR)
		return -EINVAL;
	r->br = (struct blockif_req){
		.op = type == VIRTIO_BLK_T_IN ? BLOCKIF_READ : BLOCKIF_WRITE,
		.offset = sector * SECTOR, .len = len, .iov = v, .iovcnt = (int)cnt,
		.opaque = r,
	};
	r->written = type == VIRTIO_BLK_T_IN ? (uint32_t)len + 1 : 1;
	return 0;
}

/* Turns a popped element into a backend request, or completes it here
 * (returns the status then, else -1). */
static int parse(struct virtio_blk *b, struct blk_req *r)
{
	struct vq_elem *e = &r->elem;
	struct iovec *last = &e->iov[e->out_num + e->in_num - 1];
	uint8_t hdr[16];
	uint32_t type;

	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->written = 1;
	r->type = UINT32_MAX;
	if (!iov_copy(e->iov, e->out_num, 0, hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	type = r->type = get_le32(hdr);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (e->in_len - 1 > UINT32_MAX - 1 ||
		    parse_rw(r, type, get_le64(hdr + 8)))
			return VIRTIO_BLK_S_IOERR;
		return -1;
	case VIRTIO_BLK_T_FLUSH:
		r->br = (struct blockif_req){ .op = BLOCKIF_FLUSH, .opaque = r };
		return -1;
	case VIRTIO_BLK_T_GET_ID:
		last->iov_len--;
		return do_get_id(b, r, e->iov + e->out_num, e->in_num, e->in_len - 1);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!(virtio_pci_features(b->t) & (1ull << (type == VIRTIO_BLK_T_DISCARD ?
				VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))))
			return VIRTIO_BLK_S_UNSUPP;
		return parse_dz(b, r, type, e->out_len - 16) ? VIRTIO_BLK_S_IOERR : -1;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* A request the guest cannot even get a status for is returned empty. */
static bool has_status(const struct vq_elem *e)
{
	return e->in_num && e->iov[e->out_num + e->in_num - 1].iov_len;
}

static void start(struct virtio_blk *b, struct blk_req *r)
{
	int status = parse(b, r), rc;

	if (status >= 0) {
		if (status != VIRTIO_BLK_S_OK)
			log_error_once(&b->bad_req_once, "virtio-blk: %s: the guest sent a "
				       "malformed or unsupported request (type %u)", b->path,
				       r->type);
		finish(b, r, (uint8_t)status);
		return;
	}
	rc = blockif_submit(b->bif, &r->br);
	if (rc)			/* out of range, read-only, misaligned */
		finish(b, r, VIRTIO_BLK_S_IOERR);
}

/* Pops until the queue is empty, the backend is full or the queue broke. */
static void process_queue(struct virtio_blk *b)
{
	struct virtqueue *vq = virtio_pci_queue(b->t, 0);
	const struct vq_mem *mem = virtio_pci_vq_mem(b->t);

	while (!b->queue_broken && blockif_inflight(b->bif) < BLK_QUEUE_SIZE) {
		struct blk_req *r = req_get(b);
		int rc;

		if (!r)
			break;
		rc = vq_pop(vq, mem, &r->elem);
		if (rc == 1 && !has_status(&r->elem)) {
			log_error_once(&b->bad_req_once, "virtio-blk: %s: the guest sent a "
				       "request without a status byte", b->path);
			rc = vq_push(vq, mem, &r->elem, 0) < 0 ? -EIO : 0;
			if (!rc) {
				req_put(b, r);
				continue;
			}
		}
		if (rc != 1) {
			req_put(b, r);
			if (rc < 0) {
				b->queue_broken = true;
				log_error_once(&b->broken_once, "virtio-blk: %s: the guest broke "
					       "its queue (%s); device needs a reset", b->path,
					       strerror(-rc));
				virtio_pci_set_needs_reset(b->t);
			}
			break;
		}
		start(b, r);
	}
	blockif_kick(b->bif);
}

/* ---- the I/O thread ---- */

/* How many requests completed. */
static unsigned reap(struct virtio_blk *b)
{
	return blockif_reap(b->bif, io_done, b);
}

/* Reset or checkpoint: finish what is in flight, then park until the
 * next kick (or stop) so the transport can clear the queue meanwhile. */
static void drain_inflight(struct virtio_blk *b)
{
	while (blockif_inflight(b->bif)) {
		struct pollfd p = { .fd = blockif_event_fd(b->bif), .events = POLLIN };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		reap(b);
	}
	virtio_pci_notify_used(b->t, 0);
}

static void quiesce(struct virtio_blk *b)
{
	drain_inflight(b);
	b->queue_broken = false;
	pthread_mutex_lock(&b->lock);
	b->paused = true;
	pthread_cond_broadcast(&b->cond);
	while (b->pause_req && !b->stop)
		pthread_cond_wait(&b->cond, &b->lock);
	b->paused = false;
	pthread_mutex_unlock(&b->lock);
}

/* Checkpoint: every request taken from the ring is completed before the
 * state is saved, so none is lost or done twice by a restored VM; what
 * the guest queued but the thread has not taken stays in the ring. */
static bool hold_for_checkpoint(struct virtio_blk *b)
{
	bool stop;

	drain_inflight(b);
	pthread_mutex_lock(&b->lock);
	b->held = true;
	pthread_cond_broadcast(&b->cond);
	while (b->hold && !b->stop)
		pthread_cond_wait(&b->cond, &b->lock);
	b->held = false;
	stop = b->stop;
	pthread_mutex_unlock(&b->lock);
	return stop;
}

static void *io_thread(void *arg)
{
	struct virtio_blk *b = arg;
	struct pollfd p[2] = {
		{ .fd = b->kick_fd, .events = POLLIN },
		{ .fd = blockif_event_fd(b->bif), .events = POLLIN },
	};

	for (;;) {
		bool stop, pause, hold;
		uint64_t v;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if ((p[0].revents & POLLIN) && read(b->kick_fd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			break;
		pthread_mutex_lock(&b->lock);
		stop = b->stop;
		pause = b->pause_req;
		hold = b->hold;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		if (pause) {
			quiesce(b);
			continue;
		}
		/* Ended while held (after --suspend): nothing more may reach
		 * the disk.  Else on: the ring may hold more. */
		if (hold && hold_for_checkpoint(b))
			break;
		/* Completions first, and told to the guest before new requests
		 * start: a backend may run a request inside the submit (O_DIRECT
		 * on a RAM disk does), and the guest should not wait for the
		 * next batch to learn that the last one is done. */
		if (reap(b))
			virtio_pci_notify_used(b->t, 0);
		process_queue(b);
		virtio_pci_notify_used(b->t, 0);
	}
	return NULL;
}

static void kick(struct virtio_blk *b)
{
	uint64_t one = 1;

	if (write(b->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error_once(&b->broken_once, "virtio-blk: %s: cannot wake the I/O thread: %s",
			       b->path, strerror(errno));
}

static void blk_queue_notify(void *dev, unsigned q)
{
	struct virtio_blk *b = dev;

	pthread_mutex_lock(&b->lock);
	if (b->pause_req && b->paused) {	/* the driver is back after a reset */
		b->pause_req = false;
		pthread_cond_broadcast(&b->cond);
	}
	pthread_mutex_unlock(&b->lock);
	kick(b);
}

static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;

	pthread_mutex_lock(&b->lock);
	b->pause_req = true;
	pthread_mutex_unlock(&b->lock);
	kick(b);
	pthread_mutex_lock(&b->lock);
	while (!b->paused && !b->stop)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

/* ---- configuration ---- */

static void blk_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
	struct virtio_blk *b = dev;

	memcpy(buf, b->config + off, len);
}

static void build_config(struct virtio_blk *b)
{
	uint32_t ss = blockif_sectsz(b->bif), ps = blockif_psectsz(b->bif);
	uint8_t exp = 0;

	while ((ss << exp) < ps)
		exp++;
	/* Whole logical sectors only, counted in 512-byte units. */
	put_le64(b->config + CFG_CAPACITY, blockif_size(b->bif) / ss * (ss / SECTOR));
	put_le32(b->config + CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(b->config + CFG_BLK_SIZE, ss);
	b->config[CFG_PHYS_EXP] = exp;
	put_le16(b->config + CFG_MIN_IO, (uint16_t)(ps / ss));
	put_le32(b->config + CFG_MAX_DISCARD, BLK_MAX_DZ_SECTORS);
	put_le32(b->config + CFG_MAX_DISCARD_SEG, 1);
	put_le32(b->config + CFG_DISCARD_ALIGN, ss / SECTOR);
	put_le32(b->config + CFG_MAX_WZ, BLK_MAX_DZ_SECTORS);
	put_le32(b->config + CFG_MAX_WZ_SEG, 1);
	b->config[CFG_WZ_UNMAP] = blockif_candelete(b->bif);
}

static uint64_t features(const struct blockif *bif)
{
	uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
		     1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_TOPOLOGY;

	if (blockif_readonly(bif))
		return f | 1ull << VIRTIO_BLK_F_RO;
	f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	if (blockif_candelete(bif))
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	return f;
}

static const char *const blk_vars[] = {
	"device", "path", "ro", "nocache", "direct", "sync", "nodelete", "sectorsize", "ser",
};

struct errbuf {
	char *buf;
	size_t len;
};

static int check_var(void *opaque, const char *name, const char *value,
		     struct config_node *child)
{
	struct errbuf *err = opaque;

	for (size_t i = 0; i < sizeof(blk_vars) / sizeof(blk_vars[0]); i++)
		if (!strcmp(name, blk_vars[i]) && !child)
			return 0;
	if (!strcmp(name, "bootindex"))
		snprintf(err->buf, err->len, "bootindex needs a boot ROM, which khyve does not "
			 "have yet");
	else
		snprintf(err->buf, err->len, "unknown option \"%s\"", name);
	return -EINVAL;
}

/* The serial number the guest reads (GET_ID): ser= or, as bhyve does,
 * "BHYVE-" and the first MD5 bytes of the path.  bhyve keeps 19
 * characters (its buffer holds a NUL); so does khyve, so a disk moved from
 * bhyve keeps its /dev/disk/by-id name. */
static void make_ident(struct virtio_blk *b, const char *ser)
{
	uint8_t d[MD5_DIGEST_LENGTH];
	char full[32];
	MD5_CTX ctx;

	b->ident_derived = !ser;
	if (ser) {
		snprintf(b->ident, sizeof(b->ident), "%s", ser);
		return;
	}
	MD5Init(&ctx);
	MD5Update(&ctx, (const uint8_t *)b->path, strlen(b->path));
	MD5Final(d, &ctx);
	snprintf(full, sizeof(full), "BHYVE-%02X%02X-%02X%02X-%02X%02X",
		 d[0], d[1], d[2], d[3], d[4], d[5]);
	memcpy(b->ident, full, BLK_ID_BYTES - 1);
}

static const struct virtio_dev_ops blk_ops_template = {
	.name = "virtio-blk",
	.type = VIRTIO_ID_BLOCK,
	.pci_class = 0x01,		/* mass storage */
	.pci_subclass = 0x80,		/* other, as QEMU */
	.nqueues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.config_len = CFG_LEN,
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

static void blk_free(struct virtio_blk *b)
{
	if (b->thread_started) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		kick(b);
		pthread_join(b->thread, NULL);
	}
	blockif_close(b->bif);		/* waits for what is still in flight */
	while (b->free_reqs) {
		struct blk_req *r = b->free_reqs;

		b->free_reqs = r->next_free;
		free(r);
	}
	if (b->kick_fd >= 0)
		close(b->kick_fd);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

static int open_backend(struct virtio_blk *b, struct config *cfg, const char *node,
			char *err, size_t errlen)
{
	struct config_node *n = config_find_node(cfg, node);
	struct blockif_opts o;
	char why[256] = "", var[256];
	struct errbuf eb = { why, sizeof(why) };
	int rc = n ? config_node_foreach(cfg, n, check_var, &eb) : 0;

	if (!rc)
		rc = blockif_parse_opts(cfg, node, &o, why, sizeof(why));
	if (!rc) {
		o.depth = BLK_QUEUE_SIZE;
		rc = blockif_open(&o, &b->bif, why, sizeof(why));
	}
	if (rc) {
		snprintf(err, errlen, "%s: virtio-blk: %s", node, why);
		return rc;
	}
	b->path = o.path;
	snprintf(var, sizeof(var), "%s.ser", node);
	make_ident(b, config_get(cfg, var));
	return 0;
}

static int blk_init(struct pci_dev *dev, struct config *cfg, const char *node,
		    char *err, size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rc = b->kick_fd < 0 ? -errno : open_backend(b, cfg, node, err, errlen);
	if (!rc) {
		b->ops = blk_ops_template;
		b->ops.features = features(b->bif);
		build_config(b);
		rc = virtio_pci_attach(dev, cfg, node, &b->ops, b, &b->t, err, errlen);
	}
	if (!rc) {
		rc = -pthread_create(&b->thread, NULL, io_thread, b);
		b->thread_started = !rc;
		if (rc) {
			virtio_pci_destroy(b->t);
			dev->priv = NULL;
		}
	}
	if (rc) {
		if (!*err)
			snprintf(err, errlen, "%s: virtio-blk: %s", node, strerror(-rc));
		blk_free(b);
	}
	return rc;
}

static void blk_destroy(struct pci_dev *dev)
{
	struct virtio_pci *t = dev->priv;
	struct virtio_blk *b = t ? virtio_pci_device(t) : NULL;

	if (b)
		blk_free(b);	/* the I/O thread stops before the transport goes */
	virtio_pci_destroy(t);
}

int virtio_blk_stats(struct pci_dev *dev, struct blockif_stats *out)
{
	struct virtio_pci *t = dev->priv;

	if (dev->emu != &virtio_blk_emu || !t)
		return -ENODEV;
	blockif_get_stats(((struct virtio_blk *)virtio_pci_device(t))->bif, out);
	return 0;
}

/* ---- checkpoint ---- */

static struct virtio_blk *blk_of(struct pci_dev *dev)
{
	return virtio_pci_device(dev->priv);
}

static void blk_pause(struct pci_dev *dev)
{
	struct virtio_blk *b = blk_of(dev);

	pthread_mutex_lock(&b->lock);
	b->hold = true;
	pthread_mutex_unlock(&b->lock);
	kick(b);
	pthread_mutex_lock(&b->lock);
	/* A thread parked by a driver reset is not touching the queue. */
	while (!b->held && !b->paused && !b->stop)
		pthread_cond_wait(&b->cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

static void blk_resume(struct pci_dev *dev)
{
	struct virtio_blk *b = blk_of(dev);

	pthread_mutex_lock(&b->lock);
	b->hold = false;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* The transport, then the device config the guest read: a restore onto a
 * disk of another size or sector size would lie to the guest. */
static void blk_save(struct pci_dev *dev, struct snap_writer *w)
{
	struct virtio_blk *b = blk_of(dev);

	virtio_pci_put(b->t, w);
	snap_put(w, b->config, sizeof(b->config));
	snap_put(w, b->ident, sizeof(b->ident));
}

static int blk_restore(struct pci_dev *dev, struct snap_cursor *c, char *err, size_t errlen)
{
	struct virtio_blk *b = blk_of(dev);
	uint8_t config[CFG_LEN];
	char ident[BLK_ID_BYTES];
	int rc;

	rc = virtio_pci_get(b->t, c);
	if (rc) {
		snprintf(err, errlen, "virtio-blk %s: its saved transport state is %s", b->path,
			 rc == -EFAULT ? "outside guest memory" : "inconsistent with this disk");
		return -EPROTO;
	}
	snap_get(c, config, sizeof(config));
	snap_get(c, ident, sizeof(ident));
	if (c->bad) {
		snprintf(err, errlen, "virtio-blk %s: its saved state is too short", b->path);
		return -EPROTO;
	}
	if (memcmp(config, b->config, CFG_LEN)) {
		snprintf(err, errlen, "virtio-blk %s: the disk differs from the checkpoint's "
			 "(size, sector size or discard support)", b->path);
		return -EPROTO;
	}
	/* A disk restored from another path keeps the serial the guest knows. */
	if (b->ident_derived)
		memcpy(b->ident, ident, sizeof(ident));
	if (memcmp(ident, b->ident, sizeof(ident))) {
		snprintf(err, errlen, "virtio-blk %s: the serial number differs from the "
			 "checkpoint's", b->path);
		return -EPROTO;
	}
	kick(b);	/* what the guest queued before the checkpoint */
	return 0;
}

const struct pci_devemu virtio_blk_emu = {
	.name = "virtio-blk",
	.help = "virtio disk on a file or block device (PATH[,ro,nocache,sync,...])",
	.legacy_config = blockif_legacy_config,
	.init = blk_init,
	.destroy = blk_destroy,
	.cfg_read = virtio_pci_cfg_read,
	.cfg_write = virtio_pci_cfg_write,
	.cfg_written = virtio_pci_cfg_written,
	.save = blk_save,
	.restore = blk_restore,
	.pause = blk_pause,
	.resume = blk_resume,
};
