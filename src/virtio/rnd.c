/* virtio-rnd (virtio entropy device, id 4): one queue whose writable
 * buffers are filled from the host's getrandom(). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hw/pci.h"
#include "lib/log.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"

#define RND_QUEUE_SIZE		64
/* A guest may post huge buffers; each request gets at most this much, as
 * the spec allows a device to fill less than offered. */
#define RND_MAX_PER_REQUEST	65536

struct virtio_rnd {
	struct virtio_pci *t;
	pthread_mutex_t lock;		/* kicks may come from any vCPU */
	int broken_once;
	struct vq_elem elem;		/* large: kept here, not on a vCPU's stack */
};

static int fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fills the writable segments of one request; returns the bytes written. */
static uint32_t rnd_fill(struct vq_elem *e)
{
	uint32_t written = 0;

	for (unsigned i = e->out_num; i < (unsigned)e->out_num + e->in_num; i++) {
		size_t n = e->iov[i].iov_len;

		if (n > RND_MAX_PER_REQUEST - written)
			n = RND_MAX_PER_REQUEST - written;
		if (!n || fill_random(e->iov[i].iov_base, n))
			break;
		written += (uint32_t)n;
	}
	return written;
}

static void rnd_queue_notify(void *dev, unsigned q)
{
	struct virtio_rnd *r = dev;
	struct virtqueue *vq = virtio_pci_queue(r->t, 0);
	const struct vq_mem *mem = virtio_pci_vq_mem(r->t);
	int rc;

	if (q != 0 || !vq)
		return;
	pthread_mutex_lock(&r->lock);
	while ((rc = vq_pop(vq, mem, &r->elem)) == 1)
		if (vq_push(vq, mem, &r->elem, rnd_fill(&r->elem)) < 0)
			break;
	if (rc < 0) {
		log_error_once(&r->broken_once, "virtio-rnd: the guest broke its queue (%s); "
			       "device needs a reset", strerror(-rc));
		virtio_pci_set_needs_reset(r->t);
	}
	virtio_pci_notify_used(r->t, 0);
	pthread_mutex_unlock(&r->lock);
}

static const struct virtio_dev_ops rnd_ops = {
	.name = "virtio-rnd",
	.type = VIRTIO_ID_RNG,
	.pci_class = 0xff,		/* "unassigned class", as QEMU's virtio-rng */
	.nqueues = 1,
	.queue_max_size = RND_QUEUE_SIZE,
	.queue_notify = rnd_queue_notify,
};

static int rnd_init(struct pci_dev *dev, struct config *cfg, const char *node,
		    char *err, size_t errlen)
{
	struct virtio_rnd *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	rc = virtio_pci_attach(dev, cfg, node, &rnd_ops, r, &r->t, err, errlen);
	if (rc) {
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
	return rc;
}

static void rnd_destroy(struct pci_dev *dev)
{
	struct virtio_pci *t = dev->priv;
	struct virtio_rnd *r = t ? virtio_pci_device(t) : NULL;

	virtio_pci_destroy(t);
	if (r) {
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

/* Requests are served whole on the vCPU that kicks: the transport is all
 * the state there is. */
static void rnd_save(struct pci_dev *dev, struct snap_writer *w)
{
	virtio_pci_put(dev->priv, w);
}

static int rnd_restore(struct pci_dev *dev, struct snap_cursor *c, char *err, size_t errlen)
{
	int rc = virtio_pci_get(dev->priv, c);

	if (rc)
		snprintf(err, errlen, "virtio-rnd: its saved transport state is %s",
			 rc == -EFAULT ? "outside guest memory" : "inconsistent");
	return rc ? -EPROTO : 0;
}

const struct pci_devemu virtio_rnd_emu = {
	.name = "virtio-rnd",
	.help = "virtio entropy source fed from the host's getrandom()",
	.init = rnd_init,
	.destroy = rnd_destroy,
	.cfg_read = virtio_pci_cfg_read,
	.cfg_write = virtio_pci_cfg_write,
	.cfg_written = virtio_pci_cfg_written,
	.save = rnd_save,
	.restore = rnd_restore,
};
