/* The fake virtio-pci driver of vdriver.h. */
#include "vdriver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcitest.h"
#include "hw/layout.h"
#include "lib/config.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"

#define RINGS_BASE	0x1000u			/* queue rings from here */
#define RING_STRIDE	0x10000u		/* 64 KiB per queue */
#define BUFS_BASE	(RINGS_BASE + VDRV_MAX_QUEUES * RING_STRIDE)

static void *fake_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vdrv *d = opaque;

	if (gpa >= VDRV_RAM_SIZE || len > VDRV_RAM_SIZE - gpa)
		return NULL;
	return d->ram + gpa;
}

static int fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vdrv *d = opaque;

	atomic_fetch_add(&d->msis, 1);
	return 0;
}

static void fake_intx(void *opaque, unsigned gsi, int level) { }

static uint32_t cfg_rd(struct vdrv *d, unsigned off, unsigned size)
{
	return pcitest_cfg_read(&d->pio, d->slot, off, size);
}

static unsigned find_vcap(struct vdrv *d, uint8_t type)
{
	for (unsigned p = cfg_rd(d, 0x34, 1); p; p = cfg_rd(d, p + 1, 1))
		if (cfg_rd(d, p, 1) == 0x09 && cfg_rd(d, p + 3, 1) == type)
			return p;
	return 0;
}

int vdrv_setup(struct vdrv *d, const char *emu_name, unsigned slot, struct config *cfg,
	       char *err, size_t errlen)
{
	return vdrv_setup_loop(d, emu_name, slot, cfg, NULL, err, errlen);
}

int vdrv_setup_loop(struct vdrv *d, const char *emu_name, unsigned slot, struct config *cfg,
		    struct evloop *loop, char *err, size_t errlen)
{
	const struct pci_devemu *emu = pci_emul_find(emu_name);
	char node[32];
	int rc;

	memset(d, 0, sizeof(*d));
	d->m.loop = loop;
	d->slot = slot;
	d->ram = aligned_alloc(4096, VDRV_RAM_SIZE);
	if (!emu || !d->ram)
		return -ENOENT;
	memset(d->ram, 0, VDRV_RAM_SIZE);
	d->brk = BUFS_BASE;
	io_bus_init(&d->pio, "pio");
	io_bus_init(&d->mmio, "mmio");
	pci_bus_init(&d->pci, &d->pio, &d->mmio, &d->m);
	d->pci.platform = (struct pci_platform){ fake_gpa, fake_msi, fake_intx, d };
	io_bus_add(&d->pio, LAYOUT_PCI_CONFIG_ADDR, 4, &pci_cfg_addr_ops, &d->pci);
	io_bus_add(&d->pio, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &d->pci);
	d->dev = calloc(1, sizeof(*d->dev));
	d->dev->bus = &d->pci;
	d->dev->emu = emu;
	d->dev->slot = (uint8_t)slot;
	snprintf(node, sizeof(node), "pci.0.%u.0", slot);
	rc = emu->init(d->dev, cfg, node, err, errlen);
	if (rc) {
		free(d->dev);
		d->dev = NULL;
		vdrv_teardown(d);
		return rc;
	}
	d->pci.dev[slot][0] = d->dev;
	pcitest_cfg_write(&d->pio, slot, 0x04, 2, 0x6);	/* memory + bus master */
	d->bar4 = (cfg_rd(d, 0x20, 4) & ~0xfull) | (uint64_t)cfg_rd(d, 0x24, 4) << 32;
	d->common = find_vcap(d, 1);
	d->notify = find_vcap(d, 2);
	d->devcfg = find_vcap(d, 4);
	return 0;
}

void vdrv_teardown(struct vdrv *d)
{
	pci_bus_destroy(&d->pci);
	io_bus_destroy(&d->pio);
	io_bus_destroy(&d->mmio);
	free(d->ram);
}

static uint64_t bar_rd(struct vdrv *d, unsigned cap, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	io_bus_access(&d->mmio, d->bar4 + cfg_rd(d, cap + 8, 4) + reg, size, false, &v);
	return v;
}

uint64_t vdrv_cc_rd(struct vdrv *d, unsigned reg, unsigned size)
{
	return bar_rd(d, d->common, reg, size);
}

void vdrv_cc_wr(struct vdrv *d, unsigned reg, unsigned size, uint64_t v)
{
	io_bus_access(&d->mmio, d->bar4 + cfg_rd(d, d->common + 8, 4) + reg, size, true, &v);
}

uint64_t vdrv_devcfg_rd(struct vdrv *d, unsigned off, unsigned size)
{
	return bar_rd(d, d->devcfg, off, size);
}

uint64_t vdrv_device_features(struct vdrv *d)
{
	uint64_t f;

	vdrv_cc_wr(d, 0x00, 4, 0);
	f = vdrv_cc_rd(d, 0x04, 4);
	vdrv_cc_wr(d, 0x00, 4, 1);
	return f | vdrv_cc_rd(d, 0x04, 4) << 32;
}

void vdrv_reset(struct vdrv *d)
{
	vdrv_cc_wr(d, 0x14, 1, 0);
	memset(d->q, 0, sizeof(d->q));
}

uint8_t vdrv_probe(struct vdrv *d, uint64_t features, unsigned nq, uint16_t qsize)
{
	features |= 1ull << VIRTIO_F_VERSION_1;
	vdrv_reset(d);
	vdrv_cc_wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vdrv_cc_wr(d, 0x08, 4, 0);
	vdrv_cc_wr(d, 0x0c, 4, (uint32_t)features);
	vdrv_cc_wr(d, 0x08, 4, 1);
	vdrv_cc_wr(d, 0x0c, 4, (uint32_t)(features >> 32));
	vdrv_cc_wr(d, 0x14, 1, 0x0b);
	for (unsigned i = 0; i < nq && i < VDRV_MAX_QUEUES; i++) {
		struct vdrv_queue *q = &d->q[i];
		uint64_t base = RINGS_BASE + (uint64_t)RING_STRIDE * i;

		*q = (struct vdrv_queue){ .size = qsize, .desc = base,
					  .avail = base + 16u * qsize,
					  .used = base + 0x8000 };
		memset(d->ram + base, 0, RING_STRIDE);
		vdrv_cc_wr(d, 0x16, 2, i);
		vdrv_cc_wr(d, 0x18, 2, qsize);
		vdrv_cc_wr(d, 0x1a, 2, i + 1);		/* MSI-X vector */
		vdrv_cc_wr(d, 0x20, 8, q->desc);
		vdrv_cc_wr(d, 0x28, 8, q->avail);
		vdrv_cc_wr(d, 0x30, 8, q->used);
		vdrv_cc_wr(d, 0x1c, 2, 1);
	}
	vdrv_cc_wr(d, 0x14, 1, 0x0f);
	return (uint8_t)vdrv_cc_rd(d, 0x14, 1);
}

uint64_t vdrv_alloc(struct vdrv *d, uint64_t len, uint64_t align)
{
	uint64_t a = align < 16 ? 16 : align;
	uint64_t gpa = (d->brk + a - 1) & ~(a - 1);

	if (gpa + len > VDRV_RAM_SIZE)
		gpa = BUFS_BASE;		/* tests recycle the arena */
	d->brk = gpa + len;
	return gpa;
}

static void put16(struct vdrv *d, uint64_t gpa, uint16_t v) { memcpy(d->ram + gpa, &v, 2); }

uint16_t vdrv_add(struct vdrv *d, unsigned qi, const struct vdrv_seg *segs, unsigned n)
{
	struct vdrv_queue *q = &d->q[qi];
	uint16_t head = q->next_desc % q->size, idx;

	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((head + i) % q->size);
		uint16_t next = (uint16_t)((cur + 1) % q->size);
		uint16_t flags = (segs[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		uint64_t desc = q->desc + 16u * cur;

		memcpy(d->ram + desc, &segs[i].gpa, 8);
		memcpy(d->ram + desc + 8, &segs[i].len, 4);
		put16(d, desc + 12, flags);
		put16(d, desc + 14, next);
	}
	q->next_desc = (uint16_t)((head + n) % q->size);
	memcpy(&idx, d->ram + q->avail + 2, 2);
	put16(d, q->avail + 4 + 2u * (idx % q->size), head);
	__atomic_store_n((uint16_t *)(d->ram + q->avail + 2), (uint16_t)(idx + 1),
			 __ATOMIC_RELEASE);
	return head;
}

void vdrv_kick(struct vdrv *d, unsigned q)
{
	uint32_t mult = cfg_rd(d, d->notify + 16, 4), off = cfg_rd(d, d->notify + 8, 4);
	uint64_t v = q, noff;

	vdrv_cc_wr(d, 0x16, 2, q);
	noff = vdrv_cc_rd(d, 0x1e, 2);
	io_bus_access(&d->mmio, d->bar4 + off + mult * noff, 2, true, &v);
}

uint16_t vdrv_used_idx(struct vdrv *d, unsigned q)
{
	return __atomic_load_n((uint16_t *)(d->ram + d->q[q].used + 2), __ATOMIC_ACQUIRE);
}

bool vdrv_next_used(struct vdrv *d, unsigned qi, int timeout_ms, uint32_t *id, uint32_t *len)
{
	struct vdrv_queue *q = &d->q[qi];
	struct timespec ts = { 0, 1000000 };
	uint64_t e;

	for (int waited = 0; vdrv_used_idx(d, qi) == q->last_used; waited++) {
		if (waited >= timeout_ms)
			return false;
		nanosleep(&ts, NULL);
	}
	e = q->used + 4 + 8u * (q->last_used % q->size);
	memcpy(id, d->ram + e, 4);
	memcpy(len, d->ram + e + 4, 4);
	q->last_used++;
	return true;
}
