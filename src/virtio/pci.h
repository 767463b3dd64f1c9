/* The virtio 1.x modern PCI transport (virtio spec 4.1), written once for
 * every device.  A device describes itself with struct virtio_dev_ops and
 * gets back a struct virtio_pci that owns the PCI identity, the capability
 * list, the MSI-X BAR (BAR 1: table at 0, PBA at 0x800) and the virtio BAR
 * (BAR 4, 64-bit: common 0x0000, ISR 0x1000, device 0x2000, notify 0x3000,
 * as QEMU lays it out).  Legacy/transitional is not offered.
 *
 * With virtio_msix=false (bhyve's -W) the function has no MSI-X capability
 * and no BAR 1 but a PCI MSI capability with one message (64-bit address,
 * per-vector masking): every interrupt sets the ISR bits, as for INTx, and
 * sends that message while MSI is enabled; the vector registers of the
 * common config read VIRTIO_MSI_NO_VECTOR whatever is written.
 *
 * Usage from a device emulation:
 *   init:      virtio_pci_attach(pdev, cfg, node, &my_ops, mydev, &t, err, n)
 *              on the machine's bus, or virtio_pci_init(pdev, &my_ops, mydev,
 *              mem, irq, &t) with memory and interrupts of one's own;
 *              (the transport takes pdev->priv; virtio_pci_device(t) gives
 *              mydev back)
 *   pci_devemu: .cfg_read = virtio_pci_cfg_read,
 *               .cfg_write = virtio_pci_cfg_write
 *   destroy:   mydev = virtio_pci_device(pdev->priv);
 *              virtio_pci_destroy(pdev->priv); then free mydev.
 *
 * Locking: one mutex per transport guards struct virtio_pci_state.
 * - Called WITH the mutex held (must not block nor call back into the
 *   transport): ops->features_ok, irq->msi, irq->intx.
 * - Called WITHOUT it: ops->queue_notify (the hot path; it pops, pushes and
 *   calls virtio_pci_notify_used), ops->config_read/config_write, and
 *   ops->reset (which may wait for in-flight requests whose completions
 *   call virtio_pci_notify_used).  On a driver reset the device's reset
 *   runs first, then the transport clears its state, so the device has
 *   stopped using the queues before they are zeroed.
 * - Accesses through the VIRTIO_PCI_CAP_PCI_CFG window arrive from the
 *   config-space hook, so there the device ops above also run under the
 *   PCI bus lock (order: bus lock, then transport lock).
 * - The device serialises its own use of each struct virtqueue (vq_pop,
 *   vq_push and virtio_pci_notify_used for one queue from one thread at a
 *   time); the driver cannot change an enabled queue except by reset. */
#ifndef KHYVE_VIRTIO_PCI_H
#define KHYVE_VIRTIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/pci.h"
#include "virtio/virtqueue.h"

struct config;
struct snap_cursor;
struct snap_writer;

/* Device ids (spec 5). */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4

/* Device status bits (spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_F_VERSION_1		32
#define VIRTIO_MSI_NO_VECTOR		0xffff

#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE		0x1040	/* modern: 0x1040 + device id */
#define VIRTIO_PCI_MAX_QUEUES		64
#define VIRTIO_PCI_MAX_VECTORS		(VIRTIO_PCI_MAX_QUEUES + 1)

/* Layout of the two BARs. */
#define VIRTIO_PCI_MSIX_BAR		1
#define VIRTIO_PCI_MSIX_BAR_SIZE	0x1000
#define VIRTIO_PCI_MSIX_PBA		0x800
#define VIRTIO_PCI_BAR			4
#define VIRTIO_PCI_BAR_SIZE		0x4000
#define VIRTIO_PCI_COMMON_OFF		0x0000
#define VIRTIO_PCI_COMMON_LEN		0x38
#define VIRTIO_PCI_ISR_OFF		0x1000
#define VIRTIO_PCI_DEVICE_OFF		0x2000
#define VIRTIO_PCI_DEVICE_MAXLEN	0x1000
#define VIRTIO_PCI_NOTIFY_OFF		0x3000
#define VIRTIO_PCI_NOTIFY_MULT		4

/* Transport features offered on top of the device's: what the virtqueue
 * core implements.  VIRTIO_F_RING_PACKED is left to devices to opt in. */
#define VIRTIO_PCI_TRANSPORT_FEATURES \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ull << VIRTIO_RING_F_EVENT_IDX))

struct virtio_dev_ops {
	const char *name;
	uint16_t type;			/* virtio device id */
	uint8_t pci_class, pci_subclass, pci_progif;
	uint64_t features;		/* device feature bits */
	unsigned nqueues;		/* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_max_size;	/* power of two, <= VQ_MAX_SIZE */
	size_t config_len;		/* device config bytes, <= 0x1000 */
	/* off + len <= config_len is checked; len is 1, 2, 4 or 8. */
	void (*config_read)(void *dev, unsigned off, void *buf, unsigned len);
	void (*config_write)(void *dev, unsigned off, const void *buf, unsigned len);
	void (*queue_notify)(void *dev, unsigned q);
	void (*reset)(void *dev);
	/* Optional: 0 accepts the negotiated set, anything else refuses
	 * FEATURES_OK. */
	int (*features_ok)(void *dev, uint64_t negotiated);
};

/* How interrupts leave the device; the machine provides it. */
struct virtio_irq {
	int (*msi)(void *opaque, uint64_t addr, uint32_t data);
	void (*intx)(void *opaque, int level);
	void *opaque;
};

struct virtio_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;	/* ctrl bit 0: masked */
};

/* The writable and pending bits of the MSI capability (-W); all zero when
 * the function has MSI-X instead. */
struct virtio_msi_regs {
	uint16_t ctl;			/* message control: bit 0 (enable) only */
	uint64_t addr;			/* bits 1:0 are zero */
	uint16_t data;
	uint32_t mask, pending;		/* bit 0 only: the one message */
};

struct virtio_pci_queue {
	uint16_t size;			/* queue_size as the driver set it */
	uint16_t msix_vector;
	uint64_t desc, driver, device;	/* registers, copied at enable */
	struct virtqueue vq;
};

/* Everything a checkpoint saves. */
struct virtio_pci_state {
	uint64_t driver_features;
	uint32_t device_feature_select, driver_feature_select;
	uint16_t msix_config;
	uint16_t queue_select;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	bool intx_level;
	uint16_t msix_ctl;		/* MSI-X message control: bits 14, 15 */
	struct virtio_msix_entry msix[VIRTIO_PCI_MAX_VECTORS];
	uint64_t pba[(VIRTIO_PCI_MAX_VECTORS + 63) / 64];
	struct virtio_msi_regs msi;
	struct {			/* VIRTIO_PCI_CAP_PCI_CFG window */
		uint8_t bar;
		uint32_t offset, length;
		uint8_t data[4];
	} pci_cfg;
	struct virtio_pci_queue q[VIRTIO_PCI_MAX_QUEUES];
};

struct virtio_pci;

/* Sets up pdev (ids, capabilities, BARs 1 and 4) for the device, with
 * MSI-X.  ops, mem and irq must outlive the transport.  irq->msi sends
 * MSI-X and MSI messages alike.  0 or -EINVAL / -ENOMEM / -ENOSPC. */
int virtio_pci_init(struct pci_dev *pdev, const struct virtio_dev_ops *ops,
		    void *dev, const struct vq_mem *mem,
		    const struct virtio_irq *irq, struct virtio_pci **out);
/* virtio_pci_init() for a device on the machine's PCI bus: guest memory and
 * interrupts come from pdev->bus->platform, INTx is pin A routed as
 * hw/layout.h says, and the global virtio_msix (false with -W: MSI
 * instead of MSI-X, as bhyve) is honoured.  On failure err says
 * "NODE: NAME: reason". */
int virtio_pci_attach(struct pci_dev *pdev, struct config *cfg, const char *node,
		      const struct virtio_dev_ops *ops, void *dev,
		      struct virtio_pci **out, char *err, size_t errlen);
void virtio_pci_destroy(struct virtio_pci *t);

/* pci_devemu hooks; pdev->priv must be the transport. */
bool virtio_pci_cfg_read(struct pci_dev *pdev, unsigned off, unsigned size,
			 uint32_t *val);
bool virtio_pci_cfg_write(struct pci_dev *pdev, unsigned off, unsigned size,
			  uint32_t val);
/* pci_devemu cfg_written hook: honours the command register's INTx disable. */
void virtio_pci_cfg_written(struct pci_dev *pdev, unsigned off, unsigned size);

void *virtio_pci_device(const struct virtio_pci *t);
/* NULL if q >= nqueues. */
struct virtqueue *virtio_pci_queue(struct virtio_pci *t, unsigned q);
const struct vq_mem *virtio_pci_vq_mem(const struct virtio_pci *t);
/* The features the driver accepted (valid once FEATURES_OK is set). */
uint64_t virtio_pci_features(struct virtio_pci *t);

/* After vq_push: interrupts the driver if vq_needs_notify says so.
 * 0, or -EINVAL for a bad queue. */
int virtio_pci_notify_used(struct virtio_pci *t, unsigned q);
/* Device config changed: bumps config_generation, config interrupt. */
void virtio_pci_config_changed(struct virtio_pci *t);
/* The device hit an error it cannot recover from (or the driver broke a
 * queue): DEVICE_NEEDS_RESET plus a config interrupt. */
void virtio_pci_set_needs_reset(struct virtio_pci *t);

/* Checkpoint: copy the state out, or validate and install it (-EINVAL if
 * inconsistent, -EFAULT if a queue is not in guest RAM). */
void virtio_pci_save(struct virtio_pci *t, struct virtio_pci_state *out);
int virtio_pci_restore(struct virtio_pci *t, const struct virtio_pci_state *in);
/* The state as checkpoint section bytes, field by field (doc/snapshot.md):
 * put_state/get_state for a device that edits the copy it saves (what
 * its I/O thread holds), put/get for the others.  get checks and installs;
 * get_state only reads (-EINVAL for another queue or vector count or a
 * short section).  The device's own state follows in the same section. */
void virtio_pci_put_state(const struct virtio_pci *t, const struct virtio_pci_state *s,
			  struct snap_writer *w);
int virtio_pci_get_state(const struct virtio_pci *t, struct snap_cursor *c,
			 struct virtio_pci_state *s);
void virtio_pci_put(struct virtio_pci *t, struct snap_writer *w);
int virtio_pci_get(struct virtio_pci *t, struct snap_cursor *c);

#endif
