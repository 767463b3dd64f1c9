/* Virtqueues (virtio 1.x, split ring 2.7 and packed ring 2.8), device side.
 *
 * Independent of the transport and of KVM: guest memory is reached only
 * through struct vq_mem, so unit tests and fuzzers can use a fake memory and
 * virtio-pci plugs in the VM's RAM map.  Everything read from guest memory is
 * untrusted; a rule broken by the driver marks the queue broken, after which
 * every call fails fast with -EIO and the device is expected to set
 * DEVICE_NEEDS_RESET (the transport's job). */
#ifndef KHYVE_VIRTIO_VIRTQUEUE_H
#define KHYVE_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Feature bit numbers the rings depend on (virtio 1.x section 6). */
#ifndef VIRTIO_RING_F_INDIRECT_DESC
#define VIRTIO_RING_F_INDIRECT_DESC	28
#endif
#ifndef VIRTIO_RING_F_EVENT_IDX
#define VIRTIO_RING_F_EVENT_IDX		29
#endif
#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED		34
#endif

/* Descriptor flags (both rings) and the packed ring's wrap bits. */
#ifndef VRING_DESC_F_NEXT
#define VRING_DESC_F_NEXT		1
#define VRING_DESC_F_WRITE		2
#define VRING_DESC_F_INDIRECT		4
#endif
#define VRING_PACKED_DESC_F_AVAIL	(1u << 7)
#define VRING_PACKED_DESC_F_USED	(1u << 15)
#ifndef VRING_USED_F_NO_NOTIFY
#define VRING_USED_F_NO_NOTIFY		1
#endif
#ifndef VRING_AVAIL_F_NO_INTERRUPT
#define VRING_AVAIL_F_NO_INTERRUPT	1
#endif
/* Packed event suppression flags (struct pvirtq_event_suppress). */
#define VRING_PACKED_EVENT_ENABLE	0
#define VRING_PACKED_EVENT_DISABLE	1
#define VRING_PACKED_EVENT_DESC		2
#define VRING_PACKED_EVENT_WRAP		15

#define VQ_MAX_SIZE	32768	/* spec maximum Queue Size */
#define VQ_MAX_SEGS	1024	/* segments per request, like QEMU's limit */

/* Guest physical memory as the queue sees it: a host pointer to
 * [gpa, gpa+len) if wholly inside guest RAM, else NULL. */
struct vq_mem {
	void *(*gpa)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
};

/* One queue.  The fields are exactly what a checkpoint saves; after
 * restoring them call vq_check() before use. */
struct virtqueue {
	uint16_t size;		/* Queue Size, 1..32768 (split: power of 2) */
	bool ready;		/* queue_enable was written and vq_init passed */
	bool packed;		/* VIRTIO_F_RING_PACKED negotiated */
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa;	/* descriptor table / packed descriptor ring */
	uint64_t driver_gpa;	/* split: avail ring; packed: driver event */
	uint64_t device_gpa;	/* split: used ring; packed: device event */
	/* Split: free-running 16-bit indices.  Packed: slot numbers < size
	 * plus the two wrap counters. */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	bool avail_wrap;
	bool used_wrap;
	bool no_notify;		/* device asked the driver not to kick */
	uint16_t unsignalled;	/* used slots since vq_needs_notify (saturates) */
	bool broken;		/* the driver broke a rule; needs a reset */
};

/* One request.  iov[0, out_num) are device-readable, then
 * iov[out_num, out_num + in_num) device-writable. */
struct vq_elem {
	uint16_t id;		/* split: head index; packed: buffer id */
	uint16_t ndescs;	/* ring slots consumed (packed push needs it) */
	uint16_t out_num;
	uint16_t in_num;
	uint64_t out_len;	/* total bytes of the readable segments */
	uint64_t in_len;	/* total bytes of the writable segments */
	struct iovec iov[VQ_MAX_SEGS];
};

/* Sets up and enables a queue from the transport's registers; checks the
 * layout (sizes, alignment, inside guest RAM).  0 or -EINVAL / -EFAULT. */
int vq_init(struct virtqueue *q, const struct vq_mem *m, uint16_t size,
	    uint64_t features, uint64_t desc, uint64_t driver, uint64_t device);
/* Back to the disabled, zeroed state (device reset or queue reset). */
void vq_reset(struct virtqueue *q);
/* Validates a restored struct against guest memory: 0, -EINVAL, -EFAULT. */
int vq_check(const struct virtqueue *q, const struct vq_mem *m);

/* 1 with a request in *e, 0 if none is available (or the queue is not
 * ready), negative errno if the driver broke the rules (queue now broken;
 * later calls return -EIO). */
int vq_pop(struct virtqueue *q, const struct vq_mem *m, struct vq_elem *e);
/* Gives back e, the last element popped and not pushed: the ring's
 * position goes back as if it had not been taken.  Elements go back in
 * the reverse order of their pops.  A checkpoint saves a copy of a queue
 * this way for the requests a device holds, so the restored device pops
 * them again. */
void vq_unpop(struct virtqueue *q, const struct vq_elem *e);
/* Returns e to the driver with `written` bytes put in its writable part.
 * -EINVAL for a bogus element or written > e->in_len (a device bug). */
int vq_push(struct virtqueue *q, const struct vq_mem *m,
	    const struct vq_elem *e, uint32_t written);
/* Returns n elements that the driver must see together (a frame spread
 * over merged receive buffers): all or none become visible at once.
 * -EINVAL (nothing returned) if any element is bogus. */
int vq_push_batch(struct virtqueue *q, const struct vq_mem *m,
		  struct vq_elem *const *elems, const uint32_t *written, unsigned n);
/* Call after one or more vq_push: does the driver want an interrupt?
 * Applies NO_INTERRUPT / used_event (split) or the driver event
 * suppression structure (packed). */
bool vq_needs_notify(struct virtqueue *q, const struct vq_mem *m);
/* Asks the driver to kick (enable) or not (disable) on new buffers, for
 * devices that poll.  After enabling, pop again before sleeping: buffers
 * added before the driver saw the change come without a kick. */
int vq_set_notify(struct virtqueue *q, const struct vq_mem *m, bool enable);

/* The classic wrap-safe test: has the index moved past `event` going from
 * `old` to `new_idx`? */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx,
				    uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
