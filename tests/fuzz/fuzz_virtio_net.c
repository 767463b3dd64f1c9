/* virtio-net against an arbitrary guest and an arbitrary host network.
 *
 * Input byte 0 picks the target:
 *   bit 7 set: the -s option parser (legacy_config on the rest as text);
 *   else:      the device.  The header picks the card (with or without a
 *              vnet header), the features the driver accepts, the queue
 *              sizes, the descriptor tables of both queues, which heads are
 *              made available (counts may lie), and the frames the host
 *              sends (lengths, vnet headers, contents); the rest is guest
 *              RAM the descriptors point at.
 * The real device (transport, I/O thread) runs on two cards built once,
 * with SOCK_SEQPACKET socketpairs as backends; each input ends with a
 * reset and both sockets emptied, so nothing carries over and no thread or
 * descriptor is created per input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../unit/pcitest.h"
#include "hw/iobus.h"
#include "hw/layout.h"
#include "hw/pci.h"
#include "hw/tap.h"
#include "lib/config.h"
#include "lib/log.h"
#include "virtio/net.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE	(1u << 20)
#define RING(c, q)	(0x1000u + 0x4000u * (2 * (c) + (q)))
#define BUFS		0x20000u		/* guest buffers: input bytes */
#define BUF_SPAN	0x10000u
#define NDESC		16
#define DESC_BYTES	5
#define NFRAMES		6
#define HDR		(4 + 2 * NDESC * DESC_BYTES + 2 * NDESC + NFRAMES * 3)
#define HUGE_FRAME	70000

struct card {
	unsigned slot;
	struct pci_dev *dev;
	struct netbe *be;		/* the card's; its fd is drained between inputs */
	int peer;
	bool vnet;
	uint64_t bar4;
	unsigned common, notify;
};

static struct io_bus pio, mmio;
static struct pci_bus bus;
static struct config *cfg;
static uint8_t *ram;
static struct card cards[2];

static void *ram_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

static int no_msi(void *opaque, uint64_t addr, uint32_t data) { return 0; }
static void no_intx(void *opaque, unsigned gsi, int level) { }

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint64_t mmio_rd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	if (io_bus_access(&mmio, addr, size, false, &v))
		abort();
	return v;
}

static void mmio_wr(uint64_t addr, unsigned size, uint64_t v)
{
	if (io_bus_access(&mmio, addr, size, true, &v))
		abort();
}

static uint32_t cfg_rd(const struct card *c, unsigned off, unsigned size)
{
	return pcitest_cfg_read(&pio, c->slot, off, size);
}

static void cc_wr(const struct card *c, unsigned reg, unsigned size, uint64_t v)
{
	mmio_wr(c->bar4 + cfg_rd(c, c->common + 8, 4) + reg, size, v);
}

static uint64_t cc_rd(const struct card *c, unsigned reg, unsigned size)
{
	return mmio_rd(c->bar4 + cfg_rd(c, c->common + 8, 4) + reg, size);
}

static unsigned find_vcap(const struct card *c, uint8_t type)
{
	for (unsigned p = cfg_rd(c, 0x34, 1); p; p = cfg_rd(c, p + 1, 1))
		if (cfg_rd(c, p, 1) == 0x09 && cfg_rd(c, p + 3, 1) == type)
			return p;
	return 0;
}

static void make_card(struct card *c, unsigned slot, bool vnet)
{
	struct pci_dev *d = calloc(1, sizeof(*d));
	char node[32], err[256] = "";
	int sv[2];

	if (!d || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) ||
	    netbe_fd_wrap(sv[0], vnet, NETBE_OFF_ALL, &c->be))
		abort();
	c->slot = slot;
	c->peer = sv[1];
	c->vnet = vnet;
	snprintf(node, sizeof(node), "pci.0.%u.0", slot);
	d->bus = &bus;
	d->emu = &virtio_net_emu;
	d->slot = (uint8_t)slot;
	if (virtio_net_init_backend(d, cfg, node, c->be, err, sizeof(err)))
		abort();
	bus.dev[slot][0] = d;
	c->dev = d;
	pcitest_cfg_write(&pio, slot, 0x04, 2, 0x6);
	c->bar4 = (cfg_rd(c, 0x20, 4) & ~0xfull) | (uint64_t)cfg_rd(c, 0x24, 4) << 32;
	c->common = find_vcap(c, 1);
	c->notify = find_vcap(c, 2);
	if (!c->common || !c->notify)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	cfg = config_new();
	if (!ram || !cfg || config_set(cfg, "name", "fuzzvm"))
		abort();
	io_bus_init(&pio, "pio");
	io_bus_init(&mmio, "mmio");
	pci_bus_init(&bus, &pio, &mmio, NULL);
	bus.platform = (struct pci_platform){ ram_gpa, no_msi, no_intx, NULL };
	io_bus_add(&pio, LAYOUT_PCI_CONFIG_ADDR, 4, &pci_cfg_addr_ops, &bus);
	io_bus_add(&pio, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &bus);
	make_card(&cards[0], 3, true);
	make_card(&cards[1], 4, false);
	return 0;
}

/* ---- the option parser ---- */

static void fuzz_options(const uint8_t *data, size_t size)
{
	struct config *c = config_new();
	char *opts = malloc(size + 1), err[256];

	if (!c || !opts)
		abort();
	memcpy(opts, data, size);
	opts[size] = '\0';
	err[0] = '\0';
	/* A refusal always says why (log_error keeps it on one line). */
	if (virtio_net_emu.legacy_config(c, "pci.0.5.0", opts, err, sizeof(err)) && !err[0])
		abort();
	config_free(c);
	free(opts);
}

/* ---- the device ---- */

static uint64_t features_of(uint8_t b, uint8_t b2)
{
	static const uint8_t bits[] = { 0, 1, 7, 8, 9, 11, 12, 13, 15 };	/* net */
	uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << 5 | 1ull << 16;	/* MAC, STATUS */

	for (unsigned i = 0; i < 8; i++)
		if (b & (1u << i))
			f |= 1ull << bits[i];
	if (b2 & 1)
		f |= 1ull << bits[8];
	if (b2 & 2)
		f |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (b2 & 4)
		f |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	return f;
}

/* Reset, negotiate, queues up: false when FEATURES_OK was refused. */
static bool probe(const struct card *c, uint64_t f, const uint16_t qsize[2])
{
	cc_wr(c, 0x14, 1, 0);
	cc_wr(c, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(c, 0x08, 4, 0);
	cc_wr(c, 0x0c, 4, (uint32_t)f);
	cc_wr(c, 0x08, 4, 1);
	cc_wr(c, 0x0c, 4, (uint32_t)(f >> 32));
	cc_wr(c, 0x14, 1, 0x0b);
	if (!(cc_rd(c, 0x14, 1) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	for (unsigned q = 0; q < 2; q++) {
		uint64_t r = RING(c - cards, q);

		memset(ram + r, 0, 0x4000);
		cc_wr(c, 0x16, 2, q);
		cc_wr(c, 0x18, 2, qsize[q]);
		cc_wr(c, 0x20, 8, r);
		cc_wr(c, 0x28, 8, r + 0x1000);
		cc_wr(c, 0x30, 8, r + 0x2000);
		cc_wr(c, 0x1c, 2, 1);
	}
	cc_wr(c, 0x14, 1, 0x0f);
	return true;
}

/* NDESC descriptors of queue q from the input: address in the buffer
 * area (or, now and then, outside RAM), length, flags, next. */
static void fill_descs(const struct card *c, unsigned q, const uint8_t *d, uint16_t qsize)
{
	for (unsigned i = 0; i < NDESC && i < qsize; i++, d += DESC_BYTES) {
		uint64_t addr = BUFS + le16(d) % BUF_SPAN, g = RING(c - cards, q) + 16u * i;
		uint32_t len = (uint32_t)(d[2] | (d[3] & 0x3f) << 8) + 1;
		uint16_t flags = (q == 0 ? VRING_DESC_F_WRITE : 0) ^
				 (d[4] & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE |
					  VRING_DESC_F_INDIRECT));
		uint16_t next = (uint16_t)((d[4] >> 3) % qsize);

		if (d[3] & 0x80)
			addr = 0xfffffffff000ull;
		else if (d[3] & 0x40)
			len = 1600;		/* a typical receive buffer */
		memcpy(ram + g, &addr, 8);
		memcpy(ram + g + 8, &len, 4);
		memcpy(ram + g + 12, &flags, 2);
		memcpy(ram + g + 14, &next, 2);
	}
}

/* Makes n heads available; the index may claim more than were written. */
static void publish(const struct card *c, unsigned q, const uint8_t *heads, unsigned n,
		    uint16_t idx, uint16_t qsize)
{
	uint64_t avail = RING(c - cards, q) + 0x1000;

	for (unsigned i = 0; i < n && i < qsize; i++) {
		uint16_t h = (uint16_t)(heads[i] % qsize);

		memcpy(ram + avail + 4 + 2u * i, &h, 2);
	}
	__atomic_store_n((uint16_t *)(ram + avail + 2), idx, __ATOMIC_RELEASE);
}

static void kick(const struct card *c, unsigned q)
{
	uint32_t mult = cfg_rd(c, c->notify + 16, 4), off = cfg_rd(c, c->notify + 8, 4);

	cc_wr(c, 0x16, 2, q);
	mmio_wr(c->bar4 + off + mult * cc_rd(c, 0x1e, 2), 2, q);
}

/* The host sends frames: a 3-byte spec each (length, header choice). */
static void host_send(const struct card *c, const uint8_t *spec, const uint8_t *body,
		      size_t blen)
{
	static uint8_t huge[HUGE_FRAME];

	for (unsigned i = 0; i < NFRAMES; i++, spec += 3) {
		uint8_t hdr[NETBE_HDR_LEN] = { spec[2] & 3, spec[2] >> 2 & 0x85 };
		size_t len = (size_t)(spec[0] | (spec[1] & 0x0f) << 8);
		struct iovec iov[2] = { { hdr, sizeof(hdr) },
					{ (void *)(blen ? body : huge), len } };

		if (spec[1] & 0x80) {
			iov[1] = (struct iovec){ huge, sizeof(huge) };	/* too long */
		} else if (len > blen) {
			iov[1].iov_len = blen;
		}
		if (spec[1] & 0x40)
			continue;
		/* A full socket drops the frame: that is what a busy link does. */
		(void)writev(c->peer, c->vnet ? iov : iov + 1, c->vnet ? 2 : 1);
	}
}

static void empty(int fd)
{
	static uint8_t sink[HUGE_FRAME + 64];

	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) >= 0)
		;
}

static void run_device(const uint8_t *data, size_t size)
{
	const struct card *c = &cards[data[0] & 1];
	uint16_t qsize[2] = { (uint16_t)(1u << (data[2] & 7)), (uint16_t)(1u << (data[2] >> 4 & 7)) };
	const uint8_t *descs = data + 4, *heads = descs + 2 * NDESC * DESC_BYTES;
	const uint8_t *frames = heads + 2 * NDESC;
	size_t blen = size - HDR;
	unsigned nrx = data[3] & 15, ntx = data[3] >> 4;

	if (!probe(c, features_of(data[1], data[0] >> 1), qsize))
		goto out;
	memset(ram + BUFS, 0, BUF_SPAN);
	memcpy(ram + BUFS, data + HDR, blen < BUF_SPAN ? blen : BUF_SPAN);
	fill_descs(c, 0, descs, qsize[0]);
	fill_descs(c, 1, descs + NDESC * DESC_BYTES, qsize[1]);
	/* data[0] bit 6: the driver lies about how many it added. */
	publish(c, 0, heads, nrx, (uint16_t)(data[0] & 0x40 ? nrx + 40 : nrx), qsize[0]);
	publish(c, 1, heads + NDESC, ntx, (uint16_t)ntx, qsize[1]);
	host_send(c, frames, data + HDR, blen);
	if (data[0] & 0x20)
		kick(c, 0);
	kick(c, 1);
	if (virtio_net_drain(c->dev))
		abort();
	/* More buffers after the first round, as a driver refilling. */
	if (data[0] & 0x10) {
		publish(c, 0, heads, nrx, (uint16_t)(2 * nrx), qsize[0]);
		kick(c, 0);
		if (virtio_net_drain(c->dev))
			abort();
	}
out:
	cc_wr(c, 0x14, 1, 0);		/* reset: the thread lets go of the queues */
	empty(c->peer);
	empty(netbe_fd(c->be));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		fuzz_options(data + 1, size - 1);
	else if (size >= HDR)
		run_device(data, size);
	return 0;
}
