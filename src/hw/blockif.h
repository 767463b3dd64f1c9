/* Block backends (bhyve's block_if): a file or host block device opened
 * with bhyve's block options, and asynchronous requests on it -- io_uring
 * (liburing) where the kernel allows it, else a pool of worker threads.
 *
 * One owner thread (a device's I/O thread) calls blockif_submit(),
 * blockif_kick() and blockif_reap(); completions are reaped there, never
 * called back from elsewhere, so the owner needs no locks for its own
 * state.  blockif_event_fd() becomes readable when completions wait.
 * blockif_get_stats() may be called from any thread. */
#ifndef KHYVE_BLOCKIF_H
#define KHYVE_BLOCKIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct config;
struct blockif;

enum blockif_op {
	BLOCKIF_READ,
	BLOCKIF_WRITE,
	BLOCKIF_FLUSH,
	BLOCKIF_DISCARD,	/* a hint: unsupported -> success */
	BLOCKIF_WRITE_ZEROES,	/* must read back as zeros afterwards */
};

struct blockif_req {
	enum blockif_op op;
	uint64_t offset;	/* bytes; READ..WRITE_ZEROES (not FLUSH) */
	uint64_t len;		/* bytes; READ/WRITE: the sum of iov lengths */
	struct iovec *iov;	/* READ/WRITE */
	int iovcnt;
	bool unmap;		/* WRITE_ZEROES: may deallocate */
	void *opaque;		/* the owner's */
	int64_t result;		/* on completion: 0 or -errno */
	/* Private to blockif. */
	void *bounce;
	uint64_t t_start;
	struct blockif_req *next;
};

/* bhyve's block options (bhyve_config(5): path, ro, nocache, direct, sync,
 * nodelete, sectorsize) plus khyve's engine choice. */
struct blockif_opts {
	const char *path;
	bool ro;
	bool nocache;		/* O_DIRECT: bypass the host page cache */
	bool sync;		/* O_SYNC ("sync" or "direct") */
	bool nodelete;		/* never discard */
	uint32_t sectsz;	/* logical sector size, 0 = the backend's */
	uint32_t psectsz;	/* physical, 0 = the backend's */
	const char *engine;	/* NULL or "auto", "io_uring", "threads" */
	unsigned depth;		/* most requests in flight at once */
};

struct blockif_stats {
	uint64_t rd_reqs, rd_bytes, rd_ns;
	uint64_t wr_reqs, wr_bytes, wr_ns;
	uint64_t flush_reqs, flush_ns;
	uint64_t discard_reqs, discard_bytes;
	uint64_t zero_reqs, zero_bytes;
	uint64_t errors;	/* requests completed with an error */
};

/* Reads bhyve's block variables under node into o (path from node.path,
 * "sectorsize=L[/P]" checked); engine from "block.engine".  -EINVAL with
 * err ("what: why") on bad values. */
int blockif_parse_opts(struct config *cfg, const char *node, struct blockif_opts *o,
		       char *err, size_t errlen);
/* bhyve's legacy "-s N,virtio-blk,PATH[,opt...]" tail into node.path and
 * generic key[=value] variables. */
int blockif_legacy_config(struct config *cfg, const char *node, const char *opts,
			  char *err, size_t errlen);

/* Opens the backend, locks it against a second writer (flock: exclusive
 * for read-write, shared for ro), sets up the engine.  On failure err says
 * "PATH: why" and nothing is left open. */
int blockif_open(const struct blockif_opts *o, struct blockif **out, char *err, size_t errlen);
/* Waits for requests in flight, then frees everything. */
void blockif_close(struct blockif *b);

uint64_t blockif_size(const struct blockif *b);		/* bytes */
uint32_t blockif_sectsz(const struct blockif *b);
uint32_t blockif_psectsz(const struct blockif *b);
bool blockif_readonly(const struct blockif *b);
bool blockif_candelete(const struct blockif *b);
const char *blockif_engine(const struct blockif *b);	/* "io_uring" / "threads" */

/* Queues r (its fields above `opaque` set, result ignored).  -EBUSY when
 * depth requests are in flight, -EROFS for a write to a read-only backend,
 * -EINVAL for a request outside the disk; nothing is queued then. */
int blockif_submit(struct blockif *b, struct blockif_req *r);
/* Starts what was queued since the last kick (one syscall per batch). */
void blockif_kick(struct blockif *b);
int blockif_event_fd(const struct blockif *b);
/* Calls done(opaque, r) for every completed request; returns how many. */
unsigned blockif_reap(struct blockif *b, void (*done)(void *opaque, struct blockif_req *r),
		      void *opaque);
unsigned blockif_inflight(const struct blockif *b);
void blockif_get_stats(struct blockif *b, struct blockif_stats *out);

#endif
