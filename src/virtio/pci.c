/* The virtio 1.x modern PCI transport (virtio spec 4.1).
 *
 * Every register value comes from the guest and is untrusted: offsets and
 * sizes are matched exactly against the register map (anything else reads
 * 0 and writes are dropped), queue indices and MSI-X vectors are range
 * checked where they are stored, and the device only ever sees in-range
 * config offsets and queue numbers.  See pci.h for the locking rules. */
#include "virtio/pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/layout.h"
#include "lib/config.h"
#include "snapshot/snapfile.h"

/* Capability layout in config space. */
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS_ID		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_REVISION		0x08
#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09

#define CAP_MSIX		0x40	/* 12 bytes */
#define CAP_COMMON		0x50	/* 16 bytes each */
#define CAP_ISR			0x60
#define CAP_DEVICE		0x70
#define CAP_NOTIFY		0x80	/* 20 bytes */
#define CAP_PCICFG		0x98	/* 20 bytes */
#define CAP_END			0xac
/* Without MSI-X (-W) the vendor capabilities stay where they are, the
 * MSI-X bytes at 0x40 go unused and MSI follows the vendor capabilities. */
#define CAP_MSI			CAP_END
#define CAP_MSI_END		(CAP_MSI + MSI_LEN)
#define PCICFG_BAR		(CAP_PCICFG + 4)
#define PCICFG_OFFSET		(CAP_PCICFG + 8)
#define PCICFG_LENGTH		(CAP_PCICFG + 12)
#define PCICFG_DATA		(CAP_PCICFG + 16)

#define MSIX_CTL		(CAP_MSIX + 2)
#define MSIX_CTL_MASKALL	0x4000
#define MSIX_CTL_ENABLE		0x8000
#define MSIX_ENTRY_MASKED	1u

/* The MSI capability, 64-bit layout with per-vector masking (PCI 3.0
 * 6.8.1); offsets within it. */
#define MSI_CTL			0x02
#define MSI_ADDR		0x04	/* low dword, then the high one at 0x08 */
#define MSI_DATA		0x0c
#define MSI_MASK		0x10
#define MSI_PENDING		0x14
#define MSI_LEN			0x18
#define MSI_CTL_ENABLE		0x0001
#define MSI_CTL_64BIT		0x0080
#define MSI_CTL_MASKABLE	0x0100	/* per-vector masking */
#define MSI_VEC0		1u	/* mask/pending bit of the one message */

enum {
	VIRTIO_PCI_CAP_COMMON_CFG = 1,
	VIRTIO_PCI_CAP_NOTIFY_CFG = 2,
	VIRTIO_PCI_CAP_ISR_CFG = 3,
	VIRTIO_PCI_CAP_DEVICE_CFG = 4,
	VIRTIO_PCI_CAP_PCI_CFG = 5,
};

/* Common configuration registers (struct virtio_pci_common_cfg). */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX = 0x10, CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18, CC_Q_MSIX = 0x1a,
	CC_Q_ENABLE = 0x1c, CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20,
	CC_Q_AVAIL = 0x28, CC_Q_USED = 0x30,
};

struct virtio_pci {
	pthread_mutex_t lock;
	struct pci_dev *pdev;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct vq_mem *mem;
	const struct virtio_irq *irq;
	/* Used by virtio_pci_attach(): the bus platform as mem and irq. */
	struct {
		const struct pci_platform *plat;
		unsigned gsi;
		struct vq_mem mem;
		struct virtio_irq irq;
	} bus;
	bool msix;			/* MSI-X capability, else MSI (-W) */
	unsigned nvec;			/* MSI-X table entries: queues + config,
					 * 0 without MSI-X */
	/* Between a reset request and the end of ops->reset: kicks are
	 * dropped so the device is not restarted while it quiesces.  Not
	 * checkpoint state (checkpoints happen with vCPUs stopped). */
	bool resetting;
	/* Queue notifies past the ready check and inside ops->queue_notify:
	 * a reset waits for them, so none can restart the device after its
	 * reset while the queues are being cleared. */
	unsigned notifying;
	pthread_cond_t notify_done;
	struct virtio_pci_state s;
};

static const struct io_ops virtio_pci_bar_ops, virtio_pci_msix_ops;

/* ---- interrupts (lock held) ---- */

static bool msix_enabled(const struct virtio_pci *t)
{
	return t->s.msix_ctl & MSIX_CTL_ENABLE;
}

static bool msi_enabled(const struct virtio_pci *t)
{
	return !t->msix && (t->s.msi.ctl & MSI_CTL_ENABLE);
}

/* Command register bit 10: the driver masks INTx (Linux does while it
 * sets up MSI-X, and for devices it drives by polling). */
#define PCI_COMMAND_INTX_DISABLE_HI	0x04	/* bit 10, in the high byte */

/* An enabled MSI or MSI-X takes the function off its INTx pin (PCI 3.0
 * 6.8.1.3), so the line follows the ISR only when both are off. */
static bool intx_wanted(const struct virtio_pci *t)
{
	return !msix_enabled(t) && !msi_enabled(t) && t->s.isr != 0 &&
	       !(t->pdev->cfg[0x05] & PCI_COMMAND_INTX_DISABLE_HI);
}

static void update_intx(struct virtio_pci *t)
{
	bool level = intx_wanted(t);

	if (level == t->s.intx_level)
		return;
	t->s.intx_level = level;
	if (t->irq->intx)
		t->irq->intx(t->irq->opaque, level);
}

static bool msix_masked(const struct virtio_pci *t, unsigned vec)
{
	return (t->s.msix_ctl & MSIX_CTL_MASKALL) ||
	       (t->s.msix[vec].ctrl & MSIX_ENTRY_MASKED);
}

/* MSI-X and MSI messages leave the same way, sent as the guest wrote
 * them: the transport checks neither, the platform (KVM_SIGNAL_MSI)
 * decides what an address means. */
static void send_msg(struct virtio_pci *t, uint64_t addr, uint32_t data)
{
	if (t->irq->msi)
		t->irq->msi(t->irq->opaque, addr, data);
}

static void msix_send(struct virtio_pci *t, unsigned vec)
{
	const struct virtio_msix_entry *e = &t->s.msix[vec];

	send_msg(t, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

/* A masked vector is remembered in the PBA and sent on unmask (PCI MSI-X
 * rules), so no interrupt is lost while the guest reprograms the table. */
static void msix_fire(struct virtio_pci *t, unsigned vec)
{
	if (vec >= t->nvec)
		return;
	if (msix_masked(t, vec))
		t->s.pba[vec / 64] |= 1ull << (vec % 64);
	else
		msix_send(t, vec);
}

static void msix_deliver_pending(struct virtio_pci *t)
{
	if (!msix_enabled(t))
		return;
	for (unsigned v = 0; v < t->nvec; v++) {
		uint64_t bit = 1ull << (v % 64);

		if ((t->s.pba[v / 64] & bit) && !msix_masked(t, v)) {
			t->s.pba[v / 64] &= ~bit;
			msix_send(t, v);
		}
	}
}

/* MSI with per-vector masking keeps a masked message pending, sent when
 * the driver unmasks it, as MSI-X does with the PBA. */
static void msi_fire(struct virtio_pci *t)
{
	if (t->s.msi.mask & MSI_VEC0)
		t->s.msi.pending |= MSI_VEC0;
	else
		send_msg(t, t->s.msi.addr, t->s.msi.data);
}

static void msi_deliver_pending(struct virtio_pci *t)
{
	if (msi_enabled(t) && (t->s.msi.pending & MSI_VEC0) &&
	    !(t->s.msi.mask & MSI_VEC0)) {
		t->s.msi.pending = 0;
		send_msg(t, t->s.msi.addr, t->s.msi.data);
	}
}

/* isr_bit: 1 for a used buffer, 2 for a config change (spec 4.1.4.5).
 * Without MSI-X the ISR says why, for INTx and for the single MSI
 * message alike: the driver's handler reads it to know. */
static void raise_irq(struct virtio_pci *t, uint16_t vec, uint8_t isr_bit)
{
	if (msix_enabled(t)) {
		if (vec != VIRTIO_MSI_NO_VECTOR)
			msix_fire(t, vec);
		return;
	}
	t->s.isr |= isr_bit;
	if (msi_enabled(t))
		msi_fire(t);
	else
		update_intx(t);
}

static void config_irq(struct virtio_pci *t)
{
	if (t->s.status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, t->s.msix_config, 2);
}

static void needs_reset(struct virtio_pci *t)
{
	t->s.status |= VIRTIO_STATUS_NEEDS_RESET;
	config_irq(t);
}

/* ---- state ---- */

static uint64_t offered(const struct virtio_pci *t)
{
	return t->ops->features | VIRTIO_PCI_TRANSPORT_FEATURES;
}

/* Virtio-level reset: MSI-X table, MSI registers and their enables are
 * PCI function state and survive it (as in QEMU); pending bits (of events
 * the reset forgets) and vector bindings do not. */
static void transport_reset(struct virtio_pci *t)
{
	struct virtio_pci_state *s = &t->s;

	s->driver_features = 0;
	s->device_feature_select = s->driver_feature_select = 0;
	s->msix_config = VIRTIO_MSI_NO_VECTOR;
	s->queue_select = 0;
	s->status = 0;
	s->isr = 0;
	memset(s->pba, 0, sizeof(s->pba));
	s->msi.pending = 0;
	for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
		struct virtio_pci_queue *q = &s->q[i];

		memset(q, 0, sizeof(*q));
		q->size = i < t->ops->nqueues ? t->ops->queue_max_size : 0;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
	}
	update_intx(t);
}

static struct virtio_pci_queue *selected(struct virtio_pci *t)
{
	return t->s.queue_select < t->ops->nqueues ? &t->s.q[t->s.queue_select] : NULL;
}

/* Without MSI-X nvec is 0: every mapping fails and reads back
 * NO_VECTOR (spec 4.1.5.1.2.1). */
static uint16_t checked_vector(const struct virtio_pci *t, uint64_t v)
{
	return v < t->nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* ---- common configuration ---- */

/* Reads/writes one 32-bit half (or all) of a 64-bit register at `base`. */
static bool reg64_read(unsigned off, unsigned size, unsigned base,
		       uint64_t reg, uint64_t *val)
{
	if (off == base && size == 8)
		*val = reg;
	else if ((off == base || off == base + 4) && size == 4)
		*val = (uint32_t)(reg >> (8 * (off - base)));
	else
		return false;
	return true;
}

static bool reg64_write(unsigned off, unsigned size, unsigned base,
			uint64_t *reg, uint64_t val)
{
	unsigned shift = 8 * (off - base);

	if (off == base && size == 8)
		*reg = val;
	else if ((off == base || off == base + 4) && size == 4)
		*reg = (*reg & ~(0xffffffffull << shift)) | (val & 0xffffffffu) << shift;
	else
		return false;
	return true;
}

static uint32_t feature_half(uint64_t f, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(f >> (32 * sel)) : 0;
}

static uint64_t queue_read(struct virtio_pci *t, unsigned off, unsigned size)
{
	struct virtio_pci_queue *q = selected(t);
	uint64_t v = 0;

	if (!q)		/* spec: an unavailable queue reads queue_size 0 */
		return off == CC_Q_MSIX && size == 2 ? VIRTIO_MSI_NO_VECTOR : 0;
	if (size == 2 && off == CC_Q_SIZE)
		return q->size;
	if (size == 2 && off == CC_Q_MSIX)
		return q->msix_vector;
	if (size == 2 && off == CC_Q_ENABLE)
		return q->vq.ready;
	if (size == 2 && off == CC_Q_NOFF)
		return t->s.queue_select;
	if (reg64_read(off, size, CC_Q_DESC, q->desc, &v) ||
	    reg64_read(off, size, CC_Q_AVAIL, q->driver, &v) ||
	    reg64_read(off, size, CC_Q_USED, q->device, &v))
		return v;
	return 0;
}

static uint64_t common_read(struct virtio_pci *t, unsigned off, unsigned size)
{
	const struct virtio_pci_state *s = &t->s;

	if (size == 4 && off == CC_DFSELECT)
		return s->device_feature_select;
	if (size == 4 && off == CC_DF)
		return feature_half(offered(t), s->device_feature_select);
	if (size == 4 && off == CC_GFSELECT)
		return s->driver_feature_select;
	if (size == 4 && off == CC_GF)
		return feature_half(s->driver_features, s->driver_feature_select);
	if (size == 2 && off == CC_MSIX)
		return s->msix_config;
	if (size == 2 && off == CC_NUMQ)
		return t->ops->nqueues;
	if (size == 1 && off == CC_STATUS)
		return s->status;
	if (size == 1 && off == CC_CFGGEN)
		return s->config_generation;
	if (size == 2 && off == CC_Q_SELECT)
		return s->queue_select;
	return queue_read(t, off, size);
}

/* The FEATURES_OK handshake (spec 3.1.1): no legacy, nothing unoffered,
 * and the device may veto the combination. */
static bool features_acceptable(struct virtio_pci *t)
{
	uint64_t f = t->s.driver_features;

	if (!(f & (1ull << VIRTIO_F_VERSION_1)) || (f & ~offered(t)))
		return false;
	return !t->ops->features_ok || t->ops->features_ok(t->dev, f) == 0;
}

/* Non-zero status write.  The driver only adds bits (spec 2.1.2) and never
 * sets NEEDS_RESET; FEATURES_OK sticks only if acceptable. */
static void status_write(struct virtio_pci *t, uint8_t v)
{
	uint8_t old = t->s.status;
	uint8_t add = v & (uint8_t)~(old | VIRTIO_STATUS_NEEDS_RESET);

	if ((add & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t))
		add &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	t->s.status = old | add;
}

static void feature_write(struct virtio_pci *t, uint32_t v)
{
	uint32_t sel = t->s.driver_feature_select;
	unsigned shift = 32 * sel;

	/* Frozen once accepted (spec 3.1.1 step 5). */
	if (sel >= 2 || (t->s.status & VIRTIO_STATUS_FEATURES_OK))
		return;
	t->s.driver_features = (t->s.driver_features & ~(0xffffffffull << shift)) |
			       (uint64_t)v << shift;
}

static bool queue_size_ok(const struct virtio_pci *t, uint64_t v)
{
	bool packed = t->s.driver_features & (1ull << VIRTIO_F_RING_PACKED);

	if (v == 0 || v > t->ops->queue_max_size)
		return false;
	return packed || (v & (v - 1)) == 0;
}

static void queue_enable(struct virtio_pci *t, struct virtio_pci_queue *q)
{
	int rc;

	if (q->vq.ready || !(t->s.status & VIRTIO_STATUS_FEATURES_OK))
		return;
	rc = vq_init(&q->vq, t->mem, q->size, t->s.driver_features,
		     q->desc, q->driver, q->device);
	if (rc)
		needs_reset(t);
}

static void queue_write(struct virtio_pci *t, unsigned off, unsigned size,
			uint64_t v)
{
	struct virtio_pci_queue *q = selected(t);

	/* An enabled queue's registers are frozen until reset (spec 4.1.4.3.2). */
	if (!q || q->vq.ready)
		return;
	if (size == 2 && off == CC_Q_SIZE && queue_size_ok(t, v))
		q->size = (uint16_t)v;
	else if (size == 2 && off == CC_Q_MSIX)
		q->msix_vector = checked_vector(t, v);
	else if (size == 2 && off == CC_Q_ENABLE && v == 1)
		queue_enable(t, q);
	else if (!reg64_write(off, size, CC_Q_DESC, &q->desc, v) &&
		 !reg64_write(off, size, CC_Q_AVAIL, &q->driver, v))
		reg64_write(off, size, CC_Q_USED, &q->device, v);
}

/* Returns true when the write was a reset request, which the caller
 * carries out without the lock (see pci.h). */
static bool common_write(struct virtio_pci *t, unsigned off, unsigned size,
			 uint64_t v)
{
	struct virtio_pci_state *s = &t->s;

	if (size == 1 && off == CC_STATUS) {
		if ((uint8_t)v == 0)
			return true;
		status_write(t, (uint8_t)v);
	} else if (size == 4 && off == CC_DFSELECT) {
		s->device_feature_select = (uint32_t)v;
	} else if (size == 4 && off == CC_GFSELECT) {
		s->driver_feature_select = (uint32_t)v;
	} else if (size == 4 && off == CC_GF) {
		feature_write(t, (uint32_t)v);
	} else if (size == 2 && off == CC_MSIX) {
		s->msix_config = checked_vector(t, v);
	} else if (size == 2 && off == CC_Q_SELECT) {
		s->queue_select = (uint16_t)v;
	} else {
		queue_write(t, off, size, v);
	}
	return false;
}

static void device_reset(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->lock);
	t->resetting = true;
	while (t->notifying)
		pthread_cond_wait(&t->notify_done, &t->lock);
	pthread_mutex_unlock(&t->lock);
	if (t->ops->reset)
		t->ops->reset(t->dev);
	pthread_mutex_lock(&t->lock);
	transport_reset(t);
	t->resetting = false;
	pthread_mutex_unlock(&t->lock);
}

/* ---- the virtio BAR ---- */

static bool devcfg_ok(const struct virtio_pci *t, uint64_t off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) &&
	       off < t->ops->config_len && size <= t->ops->config_len - off;
}

static uint64_t devcfg_read(struct virtio_pci *t, uint64_t off, unsigned size)
{
	uint8_t buf[8] = { 0 };
	uint64_t v = 0;

	if (!devcfg_ok(t, off, size) || !t->ops->config_read)
		return 0;
	t->ops->config_read(t->dev, (unsigned)off, buf, size);
	for (unsigned i = 0; i < size; i++)	/* device config is little endian */
		v |= (uint64_t)buf[i] << (8 * i);
	return v;
}

static void devcfg_write(struct virtio_pci *t, uint64_t off, unsigned size,
			 uint64_t v)
{
	uint8_t buf[8];

	if (!devcfg_ok(t, off, size) || !t->ops->config_write)
		return;
	for (unsigned i = 0; i < size; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	t->ops->config_write(t->dev, (unsigned)off, buf, size);
}

static uint64_t isr_read(struct virtio_pci *t)
{
	uint8_t v;

	pthread_mutex_lock(&t->lock);
	v = t->s.isr;		/* read-to-clear, spec 4.1.4.5 */
	t->s.isr = 0;
	update_intx(t);
	pthread_mutex_unlock(&t->lock);
	return v;
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *t = opaque;
	uint64_t v = 0;

	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
		pthread_mutex_lock(&t->lock);
		v = common_read(t, (unsigned)off, size);
		pthread_mutex_unlock(&t->lock);
	} else if (off == VIRTIO_PCI_ISR_OFF) {
		v = isr_read(t);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
		   off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_MAXLEN) {
		v = devcfg_read(t, off - VIRTIO_PCI_DEVICE_OFF, size);
	}
	return v;
}

/* The value written is the queue index (no NOTIFICATION_DATA offered). */
static void notify_write(struct virtio_pci *t, uint64_t v)
{
	bool ready;

	if (v >= t->ops->nqueues)
		return;
	pthread_mutex_lock(&t->lock);
	ready = t->s.q[v].vq.ready && !t->resetting && t->ops->queue_notify;
	t->notifying += ready;
	pthread_mutex_unlock(&t->lock);
	if (!ready)
		return;
	t->ops->queue_notify(t->dev, (unsigned)v);
	pthread_mutex_lock(&t->lock);
	if (--t->notifying == 0)
		pthread_cond_broadcast(&t->notify_done);
	pthread_mutex_unlock(&t->lock);
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct virtio_pci *t = opaque;
	bool reset = false;

	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
		pthread_mutex_lock(&t->lock);
		reset = common_write(t, (unsigned)off, size, v);
		pthread_mutex_unlock(&t->lock);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
		   off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_MAXLEN) {
		devcfg_write(t, off - VIRTIO_PCI_DEVICE_OFF, size, v);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF &&
		   off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * t->ops->nqueues) {
		notify_write(t, v);
	}
	if (reset)
		device_reset(t);
}

static const struct io_ops virtio_pci_bar_ops = {
	.name = "virtio-pci", .read = bar_read, .write = bar_write,
};

/* ---- the MSI-X BAR ---- */

static uint32_t *msix_word(struct virtio_pci *t, uint64_t off)
{
	struct virtio_msix_entry *e = &t->s.msix[off / 16];

	switch (off % 16) {
	case 0: return &e->addr_lo;
	case 4: return &e->addr_hi;
	case 8: return &e->data;
	default: return &e->ctrl;
	}
}

/* Only aligned dwords/qwords, as the PCI spec requires of drivers. */
static bool msix_access_ok(uint64_t off, unsigned size)
{
	return (size == 4 || size == 8) && (off % size) == 0;
}

static uint32_t msix_read32(struct virtio_pci *t, uint64_t off)
{
	uint64_t pba_len = sizeof(t->s.pba);

	if (off < 16ull * t->nvec)
		return *msix_word(t, off);
	if (off >= VIRTIO_PCI_MSIX_PBA && off - VIRTIO_PCI_MSIX_PBA < pba_len) {
		uint64_t w = t->s.pba[(off - VIRTIO_PCI_MSIX_PBA) / 8];

		return (uint32_t)(w >> (8 * (off % 8)));
	}
	return 0;
}

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *t = opaque;
	uint64_t v = 0;

	if (!msix_access_ok(off, size))
		return 0;
	pthread_mutex_lock(&t->lock);
	v = msix_read32(t, off);
	if (size == 8)
		v |= (uint64_t)msix_read32(t, off + 4) << 32;
	pthread_mutex_unlock(&t->lock);
	return v;
}

static void msix_write32(struct virtio_pci *t, uint64_t off, uint32_t v)
{
	if (off >= 16ull * t->nvec)
		return;		/* the PBA and the gap are read-only */
	if (off % 16 == 12)
		v &= MSIX_ENTRY_MASKED;
	*msix_word(t, off) = v;
}

static void msix_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct virtio_pci *t = opaque;

	if (!msix_access_ok(off, size))
		return;
	pthread_mutex_lock(&t->lock);
	msix_write32(t, off, (uint32_t)v);
	if (size == 8)
		msix_write32(t, off + 4, (uint32_t)(v >> 32));
	msix_deliver_pending(t);	/* an unmask delivers what waited */
	pthread_mutex_unlock(&t->lock);
}

static const struct io_ops virtio_pci_msix_ops = {
	.name = "virtio-pci-msix", .read = msix_read, .write = msix_write,
};

/* ---- config space: capabilities ---- */

static void put_vcap(struct pci_dev *d, unsigned at, unsigned next,
		     unsigned len, uint8_t type, uint32_t off, uint32_t size)
{
	d->cfg[at] = PCI_CAP_ID_VNDR;
	d->cfg[at + 1] = (uint8_t)next;
	d->cfg[at + 2] = (uint8_t)len;
	d->cfg[at + 3] = type;
	d->cfg[at + 4] = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_BAR;
	pci_cfg_write32(d, at + 8, off);
	pci_cfg_write32(d, at + 12, size);
}

/* The interrupt capability heads the list, the vendor ones follow it.
 * MSI's registers from message control on live in the state (dyn_byte). */
static void build_irq_cap(struct virtio_pci *t)
{
	struct pci_dev *d = t->pdev;
	unsigned at = t->msix ? CAP_MSIX : CAP_MSI;

	d->cfg[PCI_CAP_PTR] = (uint8_t)at;
	d->cfg[at] = t->msix ? PCI_CAP_ID_MSIX : PCI_CAP_ID_MSI;
	d->cfg[at + 1] = CAP_COMMON;
	if (!t->msix)
		return;
	pci_cfg_write16(d, MSIX_CTL, (uint16_t)(t->nvec - 1));
	pci_cfg_write32(d, CAP_MSIX + 4, VIRTIO_PCI_MSIX_BAR);	/* table @0 */
	pci_cfg_write32(d, CAP_MSIX + 8, VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_MSIX_BAR);
}

static void build_caps(struct virtio_pci *t)
{
	struct pci_dev *d = t->pdev;
	bool devcfg = t->ops->config_len > 0;

	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	build_irq_cap(t);
	put_vcap(d, CAP_COMMON, CAP_ISR, 16, VIRTIO_PCI_CAP_COMMON_CFG,
		 VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN);
	put_vcap(d, CAP_ISR, devcfg ? CAP_DEVICE : CAP_NOTIFY, 16,
		 VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1);
	if (devcfg)
		put_vcap(d, CAP_DEVICE, CAP_NOTIFY, 16, VIRTIO_PCI_CAP_DEVICE_CFG,
			 VIRTIO_PCI_DEVICE_OFF, (uint32_t)t->ops->config_len);
	put_vcap(d, CAP_NOTIFY, CAP_PCICFG, 20, VIRTIO_PCI_CAP_NOTIFY_CFG,
		 VIRTIO_PCI_NOTIFY_OFF, VIRTIO_PCI_NOTIFY_MULT * t->ops->nqueues);
	pci_cfg_write32(d, CAP_NOTIFY + 16, VIRTIO_PCI_NOTIFY_MULT);
	put_vcap(d, CAP_PCICFG, 0, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
}

/* End of the config bytes the transport answers for. */
static unsigned cap_end(const struct virtio_pci *t)
{
	return t->msix ? CAP_END : CAP_MSI_END;
}

static void put_le(uint8_t *p, unsigned len, uint64_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The MSI capability as the guest sees it (bytes 0 and 1, id and next,
 * come from cfg[]).  One message: Multiple Message Capable and Enable
 * stay 0. */
static void msi_image(const struct virtio_msi_regs *m, uint8_t img[MSI_LEN])
{
	memset(img, 0, MSI_LEN);
	put_le(img + MSI_CTL, 2, MSI_CTL_64BIT | MSI_CTL_MASKABLE | m->ctl);
	put_le(img + MSI_ADDR, 8, m->addr);
	put_le(img + MSI_DATA, 2, m->data);
	put_le(img + MSI_MASK, 4, m->mask);
	put_le(img + MSI_PENDING, 4, m->pending);
}

/* What the guest may change in each byte of the MSI capability: the
 * enable bit, the dword-aligned address, the 16-bit data, the one mask
 * bit.  The rest (pending included) is read-only. */
static const uint8_t msi_wmask[MSI_LEN] = {
	[MSI_CTL] = MSI_CTL_ENABLE,
	[MSI_ADDR] = 0xfc, [MSI_ADDR + 1] = 0xff, [MSI_ADDR + 2] = 0xff,
	[MSI_ADDR + 3] = 0xff, [MSI_ADDR + 4] = 0xff, [MSI_ADDR + 5] = 0xff,
	[MSI_ADDR + 6] = 0xff, [MSI_ADDR + 7] = 0xff,
	[MSI_DATA] = 0xff, [MSI_DATA + 1] = 0xff,
	[MSI_MASK] = MSI_VEC0,
};

static void msi_set_byte(struct virtio_msi_regs *m, unsigned i, uint8_t b)
{
	uint8_t img[MSI_LEN];

	msi_image(m, img);
	img[i] = (uint8_t)((img[i] & ~msi_wmask[i]) | (b & msi_wmask[i]));
	m->ctl = (uint16_t)(get_le(img + MSI_CTL, 2) & MSI_CTL_ENABLE);
	m->addr = get_le(img + MSI_ADDR, 8);
	m->data = (uint16_t)get_le(img + MSI_DATA, 2);
	m->mask = (uint32_t)get_le(img + MSI_MASK, 4);
}

static bool is_msi_reg(const struct virtio_pci *t, unsigned off)
{
	return !t->msix && off >= CAP_MSI + MSI_CTL && off < CAP_MSI_END;
}

/* Byte `off` of the registers kept in the state rather than cfg[]. */
static bool dyn_byte(const struct virtio_pci *t, unsigned off, uint8_t *b)
{
	const struct virtio_pci_state *s = &t->s;
	uint8_t img[MSI_LEN];

	if (t->msix && off == MSIX_CTL + 1) {
		*b = (uint8_t)((t->nvec - 1) >> 8 | s->msix_ctl >> 8);
	} else if (is_msi_reg(t, off)) {
		msi_image(&s->msi, img);
		*b = img[off - CAP_MSI];
	} else if (off == PCICFG_BAR) {
		*b = s->pci_cfg.bar;
	} else if (off >= PCICFG_OFFSET && off < PCICFG_OFFSET + 4) {
		*b = (uint8_t)(s->pci_cfg.offset >> (8 * (off - PCICFG_OFFSET)));
	} else if (off >= PCICFG_LENGTH && off < PCICFG_LENGTH + 4) {
		*b = (uint8_t)(s->pci_cfg.length >> (8 * (off - PCICFG_LENGTH)));
	} else if (off >= PCICFG_DATA && off < PCICFG_DATA + 4) {
		*b = s->pci_cfg.data[off - PCICFG_DATA];
	} else {
		return false;
	}
	return true;
}

static void set_dyn_byte(struct virtio_pci *t, unsigned off, uint8_t b)
{
	struct virtio_pci_state *s = &t->s;
	unsigned sh;

	if (t->msix && off == MSIX_CTL + 1) {
		s->msix_ctl = (uint16_t)((b << 8) & (MSIX_CTL_ENABLE | MSIX_CTL_MASKALL));
	} else if (is_msi_reg(t, off)) {
		msi_set_byte(&s->msi, off - CAP_MSI, b);
	} else if (off == PCICFG_BAR) {
		s->pci_cfg.bar = b;
	} else if (off >= PCICFG_OFFSET && off < PCICFG_OFFSET + 4) {
		sh = 8 * (off - PCICFG_OFFSET);
		s->pci_cfg.offset = (s->pci_cfg.offset & ~(0xffu << sh)) | (uint32_t)b << sh;
	} else if (off >= PCICFG_LENGTH && off < PCICFG_LENGTH + 4) {
		sh = 8 * (off - PCICFG_LENGTH);
		s->pci_cfg.length = (s->pci_cfg.length & ~(0xffu << sh)) | (uint32_t)b << sh;
	} else if (off >= PCICFG_DATA && off < PCICFG_DATA + 4) {
		s->pci_cfg.data[off - PCICFG_DATA] = b;
	}
}

/* The VIRTIO_PCI_CAP_PCI_CFG window (spec 4.1.4.9): an access to
 * pci_cfg_data becomes an access of `length` bytes at `offset` in `bar`.
 * Returns the BAR's ops or NULL if the window is not valid. */
static const struct pci_bar *window(struct virtio_pci *t, uint32_t *off,
				    unsigned *len)
{
	const struct pci_bar *b;

	pthread_mutex_lock(&t->lock);
	*off = t->s.pci_cfg.offset;
	*len = t->s.pci_cfg.length;
	b = t->s.pci_cfg.bar < PCI_BARS ? &t->pdev->bar[t->s.pci_cfg.bar] : NULL;
	pthread_mutex_unlock(&t->lock);
	if (!b || !b->ops || (*len != 1 && *len != 2 && *len != 4) ||
	    *off % *len || *off >= b->size || *len > b->size - *off)
		return NULL;
	return b;
}

static void window_read(struct virtio_pci *t)
{
	uint32_t off;
	unsigned len;
	const struct pci_bar *b = window(t, &off, &len);
	uint64_t v;

	if (!b)
		return;
	v = b->ops->read(b->dev, off, len);	/* takes t->lock itself */
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < len; i++)
		t->s.pci_cfg.data[i] = (uint8_t)(v >> (8 * i));
	pthread_mutex_unlock(&t->lock);
}

static void window_write(struct virtio_pci *t)
{
	uint32_t off;
	unsigned len;
	const struct pci_bar *b = window(t, &off, &len);
	uint64_t v = 0;

	if (!b)
		return;
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < len; i++)
		v |= (uint64_t)t->s.pci_cfg.data[i] << (8 * i);
	pthread_mutex_unlock(&t->lock);
	b->ops->write(b->dev, off, len, v);
}

bool virtio_pci_cfg_read(struct pci_dev *pdev, unsigned off, unsigned size,
			 uint32_t *val)
{
	struct virtio_pci *t = pdev->priv;
	uint32_t v = 0;

	if (off < CAP_MSIX || off >= cap_end(t))
		return false;
	/* pci.c guarantees off + size <= 256 */
	if (off == PCICFG_DATA)
		window_read(t);
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b;

		if (!dyn_byte(t, off + i, &b))
			b = pdev->cfg[off + i];
		v |= (uint32_t)b << (8 * i);
	}
	pthread_mutex_unlock(&t->lock);
	*val = v;
	return true;
}

bool virtio_pci_cfg_write(struct pci_dev *pdev, unsigned off, unsigned size,
			  uint32_t val)
{
	struct virtio_pci *t = pdev->priv;

	if (off < CAP_MSIX)
		return false;		/* the standard header: pci.c's job */
	if (off >= cap_end(t))
		return true;		/* nothing writable up there */
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < size && off + i < cap_end(t); i++)
		set_dyn_byte(t, off + i, (uint8_t)(val >> (8 * i)));
	update_intx(t);			/* MSI(-X) enable takes over from INTx */
	msix_deliver_pending(t);	/* function unmask */
	msi_deliver_pending(t);		/* MSI unmask */
	pthread_mutex_unlock(&t->lock);
	if (off == PCICFG_DATA)
		window_write(t);
	return true;
}

void virtio_pci_cfg_written(struct pci_dev *pdev, unsigned off, unsigned size)
{
	struct virtio_pci *t = pdev->priv;

	if (off > 0x05 || off + size <= 0x04)
		return;			/* not the command register */
	pthread_mutex_lock(&t->lock);
	update_intx(t);
	pthread_mutex_unlock(&t->lock);
}

/* ---- setup and device-side API ---- */

static int ops_valid(const struct virtio_dev_ops *ops)
{
	uint16_t m = ops->queue_max_size;

	if (ops->nqueues == 0 || ops->nqueues > VIRTIO_PCI_MAX_QUEUES ||
	    m == 0 || m > VQ_MAX_SIZE || (m & (m - 1)) ||
	    ops->config_len > VIRTIO_PCI_DEVICE_MAXLEN || ops->type > 0x3f)
		return -EINVAL;
	return 0;
}

static void set_identity(struct virtio_pci *t)
{
	struct pci_dev *d = t->pdev;
	const struct virtio_dev_ops *o = t->ops;

	pci_set_ids(d, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + o->type),
		    o->pci_class, o->pci_subclass, o->pci_progif);
	d->cfg[PCI_REVISION] = 1;	/* spec 4.1.2.1: non-transitional */
	pci_cfg_write16(d, PCI_SUBSYS_VENDOR, VIRTIO_PCI_VENDOR);
	pci_cfg_write16(d, PCI_SUBSYS_ID, (uint16_t)(0x40 + o->type));
	d->cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA# */
}

static void msix_init(struct virtio_pci *t)
{
	for (unsigned v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
		t->s.msix[v].ctrl = MSIX_ENTRY_MASKED;	/* PCI reset state */
}

/* Sets up a transport whose ops, dev, mem and irq are filled in. */
static int transport_setup(struct virtio_pci *t, struct pci_dev *pdev)
{
	int rc = -pthread_mutex_init(&t->lock, NULL);

	if (!rc && (rc = -pthread_cond_init(&t->notify_done, NULL)))
		pthread_mutex_destroy(&t->lock);
	if (rc) {
		free(t);
		return rc;
	}
	t->pdev = pdev;
	t->nvec = t->msix ? t->ops->nqueues + 1 : 0;
	msix_init(t);
	transport_reset(t);
	set_identity(t);
	build_caps(t);
	if (t->msix)
		rc = pci_bar_alloc(pdev, VIRTIO_PCI_MSIX_BAR, PCI_BAR_MEM32,
				   VIRTIO_PCI_MSIX_BAR_SIZE, &virtio_pci_msix_ops, t);
	if (!rc)
		rc = pci_bar_alloc(pdev, VIRTIO_PCI_BAR, PCI_BAR_MEM64,
				   VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops, t);
	if (rc) {
		virtio_pci_destroy(t);
		return rc;
	}
	pdev->priv = t;
	return 0;
}

static struct virtio_pci *transport_new(const struct virtio_dev_ops *ops, void *dev,
					bool msix, int *rc)
{
	struct virtio_pci *t;

	*rc = ops_valid(ops);
	if (*rc)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		*rc = -ENOMEM;
		return NULL;
	}
	t->ops = ops;
	t->dev = dev;
	t->msix = msix;
	return t;
}

int virtio_pci_init(struct pci_dev *pdev, const struct virtio_dev_ops *ops,
		    void *dev, const struct vq_mem *mem,
		    const struct virtio_irq *irq, struct virtio_pci **out)
{
	int rc;
	struct virtio_pci *t = transport_new(ops, dev, true, &rc);

	if (!t)
		return rc;
	t->mem = mem;
	t->irq = irq;
	rc = transport_setup(t, pdev);
	if (!rc)
		*out = t;
	return rc;
}

static int bus_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct virtio_pci *t = opaque;

	return t->bus.plat->msi(t->bus.plat->opaque, addr, data);
}

static void bus_intx(void *opaque, int level)
{
	struct virtio_pci *t = opaque;

	t->bus.plat->intx(t->bus.plat->opaque, t->bus.gsi, level);
}

/* bhyve's virtio_msix is global: -W turns every virtio device to MSI. */
static int msix_option(struct config *cfg, const char *node,
		       const struct virtio_dev_ops *ops, bool *msix,
		       char *err, size_t errlen)
{
	const char *v;

	if (!config_get_bool(cfg, "virtio_msix", true, msix))
		return 0;
	v = config_get(cfg, "virtio_msix");
	snprintf(err, errlen, "%s: %s: virtio_msix=%s: not a boolean", node,
		 ops->name, v ? v : "(not a value)");
	return -EINVAL;
}

int virtio_pci_attach(struct pci_dev *pdev, struct config *cfg, const char *node,
		      const struct virtio_dev_ops *ops, void *dev,
		      struct virtio_pci **out, char *err, size_t errlen)
{
	const struct pci_platform *plat = &pdev->bus->platform;
	struct virtio_pci *t;
	bool msix = true;
	int rc;

	rc = msix_option(cfg, node, ops, &msix, err, errlen);
	if (rc)
		return rc;
	if (!plat->gpa || !plat->msi || !plat->intx) {
		snprintf(err, errlen, "%s: %s: the machine gives no guest memory access or "
			 "interrupts", node, ops->name);
		return -EINVAL;
	}
	t = transport_new(ops, dev, msix, &rc);
	if (t) {
		t->bus.plat = plat;
		t->bus.gsi = layout_pci_intx_gsi(pdev->slot, 0);
		t->bus.mem = (struct vq_mem){ plat->gpa, plat->opaque };
		t->bus.irq = (struct virtio_irq){ bus_msi, bus_intx, t };
		t->mem = &t->bus.mem;
		t->irq = &t->bus.irq;
		rc = transport_setup(t, pdev);
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s: %s", node, ops->name, strerror(-rc));
		return rc;
	}
	pdev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)t->bus.gsi;	/* as the _PRT says */
	*out = t;
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *t)
{
	if (!t)
		return;
	pthread_cond_destroy(&t->notify_done);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void *virtio_pci_device(const struct virtio_pci *t)
{
	return t->dev;
}

struct virtqueue *virtio_pci_queue(struct virtio_pci *t, unsigned q)
{
	return q < t->ops->nqueues ? &t->s.q[q].vq : NULL;
}

const struct vq_mem *virtio_pci_vq_mem(const struct virtio_pci *t)
{
	return t->mem;
}

uint64_t virtio_pci_features(struct virtio_pci *t)
{
	uint64_t f;

	pthread_mutex_lock(&t->lock);
	f = t->s.driver_features;
	pthread_mutex_unlock(&t->lock);
	return f;
}

int virtio_pci_notify_used(struct virtio_pci *t, unsigned qi)
{
	struct virtio_pci_queue *q;

	if (qi >= t->ops->nqueues)
		return -EINVAL;
	q = &t->s.q[qi];
	pthread_mutex_lock(&t->lock);
	if (q->vq.ready && vq_needs_notify(&q->vq, t->mem))
		raise_irq(t, q->msix_vector, 1);
	if (q->vq.broken && !(t->s.status & VIRTIO_STATUS_NEEDS_RESET))
		needs_reset(t);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void virtio_pci_config_changed(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->lock);
	t->s.config_generation++;
	config_irq(t);
	pthread_mutex_unlock(&t->lock);
}

void virtio_pci_set_needs_reset(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->lock);
	needs_reset(t);
	pthread_mutex_unlock(&t->lock);
}

void virtio_pci_save(struct virtio_pci *t, struct virtio_pci_state *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->s;
	pthread_mutex_unlock(&t->lock);
}

/* The function has either MSI-X or MSI: the other one's registers must
 * be as after reset, and only the bits the guest can set may be set. */
static int irq_state_check(const struct virtio_pci *t, const struct virtio_pci_state *s)
{
	const struct virtio_msi_regs *m = &s->msi;

	bool msi_clear = !m->ctl && !m->addr && !m->data && !m->mask && !m->pending;

	if (t->msix)
		return (s->msix_ctl & ~(MSIX_CTL_ENABLE | MSIX_CTL_MASKALL)) ||
		       !msi_clear ? -EINVAL : 0;
	if (s->msix_ctl || (m->ctl & ~MSI_CTL_ENABLE) || (m->addr & 3) ||
	    (m->mask & ~MSI_VEC0) || (m->pending & ~MSI_VEC0))
		return -EINVAL;
	return 0;
}

/* A ready queue is one the driver enabled after FEATURES_OK, with the
 * size it chose and the ring format it negotiated. */
static int queue_check(const struct virtio_pci *t, const struct virtio_pci_state *s,
		       const struct virtio_pci_queue *q)
{
	bool packed = s->driver_features & (1ull << VIRTIO_F_RING_PACKED);

	if (q->msix_vector != VIRTIO_MSI_NO_VECTOR && q->msix_vector >= t->nvec)
		return -EINVAL;
	if (q->size > t->ops->queue_max_size)
		return -EINVAL;
	if (q->vq.ready && (!(s->status & VIRTIO_STATUS_FEATURES_OK) || q->vq.size != q->size ||
			    q->vq.packed != packed || q->vq.desc_gpa != q->desc ||
			    q->vq.driver_gpa != q->driver || q->vq.device_gpa != q->device))
		return -EINVAL;
	return vq_check(&q->vq, t->mem);
}

static int state_check(const struct virtio_pci *t, const struct virtio_pci_state *s)
{
	const uint8_t known = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			      VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK |
			      VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED;

	/* The driver can only have accepted what this device offers: a
	 * backend that lost a feature (a disk now read-only) is refused. */
	if ((s->driver_features & ~offered(t)) || (s->status & ~known) || s->isr > 3)
		return -EINVAL;
	for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
		const struct virtio_pci_queue *q = &s->q[i];
		int rc;

		if (i >= t->ops->nqueues && (q->size || q->vq.ready))
			return -EINVAL;
		rc = queue_check(t, s, q);
		if (rc)
			return rc;
	}
	if (s->msix_config != VIRTIO_MSI_NO_VECTOR && s->msix_config >= t->nvec)
		return -EINVAL;
	return irq_state_check(t, s);
}

int virtio_pci_restore(struct virtio_pci *t, const struct virtio_pci_state *in)
{
	int rc = state_check(t, in);

	if (rc)
		return rc;
	pthread_mutex_lock(&t->lock);
	t->s = *in;
	/* No pending bits past the table. */
	for (unsigned v = t->nvec; v < 64 * (unsigned)(sizeof(t->s.pba) / 8); v++)
		t->s.pba[v / 64] &= ~(1ull << (v % 64));
	/* Re-drive the line from the restored ISR rather than trusting the
	 * saved level: inverting it makes update_intx() call intx(). */
	t->s.intx_level = !intx_wanted(t);
	update_intx(t);
	msix_deliver_pending(t);
	msi_deliver_pending(t);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* ---- checkpoint sections ---- */

static void put_queue(struct snap_writer *w, const struct virtio_pci_queue *q)
{
	const struct virtqueue *v = &q->vq;

	snap_put_u16(w, q->size);
	snap_put_u16(w, q->msix_vector);
	snap_put_u64(w, q->desc);
	snap_put_u64(w, q->driver);
	snap_put_u64(w, q->device);
	snap_put_u16(w, v->size);
	snap_put_u8(w, (uint8_t)(v->ready | v->packed << 1 | v->event_idx << 2 |
				 v->indirect << 3 | v->avail_wrap << 4 | v->used_wrap << 5 |
				 v->no_notify << 6 | v->broken << 7));
	snap_put_u64(w, v->desc_gpa);
	snap_put_u64(w, v->driver_gpa);
	snap_put_u64(w, v->device_gpa);
	snap_put_u16(w, v->last_avail_idx);
	snap_put_u16(w, v->used_idx);
	snap_put_u16(w, v->unsignalled);
}

static void get_queue(struct snap_cursor *c, struct virtio_pci_queue *q)
{
	struct virtqueue *v = &q->vq;
	uint8_t flags;

	q->size = snap_get_u16(c);
	q->msix_vector = snap_get_u16(c);
	q->desc = snap_get_u64(c);
	q->driver = snap_get_u64(c);
	q->device = snap_get_u64(c);
	v->size = snap_get_u16(c);
	flags = snap_get_u8(c);
	v->ready = flags & 1;
	v->packed = flags & 2;
	v->event_idx = flags & 4;
	v->indirect = flags & 8;
	v->avail_wrap = flags & 16;
	v->used_wrap = flags & 32;
	v->no_notify = flags & 64;
	v->broken = flags & 128;
	v->desc_gpa = snap_get_u64(c);
	v->driver_gpa = snap_get_u64(c);
	v->device_gpa = snap_get_u64(c);
	v->last_avail_idx = snap_get_u16(c);
	v->used_idx = snap_get_u16(c);
	v->unsignalled = snap_get_u16(c);
}

static void put_irq_state(struct snap_writer *w, const struct virtio_pci *t,
			  const struct virtio_pci_state *s)
{
	snap_put_u16(w, s->msix_ctl);
	for (unsigned v = 0; v < t->nvec; v++) {
		snap_put_u32(w, s->msix[v].addr_lo);
		snap_put_u32(w, s->msix[v].addr_hi);
		snap_put_u32(w, s->msix[v].data);
		snap_put_u32(w, s->msix[v].ctrl);
	}
	for (unsigned i = 0; i < sizeof(s->pba) / sizeof(s->pba[0]); i++)
		snap_put_u64(w, s->pba[i]);
	snap_put_u16(w, s->msi.ctl);
	snap_put_u64(w, s->msi.addr);
	snap_put_u16(w, s->msi.data);
	snap_put_u32(w, s->msi.mask);
	snap_put_u32(w, s->msi.pending);
}

static void get_irq_state(struct snap_cursor *c, const struct virtio_pci *t,
			  struct virtio_pci_state *s)
{
	s->msix_ctl = snap_get_u16(c);
	for (unsigned v = t->nvec; v < VIRTIO_PCI_MAX_VECTORS; v++)
		s->msix[v].ctrl = MSIX_ENTRY_MASKED;	/* unused, as msix_init leaves them */
	for (unsigned v = 0; v < t->nvec; v++) {
		s->msix[v].addr_lo = snap_get_u32(c);
		s->msix[v].addr_hi = snap_get_u32(c);
		s->msix[v].data = snap_get_u32(c);
		s->msix[v].ctrl = snap_get_u32(c) & MSIX_ENTRY_MASKED;
	}
	for (unsigned i = 0; i < sizeof(s->pba) / sizeof(s->pba[0]); i++)
		s->pba[i] = snap_get_u64(c);
	s->msi.ctl = snap_get_u16(c);
	s->msi.addr = snap_get_u64(c);
	s->msi.data = snap_get_u16(c);
	s->msi.mask = snap_get_u32(c);
	s->msi.pending = snap_get_u32(c);
}

void virtio_pci_put_state(const struct virtio_pci *t, const struct virtio_pci_state *s,
			  struct snap_writer *w)
{
	snap_put_u32(w, t->ops->nqueues);
	snap_put_u32(w, t->nvec);
	snap_put_u64(w, s->driver_features);
	snap_put_u32(w, s->device_feature_select);
	snap_put_u32(w, s->driver_feature_select);
	snap_put_u16(w, s->msix_config);
	snap_put_u16(w, s->queue_select);
	snap_put_u8(w, s->status);
	snap_put_u8(w, s->config_generation);
	snap_put_u8(w, s->isr);
	put_irq_state(w, t, s);
	snap_put_u8(w, s->pci_cfg.bar);
	snap_put_u32(w, s->pci_cfg.offset);
	snap_put_u32(w, s->pci_cfg.length);
	snap_put(w, s->pci_cfg.data, sizeof(s->pci_cfg.data));
	for (unsigned i = 0; i < t->ops->nqueues; i++)
		put_queue(w, &s->q[i]);
}

int virtio_pci_get_state(const struct virtio_pci *t, struct snap_cursor *c,
			 struct virtio_pci_state *s)
{
	memset(s, 0, sizeof(*s));
	/* A device with other queues or vectors is another configuration
	 * (console ports, -W): nothing below would line up. */
	if (snap_get_u32(c) != t->ops->nqueues || snap_get_u32(c) != t->nvec)
		return -EINVAL;
	s->driver_features = snap_get_u64(c);
	s->device_feature_select = snap_get_u32(c);
	s->driver_feature_select = snap_get_u32(c);
	s->msix_config = snap_get_u16(c);
	s->queue_select = snap_get_u16(c);
	s->status = snap_get_u8(c);
	s->config_generation = snap_get_u8(c);
	s->isr = snap_get_u8(c);
	get_irq_state(c, t, s);
	s->pci_cfg.bar = snap_get_u8(c);
	s->pci_cfg.offset = snap_get_u32(c);
	s->pci_cfg.length = snap_get_u32(c);
	snap_get(c, s->pci_cfg.data, sizeof(s->pci_cfg.data));
	for (unsigned i = 0; i < t->ops->nqueues; i++)
		get_queue(c, &s->q[i]);
	return c->bad ? -EINVAL : 0;
}

void virtio_pci_put(struct virtio_pci *t, struct snap_writer *w)
{
	struct virtio_pci_state *s = malloc(sizeof(*s));

	if (!s) {
		w->err = w->err ? w->err : -ENOMEM;
		return;
	}
	virtio_pci_save(t, s);
	virtio_pci_put_state(t, s, w);
	free(s);
}

int virtio_pci_get(struct virtio_pci *t, struct snap_cursor *c)
{
	struct virtio_pci_state *s = malloc(sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	rc = virtio_pci_get_state(t, c, s);
	if (!rc)
		rc = virtio_pci_restore(t, s);
	free(s);
	return rc;
}
