/* Virtqueues, device side: split (virtio 1.x 2.7) and packed (2.8) rings.
 *
 * The driver runs concurrently on other vCPUs and may be hostile, so:
 * - every guest field is read exactly once into a local (volatile loads,
 *   so the compiler cannot re-read it after validation) and only the local
 *   is checked and used;
 * - acquire fences order "the driver published it" before reading what was
 *   published; release fences order our used-entry writes before the index
 *   or flags that publish them; full fences separate a store the driver
 *   polls from a load of what the driver stores (notification races);
 * - every guest address goes through vq_map(), which rejects overflow,
 *   misalignment and anything not wholly inside guest RAM. */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "virtio/virtqueue.h"

#define DESC_SIZE	16u
#define CHAIN_BYTES_MAX	(1ull << 32)	/* spec 2.7.4.2: chain <= 2^32 bytes */

/* A descriptor copied out of guest memory.  `tag` is the split ring's
 * next index or the packed ring's buffer id. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t tag;
	uint16_t flags;
};

/* Host pointer to [gpa, gpa+len) or NULL.  `align` applies to the guest
 * address (the spec's rule) and to the host pointer (so typed volatile
 * accesses below are aligned whatever the accessor maps). */
static void *vq_map(const struct vq_mem *m, uint64_t gpa, uint64_t len,
		    uint64_t align)
{
	void *p;

	if (len == 0 || gpa > UINT64_MAX - len || (gpa & (align - 1)))
		return NULL;
	p = m->gpa(m->opaque, gpa, len);
	if (p && ((uintptr_t)p & (align - 1)))
		return NULL;
	return p;
}

static uint16_t ld16(const void *p)
{
	return le16toh(*(const volatile uint16_t *)p);
}

static void st16(void *p, uint16_t v)
{
	*(volatile uint16_t *)p = htole16(v);
}

static void st32(void *p, uint32_t v)
{
	*(volatile uint32_t *)p = htole32(v);
}

/* Byte-wise so indirect tables need no alignment; each byte read once. */
static void rd_desc(const void *p, struct desc *d)
{
	const volatile uint8_t *s = p;
	uint8_t b[DESC_SIZE];

	for (unsigned i = 0; i < DESC_SIZE; i++)
		b[i] = s[i];
	d->addr = 0;
	for (unsigned i = 0; i < 8; i++)
		d->addr |= (uint64_t)b[i] << (8 * i);
	d->len = (uint32_t)b[8] | (uint32_t)b[9] << 8 |
		 (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
	/* split: flags then next; packed: id then flags */
	d->tag = (uint16_t)(b[12] | b[13] << 8);
	d->flags = (uint16_t)(b[14] | b[15] << 8);
}

static void rd_split_desc(const void *p, struct desc *d)
{
	uint16_t flags;

	rd_desc(p, d);
	flags = d->tag;
	d->tag = d->flags;
	d->flags = flags;
}

static uint16_t sat_add16(uint16_t a, uint32_t b)
{
	uint32_t s = a + b;

	return s > UINT16_MAX ? UINT16_MAX : (uint16_t)s;
}

/* ---- layout ---- */

static uint64_t split_avail_bytes(uint16_t size)
{
	return 6 + 2 * (uint64_t)size;	/* flags, idx, ring, used_event */
}

static uint64_t split_used_bytes(uint16_t size)
{
	return 6 + 8 * (uint64_t)size;	/* flags, idx, ring, avail_event */
}

static int check_size(const struct virtqueue *q)
{
	if (q->size == 0 || q->size > VQ_MAX_SIZE)
		return -EINVAL;
	/* free-running 16-bit indices only map onto slots if size | 65536 */
	if (!q->packed && (q->size & (q->size - 1)))
		return -EINVAL;
	if (q->packed && (q->last_avail_idx >= q->size || q->used_idx >= q->size))
		return -EINVAL;
	return 0;
}

static int check_layout(const struct virtqueue *q, const struct vq_mem *m)
{
	uint64_t drv = q->packed ? 4 : split_avail_bytes(q->size);
	uint64_t dev = q->packed ? 4 : split_used_bytes(q->size);

	if (!vq_map(m, q->desc_gpa, DESC_SIZE * (uint64_t)q->size, 16) ||
	    !vq_map(m, q->driver_gpa, drv, q->packed ? 4 : 2) ||
	    !vq_map(m, q->device_gpa, dev, 4))
		return -EFAULT;
	return 0;
}

int vq_check(const struct virtqueue *q, const struct vq_mem *m)
{
	int rc;

	if (!q->ready)
		return 0;
	rc = check_size(q);
	return rc ? rc : check_layout(q, m);
}

void vq_reset(struct virtqueue *q)
{
	memset(q, 0, sizeof(*q));
}

int vq_init(struct virtqueue *q, const struct vq_mem *m, uint16_t size,
	    uint64_t features, uint64_t desc, uint64_t driver, uint64_t device)
{
	int rc;

	vq_reset(q);
	q->size = size;
	q->packed = features & (1ull << VIRTIO_F_RING_PACKED);
	q->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	q->desc_gpa = desc;
	q->driver_gpa = driver;
	q->device_gpa = device;
	/* spec 2.8.1: both packed wrap counters start at 1 */
	q->avail_wrap = q->used_wrap = q->packed;
	q->ready = true;
	rc = vq_check(q, m);
	if (rc)
		vq_reset(q);
	return rc;
}

/* ---- building a request ---- */

/* Appends one buffer.  `limit` bounds the segment count: every descriptor
 * visited adds a segment, so it also ends loops (spec: a chain is never
 * longer than the Queue Size, indirect entries included). */
static int add_seg(const struct vq_mem *m, struct vq_elem *e,
		   const struct desc *d, unsigned limit)
{
	bool wr = d->flags & VRING_DESC_F_WRITE;
	unsigned n = e->out_num + e->in_num;
	void *p;

	if (n >= limit)
		return -ELOOP;
	if (!wr && e->in_num)		/* spec 2.7.4.2: readable first */
		return -EINVAL;
	if (d->len == 0)		/* QEMU refuses these too */
		return -EINVAL;
	p = vq_map(m, d->addr, d->len, 1);
	if (!p)
		return -EFAULT;
	e->iov[n].iov_base = p;
	e->iov[n].iov_len = d->len;
	if (wr) {
		e->in_num++;
		e->in_len += d->len;
	} else {
		e->out_num++;
		e->out_len += d->len;
	}
	return e->out_len + e->in_len > CHAIN_BYTES_MAX ? -EINVAL : 0;
}

static unsigned seg_limit(const struct virtqueue *q)
{
	return q->size < VQ_MAX_SEGS ? q->size : VQ_MAX_SEGS;
}

static void elem_clear(struct vq_elem *e)
{
	e->id = 0;
	e->ndescs = 0;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
}

/* Maps the table an indirect descriptor points at; *n gets its entries.
 * Only a head without NEXT may be indirect (spec 2.7.5.3.1, 2.8.19:
 * INDIRECT and NEXT never together, one table per chain). */
static int indirect_table(const struct virtqueue *q, const struct vq_mem *m,
			  const struct desc *d, const uint8_t **tbl,
			  uint32_t *n)
{
	if (!q->indirect || (d->flags & VRING_DESC_F_NEXT))
		return -EINVAL;
	if (d->len == 0 || d->len % DESC_SIZE)
		return -EINVAL;
	*n = d->len / DESC_SIZE;
	if (*n > seg_limit(q))		/* would overrun the limit anyway */
		return -ELOOP;
	*tbl = vq_map(m, d->addr, d->len, 1);
	return *tbl ? 0 : -EFAULT;
}

/* ---- split ring ---- */

/* Follows next links through a table of n entries starting at d. */
static int split_chain(const struct virtqueue *q, const struct vq_mem *m,
		       const uint8_t *tbl, uint32_t n, struct desc d,
		       struct vq_elem *e)
{
	for (;;) {
		int rc;

		if (d.flags & VRING_DESC_F_INDIRECT)	/* nested or mid-chain */
			return -EINVAL;
		rc = add_seg(m, e, &d, seg_limit(q));
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.tag >= n)
			return -EINVAL;
		rd_split_desc(tbl + DESC_SIZE * d.tag, &d);
	}
}

static int split_indirect(const struct virtqueue *q, const struct vq_mem *m,
			  const struct desc *d, struct vq_elem *e)
{
	const uint8_t *tbl = NULL;
	struct desc first;
	uint32_t n = 0;
	int rc = indirect_table(q, m, d, &tbl, &n);

	if (rc)
		return rc;
	rd_split_desc(tbl, &first);
	return split_chain(q, m, tbl, n, first, e);
}

static int split_walk(const struct virtqueue *q, const struct vq_mem *m,
		      uint16_t head, struct vq_elem *e)
{
	const uint8_t *tbl = vq_map(m, q->desc_gpa,
				    DESC_SIZE * (uint64_t)q->size, 16);
	struct desc d;

	if (!tbl)
		return -EFAULT;
	rd_split_desc(tbl + DESC_SIZE * head, &d);
	if (d.flags & VRING_DESC_F_INDIRECT)
		return split_indirect(q, m, &d, e);
	return split_chain(q, m, tbl, q->size, d, e);
}

/* With EVENT_IDX, tells the driver to kick once it passes what we have
 * consumed.  The full fence orders this store before our next load of
 * avail->idx, or a buffer added meanwhile could go unnoticed. */
static int publish_avail_event(struct virtqueue *q, const struct vq_mem *m)
{
	uint8_t *p;

	if (!q->event_idx || q->no_notify)
		return 0;
	if (q->packed) {
		p = vq_map(m, q->device_gpa, 4, 4);
		if (!p)
			return -EFAULT;
		st16(p, (uint16_t)(q->last_avail_idx |
			 q->avail_wrap << VRING_PACKED_EVENT_WRAP));
	} else {
		p = vq_map(m, q->device_gpa, split_used_bytes(q->size), 4);
		if (!p)
			return -EFAULT;
		st16(p + 4 + 8 * (uint64_t)q->size, q->last_avail_idx);
	}
	atomic_thread_fence(memory_order_seq_cst);
	return 0;
}

static int split_pop(struct virtqueue *q, const struct vq_mem *m,
		     struct vq_elem *e)
{
	const uint8_t *avail = vq_map(m, q->driver_gpa,
				      split_avail_bytes(q->size), 2);
	uint16_t idx, head;
	int rc;

	if (!avail)
		return -EFAULT;
	idx = ld16(avail + 2);
	if (idx == q->last_avail_idx)
		return 0;
	/* more than a ring's worth outstanding: the driver lied */
	if ((uint16_t)(idx - q->last_avail_idx) > q->size)
		return -EINVAL;
	atomic_thread_fence(memory_order_acquire);	/* idx before ring[] */
	head = ld16(avail + 4 + 2 * (q->last_avail_idx & (q->size - 1)));
	if (head >= q->size)
		return -EINVAL;
	rc = split_walk(q, m, head, e);
	if (rc)
		return rc;
	e->id = head;
	e->ndescs = 1;
	q->last_avail_idx++;
	rc = publish_avail_event(q, m);
	return rc ? rc : 1;
}

static int split_push(struct virtqueue *q, const struct vq_mem *m,
		      const struct vq_elem *e, uint32_t written)
{
	uint8_t *used = vq_map(m, q->device_gpa, split_used_bytes(q->size), 4);
	uint8_t *slot;

	if (!used)
		return -EFAULT;
	slot = used + 4 + 8 * (uint64_t)(q->used_idx & (q->size - 1));
	st32(slot, e->id);
	st32(slot + 4, written);
	atomic_thread_fence(memory_order_release);	/* entry before idx */
	q->used_idx++;
	st16(used + 2, q->used_idx);
	q->unsignalled = sat_add16(q->unsignalled, 1);
	return 0;
}

static bool split_needs_notify(struct virtqueue *q, const struct vq_mem *m,
			       uint16_t pending)
{
	const uint8_t *avail = vq_map(m, q->driver_gpa,
				      split_avail_bytes(q->size), 2);
	uint16_t v;

	if (!avail) {
		q->broken = true;
		return false;
	}
	if (!q->event_idx) {
		v = ld16(avail);
		return pending && !(v & VRING_AVAIL_F_NO_INTERRUPT);
	}
	v = ld16(avail + 4 + 2 * (uint64_t)q->size);	/* used_event */
	return vring_need_event(v, q->used_idx,
				(uint16_t)(q->used_idx - pending));
}

static int split_set_notify(struct virtqueue *q, const struct vq_mem *m,
			    bool enable)
{
	uint8_t *used = vq_map(m, q->device_gpa, split_used_bytes(q->size), 4);

	if (!used)
		return -EFAULT;
	if (!q->event_idx)
		st16(used, enable ? 0 : VRING_USED_F_NO_NOTIFY);
	/* with EVENT_IDX disabling is passive: avail_event stays behind */
	return 0;
}

/* ---- packed ring ---- */

static bool packed_avail(uint16_t flags, bool wrap)
{
	bool a = flags & VRING_PACKED_DESC_F_AVAIL;
	bool u = flags & VRING_PACKED_DESC_F_USED;

	return a == wrap && u != wrap;
}

/* Reads the rest of a chain in ring order; *id is the last descriptor's
 * buffer id (spec 2.8.6), *ndescs the slots it covers. */
static int packed_chain(const struct virtqueue *q, const struct vq_mem *m,
			const uint8_t *ring, struct desc d, struct vq_elem *e)
{
	uint32_t i = q->last_avail_idx;
	uint32_t n = 1;

	for (;;) {
		int rc;

		if (d.flags & VRING_DESC_F_INDIRECT)	/* mixed list */
			return -EINVAL;
		rc = add_seg(m, e, &d, seg_limit(q));
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (++n > q->size)
			return -ELOOP;
		if (++i == q->size)
			i = 0;
		rd_desc(ring + DESC_SIZE * i, &d);
	}
	e->id = d.tag;
	e->ndescs = (uint16_t)n;
	return 0;
}

/* Entries are consecutive; only WRITE is meaningful in them, the other
 * flags are reserved and ignored (spec 2.8.19), so no nesting is possible. */
static int packed_indirect(const struct virtqueue *q, const struct vq_mem *m,
			   const struct desc *d, struct vq_elem *e)
{
	const uint8_t *tbl = NULL;
	uint32_t n = 0;
	int rc = indirect_table(q, m, d, &tbl, &n);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		struct desc t;

		rd_desc(tbl + DESC_SIZE * i, &t);
		t.flags &= VRING_DESC_F_WRITE;
		rc = add_seg(m, e, &t, seg_limit(q));
		if (rc)
			return rc;
	}
	e->id = d->tag;
	e->ndescs = 1;
	return 0;
}

static void packed_advance(uint16_t *idx, bool *wrap, uint16_t n,
			   uint16_t size)
{
	uint32_t i = (uint32_t)*idx + n;

	if (i >= size) {
		i -= size;
		*wrap = !*wrap;
	}
	*idx = (uint16_t)i;
}

static int packed_pop(struct virtqueue *q, const struct vq_mem *m,
		      struct vq_elem *e)
{
	const uint8_t *ring = vq_map(m, q->desc_gpa,
				     DESC_SIZE * (uint64_t)q->size, 16);
	const uint8_t *slot;
	struct desc d;
	uint16_t flags;
	int rc;

	if (!ring)
		return -EFAULT;
	slot = ring + DESC_SIZE * q->last_avail_idx;
	flags = ld16(slot + 14);
	if (!packed_avail(flags, q->avail_wrap))
		return 0;
	atomic_thread_fence(memory_order_acquire);	/* flags before body */
	rd_desc(slot, &d);
	d.flags = flags;	/* the value we checked, not a re-read */
	if (d.flags & VRING_DESC_F_INDIRECT)
		rc = packed_indirect(q, m, &d, e);
	else
		rc = packed_chain(q, m, ring, d, e);
	if (rc)
		return rc;
	if (e->id >= q->size)
		return -EINVAL;
	packed_advance(&q->last_avail_idx, &q->avail_wrap, e->ndescs, q->size);
	rc = publish_avail_event(q, m);
	return rc ? rc : 1;
}

static int packed_push(struct virtqueue *q, const struct vq_mem *m,
		       const struct vq_elem *e, uint32_t written)
{
	uint8_t *ring = vq_map(m, q->desc_gpa, DESC_SIZE * (uint64_t)q->size, 16);
	uint8_t *slot;
	uint16_t flags = q->used_wrap ?
		VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0;

	if (e->ndescs == 0 || e->ndescs > q->size)
		return -EINVAL;
	if (!ring)
		return -EFAULT;
	slot = ring + DESC_SIZE * q->used_idx;
	st32(slot + 8, written);
	st16(slot + 12, e->id);
	if (written)
		flags |= VRING_DESC_F_WRITE;
	atomic_thread_fence(memory_order_release);	/* body before flags */
	st16(slot + 14, flags);
	packed_advance(&q->used_idx, &q->used_wrap, e->ndescs, q->size);
	q->unsignalled = sat_add16(q->unsignalled, e->ndescs);
	return 0;
}

static bool packed_needs_notify(struct virtqueue *q, const struct vq_mem *m,
				uint16_t pending)
{
	const uint8_t *ev = vq_map(m, q->driver_gpa, 4, 4);
	uint16_t flags, off_wrap, off;

	if (!ev) {
		q->broken = true;
		return false;
	}
	flags = ld16(ev + 2) & 3;
	if (!pending || flags == VRING_PACKED_EVENT_DISABLE)
		return false;
	/* DESC without EVENT_IDX, and the reserved value 3: notify */
	if (flags != VRING_PACKED_EVENT_DESC || !q->event_idx)
		return true;
	if (pending >= q->size)		/* went all the way round */
		return true;
	atomic_thread_fence(memory_order_acquire);
	off_wrap = ld16(ev);
	off = off_wrap & 0x7fff;
	/* an event in the previous lap sits `size` slots further back */
	if ((bool)(off_wrap >> VRING_PACKED_EVENT_WRAP) != q->used_wrap)
		off = (uint16_t)(off - q->size);
	return vring_need_event(off, q->used_idx,
				(uint16_t)(q->used_idx - pending));
}

static int packed_set_notify(struct virtqueue *q, const struct vq_mem *m,
			     bool enable)
{
	uint8_t *ev = vq_map(m, q->device_gpa, 4, 4);
	uint16_t flags = VRING_PACKED_EVENT_DISABLE;

	if (!ev)
		return -EFAULT;
	if (enable && q->event_idx) {
		st16(ev, (uint16_t)(q->last_avail_idx |
			 q->avail_wrap << VRING_PACKED_EVENT_WRAP));
		atomic_thread_fence(memory_order_release);
		flags = VRING_PACKED_EVENT_DESC;
	} else if (enable) {
		flags = VRING_PACKED_EVENT_ENABLE;
	}
	st16(ev + 2, flags);
	return 0;
}

/* ---- entry points ---- */

int vq_pop(struct virtqueue *q, const struct vq_mem *m, struct vq_elem *e)
{
	int rc;

	if (q->broken)
		return -EIO;
	if (!q->ready)
		return 0;	/* a kick on a disabled queue is ignored */
	elem_clear(e);
	rc = q->packed ? packed_pop(q, m, e) : split_pop(q, m, e);
	if (rc < 0) {
		q->broken = true;
		elem_clear(e);
	}
	return rc;
}

void vq_unpop(struct virtqueue *q, const struct vq_elem *e)
{
	if (!q->packed) {
		q->last_avail_idx--;
		return;
	}
	if (e->ndescs > q->last_avail_idx) {
		q->last_avail_idx = (uint16_t)(q->last_avail_idx + q->size - e->ndescs);
		q->avail_wrap = !q->avail_wrap;
	} else {
		q->last_avail_idx = (uint16_t)(q->last_avail_idx - e->ndescs);
	}
}

int vq_push(struct virtqueue *q, const struct vq_mem *m,
	    const struct vq_elem *e, uint32_t written)
{
	int rc;

	if (q->broken)
		return -EIO;
	if (!q->ready || e->id >= q->size || written > e->in_len)
		return -EINVAL;
	rc = q->packed ? packed_push(q, m, e, written)
		       : split_push(q, m, e, written);
	if (rc == -EFAULT)	/* the rings left guest RAM */
		q->broken = true;
	return rc;
}

/* Split ring: every entry, then the index once. */
static int split_push_batch(struct virtqueue *q, const struct vq_mem *m,
			    struct vq_elem *const *e, const uint32_t *written, unsigned n)
{
	uint8_t *used = vq_map(m, q->device_gpa, split_used_bytes(q->size), 4);

	if (!used)
		return -EFAULT;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *slot = used + 4 + 8 * (uint64_t)((uint16_t)(q->used_idx + i) &
							   (q->size - 1));

		st32(slot, e[i]->id);
		st32(slot + 4, written[i]);
	}
	atomic_thread_fence(memory_order_release);	/* entries before idx */
	q->used_idx = (uint16_t)(q->used_idx + n);
	st16(used + 2, q->used_idx);
	q->unsignalled = sat_add16(q->unsignalled, (uint16_t)n);
	return 0;
}

/* Packed ring: the driver walks descriptors in order and stops at the
 * first not yet used, so the first entry's flags are written last. */
static int packed_push_batch(struct virtqueue *q, const struct vq_mem *m,
			     struct vq_elem *const *e, const uint32_t *written, unsigned n)
{
	uint8_t *ring = vq_map(m, q->desc_gpa, DESC_SIZE * (uint64_t)q->size, 16);
	uint16_t idx = q->used_idx, first_flags = 0;
	bool wrap = q->used_wrap;
	uint8_t *first = NULL;

	if (!ring)
		return -EFAULT;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *slot = ring + DESC_SIZE * idx;
		uint16_t flags = (wrap ? VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0) |
				 (written[i] ? VRING_DESC_F_WRITE : 0);

		st32(slot + 8, written[i]);
		st16(slot + 12, e[i]->id);
		atomic_thread_fence(memory_order_release);	/* body before flags */
		if (i == 0) {
			first = slot;
			first_flags = flags;
		} else {
			st16(slot + 14, flags);
		}
		packed_advance(&idx, &wrap, e[i]->ndescs, q->size);
		q->unsignalled = sat_add16(q->unsignalled, e[i]->ndescs);
	}
	atomic_thread_fence(memory_order_release);	/* the rest before the first */
	st16(first + 14, first_flags);
	q->used_idx = idx;
	q->used_wrap = wrap;
	return 0;
}

int vq_push_batch(struct virtqueue *q, const struct vq_mem *m,
		  struct vq_elem *const *elems, const uint32_t *written, unsigned n)
{
	int rc;

	if (q->broken)
		return -EIO;
	if (!q->ready || n == 0 || n > q->size)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (elems[i]->id >= q->size || written[i] > elems[i]->in_len ||
		    (q->packed && (elems[i]->ndescs == 0 || elems[i]->ndescs > q->size)))
			return -EINVAL;
	rc = q->packed ? packed_push_batch(q, m, elems, written, n)
		       : split_push_batch(q, m, elems, written, n);
	if (rc == -EFAULT)
		q->broken = true;
	return rc;
}

bool vq_needs_notify(struct virtqueue *q, const struct vq_mem *m)
{
	uint16_t pending = q->unsignalled;

	if (q->broken || !q->ready)
		return false;
	q->unsignalled = 0;
	/* our used-index store must be visible before we read the driver's
	 * suppression fields, or both sides may decide to stay silent */
	atomic_thread_fence(memory_order_seq_cst);
	return q->packed ? packed_needs_notify(q, m, pending)
			 : split_needs_notify(q, m, pending);
}

int vq_set_notify(struct virtqueue *q, const struct vq_mem *m, bool enable)
{
	int rc;

	if (q->broken)
		return -EIO;
	if (!q->ready)
		return -EINVAL;
	q->no_notify = !enable;
	rc = q->packed ? packed_set_notify(q, m, enable)
		       : split_set_notify(q, m, enable);
	if (!rc && enable)
		rc = publish_avail_event(q, m);
	if (rc == -EFAULT)
		q->broken = true;
	/* the caller pops again next: order our flag store before that */
	atomic_thread_fence(memory_order_seq_cst);
	return rc;
}
