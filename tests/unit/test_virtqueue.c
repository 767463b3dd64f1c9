/* Virtqueues as a virtio driver sees them: the test plays the driver on a
 * fake guest memory and checks what the device side pops, returns and
 * signals, and that every broken rule breaks the queue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtqueue.h"

#define MEM_SIZE	(1u << 20)
#define DESC		0x1000u		/* descriptor table / packed ring */
#define DRIVER		0x3000u		/* avail ring / driver event */
#define DEVICE		0x4000u		/* used ring / device event */
#define TABLE		0x8000u		/* an indirect table */
#define DATA		0x10000u	/* buffers */

#define F_INDIRECT	(1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT		(1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_PACKED	(1ull << VIRTIO_F_RING_PACKED)

/* The fake guest: RAM plus the driver's own ring state. */
struct drv {
	uint8_t *mem;
	struct vq_mem m;
	struct virtqueue q;
	struct vq_elem e;
	uint16_t size;
	uint16_t avail_idx;	/* split: free-running; packed: slot */
	bool wrap;		/* packed driver wrap counter */
};

static void *fake_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	uint8_t *mem = opaque;

	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return mem + gpa;
}

static struct drv *drv_new(uint16_t size, uint64_t features)
{
	struct drv *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->mem = calloc(1, MEM_SIZE);
	assert_non_null(d->mem);
	d->m.gpa = fake_gpa;
	d->m.opaque = d->mem;
	d->size = size;
	d->wrap = true;
	assert_int_equal(vq_init(&d->q, &d->m, size, features, DESC, DRIVER,
				 DEVICE), 0);
	return d;
}

static void drv_free(struct drv *d)
{
	free(d->mem);
	free(d);
}

static void w16(struct drv *d, uint64_t gpa, uint16_t v) { memcpy(d->mem + gpa, &v, 2); }
static void w32(struct drv *d, uint64_t gpa, uint32_t v) { memcpy(d->mem + gpa, &v, 4); }
static void w64(struct drv *d, uint64_t gpa, uint64_t v) { memcpy(d->mem + gpa, &v, 8); }
static uint16_t r16(struct drv *d, uint64_t gpa) { uint16_t v; memcpy(&v, d->mem + gpa, 2); return v; }
static uint32_t r32(struct drv *d, uint64_t gpa) { uint32_t v; memcpy(&v, d->mem + gpa, 4); return v; }

/* ---- split driver ---- */

/* Entry i of a split descriptor table at gpa `tbl`. */
static void sdesc_at(struct drv *d, uint64_t tbl, uint16_t i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t p = tbl + 16u * i;

	w64(d, p, addr);
	w32(d, p + 8, len);
	w16(d, p + 12, flags);
	w16(d, p + 14, next);
}

static void sdesc(struct drv *d, uint16_t i, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next)
{
	sdesc_at(d, DESC, i, addr, len, flags, next);
}

static void avail_add(struct drv *d, uint16_t head)
{
	w16(d, DRIVER + 4 + 2u * (d->avail_idx % d->size), head);
	d->avail_idx++;
	w16(d, DRIVER + 2, d->avail_idx);
}

static uint16_t used_idx(struct drv *d) { return r16(d, DEVICE + 2); }
static uint32_t used_id(struct drv *d, uint16_t i) { return r32(d, DEVICE + 4 + 8u * (i % d->size)); }
static uint32_t used_len(struct drv *d, uint16_t i) { return r32(d, DEVICE + 8 + 8u * (i % d->size)); }

/* Offers one readable buffer at descriptor `i`, pops and returns it. */
static void split_cycle(struct drv *d, uint16_t i)
{
	sdesc(d, i, DATA, 64, 0, 0);
	avail_add(d, i);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, i);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
}

static void test_split_one(void **state)
{
	struct drv *d = drv_new(8, 0);

	memcpy(d->mem + DATA, "hello", 5);
	sdesc(d, 3, DATA, 100, 0, 0);
	avail_add(d, 3);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 3);
	assert_int_equal(d->e.out_num, 1);
	assert_int_equal(d->e.in_num, 0);
	assert_int_equal(d->e.out_len, 100);
	assert_memory_equal(d->e.iov[0].iov_base, "hello", 5);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
	assert_int_equal(used_idx(d), 1);
	assert_int_equal(used_id(d, 0), 3);
	assert_int_equal(used_len(d, 0), 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 0);
	assert_false(d->q.broken);
	drv_free(d);
}

static void test_split_many(void **state)
{
	struct drv *d = drv_new(8, 0);
	static const uint32_t len[5] = { 10, 20, 30, 40, 50 };

	/* out of order in the table: 5 -> 1 -> 7 -> 0 -> 2 */
	sdesc(d, 5, DATA + 0x000, len[0], VRING_DESC_F_NEXT, 1);
	sdesc(d, 1, DATA + 0x100, len[1], VRING_DESC_F_NEXT, 7);
	sdesc(d, 7, DATA + 0x200, len[2], VRING_DESC_F_NEXT, 0);
	sdesc(d, 0, DATA + 0x300, len[3], VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	sdesc(d, 2, DATA + 0x400, len[4], VRING_DESC_F_WRITE, 6);
	avail_add(d, 5);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 5);
	assert_int_equal(d->e.out_num, 3);
	assert_int_equal(d->e.in_num, 2);
	assert_int_equal(d->e.out_len, 60);
	assert_int_equal(d->e.in_len, 90);
	for (int i = 0; i < 5; i++) {
		assert_ptr_equal(d->e.iov[i].iov_base, d->mem + DATA + 0x100u * i);
		assert_int_equal(d->e.iov[i].iov_len, len[i]);
	}
	memset(d->e.iov[3].iov_base, 0xab, 40);
	memset(d->e.iov[4].iov_base, 0xcd, 5);
	/* a device claiming more than the writable part is refused */
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 91), -EINVAL);
	assert_false(d->q.broken);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 45), 0);
	assert_int_equal(used_idx(d), 1);
	assert_int_equal(used_id(d, 0), 5);
	assert_int_equal(used_len(d, 0), 45);
	assert_int_equal(d->mem[DATA + 0x404], 0xcd);
	drv_free(d);
}

/* 16-bit indices roll over from 65535 to 0 on both rings. */
static void test_split_wrap(void **state)
{
	struct drv *d = drv_new(4, 0);

	d->q.last_avail_idx = d->q.used_idx = 65534;
	d->avail_idx = 65534;
	assert_int_equal(vq_check(&d->q, &d->m), 0);
	for (uint16_t k = 0; k < 9; k++) {
		split_cycle(d, k % 4);
		assert_int_equal(used_idx(d), (uint16_t)(65535 + k));
		assert_int_equal(used_id(d, (uint16_t)(65534 + k)), k % 4);
	}
	assert_int_equal(d->q.last_avail_idx, 7);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 0);
	drv_free(d);
}

static void test_split_indirect(void **state)
{
	struct drv *d = drv_new(8, F_INDIRECT);

	sdesc_at(d, TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	sdesc_at(d, TABLE, 2, DATA + 0x100, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	sdesc_at(d, TABLE, 1, DATA + 0x200, 64, VRING_DESC_F_WRITE, 0);
	/* WRITE on the indirect descriptor itself is ignored */
	sdesc(d, 4, TABLE, 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	avail_add(d, 4);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 4);
	assert_int_equal(d->e.out_num, 1);
	assert_int_equal(d->e.in_num, 2);
	assert_int_equal(d->e.out_len, 16);
	assert_int_equal(d->e.in_len, 96);
	assert_ptr_equal(d->e.iov[2].iov_base, d->mem + DATA + 0x200);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 96), 0);
	assert_int_equal(used_id(d, 0), 4);
	assert_int_equal(used_len(d, 0), 96);
	drv_free(d);
}

static void set_used_event(struct drv *d, uint16_t v)
{
	w16(d, DRIVER + 4 + 2u * d->size, v);
}

static void test_split_event_idx(void **state)
{
	struct drv *d = drv_new(8, F_EVENT);

	set_used_event(d, 0);
	split_cycle(d, 0);			/* used 0 -> 1 passes 0 */
	assert_true(vq_needs_notify(&d->q, &d->m));
	assert_false(vq_needs_notify(&d->q, &d->m));	/* nothing new */
	/* the device tells the driver where to kick next */
	assert_int_equal(r16(d, DEVICE + 4 + 8u * 8), 1);
	set_used_event(d, 5);
	split_cycle(d, 1);			/* 1 -> 2 */
	assert_false(vq_needs_notify(&d->q, &d->m));
	for (uint16_t i = 2; i < 5; i++)	/* 2 -> 5: event 5 not passed */
		split_cycle(d, i);
	assert_false(vq_needs_notify(&d->q, &d->m));
	split_cycle(d, 5);			/* 5 -> 6 passes 5 */
	assert_true(vq_needs_notify(&d->q, &d->m));
	/* batched: 6 -> 9 with event 7 inside */
	set_used_event(d, 7);
	for (uint16_t i = 0; i < 3; i++)
		split_cycle(d, i);
	assert_true(vq_needs_notify(&d->q, &d->m));
	drv_free(d);
}

static void test_split_event_idx_wrap(void **state)
{
	struct drv *d = drv_new(8, F_EVENT);

	d->q.last_avail_idx = d->q.used_idx = 65534;
	d->avail_idx = 65534;
	set_used_event(d, 65535);
	split_cycle(d, 0);
	split_cycle(d, 1);			/* 65534 -> 0 passes 65535 */
	assert_true(vq_needs_notify(&d->q, &d->m));
	set_used_event(d, 3);
	split_cycle(d, 2);			/* 0 -> 1 */
	assert_false(vq_needs_notify(&d->q, &d->m));
	drv_free(d);
}

static void test_split_no_interrupt(void **state)
{
	struct drv *d = drv_new(8, 0);

	w16(d, DRIVER, VRING_AVAIL_F_NO_INTERRUPT);
	split_cycle(d, 0);
	assert_false(vq_needs_notify(&d->q, &d->m));
	w16(d, DRIVER, 0);
	split_cycle(d, 1);
	assert_true(vq_needs_notify(&d->q, &d->m));
	assert_false(vq_needs_notify(&d->q, &d->m));	/* nothing new */
	drv_free(d);
}

static void test_split_set_notify(void **state)
{
	struct drv *d = drv_new(8, 0);

	assert_int_equal(vq_set_notify(&d->q, &d->m, false), 0);
	assert_int_equal(r16(d, DEVICE), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(vq_set_notify(&d->q, &d->m, true), 0);
	assert_int_equal(r16(d, DEVICE), 0);
	drv_free(d);

	d = drv_new(8, F_EVENT);
	assert_int_equal(vq_set_notify(&d->q, &d->m, false), 0);
	for (uint16_t i = 0; i < 3; i++)
		split_cycle(d, i);
	/* disabled: avail_event stays behind, so no kicks */
	assert_int_equal(r16(d, DEVICE + 4 + 8u * 8), 0);
	assert_int_equal(vq_set_notify(&d->q, &d->m, true), 0);
	assert_int_equal(r16(d, DEVICE + 4 + 8u * 8), 3);
	assert_int_equal(r16(d, DEVICE), 0);
	drv_free(d);
}

/* ---- broken split rings ---- */

static void assert_broken(struct drv *d, int rc, int want)
{
	assert_int_equal(rc, want);
	assert_true(d->q.broken);
	assert_int_equal(d->e.out_num + d->e.in_num, 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), -EIO);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), -EIO);
	assert_int_equal(vq_set_notify(&d->q, &d->m, true), -EIO);
	assert_false(vq_needs_notify(&d->q, &d->m));
}

struct bad_case {
	const char *what;
	uint64_t features;
	int want;
	void (*setup)(struct drv *d);
};

static void bad_loop(struct drv *d)
{
	sdesc(d, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	sdesc(d, 1, DATA, 8, VRING_DESC_F_NEXT, 0);
	avail_add(d, 0);
}

static void bad_head(struct drv *d) { avail_add(d, 8); }

static void bad_next(struct drv *d)
{
	sdesc(d, 0, DATA, 8, VRING_DESC_F_NEXT, 8);
	avail_add(d, 0);
}

static void bad_addr(struct drv *d)
{
	sdesc(d, 0, MEM_SIZE - 10, 100, 0, 0);
	avail_add(d, 0);
}

static void bad_addr_wrap(struct drv *d)
{
	sdesc(d, 0, UINT64_MAX - 5, 100, 0, 0);
	avail_add(d, 0);
}

static void bad_order(struct drv *d)
{
	sdesc(d, 0, DATA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	sdesc(d, 1, DATA, 8, 0, 0);
	avail_add(d, 0);
}

static void bad_zero_len(struct drv *d)
{
	sdesc(d, 0, DATA, 0, 0, 0);
	avail_add(d, 0);
}

static void bad_indirect(struct drv *d)
{
	sdesc_at(d, TABLE, 0, DATA, 8, 0, 0);
	sdesc(d, 0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
}

static void bad_nested(struct drv *d)
{
	sdesc_at(d, TABLE, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	sdesc_at(d, TABLE, 1, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	sdesc(d, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
}

static void bad_indirect_zero(struct drv *d)
{
	sdesc(d, 0, TABLE, 0, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
}

static void bad_indirect_len(struct drv *d)
{
	sdesc(d, 0, TABLE, 20, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
}

static void bad_indirect_next(struct drv *d)
{
	sdesc_at(d, TABLE, 0, DATA, 8, 0, 0);
	sdesc(d, 0, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	sdesc(d, 1, DATA, 8, 0, 0);
	avail_add(d, 0);
}

static void bad_indirect_loop(struct drv *d)
{
	sdesc_at(d, TABLE, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	sdesc_at(d, TABLE, 1, DATA, 8, VRING_DESC_F_NEXT, 0);
	sdesc(d, 0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
}

static void bad_indirect_outside(struct drv *d)
{
	sdesc(d, 0, MEM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
}

static void bad_idx_jump(struct drv *d)
{
	sdesc(d, 0, DATA, 8, 0, 0);
	avail_add(d, 0);
	w16(d, DRIVER + 2, 9);		/* 9 ahead of 0 on an 8-entry ring */
}

static const struct bad_case split_bad[] = {
	{ "loop", 0, -ELOOP, bad_loop },
	{ "head >= size", 0, -EINVAL, bad_head },
	{ "next >= size", 0, -EINVAL, bad_next },
	{ "buffer outside RAM", 0, -EFAULT, bad_addr },
	{ "buffer address wraps", 0, -EFAULT, bad_addr_wrap },
	{ "readable after writable", 0, -EINVAL, bad_order },
	{ "zero-length buffer", 0, -EINVAL, bad_zero_len },
	{ "indirect not negotiated", 0, -EINVAL, bad_indirect },
	{ "nested indirect", F_INDIRECT, -EINVAL, bad_nested },
	{ "zero-length indirect table", F_INDIRECT, -EINVAL, bad_indirect_zero },
	{ "indirect length % 16", F_INDIRECT, -EINVAL, bad_indirect_len },
	{ "indirect with NEXT", F_INDIRECT, -EINVAL, bad_indirect_next },
	{ "loop in indirect table", F_INDIRECT, -ELOOP, bad_indirect_loop },
	{ "indirect table outside RAM", F_INDIRECT, -EFAULT, bad_indirect_outside },
	{ "avail idx jumps > size", 0, -EINVAL, bad_idx_jump },
};

static void test_split_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(split_bad) / sizeof(split_bad[0]); i++) {
		struct drv *d = drv_new(8, split_bad[i].features);

		print_message("split: %s\n", split_bad[i].what);
		split_bad[i].setup(d);
		assert_broken(d, vq_pop(&d->q, &d->m, &d->e), split_bad[i].want);
		/* a reset and a fresh init bring the queue back */
		assert_int_equal(vq_init(&d->q, &d->m, 8, 0, DESC, DRIVER, DEVICE), 0);
		assert_false(d->q.broken);
		drv_free(d);
	}
}

/* A chain of exactly Queue Size descriptors is legal; one more is not. */
static void test_split_longest_chain(void **state)
{
	struct drv *d = drv_new(8, F_INDIRECT);

	for (uint16_t i = 0; i < 8; i++)
		sdesc_at(d, TABLE, i, DATA, 8, i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
	sdesc(d, 0, TABLE, 8 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.out_num, 8);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
	sdesc(d, 0, TABLE, 9 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(d, 0);
	assert_broken(d, vq_pop(&d->q, &d->m, &d->e), -ELOOP);
	drv_free(d);
}

static void test_init_checks(void **state)
{
	struct drv *d = drv_new(8, 0);
	struct virtqueue *q = &d->q;
	const struct vq_mem *m = &d->m;

	assert_int_equal(vq_init(q, m, 0, 0, DESC, DRIVER, DEVICE), -EINVAL);
	assert_false(q->ready);
	assert_int_equal(vq_init(q, m, 6, 0, DESC, DRIVER, DEVICE), -EINVAL);
	assert_int_equal(vq_init(q, m, 65535, F_PACKED, DESC, DRIVER, DEVICE), -EINVAL);
	assert_int_equal(vq_init(q, m, 8, 0, DESC + 8, DRIVER, DEVICE), -EFAULT);
	assert_int_equal(vq_init(q, m, 8, 0, DESC, DRIVER + 1, DEVICE), -EFAULT);
	assert_int_equal(vq_init(q, m, 8, 0, DESC, DRIVER, DEVICE + 2), -EFAULT);
	assert_int_equal(vq_init(q, m, 8, 0, MEM_SIZE - 64, DRIVER, DEVICE), -EFAULT);
	assert_int_equal(vq_init(q, m, 8, 0, UINT64_MAX - 15, DRIVER, DEVICE), -EFAULT);
	assert_int_equal(vq_init(q, m, 32768, 0, MEM_SIZE - 16 * 32768 + 16, DRIVER, DEVICE), -EFAULT);
	assert_int_equal(vq_init(q, m, 8, 0, DESC, DRIVER, MEM_SIZE - 8), -EFAULT);
	assert_int_equal(vq_init(q, m, 6, F_PACKED, DESC, DRIVER, DEVICE), 0);
	assert_int_equal(vq_init(q, m, 6, F_PACKED, DESC, DRIVER + 2, DEVICE), -EFAULT);
	assert_int_equal(vq_init(q, m, 32768, 0, 0, DRIVER, DEVICE), 0);
	/* not ready: pops find nothing, nothing else is allowed */
	vq_reset(q);
	assert_int_equal(vq_pop(q, m, &d->e), 0);
	assert_int_equal(vq_push(q, m, &d->e, 0), -EINVAL);
	assert_int_equal(vq_set_notify(q, m, true), -EINVAL);
	/* a restored packed queue with an index past the ring is refused */
	assert_int_equal(vq_init(q, m, 6, F_PACKED, DESC, DRIVER, DEVICE), 0);
	q->last_avail_idx = 6;
	assert_int_equal(vq_check(q, m), -EINVAL);
	drv_free(d);
}

/* ---- packed driver ---- */

static void pdesc_at(struct drv *d, uint64_t gpa, uint64_t addr, uint32_t len,
		     uint16_t id, uint16_t flags)
{
	w64(d, gpa, addr);
	w32(d, gpa + 8, len);
	w16(d, gpa + 12, id);
	w16(d, gpa + 14, flags);
}

/* Makes one descriptor available at the driver's next slot. */
static void padd(struct drv *d, uint64_t addr, uint32_t len, uint16_t id,
		 uint16_t flags)
{
	flags |= d->wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
	pdesc_at(d, DESC + 16u * d->avail_idx, addr, len, id, flags);
	if (++d->avail_idx == d->size) {
		d->avail_idx = 0;
		d->wrap = !d->wrap;
	}
}

static uint16_t pflags(struct drv *d, uint16_t slot) { return r16(d, DESC + 16u * slot + 14); }
static uint16_t pid(struct drv *d, uint16_t slot) { return r16(d, DESC + 16u * slot + 12); }
static uint32_t plen(struct drv *d, uint16_t slot) { return r32(d, DESC + 16u * slot + 8); }

#define PUSED	(VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED)

static void packed_cycle(struct drv *d, uint16_t id)
{
	padd(d, DATA, 64, id, 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, id);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
}

static void test_packed_one(void **state)
{
	struct drv *d = drv_new(8, F_PACKED);

	padd(d, DATA, 100, 5, 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 5);
	assert_int_equal(d->e.ndescs, 1);
	assert_int_equal(d->e.out_num, 1);
	assert_int_equal(d->e.out_len, 100);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
	assert_int_equal(pflags(d, 0), PUSED);
	assert_int_equal(pid(d, 0), 5);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 0);
	drv_free(d);
}

static void test_packed_chain(void **state)
{
	struct drv *d = drv_new(8, F_PACKED);

	/* the buffer id is taken from the last descriptor */
	padd(d, DATA, 10, 0, VRING_DESC_F_NEXT);
	padd(d, DATA + 0x100, 20, 0, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
	padd(d, DATA + 0x200, 30, 6, VRING_DESC_F_WRITE);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 6);
	assert_int_equal(d->e.ndescs, 3);
	assert_int_equal(d->e.out_num, 1);
	assert_int_equal(d->e.in_num, 2);
	assert_int_equal(d->e.in_len, 50);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 50), 0);
	assert_int_equal(pflags(d, 0), PUSED | VRING_DESC_F_WRITE);
	assert_int_equal(pid(d, 0), 6);
	assert_int_equal(plen(d, 0), 50);
	assert_int_equal(d->q.used_idx, 3);
	drv_free(d);
}

static void test_packed_wrap(void **state)
{
	struct drv *d = drv_new(4, F_PACKED);

	for (uint16_t k = 0; k < 5; k++)
		packed_cycle(d, k % 4);
	/* 5 slots used: second lap, wrap counters now 0 */
	assert_int_equal(d->q.last_avail_idx, 1);
	assert_false(d->q.avail_wrap);
	assert_false(d->q.used_wrap);
	assert_int_equal(pflags(d, 0), 0);	/* used with wrap 0 */
	/* a 3-descriptor chain up to the end of the ring: slots 1, 2, 3 */
	padd(d, DATA, 8, 0, VRING_DESC_F_NEXT);
	padd(d, DATA, 8, 0, VRING_DESC_F_NEXT);
	padd(d, DATA, 8, 2, 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 2);
	assert_int_equal(d->e.ndescs, 3);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
	assert_true(d->q.avail_wrap);		/* third lap */
	assert_true(d->q.used_wrap);
	assert_int_equal(pflags(d, 1), 0);	/* used in lap 2 */
	packed_cycle(d, 3);			/* slot 0 of lap 3 */
	assert_int_equal(pflags(d, 0), PUSED);
	drv_free(d);
	d = drv_new(4, F_PACKED);
	for (uint16_t k = 0; k < 3; k++)
		packed_cycle(d, k);
	padd(d, DATA, 8, 0, VRING_DESC_F_NEXT);	/* slot 3 */
	padd(d, DATA, 8, 1, 0);			/* slot 0, next lap */
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 1);
	assert_int_equal(d->e.ndescs, 2);
	assert_int_equal(d->q.last_avail_idx, 1);
	assert_false(d->q.avail_wrap);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
	assert_int_equal(pflags(d, 3), PUSED);	/* written in lap 1 */
	assert_false(d->q.used_wrap);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 0);
	drv_free(d);
}

static void test_packed_indirect(void **state)
{
	struct drv *d = drv_new(8, F_PACKED | F_INDIRECT);

	pdesc_at(d, TABLE, DATA, 16, 0, 0);
	pdesc_at(d, TABLE + 16, DATA + 0x100, 32, 0, VRING_DESC_F_WRITE);
	/* reserved flags inside a packed table are ignored (spec 2.8.19) */
	pdesc_at(d, TABLE + 32, DATA + 0x200, 64, 0,
		 VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
	padd(d, TABLE, 48, 2, VRING_DESC_F_INDIRECT);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 2);
	assert_int_equal(d->e.ndescs, 1);
	assert_int_equal(d->e.out_num, 1);
	assert_int_equal(d->e.in_num, 2);
	assert_int_equal(d->e.in_len, 96);
	assert_ptr_equal(d->e.iov[2].iov_base, d->mem + DATA + 0x200);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 1), 0);
	assert_int_equal(d->q.used_idx, 1);
	drv_free(d);
}

static void drv_event(struct drv *d, uint16_t flags, uint16_t off_wrap)
{
	w16(d, DRIVER, off_wrap);
	w16(d, DRIVER + 2, flags);
}

static void test_packed_notify(void **state)
{
	struct drv *d = drv_new(4, F_PACKED | F_EVENT);

	drv_event(d, VRING_PACKED_EVENT_DISABLE, 0);
	packed_cycle(d, 0);
	assert_false(vq_needs_notify(&d->q, &d->m));
	drv_event(d, VRING_PACKED_EVENT_ENABLE, 0);
	packed_cycle(d, 1);
	assert_true(vq_needs_notify(&d->q, &d->m));
	assert_false(vq_needs_notify(&d->q, &d->m));
	/* event at slot 3, lap 1: used 2 -> 3 does not reach it ... */
	drv_event(d, VRING_PACKED_EVENT_DESC, 3 | 1u << 15);
	packed_cycle(d, 2);
	assert_false(vq_needs_notify(&d->q, &d->m));
	/* ... 3 -> 0 (lap 2) passes it */
	packed_cycle(d, 3);
	assert_true(vq_needs_notify(&d->q, &d->m));
	/* an event in the previous lap seen across the wrap: slot 3 lap 1,
	 * used from lap-2 slot 0 to 1 does not pass it again */
	packed_cycle(d, 0);
	assert_false(vq_needs_notify(&d->q, &d->m));
	/* event slot 1 lap 2 (wrap 0), used 1 -> 2 passes it */
	drv_event(d, VRING_PACKED_EVENT_DESC, 1);
	packed_cycle(d, 1);
	assert_true(vq_needs_notify(&d->q, &d->m));
	drv_free(d);

	/* DESC without EVENT_IDX negotiated means plain "enabled" */
	d = drv_new(4, F_PACKED);
	drv_event(d, VRING_PACKED_EVENT_DESC, 3);
	packed_cycle(d, 0);
	assert_true(vq_needs_notify(&d->q, &d->m));
	drv_free(d);
}

static void test_packed_set_notify(void **state)
{
	struct drv *d = drv_new(4, F_PACKED);

	assert_int_equal(vq_set_notify(&d->q, &d->m, false), 0);
	assert_int_equal(r16(d, DEVICE + 2), VRING_PACKED_EVENT_DISABLE);
	assert_int_equal(vq_set_notify(&d->q, &d->m, true), 0);
	assert_int_equal(r16(d, DEVICE + 2), VRING_PACKED_EVENT_ENABLE);
	drv_free(d);

	d = drv_new(4, F_PACKED | F_EVENT);
	for (uint16_t k = 0; k < 5; k++)
		packed_cycle(d, k % 4);
	assert_int_equal(vq_set_notify(&d->q, &d->m, true), 0);
	assert_int_equal(r16(d, DEVICE + 2), VRING_PACKED_EVENT_DESC);
	assert_int_equal(r16(d, DEVICE), 1);	/* slot 1, wrap 0 */
	packed_cycle(d, 1);
	assert_int_equal(r16(d, DEVICE), 2);	/* follows each pop */
	drv_free(d);
}

/* ---- broken packed rings ---- */

static void pbad_id(struct drv *d) { padd(d, DATA, 8, 8, 0); }

static void pbad_loop(struct drv *d)
{
	for (int i = 0; i < 8; i++)	/* every slot says "more follows" */
		padd(d, DATA, 8, 0, VRING_DESC_F_NEXT);
}

static void pbad_addr(struct drv *d) { padd(d, MEM_SIZE - 4, 8, 0, 0); }

static void pbad_order(struct drv *d)
{
	padd(d, DATA, 8, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	padd(d, DATA, 8, 0, 0);
}

static void pbad_indirect(struct drv *d)
{
	pdesc_at(d, TABLE, DATA, 8, 0, 0);
	padd(d, TABLE, 16, 0, VRING_DESC_F_INDIRECT);
}

static void pbad_indirect_zero(struct drv *d) { padd(d, TABLE, 0, 0, VRING_DESC_F_INDIRECT); }

static void pbad_indirect_len(struct drv *d) { padd(d, TABLE, 24, 0, VRING_DESC_F_INDIRECT); }

static void pbad_indirect_big(struct drv *d) { padd(d, TABLE, 16 * 9, 0, VRING_DESC_F_INDIRECT); }

static void pbad_indirect_next(struct drv *d)
{
	pdesc_at(d, TABLE, DATA, 8, 0, 0);
	padd(d, TABLE, 16, 0, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
	padd(d, DATA, 8, 0, 0);
}

static void pbad_mixed(struct drv *d)
{
	pdesc_at(d, TABLE, DATA, 8, 0, 0);
	padd(d, DATA, 8, 0, VRING_DESC_F_NEXT);
	padd(d, TABLE, 16, 0, VRING_DESC_F_INDIRECT);
}

static void pbad_indirect_order(struct drv *d)
{
	pdesc_at(d, TABLE, DATA, 8, 0, VRING_DESC_F_WRITE);
	pdesc_at(d, TABLE + 16, DATA, 8, 0, 0);
	padd(d, TABLE, 32, 0, VRING_DESC_F_INDIRECT);
}

static const struct bad_case packed_bad[] = {
	{ "buffer id >= size", 0, -EINVAL, pbad_id },
	{ "chain longer than the ring", 0, -ELOOP, pbad_loop },
	{ "buffer outside RAM", 0, -EFAULT, pbad_addr },
	{ "readable after writable", 0, -EINVAL, pbad_order },
	{ "indirect not negotiated", 0, -EINVAL, pbad_indirect },
	{ "zero-length indirect table", F_INDIRECT, -EINVAL, pbad_indirect_zero },
	{ "indirect length % 16", F_INDIRECT, -EINVAL, pbad_indirect_len },
	{ "indirect table > size", F_INDIRECT, -ELOOP, pbad_indirect_big },
	{ "indirect with NEXT", F_INDIRECT, -EINVAL, pbad_indirect_next },
	{ "indirect inside a chain", F_INDIRECT, -EINVAL, pbad_mixed },
	{ "readable after writable (indirect)", F_INDIRECT, -EINVAL, pbad_indirect_order },
};

/* Several elements returned as one: all become visible together, in order;
 * a bogus one in the batch returns none. */
static void test_push_batch(void **state)
{
	for (int packed = 0; packed < 2; packed++) {
		struct drv *d = drv_new(8, packed ? F_PACKED : 0);
		struct vq_elem *e[3];
		uint32_t w[3] = { 16, 32, 8 };

		for (uint16_t i = 0; i < 3; i++) {
			if (packed)
				padd(d, DATA + 0x100u * i, 64, (uint16_t)(4 + i), VRING_DESC_F_WRITE);
			else {
				sdesc(d, (uint16_t)(4 + i), DATA + 0x100u * i, 64, VRING_DESC_F_WRITE, 0);
				avail_add(d, (uint16_t)(4 + i));
			}
			e[i] = calloc(1, sizeof(*e[i]));
			assert_int_equal(vq_pop(&d->q, &d->m, e[i]), 1);
		}
		w[2] = 65;	/* more than the buffer: refused, nothing returned */
		assert_int_equal(vq_push_batch(&d->q, &d->m, e, w, 3), -EINVAL);
		assert_true(packed ? (pflags(d, 0) & PUSED) != PUSED : used_idx(d) == 0);
		w[2] = 8;
		assert_int_equal(vq_push_batch(&d->q, &d->m, e, w, 3), 0);
		for (uint16_t i = 0; i < 3; i++) {
			if (packed) {
				assert_int_equal(pflags(d, i), PUSED | VRING_DESC_F_WRITE);
				assert_int_equal(pid(d, i), 4 + i);
				assert_int_equal(plen(d, i), w[i]);
			} else {
				assert_int_equal(used_id(d, i), 4 + i);
				assert_int_equal(used_len(d, i), w[i]);
			}
			free(e[i]);
		}
		if (!packed)
			assert_int_equal(used_idx(d), 3);
		assert_true(vq_needs_notify(&d->q, &d->m));
		drv_free(d);
	}
}

/* What a checkpoint does with requests a device holds: give them back
 * and pop the same buffers again, split and packed, across the ring end. */
static void test_unpop(void **state)
{
	struct drv *d = drv_new(4, 0);
	struct vq_elem *held = malloc(2 * sizeof(*held));

	assert_non_null(held);
	for (uint16_t k = 0; k < 3; k++)
		split_cycle(d, k);
	sdesc(d, 1, DATA, 11, 0, 0);
	sdesc(d, 2, DATA, 22, 0, 0);
	avail_add(d, 1);
	avail_add(d, 2);
	assert_int_equal(vq_pop(&d->q, &d->m, &held[0]), 1);
	assert_int_equal(vq_pop(&d->q, &d->m, &held[1]), 1);
	vq_unpop(&d->q, &held[1]);
	vq_unpop(&d->q, &held[0]);
	assert_int_equal(d->q.last_avail_idx, 3);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 1);
	assert_int_equal(d->e.out_len, 11);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 2);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 0);
	drv_free(d);

	d = drv_new(4, F_PACKED);
	for (uint16_t k = 0; k < 3; k++)
		packed_cycle(d, k);
	padd(d, DATA, 8, 0, VRING_DESC_F_NEXT);	/* slot 3 */
	padd(d, DATA, 9, 1, 0);			/* slot 0, next lap */
	assert_int_equal(vq_pop(&d->q, &d->m, &held[0]), 1);
	assert_false(d->q.avail_wrap);
	vq_unpop(&d->q, &held[0]);
	assert_int_equal(d->q.last_avail_idx, 3);
	assert_true(d->q.avail_wrap);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 1);
	assert_int_equal(d->e.id, 1);
	assert_int_equal(d->e.ndescs, 2);
	assert_int_equal(d->e.out_len, 17);
	assert_int_equal(vq_push(&d->q, &d->m, &d->e, 0), 0);
	assert_int_equal(vq_pop(&d->q, &d->m, &d->e), 0);
	free(held);
	drv_free(d);
}

static void test_packed_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(packed_bad) / sizeof(packed_bad[0]); i++) {
		struct drv *d = drv_new(8, F_PACKED | packed_bad[i].features);

		print_message("packed: %s\n", packed_bad[i].what);
		packed_bad[i].setup(d);
		assert_broken(d, vq_pop(&d->q, &d->m, &d->e), packed_bad[i].want);
		drv_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_one),
		cmocka_unit_test(test_push_batch),
		cmocka_unit_test(test_split_many),
		cmocka_unit_test(test_split_wrap),
		cmocka_unit_test(test_split_indirect),
		cmocka_unit_test(test_split_event_idx),
		cmocka_unit_test(test_split_event_idx_wrap),
		cmocka_unit_test(test_split_no_interrupt),
		cmocka_unit_test(test_split_set_notify),
		cmocka_unit_test(test_split_malformed),
		cmocka_unit_test(test_split_longest_chain),
		cmocka_unit_test(test_init_checks),
		cmocka_unit_test(test_packed_one),
		cmocka_unit_test(test_packed_chain),
		cmocka_unit_test(test_packed_wrap),
		cmocka_unit_test(test_packed_indirect),
		cmocka_unit_test(test_packed_notify),
		cmocka_unit_test(test_packed_set_notify),
		cmocka_unit_test(test_packed_malformed),
		cmocka_unit_test(test_unpop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
