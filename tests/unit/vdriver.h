/* A fake virtio-pci driver for device unit tests: builds a PCI bus over
 * fake guest RAM, plugs one device emulation into it and plays the guest's
 * part (feature negotiation, split queues, descriptor chains, kicks)
 * through the same config-space and BAR accesses a guest makes. */
#ifndef KHYVE_VDRIVER_H
#define KHYVE_VDRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/iobus.h"
#include "hw/pci.h"
#include "machine/machine.h"

#define VDRV_MAX_QUEUES	8
#define VDRV_RAM_SIZE	(4u << 20)

struct vdrv_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t next_desc;		/* next free descriptor (round robin) */
	uint16_t last_used;		/* used entries consumed by the test */
};

struct vdrv {
	struct io_bus pio, mmio;
	struct pci_bus pci;
	struct machine m;
	struct pci_dev *dev;
	unsigned slot;
	uint8_t *ram;
	uint64_t brk;			/* bump allocator for buffers */
	uint64_t bar4;
	unsigned common, notify, devcfg;
	struct vdrv_queue q[VDRV_MAX_QUEUES];
	atomic_uint msis;		/* MSI messages the device sent */
};

/* Creates the bus and the device `emu` at slot from cfg (node
 * pci.0.SLOT.0).  Returns the device init's result (err filled). */
int vdrv_setup(struct vdrv *d, const char *emu, unsigned slot, struct config *cfg,
	       char *err, size_t errlen);
/* The same for devices that register with the machine's event loop (the
 * caller runs it, or not). */
int vdrv_setup_loop(struct vdrv *d, const char *emu, unsigned slot, struct config *cfg,
		    struct evloop *loop, char *err, size_t errlen);
void vdrv_teardown(struct vdrv *d);

uint64_t vdrv_cc_rd(struct vdrv *d, unsigned reg, unsigned size);
void vdrv_cc_wr(struct vdrv *d, unsigned reg, unsigned size, uint64_t v);
uint64_t vdrv_devcfg_rd(struct vdrv *d, unsigned off, unsigned size);
uint64_t vdrv_device_features(struct vdrv *d);
/* Negotiates `features` (VERSION_1 added), sets up queues 0..nq-1 of
 * qsize entries and DRIVER_OK.  Returns the final status register. */
uint8_t vdrv_probe(struct vdrv *d, uint64_t features, unsigned nq, uint16_t qsize);
void vdrv_reset(struct vdrv *d);

/* Guest memory for buffers, 16-byte aligned (align: a power of two). */
uint64_t vdrv_alloc(struct vdrv *d, uint64_t len, uint64_t align);
static inline void *vdrv_ptr(struct vdrv *d, uint64_t gpa) { return d->ram + gpa; }

struct vdrv_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;			/* device-writable */
};
/* Publishes one descriptor chain; returns its head. */
uint16_t vdrv_add(struct vdrv *d, unsigned q, const struct vdrv_seg *segs, unsigned n);
void vdrv_kick(struct vdrv *d, unsigned q);
/* Waits (up to timeout_ms) for the next used entry; false on timeout. */
bool vdrv_next_used(struct vdrv *d, unsigned q, int timeout_ms, uint32_t *id, uint32_t *len);
uint16_t vdrv_used_idx(struct vdrv *d, unsigned q);

#endif
