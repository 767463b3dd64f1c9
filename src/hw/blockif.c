/* Block backends: see blockif.h.
 *
 * Two engines behind one request interface.  io_uring runs reads, writes,
 * flushes and fallocate()s in the kernel with one submit syscall per batch;
 * the worker-thread engine (bhyve's design: BLOCKIF_NUMTHR threads doing
 * preadv/pwritev) serves kernels where io_uring is missing or disabled.
 * Both signal completions through one eventfd the owner polls.  Rare slow
 * paths (a short transfer, write-zeroes on a file system without
 * FALLOC_FL_ZERO_RANGE) finish synchronously on the owner's thread. */
#include "hw/blockif.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"

#define BLOCKIF_NUMTHR		8	/* bhyve's worker count */
#define BLOCKIF_DEPTH_MAX	4096
#define ZERO_CHUNK		(1u << 20)
#define SECTOR			512u

struct blockif {
	int fd, efd;
	bool ro, candelete, is_blk, direct;
	uint64_t size;
	uint32_t sectsz, psectsz;
	uint32_t dio_mem_align;		/* O_DIRECT buffer alignment */
	unsigned depth, inflight;
	bool uring;
	struct io_uring ring;
	unsigned unsubmitted;
	/* Thread engine. */
	pthread_mutex_t lock;		/* queues and stop */
	pthread_cond_t cond;
	struct blockif_req *pend_head, **pend_tail;
	struct blockif_req *done_head, **done_tail;
	bool stop;
	unsigned nthreads;
	pthread_t threads[BLOCKIF_NUMTHR];
	/* Statistics, readable from any thread. */
	pthread_mutex_t stats_lock;
	struct blockif_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---- options ---- */

/* bhyve's "sectorsize=logical[/physical]": powers of two, 512 <= L <= P. */
static int parse_sectorsize(const char *s, struct blockif_opts *o, char *err, size_t errlen)
{
	char *end;
	unsigned long l, p;

	errno = 0;
	l = strtoul(s, &end, 10);
	p = l;
	if (!errno && *end == '/')
		p = strtoul(end + 1, &end, 10);
	if (errno || *end || !pow2(l) || !pow2(p) || l < SECTOR || l > p || p > 65536) {
		snprintf(err, errlen, "sectorsize=%s: want LOGICAL[/PHYSICAL], powers of two, "
			 "512 <= LOGICAL <= PHYSICAL <= 65536", s);
		return -EINVAL;
	}
	o->sectsz = (uint32_t)l;
	o->psectsz = (uint32_t)p;
	return 0;
}

static int get_flag(struct config *cfg, const char *node, const char *name, bool *out,
		    char *err, size_t errlen)
{
	char var[256];

	snprintf(var, sizeof(var), "%s.%s", node, name);
	if (config_get_bool(cfg, var, false, out)) {
		snprintf(err, errlen, "%s=%s: not a boolean", name, config_get(cfg, var));
		return -EINVAL;
	}
	return 0;
}

int blockif_parse_opts(struct config *cfg, const char *node, struct blockif_opts *o,
		       char *err, size_t errlen)
{
	char var[256];
	bool direct = false;
	const char *ss;
	int rc;

	*o = (struct blockif_opts){ 0 };
	snprintf(var, sizeof(var), "%s.path", node);
	o->path = config_get(cfg, var);
	if (!o->path || !*o->path) {
		snprintf(err, errlen, "no backing file (path)");
		return -EINVAL;
	}
	if ((rc = get_flag(cfg, node, "ro", &o->ro, err, errlen)) ||
	    (rc = get_flag(cfg, node, "nocache", &o->nocache, err, errlen)) ||
	    (rc = get_flag(cfg, node, "sync", &o->sync, err, errlen)) ||
	    (rc = get_flag(cfg, node, "direct", &direct, err, errlen)) ||
	    (rc = get_flag(cfg, node, "nodelete", &o->nodelete, err, errlen)))
		return rc;
	o->sync |= direct;		/* bhyve: both mean O_SYNC */
	snprintf(var, sizeof(var), "%s.sectorsize", node);
	ss = config_get(cfg, var);
	if (ss && (rc = parse_sectorsize(ss, o, err, errlen)))
		return rc;
	o->engine = config_get(cfg, "block.engine");
	if (o->engine && strcmp(o->engine, "auto") && strcmp(o->engine, "io_uring") &&
	    strcmp(o->engine, "threads")) {
		snprintf(err, errlen, "block.engine=%s: want auto, io_uring or threads", o->engine);
		return -EINVAL;
	}
	return 0;
}

int blockif_legacy_config(struct config *cfg, const char *node, const char *opts,
			  char *err, size_t errlen)
{
	const char *comma = opts ? strchr(opts, ',') : NULL;
	char var[256], *path;
	int rc;

	if (!opts || !*opts)
		return 0;
	path = comma ? strndup(opts, (size_t)(comma - opts)) : strdup(opts);
	if (!path)
		return -ENOMEM;
	snprintf(var, sizeof(var), "%s.path", node);
	rc = config_set(cfg, var, path);
	free(path);
	if (rc) {
		snprintf(err, errlen, "%s: %s", var, strerror(-rc));
		return rc;
	}
	return comma ? config_set_legacy(cfg, node, comma + 1, err, errlen) : 0;
}

/* ---- opening ---- */

static int open_fd(const struct blockif_opts *o, bool *ro, char *err, size_t errlen)
{
	int extra = O_CLOEXEC | (o->nocache ? O_DIRECT : 0) | (o->sync ? O_SYNC : 0);
	int fd = open(o->path, (o->ro ? O_RDONLY : O_RDWR) | extra);

	*ro = o->ro;
	/* bhyve falls back to read-only when read-write is refused. */
	if (fd < 0 && !o->ro && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		fd = open(o->path, O_RDONLY | extra);
		*ro = true;
	}
	if (fd < 0) {
		if (errno == EINVAL && o->nocache)
			snprintf(err, errlen, "%s: nocache: the file system does not support "
				 "O_DIRECT", o->path);
		else
			snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		return -errno;
	}
	if (flock(fd, (*ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", o->path, e == EWOULDBLOCK ?
			 "in use by another VM (locked)" : strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* Size and sector sizes of the backend as the host sees them. */
static int probe_geometry(struct blockif *b, const struct blockif_opts *o, char *err,
			  size_t errlen)
{
	struct statx sx;
	struct stat st;

	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
		b->sectsz = SECTOR;
		b->psectsz = pow2((uint64_t)st.st_blksize) && st.st_blksize <= 65536 ?
			     (uint32_t)st.st_blksize : SECTOR;
	} else if (S_ISBLK(st.st_mode)) {
		int ss = 0;
		unsigned int ps = 0;

		b->is_blk = true;
		if (ioctl(b->fd, BLKGETSIZE64, &b->size) < 0 ||
		    ioctl(b->fd, BLKSSZGET, &ss) < 0 || ioctl(b->fd, BLKPBSZGET, &ps) < 0) {
			snprintf(err, errlen, "%s: cannot read the device's size: %s", o->path,
				 strerror(errno));
			return -errno;
		}
		b->sectsz = pow2((uint64_t)ss) ? (uint32_t)ss : SECTOR;
		b->psectsz = pow2(ps) && ps >= b->sectsz ? ps : b->sectsz;
	} else {
		snprintf(err, errlen, "%s: not a regular file or block device", o->path);
		return -EINVAL;
	}
	b->dio_mem_align = SECTOR;
	if (o->nocache && !statx(b->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		b->dio_mem_align = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : SECTOR;
		/* The guest's sectors must be O_DIRECT's unit at least. */
		if (sx.stx_dio_offset_align > b->sectsz)
			b->sectsz = sx.stx_dio_offset_align;
		if (b->psectsz < b->sectsz)
			b->psectsz = b->sectsz;
	}
	return 0;
}

/* bhyve: the configured sizes override the backend's, but a block device
 * cannot be driven in units smaller than (or not multiples of) its own. */
static int apply_sectorsize(struct blockif *b, const struct blockif_opts *o, char *err,
			    size_t errlen)
{
	if (!o->sectsz)
		return 0;
	if ((b->is_blk || o->nocache) && (o->sectsz < b->sectsz || o->sectsz % b->sectsz)) {
		snprintf(err, errlen, "%s: sectorsize=%u is incompatible with the backend's %u-byte "
			 "%s", o->path, o->sectsz, b->sectsz,
			 b->is_blk ? "sectors" : "O_DIRECT alignment");
		return -EINVAL;
	}
	b->sectsz = o->sectsz;
	b->psectsz = o->psectsz;
	return 0;
}

static void *worker(void *arg);

static int start_threads(struct blockif *b)
{
	for (unsigned i = 0; i < BLOCKIF_NUMTHR; i++) {
		int rc = pthread_create(&b->threads[i], NULL, worker, b);

		if (rc)
			return -rc;
		b->nthreads++;
	}
	return 0;
}

static int start_engine(struct blockif *b, const struct blockif_opts *o, char *err,
			size_t errlen)
{
	const char *want = o->engine ? o->engine : "auto";
	int rc;

	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0)
		return -errno;
	if (strcmp(want, "threads")) {
		rc = io_uring_queue_init(b->depth, &b->ring, 0);
		if (!rc && (rc = io_uring_register_eventfd(&b->ring, b->efd)))
			io_uring_queue_exit(&b->ring);
		if (!rc) {
			b->uring = true;
			return 0;
		}
		if (!strcmp(want, "io_uring")) {
			snprintf(err, errlen, "%s: block.engine=io_uring: %s", o->path,
				 strerror(-rc));
			return rc;
		}
	}
	rc = start_threads(b);
	if (rc)
		snprintf(err, errlen, "%s: cannot start I/O threads: %s", o->path, strerror(-rc));
	return rc;
}

int blockif_open(const struct blockif_opts *o, struct blockif **out, char *err, size_t errlen)
{
	struct blockif *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		return -ENOMEM;
	b->efd = -1;
	b->depth = o->depth ? o->depth : 128;
	if (b->depth > BLOCKIF_DEPTH_MAX)
		b->depth = BLOCKIF_DEPTH_MAX;
	b->pend_tail = &b->pend_head;
	b->done_tail = &b->done_head;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	pthread_mutex_init(&b->stats_lock, NULL);
	b->fd = open_fd(o, &b->ro, err, errlen);
	if (b->fd < 0) {
		rc = b->fd;
		goto fail;
	}
	b->direct = o->nocache;
	b->candelete = !o->nodelete && !b->ro;
	rc = probe_geometry(b, o, err, errlen);
	if (!rc)
		rc = apply_sectorsize(b, o, err, errlen);
	if (!rc)
		rc = start_engine(b, o, err, errlen);
	if (!rc) {
		*out = b;
		return 0;
	}
fail:
	if (!*err)
		snprintf(err, errlen, "%s: %s", o->path, strerror(-rc));
	blockif_close(b);
	return rc;
}

/* ---- synchronous execution (worker threads and slow paths) ---- */

/* preadv/pwritev until done; advances the (copied) iov. */
static int rw_full(int fd, bool write, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t n = write ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return write ? -EIO : -ENODATA;	/* cannot happen within the size */
		off += (uint64_t)n;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* The bytes [skip, len) of the request, read or written synchronously. */
static int rw_from(struct blockif *b, struct blockif_req *r, uint64_t skip)
{
	struct iovec one, *v;
	int cnt = r->iovcnt, rc;

	if (r->bounce) {
		one = (struct iovec){ (uint8_t *)r->bounce + skip, r->len - skip };
		return rw_full(b->fd, r->op == BLOCKIF_WRITE, &one, 1, r->offset + skip);
	}
	v = malloc(sizeof(*v) * (size_t)(cnt ? cnt : 1));
	if (!v)
		return -ENOMEM;
	memcpy(v, r->iov, sizeof(*v) * (size_t)cnt);
	while (cnt > 0 && skip >= v->iov_len) {
		skip -= v->iov_len;
		memmove(v, v + 1, sizeof(*v) * (size_t)--cnt);
	}
	if (cnt > 0) {
		v->iov_base = (uint8_t *)v->iov_base + skip;
		v->iov_len -= skip;
	}
	rc = rw_full(b->fd, r->op == BLOCKIF_WRITE, v, cnt, r->offset + skip);
	free(v);
	return rc;
}

static int write_zero_bytes(struct blockif *b, uint64_t off, uint64_t len)
{
	void *zero = NULL;
	int rc = posix_memalign(&zero, 4096, ZERO_CHUNK);

	if (rc)
		return -rc;
	memset(zero, 0, ZERO_CHUNK);
	while (!rc && len) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		struct iovec v = { zero, n };

		rc = rw_full(b->fd, true, &v, 1, off);
		off += n;
		len -= n;
	}
	free(zero);
	return rc;
}

static int do_fallocate(struct blockif *b, int mode, uint64_t off, uint64_t len)
{
	return fallocate(b->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

/* The cheapest way the backend has to make a range read back as zeros. */
static int zero_range(struct blockif *b, uint64_t off, uint64_t len, bool unmap)
{
	if (unmap && !b->is_blk && !do_fallocate(b, FALLOC_FL_PUNCH_HOLE, off, len))
		return 0;
	if (!do_fallocate(b, FALLOC_FL_ZERO_RANGE, off, len))
		return 0;
	/* A hole in a regular file reads as zeros (tmpfs has no ZERO_RANGE). */
	if (!b->is_blk && !do_fallocate(b, FALLOC_FL_PUNCH_HOLE, off, len))
		return 0;
	return write_zero_bytes(b, off, len);
}

static int discard(struct blockif *b, uint64_t off, uint64_t len)
{
	int rc = do_fallocate(b, FALLOC_FL_PUNCH_HOLE, off, len);

	return rc == -EOPNOTSUPP ? 0 : rc;	/* a hint the backend may ignore */
}

static int execute(struct blockif *b, struct blockif_req *r)
{
	switch (r->op) {
	case BLOCKIF_READ:
	case BLOCKIF_WRITE:
		return rw_from(b, r, 0);
	case BLOCKIF_FLUSH:
		return fdatasync(b->fd) < 0 ? -errno : 0;
	case BLOCKIF_DISCARD:
		return discard(b, r->offset, r->len);
	case BLOCKIF_WRITE_ZEROES:
		return zero_range(b, r->offset, r->len, r->unmap);
	}
	return -EINVAL;
}

static void signal_owner(struct blockif *b)
{
	uint64_t one = 1;

	/* Cannot fail short of a counter overflow, which reads never allow. */
	if (write(b->efd, &one, sizeof(one)) < 0)
		return;
}

static void *worker(void *arg)
{
	struct blockif *b = arg;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct blockif_req *r;

		while (!b->pend_head && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		r = b->pend_head;
		if (!r)
			break;			/* stopping and nothing left */
		b->pend_head = r->next;
		if (!b->pend_head)
			b->pend_tail = &b->pend_head;
		pthread_mutex_unlock(&b->lock);
		r->result = execute(b, r);
		pthread_mutex_lock(&b->lock);
		r->next = NULL;
		*b->done_tail = r;
		b->done_tail = &r->next;
		signal_owner(b);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* ---- submission ---- */

static bool aligned(const struct blockif *b, const struct blockif_req *r)
{
	for (int i = 0; i < r->iovcnt; i++)
		if ((uintptr_t)r->iov[i].iov_base % b->dio_mem_align ||
		    r->iov[i].iov_len % SECTOR)
			return false;
	return true;
}

/* O_DIRECT needs aligned buffers; guest buffers usually are, else copy. */
static int setup_bounce(struct blockif *b, struct blockif_req *r)
{
	uint64_t done = 0;
	int rc;

	if (!b->direct || (r->op != BLOCKIF_READ && r->op != BLOCKIF_WRITE) || aligned(b, r))
		return 0;
	rc = posix_memalign(&r->bounce, b->dio_mem_align < 4096 ? 4096 : b->dio_mem_align,
			    r->len ? r->len : 1);
	if (rc) {
		r->bounce = NULL;
		return -rc;
	}
	if (r->op == BLOCKIF_WRITE)
		for (int i = 0; i < r->iovcnt; i++) {
			memcpy((uint8_t *)r->bounce + done, r->iov[i].iov_base, r->iov[i].iov_len);
			done += r->iov[i].iov_len;
		}
	return 0;
}

static int check_req(const struct blockif *b, const struct blockif_req *r)
{
	uint64_t sum = 0;

	if (r->op > BLOCKIF_WRITE_ZEROES)
		return -EINVAL;
	if (r->op != BLOCKIF_READ && r->op != BLOCKIF_FLUSH && b->ro)
		return -EROFS;
	if (r->op == BLOCKIF_DISCARD && !b->candelete)
		return -EOPNOTSUPP;
	if (r->op == BLOCKIF_FLUSH)
		return 0;
	if (r->offset > b->size || r->len > b->size - r->offset)
		return -EINVAL;
	if (b->direct && (r->offset % b->sectsz || r->len % b->sectsz))
		return -EINVAL;
	if (r->op != BLOCKIF_READ && r->op != BLOCKIF_WRITE)
		return 0;
	if (r->iovcnt < 0 || r->iovcnt > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < r->iovcnt; i++)
		sum += r->iov[i].iov_len;
	return sum == r->len ? 0 : -EINVAL;
}

static void uring_prep(struct blockif *b, struct blockif_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {			/* SQ full: start what is there first */
		if (io_uring_submit(&b->ring) >= 0)
			b->unsubmitted = 0;
		sqe = io_uring_get_sqe(&b->ring);
	}
	switch (r->op) {
	case BLOCKIF_READ:
	case BLOCKIF_WRITE:
		if (r->bounce) {
			if (r->op == BLOCKIF_READ)
				io_uring_prep_read(sqe, b->fd, r->bounce, (unsigned)r->len, r->offset);
			else
				io_uring_prep_write(sqe, b->fd, r->bounce, (unsigned)r->len, r->offset);
		} else if (r->op == BLOCKIF_READ) {
			io_uring_prep_readv(sqe, b->fd, r->iov, (unsigned)r->iovcnt, r->offset);
		} else {
			io_uring_prep_writev(sqe, b->fd, r->iov, (unsigned)r->iovcnt, r->offset);
		}
		break;
	case BLOCKIF_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLOCKIF_DISCARD:
		io_uring_prep_fallocate(sqe, b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					r->offset, r->len);
		break;
	case BLOCKIF_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, b->fd, FALLOC_FL_KEEP_SIZE |
					(r->unmap && !b->is_blk ? FALLOC_FL_PUNCH_HOLE :
					 FALLOC_FL_ZERO_RANGE), r->offset, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	b->unsubmitted++;
}

int blockif_submit(struct blockif *b, struct blockif_req *r)
{
	int rc = check_req(b, r);

	if (rc)
		return rc;
	if (b->inflight >= b->depth)
		return -EBUSY;
	r->bounce = NULL;
	r->next = NULL;
	r->result = 0;
	rc = setup_bounce(b, r);
	if (rc)
		return rc;
	r->t_start = now_ns();
	b->inflight++;
	if (b->uring) {
		uring_prep(b, r);
		return 0;
	}
	pthread_mutex_lock(&b->lock);
	*b->pend_tail = r;
	b->pend_tail = &r->next;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

void blockif_kick(struct blockif *b)
{
	if (!b->uring || !b->unsubmitted)
		return;
	/* Every SQE was prepared with room in the CQ (inflight <= depth <
	 * CQ size), so a failure here is the kernel's; retry on the next
	 * kick rather than lose requests. */
	if (io_uring_submit(&b->ring) >= 0)
		b->unsubmitted = 0;
}

/* ---- completion ---- */

static void account(struct blockif *b, const struct blockif_req *r)
{
	uint64_t ns = now_ns() - r->t_start;
	struct blockif_stats *s = &b->stats;

	pthread_mutex_lock(&b->stats_lock);
	if (r->result) {
		s->errors++;
	} else {
		switch (r->op) {
		case BLOCKIF_READ:
			s->rd_reqs++, s->rd_bytes += r->len, s->rd_ns += ns;
			break;
		case BLOCKIF_WRITE:
			s->wr_reqs++, s->wr_bytes += r->len, s->wr_ns += ns;
			break;
		case BLOCKIF_FLUSH:
			s->flush_reqs++, s->flush_ns += ns;
			break;
		case BLOCKIF_DISCARD:
			s->discard_reqs++, s->discard_bytes += r->len;
			break;
		case BLOCKIF_WRITE_ZEROES:
			s->zero_reqs++, s->zero_bytes += r->len;
			break;
		}
	}
	pthread_mutex_unlock(&b->stats_lock);
}

static void copy_out_bounce(struct blockif_req *r)
{
	uint64_t done = 0;

	for (int i = 0; i < r->iovcnt; i++) {
		memcpy(r->iov[i].iov_base, (uint8_t *)r->bounce + done, r->iov[i].iov_len);
		done += r->iov[i].iov_len;
	}
}

/* io_uring's result -> the request's, finishing slow paths here. */
static int uring_result(struct blockif *b, struct blockif_req *r, int res)
{
	switch (r->op) {
	case BLOCKIF_READ:
	case BLOCKIF_WRITE:
		if (res < 0)
			return res;
		return (uint64_t)res < r->len ? rw_from(b, r, (uint64_t)res) : 0;
	case BLOCKIF_DISCARD:
		return res == -EOPNOTSUPP ? 0 : res;
	case BLOCKIF_WRITE_ZEROES:
		return res == -EOPNOTSUPP || res == -EINVAL ?
		       zero_range(b, r->offset, r->len, r->unmap) : res;
	case BLOCKIF_FLUSH:
		return res;
	}
	return -EINVAL;
}

static void finish(struct blockif *b, struct blockif_req *r,
		   void (*done)(void *opaque, struct blockif_req *r), void *opaque)
{
	if (r->bounce) {
		if (!r->result && r->op == BLOCKIF_READ)
			copy_out_bounce(r);
		free(r->bounce);
		r->bounce = NULL;
	}
	account(b, r);
	b->inflight--;
	if (done)
		done(opaque, r);
}

static unsigned reap_uring(struct blockif *b, void (*done)(void *, struct blockif_req *),
			   void *opaque)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		struct blockif_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		r->result = uring_result(b, r, res);
		finish(b, r, done, opaque);
		n++;
	}
	return n;
}

static unsigned reap_threads(struct blockif *b, void (*done)(void *, struct blockif_req *),
			     void *opaque)
{
	struct blockif_req *list;
	unsigned n = 0;

	pthread_mutex_lock(&b->lock);
	list = b->done_head;
	b->done_head = NULL;
	b->done_tail = &b->done_head;
	pthread_mutex_unlock(&b->lock);
	while (list) {
		struct blockif_req *r = list;

		list = r->next;
		finish(b, r, done, opaque);
		n++;
	}
	return n;
}

unsigned blockif_reap(struct blockif *b, void (*done)(void *opaque, struct blockif_req *r),
		      void *opaque)
{
	uint64_t v;

	/* Drain the counter first: a completion after this read signals again. */
	if (read(b->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	return b->uring ? reap_uring(b, done, opaque) : reap_threads(b, done, opaque);
}

/* ---- teardown and accessors ---- */

static void drain(struct blockif *b)
{
	while (b->inflight) {
		if (b->uring) {
			struct io_uring_cqe *cqe;

			blockif_kick(b);
			if (io_uring_wait_cqe(&b->ring, &cqe) < 0)
				break;
		} else {
			struct pollfd p = { .fd = b->efd, .events = POLLIN };

			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				break;
		}
		blockif_reap(b, NULL, NULL);
	}
}

void blockif_close(struct blockif *b)
{
	if (!b)
		return;
	if (b->efd >= 0)
		drain(b);
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	if (b->uring)
		io_uring_queue_exit(&b->ring);
	if (b->efd >= 0)
		close(b->efd);
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->stats_lock);
	free(b);
}

uint64_t blockif_size(const struct blockif *b) { return b->size; }
uint32_t blockif_sectsz(const struct blockif *b) { return b->sectsz; }
uint32_t blockif_psectsz(const struct blockif *b) { return b->psectsz; }
bool blockif_readonly(const struct blockif *b) { return b->ro; }
bool blockif_candelete(const struct blockif *b) { return b->candelete; }
const char *blockif_engine(const struct blockif *b) { return b->uring ? "io_uring" : "threads"; }
int blockif_event_fd(const struct blockif *b) { return b->efd; }
unsigned blockif_inflight(const struct blockif *b) { return b->inflight; }

void blockif_get_stats(struct blockif *b, struct blockif_stats *out)
{
	pthread_mutex_lock(&b->stats_lock);
	*out = b->stats;
	pthread_mutex_unlock(&b->stats_lock);
}
