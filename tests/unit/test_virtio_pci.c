/* The virtio modern PCI transport, driven the way Linux's virtio_pci probes
 * and uses a device: config space through 0xCF8/0xCFC, registers through
 * the BARs on the MMIO bus, a fake guest RAM for the rings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcitest.h"
#include "snaptest.h"
#include "hw/iobus.h"
#include "hw/layout.h"
#include "hw/pci.h"
#include "lib/config.h"
#include "virtio/pci.h"

#define SLOT		4
#define MEM_SIZE	0x10000
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x4000
#define QSIZE		16
#define MSI_ADDR	0xfee01000ull
#define MSI_CAP_ID	0x05
#define MSIX_CAP_ID	0x11
#define INTX_GSI	(16 + SLOT % 8)	/* layout_pci_intx_gsi(SLOT, pin A) */

/* ---- the fake device: virtio-rng whose entropy is a counter ---- */

struct fake_rng {
	struct virtio_pci *t;
	uint8_t counter;
	unsigned resets, notifies, cfg_writes;
	uint8_t cfg[8];
	int veto;			/* features_ok result */
	uint64_t negotiated;		/* what features_ok was asked */
};

static void rng_cfg_read(void *dev, unsigned off, void *buf, unsigned len)
{
	struct fake_rng *r = dev;

	assert_true(off + len <= sizeof(r->cfg));
	memcpy(buf, r->cfg + off, len);
}

static void rng_cfg_write(void *dev, unsigned off, const void *buf, unsigned len)
{
	struct fake_rng *r = dev;

	assert_true(off + len <= sizeof(r->cfg));
	memcpy(r->cfg + off, buf, len);
	r->cfg_writes++;
}

static void rng_notify(void *dev, unsigned qi)
{
	struct fake_rng *r = dev;
	struct virtqueue *q = virtio_pci_queue(r->t, qi);
	const struct vq_mem *m = virtio_pci_vq_mem(r->t);
	static struct vq_elem e;

	assert_int_equal(qi, 0);
	r->notifies++;
	while (vq_pop(q, m, &e) == 1) {
		uint32_t n = 0;

		for (unsigned i = e.out_num; i < e.out_num + e.in_num; i++)
			for (size_t j = 0; j < e.iov[i].iov_len; j++, n++)
				((uint8_t *)e.iov[i].iov_base)[j] = r->counter++;
		assert_int_equal(vq_push(q, m, &e, n), 0);
	}
	virtio_pci_notify_used(r->t, qi);
}

static void rng_reset(void *dev)
{
	((struct fake_rng *)dev)->resets++;
}

static int rng_features_ok(void *dev, uint64_t f)
{
	struct fake_rng *r = dev;

	r->negotiated = f;
	return r->veto;
}

static const struct virtio_dev_ops rng_ops = {
	.name = "fake-rng", .type = VIRTIO_ID_RNG,
	.pci_class = 0xff, .pci_subclass = 0x00,
	.features = 0, .nqueues = 1, .queue_max_size = QSIZE,
	.config_len = 8,
	.config_read = rng_cfg_read, .config_write = rng_cfg_write,
	.queue_notify = rng_notify, .reset = rng_reset,
	.features_ok = rng_features_ok,
};

/* The same device opting in to the packed ring. */
static const struct virtio_dev_ops rng_packed_ops = {
	.name = "fake-rng-packed", .type = VIRTIO_ID_RNG,
	.features = 1ull << VIRTIO_F_RING_PACKED, .nqueues = 1,
	.queue_max_size = QSIZE, .queue_notify = rng_notify, .reset = rng_reset,
};

/* ---- the fake machine ---- */

struct fixture {
	struct io_bus pio, mmio;
	struct pci_bus pci;
	struct fake_rng rng;
	struct vq_mem mem;
	struct virtio_irq irq;
	_Alignas(16) uint8_t ram[MEM_SIZE];	/* vq_map checks host alignment */
	unsigned msis;
	uint64_t msi_addr;
	uint32_t msi_data;
	int intx;
	unsigned intx_gsi;		/* of the last platform intx call */
	uint64_t bar4, bar1;
	unsigned common, notify, isr, device, pcicfg, msix, msi;
};

static void *fake_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fixture *f = opaque;

	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return f->ram + gpa;
}

static int fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fixture *f = opaque;

	f->msis++;
	f->msi_addr = addr;
	f->msi_data = data;
	return 0;
}

static void fake_intx(void *opaque, int level)
{
	((struct fixture *)opaque)->intx = level;
}

/* The bus platform, for transports made by virtio_pci_attach(). */
static void plat_intx(void *opaque, unsigned gsi, int level)
{
	struct fixture *f = opaque;

	f->intx = level;
	f->intx_gsi = gsi;
}

static void emu_destroy(struct pci_dev *d)
{
	virtio_pci_destroy(d->priv);
}

static const struct pci_devemu fake_emu = {
	.name = "fake-virtio-rng", .destroy = emu_destroy,
	.cfg_read = virtio_pci_cfg_read, .cfg_write = virtio_pci_cfg_write,
	.cfg_written = virtio_pci_cfg_written,
};

static uint32_t cfg_rd(struct fixture *f, unsigned off, unsigned size)
{
	return pcitest_cfg_read(&f->pio, SLOT, off, size);
}

static void cfg_wr(struct fixture *f, unsigned off, unsigned size, uint32_t val)
{
	pcitest_cfg_write(&f->pio, SLOT, off, size, val);
}

static uint64_t rd(struct fixture *f, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(io_bus_access(&f->mmio, addr, size, false, &v), 0);
	return v;
}

static void wr(struct fixture *f, uint64_t addr, unsigned size, uint64_t v)
{
	assert_int_equal(io_bus_access(&f->mmio, addr, size, true, &v), 0);
}

/* Register `reg` of the common config, through the BAR the cap names. */
static uint64_t cc_rd(struct fixture *f, unsigned reg, unsigned size)
{
	return rd(f, f->bar4 + cfg_rd(f, f->common + 8, 4) + reg, size);
}

static void cc_wr(struct fixture *f, unsigned reg, unsigned size, uint64_t v)
{
	wr(f, f->bar4 + cfg_rd(f, f->common + 8, 4) + reg, size, v);
}

/* Linux's virtio_pci_find_capability(): walk the list, match cfg_type. */
static unsigned find_vcap(struct fixture *f, uint8_t type)
{
	unsigned n = 0;

	for (unsigned p = cfg_rd(f, 0x34, 1); p; p = cfg_rd(f, p + 1, 1)) {
		assert_true(p >= 0x40 && ++n < 48);	/* no loop, not in header */
		if (cfg_rd(f, p, 1) == 0x09 && cfg_rd(f, p + 3, 1) == type)
			return p;
	}
	return 0;
}

static unsigned find_cap_id(struct fixture *f, uint8_t id)
{
	for (unsigned p = cfg_rd(f, 0x34, 1); p; p = cfg_rd(f, p + 1, 1))
		if (cfg_rd(f, p, 1) == id)
			return p;
	return 0;
}

static const struct virtio_dev_ops *cur_ops = &rng_ops;

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	io_bus_init(&f->pio, "pio");
	io_bus_init(&f->mmio, "mmio");
	pci_bus_init(&f->pci, &f->pio, &f->mmio, NULL);
	io_bus_add(&f->pio, LAYOUT_PCI_CONFIG_ADDR, 4, &pci_cfg_addr_ops, &f->pci);
	io_bus_add(&f->pio, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &f->pci);
	f->mem = (struct vq_mem){ .gpa = fake_gpa, .opaque = f };
	f->irq = (struct virtio_irq){ .msi = fake_msi, .intx = fake_intx, .opaque = f };
	f->pci.platform = (struct pci_platform){ fake_gpa, fake_msi, plat_intx, f };
	memcpy(f->rng.cfg, "\x10\x11\x12\x13\x14\x15\x16\x17", 8);
	return f;
}

static struct pci_dev *dev_new(struct fixture *f, unsigned slot)
{
	struct pci_dev *d = calloc(1, sizeof(*d));

	d->bus = &f->pci;
	d->emu = &fake_emu;
	d->slot = (uint8_t)slot;
	return d;
}

/* Plugs d into SLOT and finds what a driver looks for. */
static void fixture_finish(struct fixture *f, struct pci_dev *d, struct virtio_pci *t)
{
	f->rng.t = t;
	f->pci.dev[SLOT][0] = d;
	cfg_wr(f, 0x04, 2, 0x6);	/* memory space + bus master */
	f->bar4 = (cfg_rd(f, 0x20, 4) & ~0xfull) | (uint64_t)cfg_rd(f, 0x24, 4) << 32;
	f->bar1 = cfg_rd(f, 0x14, 4) & ~0xfull;
	f->common = find_vcap(f, 1);
	f->notify = find_vcap(f, 2);
	f->isr = find_vcap(f, 3);
	f->device = find_vcap(f, 4);
	f->pcicfg = find_vcap(f, 5);
	f->msix = find_cap_id(f, MSIX_CAP_ID);
	f->msi = find_cap_id(f, MSI_CAP_ID);
}

static int setup(void **state)
{
	struct fixture *f = fixture_new();
	struct pci_dev *d = dev_new(f, SLOT);
	struct virtio_pci *t = NULL;

	assert_int_equal(virtio_pci_init(d, cur_ops, &f->rng, &f->mem, &f->irq, &t), 0);
	fixture_finish(f, d, t);
	*state = f;
	return 0;
}

/* virtio_pci_attach() of fake device r as d, the config saying
 * virtio_msix=value (unset if NULL). */
static int attach(struct pci_dev *d, struct fake_rng *r, const char *value,
		  char *err, size_t errlen)
{
	struct config *cfg = config_new();
	char node[32];
	int rc;

	assert_non_null(cfg);
	if (value)
		assert_int_equal(config_set(cfg, "virtio_msix", value), 0);
	snprintf(node, sizeof(node), "pci.0.%u.0", d->slot);
	rc = virtio_pci_attach(d, cfg, node, &rng_ops, r, &r->t, err, errlen);
	config_free(cfg);
	return rc;
}

/* -W: the device on the bus platform, with MSI instead of MSI-X. */
static int setup_msi(void **state)
{
	struct fixture *f = fixture_new();
	struct pci_dev *d = dev_new(f, SLOT);
	char err[160];

	assert_int_equal(attach(d, &f->rng, "false", err, sizeof(err)), 0);
	fixture_finish(f, d, f->rng.t);
	*state = f;
	return 0;
}

static int setup_packed(void **state)
{
	cur_ops = &rng_packed_ops;
	setup(state);
	cur_ops = &rng_ops;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(&f->pci);
	io_bus_destroy(&f->pio);
	io_bus_destroy(&f->mmio);
	free(f);
	return 0;
}

/* ---- the driver's side ---- */

static uint8_t status(struct fixture *f)
{
	return (uint8_t)cc_rd(f, 0x14, 1);
}

static void negotiate(struct fixture *f, uint64_t feat)
{
	cc_wr(f, 0x14, 1, 0);
	assert_int_equal(status(f), 0);
	cc_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	cc_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(f, 0x08, 4, 0);
	cc_wr(f, 0x0c, 4, (uint32_t)feat);
	cc_wr(f, 0x08, 4, 1);
	cc_wr(f, 0x0c, 4, (uint32_t)(feat >> 32));
	cc_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	      VIRTIO_STATUS_FEATURES_OK);
}

static uint64_t offered(struct fixture *f)
{
	cc_wr(f, 0x00, 4, 0);
	uint64_t lo = cc_rd(f, 0x04, 4);

	cc_wr(f, 0x00, 4, 1);
	return lo | cc_rd(f, 0x04, 4) << 32;
}

static void msix_entry(struct fixture *f, unsigned vec, uint64_t addr,
		       uint32_t data, uint32_t ctrl)
{
	uint64_t e = f->bar1 + 16 * vec;	/* table offset 0, BIR 1 */

	wr(f, e, 4, (uint32_t)addr);
	wr(f, e + 4, 4, (uint32_t)(addr >> 32));
	wr(f, e + 8, 4, data);
	wr(f, e + 12, 4, ctrl);
}

static void queue_setup(struct fixture *f, uint16_t vector)
{
	cc_wr(f, 0x16, 2, 0);
	assert_int_equal(cc_rd(f, 0x18, 2), QSIZE);
	cc_wr(f, 0x1a, 2, vector);
	assert_int_equal(cc_rd(f, 0x1a, 2), vector);
	/* Linux's vp_iowrite64_twopart: low half then high half */
	cc_wr(f, 0x20, 4, DESC_GPA);
	cc_wr(f, 0x24, 4, 0);
	cc_wr(f, 0x28, 4, AVAIL_GPA);
	cc_wr(f, 0x2c, 4, 0);
	cc_wr(f, 0x30, 4, USED_GPA);
	cc_wr(f, 0x34, 4, 0);
	assert_int_equal(cc_rd(f, 0x20, 8), DESC_GPA);
	cc_wr(f, 0x1c, 2, 1);
	assert_int_equal(cc_rd(f, 0x1c, 2), 1);
}

/* Full probe: features (VERSION_1 + EVENT_IDX off), optional MSI-X with
 * config vector 0 and queue vector 1, queue 0, DRIVER_OK. */
static void probe(struct fixture *f, bool msix)
{
	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	assert_true(status(f) & VIRTIO_STATUS_FEATURES_OK);
	if (msix) {
		cfg_wr(f, f->msix + 2, 2, 0x8000);
		msix_entry(f, 0, MSI_ADDR, 0x40, 0);
		msix_entry(f, 1, MSI_ADDR | 0x10, 0x41, 0);
		cc_wr(f, 0x10, 2, 0);
		assert_int_equal(cc_rd(f, 0x10, 2), 0);
	}
	queue_setup(f, msix ? 1 : VIRTIO_MSI_NO_VECTOR);
	cc_wr(f, 0x14, 1, 0x0f);
	assert_int_equal(status(f), 0x0f);
}

static void wr16(struct fixture *f, uint64_t gpa, uint16_t v) { memcpy(f->ram + gpa, &v, 2); }
static uint16_t rd16(struct fixture *f, uint64_t gpa) { uint16_t v; memcpy(&v, f->ram + gpa, 2); return v; }
static uint32_t rd32(struct fixture *f, uint64_t gpa) { uint32_t v; memcpy(&v, f->ram + gpa, 4); return v; }

/* Posts one device-writable buffer of len bytes as descriptor `n`. */
static void post(struct fixture *f, uint16_t n, uint32_t len)
{
	uint64_t d = DESC_GPA + 16 * n, addr = BUF_GPA + 0x100 * n;
	uint16_t idx = rd16(f, AVAIL_GPA + 2);
	uint16_t flags = VRING_DESC_F_WRITE;

	memcpy(f->ram + d, &addr, 8);
	memcpy(f->ram + d + 8, &len, 4);
	memcpy(f->ram + d + 12, &flags, 2);
	wr16(f, d + 14, 0);
	wr16(f, AVAIL_GPA + 4 + 2 * (idx % QSIZE), n);
	wr16(f, AVAIL_GPA + 2, idx + 1);
}

static void kick(struct fixture *f, uint16_t q)
{
	uint32_t mult = cfg_rd(f, f->notify + 16, 4);
	uint32_t off = cfg_rd(f, f->notify + 8, 4);

	cc_wr(f, 0x16, 2, q);
	wr(f, f->bar4 + off + mult * cc_rd(f, 0x1e, 2), 2, q);
}

/* ---- tests ---- */

static void test_identity_and_caps(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_rd(f, 0, 4), 0x10441af4);
	assert_int_equal(cfg_rd(f, 0x08, 1), 1);
	assert_int_equal(cfg_rd(f, 0x0b, 1), 0xff);
	assert_int_equal(cfg_rd(f, 0x2c, 4), 0x00441af4);
	assert_true(cfg_rd(f, 0x06, 2) & 0x10);
	assert_int_equal(cfg_rd(f, 0x20, 4) & 0x6, 0x4);	/* 64-bit BAR 4 */
	assert_true(f->common && f->notify && f->isr && f->device && f->pcicfg && f->msix);
	assert_int_equal(f->msi, 0);
	assert_int_equal(cfg_rd(f, f->common + 4, 1), 4);
	assert_int_equal(cfg_rd(f, f->common + 12, 4), 0x38);
	assert_int_equal(cfg_rd(f, f->device + 12, 4), 8);
	assert_int_equal(cfg_rd(f, f->notify + 2, 1), 20);
	assert_int_equal(cfg_rd(f, f->notify + 16, 4), 4);
	assert_int_equal(cfg_rd(f, f->msix + 2, 2) & 0x7ff, 1);	/* 2 vectors */
	assert_int_equal(cfg_rd(f, f->msix + 4, 4), 1);		/* BIR 1 @0 */
	assert_int_equal(cfg_rd(f, f->msix + 8, 4), 0x801);
	/* Capability bytes are read-only. */
	cfg_wr(f, f->common + 8, 4, 0x1234);
	assert_int_equal(cfg_rd(f, f->common + 8, 4), 0);
	assert_int_equal(cc_rd(f, 0x12, 2), 1);
	assert_int_equal(offered(f), VIRTIO_PCI_TRANSPORT_FEATURES);
}

static void test_probe_kick_msix(void **state)
{
	struct fixture *f = *state;

	probe(f, true);
	assert_int_equal(f->msis, 0);
	post(f, 0, 32);
	kick(f, 0);
	assert_int_equal(f->rng.notifies, 1);
	assert_int_equal(rd16(f, USED_GPA + 2), 1);
	assert_int_equal(rd32(f, USED_GPA + 4), 0);	/* id */
	assert_int_equal(rd32(f, USED_GPA + 8), 32);	/* len */
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(f->ram[BUF_GPA + i], i);
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_addr, MSI_ADDR | 0x10);
	assert_int_equal(f->msi_data, 0x41);
	assert_int_equal(f->intx, 0);
	/* A config change goes to the config vector and bumps the generation. */
	virtio_pci_config_changed(f->rng.t);
	assert_int_equal(cc_rd(f, 0x15, 1), 1);
	assert_int_equal(f->msis, 2);
	assert_int_equal(f->msi_data, 0x40);
}

static void test_msix_masking(void **state)
{
	struct fixture *f = *state;

	probe(f, true);
	wr(f, f->bar1 + 16 + 12, 4, 1);			/* mask vector 1 */
	post(f, 0, 8);
	kick(f, 0);
	assert_int_equal(f->msis, 0);
	assert_int_equal(rd(f, f->bar1 + 0x800, 4), 0x2);	/* PBA bit 1 */
	wr(f, f->bar1 + 16 + 12, 4, 0);			/* unmask */
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_data, 0x41);
	assert_int_equal(rd(f, f->bar1 + 0x800, 4), 0);
	/* The function mask holds everything back the same way. */
	cfg_wr(f, f->msix + 2, 2, 0xc000);
	post(f, 1, 8);
	kick(f, 0);
	assert_int_equal(f->msis, 1);
	assert_int_equal(rd(f, f->bar1 + 0x800, 4), 0x2);
	assert_int_equal(cfg_rd(f, f->msix + 2, 2), 0xc001);
	cfg_wr(f, f->msix + 2, 2, 0x8000);
	assert_int_equal(f->msis, 2);
	/* The PBA is read-only; the table rejects unaligned accesses. */
	wr(f, f->bar1 + 0x800, 4, 0xff);
	assert_int_equal(rd(f, f->bar1 + 0x800, 4), 0);
	assert_int_equal(rd(f, f->bar1 + 2, 2), 0);
}

static void test_intx_isr(void **state)
{
	struct fixture *f = *state;
	uint64_t isr = f->bar4 + cfg_rd(f, f->isr + 8, 4);

	probe(f, false);
	post(f, 0, 4);
	kick(f, 0);
	assert_int_equal(f->msis, 0);
	assert_int_equal(f->intx, 1);
	{
		/* The command register's INTx disable masks the line. */
		uint32_t cmd = cfg_rd(f, 0x04, 2);

		cfg_wr(f, 0x04, 2, cmd | 0x400);
		assert_int_equal(f->intx, 0);
		cfg_wr(f, 0x04, 2, cmd);
		assert_int_equal(f->intx, 1);
	}
	assert_int_equal(rd(f, isr, 1), 1);		/* read clears */
	assert_int_equal(f->intx, 0);
	assert_int_equal(rd(f, isr, 1), 0);
	virtio_pci_config_changed(f->rng.t);
	assert_int_equal(f->intx, 1);
	assert_int_equal(rd(f, isr, 1), 2);
	assert_int_equal(f->intx, 0);
	/* VRING_AVAIL_F_NO_INTERRUPT is honoured through vq_needs_notify. */
	wr16(f, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	post(f, 1, 4);
	kick(f, 0);
	assert_int_equal(rd16(f, USED_GPA + 2), 2);
	assert_int_equal(f->intx, 0);
}

static void test_features_ok_rules(void **state)
{
	struct fixture *f = *state;

	/* Legacy driver: no VERSION_1. */
	negotiate(f, 1ull << VIRTIO_RING_F_EVENT_IDX);
	assert_int_equal(status(f), 0x03);
	/* A feature that was never offered. */
	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << 5);
	assert_int_equal(status(f), 0x03);
	/* The device's veto. */
	f->rng.veto = -1;
	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	assert_int_equal(status(f), 0x03);
	f->rng.veto = 0;
	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	assert_int_equal(status(f), 0x0b);
	assert_int_equal(f->rng.negotiated,
			 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	assert_int_equal(virtio_pci_features(f->rng.t),
			 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	/* Frozen after FEATURES_OK; the driver cannot set NEEDS_RESET. */
	cc_wr(f, 0x08, 4, 0);
	cc_wr(f, 0x0c, 4, 0);
	assert_int_equal(cc_rd(f, 0x0c, 4), 1u << VIRTIO_RING_F_EVENT_IDX);
	cc_wr(f, 0x14, 1, 0x4b);
	assert_int_equal(status(f), 0x0b);
	/* Selects past the two feature words read 0. */
	cc_wr(f, 0x00, 4, 7);
	assert_int_equal(cc_rd(f, 0x04, 4), 0);
}

static void test_device_config_bounds(void **state)
{
	struct fixture *f = *state;
	uint64_t dev = f->bar4 + cfg_rd(f, f->device + 8, 4);

	assert_int_equal(rd(f, dev, 4), 0x13121110);
	assert_int_equal(rd(f, dev + 6, 2), 0x1716);
	assert_int_equal(rd(f, dev, 8), 0x1716151413121110ull);
	assert_int_equal(rd(f, dev + 6, 4), 0);		/* crosses the end */
	assert_int_equal(rd(f, dev + 8, 1), 0);
	assert_int_equal(rd(f, dev + 0xfff, 1), 0);
	wr(f, dev + 7, 2, 0xffff);
	wr(f, dev + 0x100, 4, 0xffffffff);
	assert_int_equal(f->rng.cfg_writes, 0);
	wr(f, dev + 1, 1, 0xaa);
	assert_int_equal(f->rng.cfg_writes, 1);
	assert_int_equal(f->rng.cfg[1], 0xaa);
	/* Unused BAR space and the notify area past the queues are inert. */
	assert_int_equal(rd(f, f->bar4 + 0x3ff0, 4), 0);
	wr(f, f->bar4 + 0x3000 + 4, 2, 0);
	assert_int_equal(f->rng.notifies, 0);
}

static void test_queue_registers(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	cc_wr(f, 0x16, 2, 5);
	assert_int_equal(cc_rd(f, 0x16, 2), 5);
	assert_int_equal(cc_rd(f, 0x18, 2), 0);
	assert_int_equal(cc_rd(f, 0x1c, 2), 0);
	cc_wr(f, 0x1c, 2, 1);				/* no such queue: ignored */
	cc_wr(f, 0x16, 2, 0xffff);
	assert_int_equal(cc_rd(f, 0x18, 2), 0);
	cc_wr(f, 0x16, 2, 0);
	cc_wr(f, 0x18, 2, 3);				/* not a power of two */
	assert_int_equal(cc_rd(f, 0x18, 2), QSIZE);
	cc_wr(f, 0x18, 2, 2 * QSIZE);			/* above max */
	assert_int_equal(cc_rd(f, 0x18, 2), QSIZE);
	cc_wr(f, 0x18, 2, 0);
	assert_int_equal(cc_rd(f, 0x18, 2), QSIZE);
	cc_wr(f, 0x18, 2, 4);
	assert_int_equal(cc_rd(f, 0x18, 2), 4);
	/* A vector the table cannot hold reads back as NO_VECTOR. */
	cc_wr(f, 0x1a, 2, 2);
	assert_int_equal(cc_rd(f, 0x1a, 2), VIRTIO_MSI_NO_VECTOR);
	cc_wr(f, 0x10, 2, 0x7ff);
	assert_int_equal(cc_rd(f, 0x10, 2), VIRTIO_MSI_NO_VECTOR);
	/* Wrong-width accesses do nothing. */
	cc_wr(f, 0x18, 4, 8);
	assert_int_equal(cc_rd(f, 0x18, 2), 4);
	assert_int_equal(cc_rd(f, 0x18, 4), 0);
	/* A ring outside guest RAM: enable fails, DEVICE_NEEDS_RESET. */
	cc_wr(f, 0x20, 8, MEM_SIZE);
	cc_wr(f, 0x1c, 2, 1);
	assert_int_equal(cc_rd(f, 0x1c, 2), 0);
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_reset_clears(void **state)
{
	struct fixture *f = *state;
	struct virtio_pci_state s;

	probe(f, true);
	post(f, 0, 4);
	kick(f, 0);
	cc_wr(f, 0x16, 2, 0);
	cc_wr(f, 0x14, 1, 0);
	assert_int_equal(f->rng.resets, 2);		/* probe's + this */
	assert_int_equal(status(f), 0);
	assert_int_equal(cc_rd(f, 0x10, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(cc_rd(f, 0x18, 2), QSIZE);
	assert_int_equal(cc_rd(f, 0x1a, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(cc_rd(f, 0x1c, 2), 0);
	assert_int_equal(cc_rd(f, 0x20, 8), 0);
	cc_wr(f, 0x08, 4, 1);
	assert_int_equal(cc_rd(f, 0x08, 4), 1);
	assert_int_equal(cc_rd(f, 0x0c, 4), 0);
	virtio_pci_save(f->rng.t, &s);
	assert_int_equal(s.driver_features, 0);
	assert_false(s.q[0].vq.ready);
	assert_int_equal(s.isr, 0);
	/* A kick after reset reaches nobody. */
	kick(f, 0);
	assert_int_equal(f->rng.notifies, 1);
}

static void test_pci_cfg_window(void **state)
{
	struct fixture *f = *state;
	unsigned c = f->pcicfg;

	assert_int_equal(cfg_rd(f, c + 2, 1), 20);
	/* num_queues through the window */
	cfg_wr(f, c + 4, 1, 4);
	cfg_wr(f, c + 8, 4, 0x12);
	cfg_wr(f, c + 12, 4, 2);
	assert_int_equal(cfg_rd(f, c + 4, 1), 4);
	assert_int_equal(cfg_rd(f, c + 8, 4), 0x12);
	assert_int_equal(cfg_rd(f, c + 16, 4) & 0xffff, 1);
	/* a status write through the window */
	cfg_wr(f, c + 8, 4, 0x14);
	cfg_wr(f, c + 12, 4, 1);
	cfg_wr(f, c + 16, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(status(f), VIRTIO_STATUS_ACKNOWLEDGE);
	/* Bad windows do nothing: misaligned, bad length, beyond the BAR,
	 * a BAR that does not exist. */
	cfg_wr(f, c + 8, 4, 0x13);
	cfg_wr(f, c + 12, 4, 2);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 12, 4, 3);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 8, 4, 0xfffffffe);
	cfg_wr(f, c + 12, 4, 2);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 4, 1, 0xff);
	cfg_wr(f, c + 8, 4, 0x14);
	cfg_wr(f, c + 12, 4, 1);
	cfg_wr(f, c + 16, 4, 0);
	cfg_wr(f, c + 4, 1, 2);
	cfg_wr(f, c + 16, 4, 0);
	assert_int_equal(status(f), VIRTIO_STATUS_ACKNOWLEDGE);
}

static void test_needs_reset_and_restore(void **state)
{
	struct fixture *f = *state;
	struct virtio_pci_state s;

	probe(f, false);
	virtio_pci_save(f->rng.t, &s);
	virtio_pci_set_needs_reset(f->rng.t);
	assert_int_equal(status(f), 0x4f);
	assert_int_equal(f->intx, 1);
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), 0);
	assert_int_equal(status(f), 0x0f);
	assert_int_equal(f->intx, 0);
	/* A restored state naming a vector past the table is refused. */
	s.q[0].msix_vector = 9;
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), -EINVAL);
	s.q[0].msix_vector = VIRTIO_MSI_NO_VECTOR;
	/* ... and so is MSI state in a function that has MSI-X instead. */
	s.msi.ctl = 1;
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), -EINVAL);
	s.msi.ctl = 0;
	s.msi.addr = MSI_ADDR;
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), -EINVAL);
	s.msi.addr = 0;
	s.q[0].vq.desc_gpa = s.q[0].desc = MEM_SIZE;
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), -EFAULT);
	assert_int_equal(virtio_pci_notify_used(f->rng.t, 1), -EINVAL);
	assert_null(virtio_pci_queue(f->rng.t, 1));
}

/* The state as section bytes: what put writes, get takes back whole; a
 * short section, another queue count or a feature the device does not
 * offer is refused. */
static int get_from(struct fixture *f, struct virtio_pci_state *s, size_t cut)
{
	struct snap_writer *w = malloc(sizeof(*w));
	struct snap_section sec;
	struct snap_cursor c;
	int rc;

	snap_writer_init(w);
	snap_begin(w, "pci.0.3.0", 1);
	virtio_pci_put_state(f->rng.t, s, w);
	sec = snaptest_section(w);
	sec.size -= cut;
	snap_cursor_init(&c, &sec);
	rc = virtio_pci_get(f->rng.t, &c);
	if (!rc && !snap_cursor_done(&c))
		rc = -EMSGSIZE;
	snap_writer_free(w);
	free(w);
	return rc;
}

static void test_state_section(void **state)
{
	struct fixture *f = *state;
	struct virtio_pci_state *s = malloc(sizeof(*s)), *t = malloc(sizeof(*t));

	probe(f, false);
	virtio_pci_save(f->rng.t, s);
	assert_int_equal(get_from(f, s, 0), 0);
	virtio_pci_save(f->rng.t, t);
	assert_int_equal(t->driver_features, s->driver_features);
	assert_int_equal(t->status, 0x0f);
	assert_true(t->q[0].vq.ready);
	assert_int_equal(t->q[0].vq.desc_gpa, s->q[0].vq.desc_gpa);
	assert_int_equal(t->q[0].vq.used_idx, s->q[0].vq.used_idx);
	assert_memory_equal(t->msix, s->msix, sizeof(s->msix));
	assert_int_equal(get_from(f, s, 1), -EINVAL);
	s->driver_features |= 1ull << 40;
	assert_int_equal(get_from(f, s, 0), -EINVAL);
	s->driver_features &= ~(1ull << 40);
	s->q[0].vq.size = (uint16_t)(s->q[0].size / 2);	/* not what was enabled */
	assert_int_equal(get_from(f, s, 0), -EINVAL);
	free(s);
	free(t);
}

/* Packed rings take any queue size up to the maximum; no device config
 * means no DEVICE_CFG capability. */
static void test_packed_queue_size(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->device, 0);
	assert_true(f->notify != 0);
	assert_true(offered(f) & 1ull << VIRTIO_F_RING_PACKED);
	negotiate(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_PACKED);
	assert_true(status(f) & VIRTIO_STATUS_FEATURES_OK);
	cc_wr(f, 0x18, 2, 3);
	assert_int_equal(cc_rd(f, 0x18, 2), 3);
	cc_wr(f, 0x20, 8, DESC_GPA);
	cc_wr(f, 0x28, 8, AVAIL_GPA);
	cc_wr(f, 0x30, 8, USED_GPA);
	cc_wr(f, 0x1c, 2, 1);
	assert_int_equal(cc_rd(f, 0x1c, 2), 1);
	assert_true(virtio_pci_queue(f->rng.t, 0)->packed);
	assert_int_equal(virtio_pci_queue(f->rng.t, 0)->size, 3);
}

static void test_bad_ops(void **state)
{
	struct pci_dev d = { 0 };
	struct virtio_dev_ops o = rng_ops;
	struct virtio_pci *t = NULL;

	(void)state;
	o.nqueues = 0;
	assert_int_equal(virtio_pci_init(&d, &o, NULL, NULL, NULL, &t), -EINVAL);
	o.nqueues = VIRTIO_PCI_MAX_QUEUES + 1;
	assert_int_equal(virtio_pci_init(&d, &o, NULL, NULL, NULL, &t), -EINVAL);
	o.nqueues = 1;
	o.queue_max_size = 24;
	assert_int_equal(virtio_pci_init(&d, &o, NULL, NULL, NULL, &t), -EINVAL);
}

/* ---- -W: MSI instead of MSI-X ---- */

#define MSI64		(MSI_ADDR | 0x12ull << 32)	/* shows the high dword */
#define MSI_DATA	0x4041

static uint64_t isr_addr(struct fixture *f)
{
	return f->bar4 + cfg_rd(f, f->isr + 8, 4);
}

/* As FreeBSD's pci_enable_msi(): address, data, then the enable bit. */
static void msi_program(struct fixture *f, uint64_t addr, uint16_t data)
{
	cfg_wr(f, f->msi + 4, 4, (uint32_t)addr);
	cfg_wr(f, f->msi + 8, 4, (uint32_t)(addr >> 32));
	cfg_wr(f, f->msi + 0x0c, 2, data);
	cfg_wr(f, f->msi + 2, 2, 0x0001);
}

static void msi_mask(struct fixture *f, bool masked)
{
	cfg_wr(f, f->msi + 0x10, 4, masked);
}

static unsigned count_caps(struct fixture *f)
{
	unsigned n = 0;

	for (unsigned p = cfg_rd(f, 0x34, 1); p; p = cfg_rd(f, p + 1, 1))
		assert_true(p >= 0x40 && (p & 3) == 0 && ++n < 48);
	return n;
}

static void test_msi_caps(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *d = f->pci.dev[SLOT][0];

	assert_int_equal(f->msix, 0);
	assert_true(f->msi && f->common && f->notify && f->isr && f->device && f->pcicfg);
	assert_int_equal(count_caps(f), 6);
	/* 64-bit, per-vector masking, one message, disabled. */
	assert_int_equal(cfg_rd(f, f->msi + 2, 2), 0x0180);
	/* No MSI-X BAR: BAR 1 is not implemented and sizes to 0. */
	assert_int_equal(d->bar[1].type, PCI_BAR_NONE);
	assert_int_equal(f->bar1, 0);
	cfg_wr(f, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, 0x14, 4), 0);
	assert_true(f->bar4 != 0);
	assert_int_equal(cfg_rd(f, 0x3c, 1), INTX_GSI);
	assert_int_equal(cfg_rd(f, 0x3d, 1), 1);
	/* The vendor capabilities are as with MSI-X. */
	assert_int_equal(cfg_rd(f, f->common + 12, 4), 0x38);
	assert_int_equal(cfg_rd(f, f->notify + 16, 4), 4);
	assert_int_equal(offered(f), VIRTIO_PCI_TRANSPORT_FEATURES);
	/* The unused MSI-X bytes and what follows MSI read 0, take nothing. */
	cfg_wr(f, 0x40, 4, 0x80000011);
	assert_int_equal(cfg_rd(f, 0x40, 4), 0);
	assert_int_equal(cfg_rd(f, f->msi + 0x18, 4), 0);
}

/* Only enable, the dword-aligned address, 16 data bits and mask bit 0
 * are writable; MME stays 0 (one message), pending is read-only. */
static void test_msi_registers(void **state)
{
	struct fixture *f = *state;
	unsigned m = f->msi;

	cfg_wr(f, m + 2, 2, 0xfffe);
	assert_int_equal(cfg_rd(f, m + 2, 2), 0x0180);
	cfg_wr(f, m + 2, 2, 0xffff);
	assert_int_equal(cfg_rd(f, m + 2, 2), 0x0181);
	cfg_wr(f, m + 2, 2, 0);
	assert_int_equal(cfg_rd(f, m + 2, 2), 0x0180);
	cfg_wr(f, m + 4, 4, 0xfee01003);
	assert_int_equal(cfg_rd(f, m + 4, 4), 0xfee01000);
	cfg_wr(f, m + 5, 1, 0x20);			/* byte writes too */
	assert_int_equal(cfg_rd(f, m + 4, 4), 0xfee02000);
	cfg_wr(f, m + 8, 4, 0x12345678);
	assert_int_equal(cfg_rd(f, m + 8, 4), 0x12345678);
	cfg_wr(f, m + 0x0c, 4, 0xdead4041);		/* no extended data */
	assert_int_equal(cfg_rd(f, m + 0x0c, 4), 0x4041);
	cfg_wr(f, m + 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, m + 0x10, 4), 1);
	cfg_wr(f, m + 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, m + 0x14, 4), 0);
	assert_int_equal(cfg_rd(f, m, 1), MSI_CAP_ID);	/* id is read-only */
	cfg_wr(f, m, 2, 0);
	assert_int_equal(cfg_rd(f, m, 2), MSI_CAP_ID | f->common << 8);
	assert_int_equal(f->msis, 0);
}

static void test_msi_delivery(void **state)
{
	struct fixture *f = *state;

	msi_program(f, MSI64, MSI_DATA);
	probe(f, false);
	post(f, 0, 16);
	kick(f, 0);
	assert_int_equal(rd16(f, USED_GPA + 2), 1);
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_addr, MSI64);
	assert_int_equal(f->msi_data, MSI_DATA);
	assert_int_equal(f->intx, 0);
	/* The ISR says why, as for INTx: that is what the handler reads. */
	assert_int_equal(rd(f, isr_addr(f), 1), 1);
	assert_int_equal(rd(f, isr_addr(f), 1), 0);
	virtio_pci_config_changed(f->rng.t);
	assert_int_equal(f->msis, 2);
	assert_int_equal(f->msi_addr, MSI64);
	assert_int_equal(f->msi_data, MSI_DATA);
	assert_int_equal(rd(f, isr_addr(f), 1), 2);
	assert_int_equal(f->intx, 0);
}

static void test_msi_masking(void **state)
{
	struct fixture *f = *state;

	msi_program(f, MSI_ADDR, MSI_DATA);
	probe(f, false);
	msi_mask(f, true);
	post(f, 0, 8);
	kick(f, 0);
	assert_int_equal(f->msis, 0);
	assert_int_equal(cfg_rd(f, f->msi + 0x14, 4), 1);	/* pending */
	msi_mask(f, false);
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_addr, MSI_ADDR);
	assert_int_equal(f->msi_data, MSI_DATA);
	assert_int_equal(cfg_rd(f, f->msi + 0x14, 4), 0);
	assert_int_equal(rd(f, isr_addr(f), 1), 1);
	/* A virtio reset forgets the event and so its pending message. */
	msi_mask(f, true);
	post(f, 1, 8);
	kick(f, 0);
	assert_int_equal(cfg_rd(f, f->msi + 0x14, 4), 1);
	cc_wr(f, 0x14, 1, 0);
	assert_int_equal(cfg_rd(f, f->msi + 0x14, 4), 0);
	msi_mask(f, false);
	assert_int_equal(f->msis, 1);
	/* ... but the MSI registers are PCI state and survive it. */
	assert_int_equal(cfg_rd(f, f->msi + 2, 2), 0x0181);
	assert_int_equal(cfg_rd(f, f->msi + 4, 4), (uint32_t)MSI_ADDR);
}

static void test_msi_disabled_intx(void **state)
{
	struct fixture *f = *state;
	uint32_t cmd = cfg_rd(f, 0x04, 2);

	probe(f, false);
	post(f, 0, 4);
	kick(f, 0);
	assert_int_equal(f->msis, 0);
	assert_int_equal(f->intx, 1);
	assert_int_equal(f->intx_gsi, INTX_GSI);
	cfg_wr(f, 0x04, 2, cmd | 0x400);		/* INTx disable */
	assert_int_equal(f->intx, 0);
	cfg_wr(f, 0x04, 2, cmd);
	assert_int_equal(f->intx, 1);
	/* Enabling MSI takes the function off its pin, disabling gives it back. */
	msi_program(f, MSI_ADDR, MSI_DATA);
	assert_int_equal(f->intx, 0);
	cfg_wr(f, f->msi + 2, 2, 0);
	assert_int_equal(f->intx, 1);
	assert_int_equal(rd(f, isr_addr(f), 1), 1);	/* read clears */
	assert_int_equal(f->intx, 0);
	assert_int_equal(rd(f, isr_addr(f), 1), 0);
	virtio_pci_config_changed(f->rng.t);
	assert_int_equal(f->intx, 1);
	assert_int_equal(rd(f, isr_addr(f), 1), 2);
	assert_int_equal(f->intx, 0);
	assert_int_equal(f->msis, 0);
}

/* No MSI-X table: every vector mapping fails (reads NO_VECTOR), MSI
 * enabled or not, and interrupts still arrive. */
static void test_msi_no_vector(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1ull << VIRTIO_F_VERSION_1);
	cc_wr(f, 0x10, 2, 0);
	assert_int_equal(cc_rd(f, 0x10, 2), VIRTIO_MSI_NO_VECTOR);
	cc_wr(f, 0x16, 2, 0);
	cc_wr(f, 0x1a, 2, 0);
	assert_int_equal(cc_rd(f, 0x1a, 2), VIRTIO_MSI_NO_VECTOR);
	msi_program(f, MSI_ADDR, MSI_DATA);
	cc_wr(f, 0x10, 2, 0);
	assert_int_equal(cc_rd(f, 0x10, 2), VIRTIO_MSI_NO_VECTOR);
	cc_wr(f, 0x1a, 2, 1);
	assert_int_equal(cc_rd(f, 0x1a, 2), VIRTIO_MSI_NO_VECTOR);
	queue_setup(f, VIRTIO_MSI_NO_VECTOR);
	cc_wr(f, 0x14, 1, 0x0f);
	post(f, 0, 4);
	kick(f, 0);
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_data, MSI_DATA);
}

/* Restoring s must fail and leave the device as it was. */
static void refused(struct fixture *f, const struct virtio_pci_state *s)
{
	assert_int_equal(virtio_pci_restore(f->rng.t, s), -EINVAL);
	assert_int_equal(cfg_rd(f, f->msi + 2, 2), 0x0181);
}

static void test_msi_save_restore(void **state)
{
	struct fixture *f = *state;
	struct virtio_pci_state s, bad;

	msi_program(f, MSI64, MSI_DATA);
	probe(f, false);
	msi_mask(f, true);
	post(f, 0, 4);
	kick(f, 0);
	virtio_pci_save(f->rng.t, &s);
	assert_int_equal(s.msi.ctl, 1);
	assert_int_equal(s.msi.addr, MSI64);
	assert_int_equal(s.msi.data, MSI_DATA);
	assert_int_equal(s.msi.mask, 1);
	assert_int_equal(s.msi.pending, 1);
	assert_int_equal(s.msix_ctl, 0);
	/* The guest changes everything; the restore puts it back. */
	cfg_wr(f, f->msi + 2, 2, 0);
	msi_mask(f, false);
	cfg_wr(f, f->msi + 4, 4, 0);
	cfg_wr(f, f->msi + 0x0c, 2, 0);
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), 0);
	assert_int_equal(cfg_rd(f, f->msi + 2, 2), 0x0181);
	assert_int_equal(cfg_rd(f, f->msi + 4, 4), (uint32_t)MSI64);
	assert_int_equal(cfg_rd(f, f->msi + 8, 4), MSI64 >> 32);
	assert_int_equal(cfg_rd(f, f->msi + 0x0c, 2), MSI_DATA);
	assert_int_equal(cfg_rd(f, f->msi + 0x10, 4), 1);
	assert_int_equal(cfg_rd(f, f->msi + 0x14, 4), 1);
	assert_int_equal(f->msis, 0);
	/* A pending, unmasked message is sent by the restore. */
	s.msi.mask = 0;
	assert_int_equal(virtio_pci_restore(f->rng.t, &s), 0);
	assert_int_equal(f->msis, 1);
	assert_int_equal(f->msi_addr, MSI64);
	assert_int_equal(cfg_rd(f, f->msi + 0x14, 4), 0);
	/* Inconsistent states: bits the guest cannot set, MSI-X in a
	 * function without it. */
	bad = s;
	bad.msi.ctl = 0x0181;
	refused(f, &bad);
	bad = s;
	bad.msi.addr |= 2;
	refused(f, &bad);
	bad = s;
	bad.msi.mask = 2;
	refused(f, &bad);
	bad = s;
	bad.msi.pending = 0x80000000u;
	refused(f, &bad);
	bad = s;
	bad.msix_ctl = 0x8000;
	refused(f, &bad);
	bad = s;
	bad.msix_config = 0;
	refused(f, &bad);
	bad = s;
	bad.q[0].msix_vector = 0;
	refused(f, &bad);
}

/* virtio_msix is read by virtio_pci_attach(): unset or true keeps MSI-X
 * (BAR 1 claimed), anything not a boolean is refused, naming it. */
static void test_msi_attach_option(void **state)
{
	struct fixture *f = *state;
	static struct fake_rng r2, r3;
	struct pci_dev *d = dev_new(f, 5);
	char err[160] = "";

	assert_int_equal(attach(d, &r2, "maybe", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "pci.0.5.0: fake-rng: virtio_msix=maybe: not a boolean");
	assert_int_equal(attach(d, &r2, NULL, err, sizeof(err)), 0);
	f->pci.dev[5][0] = d;
	assert_true(d->bar[1].type == PCI_BAR_MEM32);
	assert_int_equal(pcitest_cfg_read(&f->pio, 5, 0x40, 1), MSIX_CAP_ID);
	d = dev_new(f, 6);
	assert_int_equal(attach(d, &r3, "true", err, sizeof(err)), 0);
	f->pci.dev[6][0] = d;
	assert_true(d->bar[1].type == PCI_BAR_MEM32);
	/* The -W device's INTx line is its slot's (hw/layout.h). */
	assert_int_equal(f->pci.dev[SLOT][0]->cfg[0x3c], INTX_GSI);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity_and_caps),
		T(test_probe_kick_msix),
		T(test_msix_masking),
		T(test_intx_isr),
		T(test_features_ok_rules),
		T(test_device_config_bounds),
		T(test_queue_registers),
		T(test_reset_clears),
		T(test_pci_cfg_window),
		T(test_needs_reset_and_restore),
		T(test_state_section),
		cmocka_unit_test_setup_teardown(test_packed_queue_size, setup_packed, teardown),
		cmocka_unit_test(test_bad_ops),
#define M(fn) cmocka_unit_test_setup_teardown(fn, setup_msi, teardown)
		M(test_msi_caps),
		M(test_msi_registers),
		M(test_msi_delivery),
		M(test_msi_masking),
		M(test_msi_disabled_intx),
		M(test_msi_no_vector),
		M(test_msi_save_restore),
		M(test_msi_attach_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
