/* Virtqueues against an arbitrary guest: the input's first HDR bytes pick
 * the ring (split or packed, features, size, ring addresses, starting
 * indices, how much the device claims to write); the rest is guest RAM.
 * Pop until empty or broken, touch every byte of every segment (ASan
 * catches anything outside guest RAM), push each element back. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtqueue.h"

#define HDR	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ram {
	uint8_t *mem;
	size_t len;
};

static void *ram_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	struct ram *r = opaque;

	if (gpa >= r->len || len > r->len - gpa)
		return NULL;
	return r->mem + gpa;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint16_t pick_size(const uint8_t *h)
{
	if (h[0] & 1)				/* packed: any size */
		return (uint16_t)(1 + le16(h + 1) % 512);
	return (uint16_t)(1u << (h[1] % 10));	/* split: power of 2 */
}

static int setup(struct virtqueue *q, const struct vq_mem *m,
		 const uint8_t *h)
{
	uint64_t features = 0;
	uint16_t desc = le16(h + 3), drv = le16(h + 5), dev = le16(h + 7);

	if (h[0] & 1)
		features |= 1ull << VIRTIO_F_RING_PACKED;
	if (h[0] & 2)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (h[0] & 4)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (!(h[0] & 8)) {	/* mostly aligned, else init just refuses */
		desc &= ~15u;
		drv &= ~3u;
		dev &= ~3u;
	}
	if (vq_init(q, m, pick_size(h), features, desc, drv, dev))
		return -1;
	if (h[0] & 16) {	/* start mid-way, as after a restore */
		uint16_t i = le16(h + 14);

		q->last_avail_idx = q->used_idx = q->packed ? i % q->size : i;
		q->avail_wrap = q->used_wrap = h[0] & 32;
		if (vq_check(q, m))
			abort();
	}
	return 0;
}

/* Reads every readable byte and writes every writable one. */
static uint8_t touch(const struct vq_elem *e)
{
	uint8_t sum = 0;

	for (unsigned i = 0; i < e->out_num; i++)
		for (size_t j = 0; j < e->iov[i].iov_len; j++)
			sum ^= ((const uint8_t *)e->iov[i].iov_base)[j];
	for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++)
		memset(e->iov[i].iov_base, sum, e->iov[i].iov_len);
	return sum;
}

static void check_elem(const struct virtqueue *q, const struct vq_elem *e)
{
	uint64_t out = 0, in = 0;

	if (e->out_num + e->in_num == 0 || e->out_num + e->in_num > q->size ||
	    e->id >= q->size || e->ndescs == 0 || e->ndescs > q->size)
		abort();
	for (unsigned i = 0; i < e->out_num + e->in_num; i++)
		*(i < e->out_num ? &out : &in) += e->iov[i].iov_len;
	if (out != e->out_len || in != e->in_len)
		abort();
}

static void run(struct virtqueue *q, const struct vq_mem *m, const uint8_t *h,
		struct vq_elem *e)
{
	uint32_t seed;

	memcpy(&seed, h + 9, 4);
	if (h[13] & 1)
		(void)vq_set_notify(q, m, h[13] & 2);
	for (unsigned n = 0; n < 2u * q->size + 4; n++) {
		int rc = vq_pop(q, m, e);
		uint32_t written;

		if (rc <= 0) {
			if (rc < 0 && (!q->broken || vq_pop(q, m, e) != -EIO))
				abort();
			break;
		}
		check_elem(q, e);
		touch(e);
		written = (uint32_t)(e->in_len ? seed % (e->in_len + 1) : 0);
		seed = seed * 1103515245u + 12345u;
		if (vq_push(q, m, e, written))
			abort();
		if (h[13] & 4)
			(void)vq_needs_notify(q, m);
	}
	(void)vq_needs_notify(q, m);
	(void)vq_set_notify(q, m, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_elem e;
	struct virtqueue q;
	struct ram r;
	struct vq_mem m = { ram_gpa, &r };

	if (size < HDR)
		return 0;
	r.len = size - HDR;
	r.mem = malloc(r.len ? r.len : 1);
	if (!r.mem)
		abort();
	memcpy(r.mem, data + HDR, r.len);
	if (setup(&q, &m, data) == 0)
		run(&q, &m, data, &e);
	free(r.mem);
	return 0;
}
