/* virtio-net driven the way Linux's virtio_net uses it, over fake guest
 * RAM, with one end of a SOCK_SEQPACKET socketpair as the backend and the
 * other end playing the host network: feature negotiation and config
 * space, frames both ways (with and without a vnet header), merged
 * receive buffers, running out of buffers, bad buffers and headers,
 * broken queues, resets under traffic, counters; and the -s option
 * parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pcitest.h"
#include "snaptest.h"
#include "hw/iobus.h"
#include "hw/layout.h"
#include "hw/pci.h"
#include "hw/tap.h"
#include "lib/config.h"
#include "virtio/net.h"
#include "virtio/pci.h"

#define SLOT		3
#define NODE		"pci.0.3.0"
#define MEM_SIZE	0x100000
#define QSIZE		16
#define RING(q)		(0x1000u + 0x1000u * (q))
#define DESC(q)		RING(q)
#define AVAIL(q)	(RING(q) + 0x400)
#define USED(q)		(RING(q) + 0x800)
#define SLOT_LEN	0x4000u
#define BUF(q, n)	(0x10000u + 0x40000u * (q) + SLOT_LEN * (n))
#define RXQ		0
#define TXQ		1
#define HDR		12

/* Feature bits. */
#define F_CSUM		(1ull << 0)
#define F_GUEST_CSUM	(1ull << 1)
#define F_MTU		(1ull << 3)
#define F_MAC		(1ull << 5)
#define F_GUEST_TSO4	(1ull << 7)
#define F_GUEST_TSO6	(1ull << 8)
#define F_GUEST_ECN	(1ull << 9)
#define F_GUEST_UFO	(1ull << 10)
#define F_HOST_TSO4	(1ull << 11)
#define F_HOST_TSO6	(1ull << 12)
#define F_HOST_ECN	(1ull << 13)
#define F_HOST_UFO	(1ull << 14)
#define F_MRG_RXBUF	(1ull << 15)
#define F_STATUS	(1ull << 16)
#define F_CTRL_VQ	(1ull << 17)
#define F_V1		(1ull << 32)
#define F_BASIC		(F_V1 | F_MAC | F_STATUS)

struct fixture {
	struct io_bus pio, mmio;
	struct pci_bus pci;
	struct config *cfg;
	struct pci_dev *dev;
	int peer;
	bool vnet;
	struct netbe *be;		/* the card's; read only, for its offloads */
	uint8_t *ram;
	uint64_t bar4;
	unsigned common, notify, devcfg;
	uint16_t next_desc[2];
	/* for the traffic thread */
	atomic_bool stop_traffic;
	pthread_t traffic;
};

struct seg {
	const void *data;	/* NULL: device-writable */
	uint32_t len;
};

static void *fake_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fixture *f = opaque;

	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return f->ram + gpa;
}

static int fake_msi(void *opaque, uint64_t addr, uint32_t data) { return 0; }
static void fake_intx(void *opaque, unsigned gsi, int level) { }

static uint32_t cfg_rd(struct fixture *f, unsigned off, unsigned size)
{
	return pcitest_cfg_read(&f->pio, SLOT, off, size);
}

static void cfg_wr(struct fixture *f, unsigned off, unsigned size, uint32_t val)
{
	pcitest_cfg_write(&f->pio, SLOT, off, size, val);
}

static uint64_t bar_rd(struct fixture *f, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(io_bus_access(&f->mmio, f->bar4 + off, size, false, &v), 0);
	return v;
}

static void bar_wr(struct fixture *f, uint64_t off, unsigned size, uint64_t v)
{
	assert_int_equal(io_bus_access(&f->mmio, f->bar4 + off, size, true, &v), 0);
}

static uint64_t cc_rd(struct fixture *f, unsigned reg, unsigned size)
{
	return bar_rd(f, cfg_rd(f, f->common + 8, 4) + reg, size);
}

static void cc_wr(struct fixture *f, unsigned reg, unsigned size, uint64_t v)
{
	bar_wr(f, cfg_rd(f, f->common + 8, 4) + reg, size, v);
}

static uint64_t dev_rd(struct fixture *f, unsigned off, unsigned size)
{
	return bar_rd(f, cfg_rd(f, f->devcfg + 8, 4) + off, size);
}

static unsigned find_vcap(struct fixture *f, uint8_t type)
{
	for (unsigned p = cfg_rd(f, 0x34, 1); p; p = cfg_rd(f, p + 1, 1))
		if (cfg_rd(f, p, 1) == 0x09 && cfg_rd(f, p + 3, 1) == type)
			return p;
	return 0;
}

/* A fixture whose card has a socketpair backend (with a vnet header when
 * vnet) and the node's options as given. */
static struct fixture *make_named(bool vnet, const char *legacy_opts, const char *vmname)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_dev *d = calloc(1, sizeof(*d));
	struct netbe *be;
	char err[256] = "";
	int sv[2];

	assert_non_null(f);
	assert_non_null(d);
	f->ram = aligned_alloc(4096, MEM_SIZE);
	assert_non_null(f->ram);
	memset(f->ram, 0, MEM_SIZE);
	f->vnet = vnet;
	f->cfg = config_new();
	assert_int_equal(config_set(f->cfg, "name", vmname), 0);
	assert_int_equal(config_set(f->cfg, NODE ".device", "virtio-net"), 0);
	if (legacy_opts)
		assert_int_equal(virtio_net_emu.legacy_config(f->cfg, NODE, legacy_opts, err,
							      sizeof(err)), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	f->peer = sv[1];
	assert_int_equal(netbe_fd_wrap(sv[0], vnet, NETBE_OFF_ALL, &be), 0);
	f->be = be;
	io_bus_init(&f->pio, "pio");
	io_bus_init(&f->mmio, "mmio");
	pci_bus_init(&f->pci, &f->pio, &f->mmio, NULL);
	f->pci.platform = (struct pci_platform){ fake_gpa, fake_msi, fake_intx, f };
	io_bus_add(&f->pio, LAYOUT_PCI_CONFIG_ADDR, 4, &pci_cfg_addr_ops, &f->pci);
	io_bus_add(&f->pio, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &f->pci);
	d->bus = &f->pci;
	d->emu = &virtio_net_emu;
	d->slot = SLOT;
	assert_int_equal(virtio_net_init_backend(d, f->cfg, NODE, be, err, sizeof(err)), 0);
	f->pci.dev[SLOT][0] = d;
	f->dev = d;
	cfg_wr(f, 0x04, 2, 0x6);
	f->bar4 = (cfg_rd(f, 0x20, 4) & ~0xfull) | (uint64_t)cfg_rd(f, 0x24, 4) << 32;
	f->common = find_vcap(f, 1);
	f->notify = find_vcap(f, 2);
	f->devcfg = find_vcap(f, 4);
	assert_true(f->common && f->notify && f->devcfg);
	return f;
}

static struct fixture *make(bool vnet, const char *legacy_opts)
{
	return make_named(vnet, legacy_opts, "testvm");
}

static int setup_vnet(void **state) { *state = make(true, NULL); return 0; }
static int setup_plain(void **state) { *state = make(false, NULL); return 0; }

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(&f->pci);	/* destroys the card: stops its thread */
	io_bus_destroy(&f->pio);
	io_bus_destroy(&f->mmio);
	config_free(f->cfg);
	close(f->peer);
	free(f->ram);
	free(f);
	return 0;
}

/* ---- the driver's side ---- */

static uint64_t offered(struct fixture *f)
{
	uint64_t lo;

	cc_wr(f, 0x00, 4, 0);
	lo = cc_rd(f, 0x04, 4);
	cc_wr(f, 0x00, 4, 1);
	return lo | cc_rd(f, 0x04, 4) << 32;
}

static uint8_t status(struct fixture *f)
{
	return (uint8_t)cc_rd(f, 0x14, 1);
}

/* Reset, then offer `want`: did FEATURES_OK stick? */
static bool negotiate(struct fixture *f, uint64_t want)
{
	cc_wr(f, 0x14, 1, 0);
	cc_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(f, 0x08, 4, 0);
	cc_wr(f, 0x0c, 4, (uint32_t)want);
	cc_wr(f, 0x08, 4, 1);
	cc_wr(f, 0x0c, 4, (uint32_t)(want >> 32));
	cc_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	      VIRTIO_STATUS_FEATURES_OK);
	return status(f) & VIRTIO_STATUS_FEATURES_OK;
}

/* Negotiates and brings both queues up on fresh (zeroed) rings. */
static void start(struct fixture *f, uint64_t want)
{
	assert_true(negotiate(f, want));
	assert_int_equal(cc_rd(f, 0x12, 2), 2);
	for (unsigned q = 0; q < 2; q++) {
		memset(f->ram + RING(q), 0, 0x1000);
		f->next_desc[q] = 0;
		cc_wr(f, 0x16, 2, q);
		cc_wr(f, 0x18, 2, QSIZE);
		cc_wr(f, 0x20, 8, DESC(q));
		cc_wr(f, 0x28, 8, AVAIL(q));
		cc_wr(f, 0x30, 8, USED(q));
		cc_wr(f, 0x1c, 2, 1);
	}
	cc_wr(f, 0x14, 1, 0x0f);
	assert_int_equal(status(f), 0x0f);
}

static void kick(struct fixture *f, uint16_t q)
{
	uint32_t mult = cfg_rd(f, f->notify + 16, 4), off = cfg_rd(f, f->notify + 8, 4);

	cc_wr(f, 0x16, 2, q);
	bar_wr(f, off + mult * cc_rd(f, 0x1e, 2), 2, q);
}

static void drain(struct fixture *f)
{
	assert_int_equal(virtio_net_drain(f->dev), 0);
}

static uint16_t rd16(struct fixture *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, f->ram + gpa, 2);
	return v;
}

static void wr16(struct fixture *f, uint64_t gpa, uint16_t v) { memcpy(f->ram + gpa, &v, 2); }

static uint16_t used_idx(struct fixture *f, unsigned q)
{
	return __atomic_load_n((uint16_t *)(f->ram + USED(q) + 2), __ATOMIC_ACQUIRE);
}

static uint32_t used_field(struct fixture *f, unsigned q, uint16_t i, unsigned which)
{
	uint32_t v;

	memcpy(&v, f->ram + USED(q) + 4 + 8 * (i % QSIZE) + 4 * which, 4);
	return v;
}

#define used_id(f, q, i)	used_field(f, q, i, 0)
#define used_len(f, q, i)	used_field(f, q, i, 1)

/* One descriptor chain of n segments; returns its head. */
static uint16_t post_chain(struct fixture *f, unsigned q, const struct seg *s, unsigned n)
{
	uint16_t head = f->next_desc[q] % QSIZE, idx = rd16(f, AVAIL(q) + 2);

	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % QSIZE), next = (uint16_t)((d + 1) % QSIZE);
		uint64_t dp = DESC(q) + 16 * d, addr = BUF(q, d);
		uint16_t flags = (s[i].data ? 0 : VRING_DESC_F_WRITE) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		assert_true(s[i].len <= SLOT_LEN);
		if (s[i].data)
			memcpy(f->ram + addr, s[i].data, s[i].len);
		else
			memset(f->ram + addr, 0xee, s[i].len);
		memcpy(f->ram + dp, &addr, 8);
		memcpy(f->ram + dp + 8, &s[i].len, 4);
		wr16(f, dp + 12, flags);
		wr16(f, dp + 14, next);
	}
	f->next_desc[q] = (uint16_t)(f->next_desc[q] + n);
	wr16(f, AVAIL(q) + 4 + 2 * (idx % QSIZE), head);
	__atomic_store_n((uint16_t *)(f->ram + AVAIL(q) + 2), (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	return head;
}

static uint16_t post_rx(struct fixture *f, uint32_t len)
{
	struct seg s = { NULL, len };

	return post_chain(f, RXQ, &s, 1);
}

/* An Ethernet frame of len bytes with a recognisable pattern. */
static void make_frame(uint8_t *buf, size_t len, uint8_t seed)
{
	static const uint8_t eth[14] = { 0x58, 0x9c, 0xfc, 1, 2, 3, 0x52, 0x54, 0, 1, 2, 3,
					 0x08, 0x00 };

	memcpy(buf, eth, len < 14 ? len : 14);
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}

/* The guest transmits header + frame as two descriptors, as Linux may. */
static void guest_send(struct fixture *f, const uint8_t *hdr, const uint8_t *frame, uint32_t len)
{
	struct seg s[2] = { { hdr, HDR }, { frame, len } };

	post_chain(f, TXQ, s, 2);
	kick(f, TXQ);
}

/* The host network sends a frame: the backend's header (if it has one),
 * then the frame. */
static void host_send(struct fixture *f, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	static const uint8_t zero[HDR];
	struct iovec iov[2] = { { (void *)(hdr ? hdr : zero), HDR }, { (void *)frame, len } };

	if (f->vnet)
		assert_int_equal(writev(f->peer, iov, 2), (ssize_t)(HDR + len));
	else
		assert_int_equal(write(f->peer, frame, len), (ssize_t)len);
}

static ssize_t host_recv(struct fixture *f, uint8_t *buf, size_t len)
{
	return recv(f->peer, buf, len, MSG_DONTWAIT);
}

static struct virtio_net_stats stats(struct fixture *f)
{
	struct virtio_net_stats s;

	assert_int_equal(virtio_net_stats(f->dev, &s), 0);
	return s;
}

/* ---- tests ---- */

static void test_identity_and_features(void **state)
{
	struct fixture *f = *state;
	uint64_t feat = offered(f);

	assert_int_equal(cfg_rd(f, 0, 4), 0x10411af4);	/* modern virtio-net */
	assert_int_equal(cfg_rd(f, 0x0b, 1), 0x02);		/* network controller */
	assert_int_equal(feat & (F_V1 | F_MAC | F_STATUS | F_MRG_RXBUF),
			 F_V1 | F_MAC | F_STATUS | F_MRG_RXBUF);
	if (f->vnet) {
		uint64_t off = F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN |
			       F_GUEST_TSO4 | F_GUEST_TSO6 | F_GUEST_ECN;

		assert_int_equal(feat & off, off);
	} else {
		assert_int_equal(feat & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_GUEST_TSO4), 0);
	}
	/* Not offered: MTU (none configured), UFO, a control queue. */
	assert_int_equal(feat & (F_MTU | F_GUEST_UFO | F_HOST_UFO | F_CTRL_VQ), 0);
	/* The transport's part refuses what was not offered. */
	assert_false(negotiate(f, F_BASIC | F_CTRL_VQ));
}

static void test_offload_negotiation(void **state)
{
	struct fixture *f = *state;

	/* GUEST_TSO4 needs GUEST_CSUM, GUEST_ECN a TSO, HOST_TSO4 CSUM. */
	assert_false(negotiate(f, F_BASIC | F_GUEST_TSO4));
	assert_false(negotiate(f, F_BASIC | F_GUEST_CSUM | F_GUEST_ECN));
	assert_false(negotiate(f, F_BASIC | F_HOST_TSO4));
	assert_false(negotiate(f, F_BASIC | F_CSUM | F_HOST_ECN));
	/* The backend hands over what the guest accepted, nothing more. */
	assert_true(negotiate(f, F_BASIC | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_ECN));
	assert_int_equal(netbe_offloads(f->be), NETBE_OFF_CSUM | NETBE_OFF_TSO4 |
			 NETBE_OFF_TSO_ECN);
	assert_true(negotiate(f, F_BASIC | F_GUEST_CSUM | F_GUEST_TSO6));
	assert_int_equal(netbe_offloads(f->be), NETBE_OFF_CSUM | NETBE_OFF_TSO6);
	assert_true(negotiate(f, F_BASIC | F_CSUM | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN));
	assert_int_equal(netbe_offloads(f->be), 0);
}

/* A backend on its own; init refusing bad options closes the backend. */
static void test_backend_and_init_errors(void **state)
{
	struct pci_dev d = { 0 };
	struct fixture *f = *state;
	struct netbe *be;
	char err[256];
	int sv[2];

	/* netbe on its own: set_offloads refuses what it cannot do. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(netbe_fd_wrap(sv[0], true, NETBE_OFF_CSUM, &be), 0);
	assert_int_equal(netbe_set_offloads(be, NETBE_OFF_CSUM), 0);
	assert_int_equal(netbe_offloads(be), NETBE_OFF_CSUM);
	assert_int_equal(netbe_set_offloads(be, NETBE_OFF_TSO4), -EINVAL);
	assert_true(netbe_has_vnet_hdr(be));
	netbe_close(be);
	close(sv[1]);
	/* A bad -o value is refused by the backend-taking init too, and the
	 * backend is closed. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(netbe_fd_wrap(sv[0], true, 0, &be), 0);
	assert_int_equal(config_set(f->cfg, "pci.0.9.0.mtu", "12"), 0);
	d.bus = &f->pci;
	d.emu = &virtio_net_emu;
	d.slot = 9;
	assert_true(virtio_net_init_backend(&d, f->cfg, "pci.0.9.0", be, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "pci.0.9.0: virtio-net: invalid MTU \"12\""));
	/* The socket's other end sees it closed. */
	assert_int_equal(recv(sv[1], err, sizeof(err), MSG_DONTWAIT), 0);
	close(sv[1]);
}

static void test_config_default_mac(void **state)
{
	struct fixture *f = *state;
	/* bhyve's net_genmac(): MD5("3-0-testvm") = c5d7f004..., computed
	 * with md5sum, behind 58:9c:fc. */
	static const uint8_t want[6] = { 0x58, 0x9c, 0xfc, 0xc5, 0xd7, 0xf0 };

	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(dev_rd(f, i, 1), want[i]);
	assert_int_equal(dev_rd(f, 6, 2), 1);		/* status: link up */
	assert_int_equal(dev_rd(f, 8, 2), 1);		/* one queue pair */
	assert_int_equal(dev_rd(f, 10, 2), 1500);	/* mtu: bhyve's default */
	assert_int_equal(dev_rd(f, 12, 4), 0);		/* past the config: reads 0 */
}

static void test_config_mac_mtu(void **state)
{
	struct fixture *f = make(true, "tap0,mac=52:54:00:12:34:56,mtu=9000");
	static const uint8_t want[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	assert_string_equal(config_get(f->cfg, NODE ".backend"), "tap0");
	assert_string_equal(config_get(f->cfg, NODE ".mac"), "52:54:00:12:34:56");
	assert_string_equal(config_get(f->cfg, NODE ".mtu"), "9000");
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(dev_rd(f, i, 1), want[i]);
	assert_int_equal(dev_rd(f, 10, 2), 9000);
	assert_true(offered(f) & F_MTU);
	*state = f;
}

static void test_legacy_config(void **state)
{
	const struct pci_devemu *emu = pci_emul_find("virtio-net");
	struct config *cfg = config_new();
	char err[256] = "";
	static const char *const bad[][2] = {
		{ "tap0,mac=01:00:5e:00:00:01", "invalid MAC address" },	/* multicast */
		{ "tap0,mac=00:00:00:00:00:00", "invalid MAC address" },	/* zero */
		{ "tap0,mac=52:54:00:12:34", "invalid MAC address" },
		{ "tap0,mac=52:54:00:12:34:567", "invalid MAC address" },
		{ "tap0,mac=52:54:00:12:34:5g", "invalid MAC address" },
		{ "tap0,mac=52-54-00-12-34-56", "invalid MAC address" },
		{ "tap0,mac=", "invalid MAC address" },
		{ "tap0,mtu=45", "invalid MTU" },
		{ "tap0,mtu=65536", "invalid MTU" },
		{ "tap0,mtu=-1", "invalid MTU" },
		{ "tap0,mtu=1500x", "invalid MTU" },
		{ "tap0,mtu=", "invalid MTU" },
		{ "tap0,foo=1", "unknown option \"foo\"" },
		{ "tap0,ro", "unknown option \"ro\"" },
		{ "tap0,tap=tap1", "more than one backend" },
		{ "", "no backend" },
		{ "mac=52:54:00:12:34:56", "no backend" },
		{ "slirp", "not available" },
		{ "netgraph,path=x:,peerhook=y", "not available" },
	};

	assert_non_null(emu);
	assert_non_null(emu->legacy_config);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char node[32];

		snprintf(node, sizeof(node), "pci.0.%zu.0", i + 1);
		err[0] = '\0';
		assert_true(emu->legacy_config(cfg, node, bad[i][0], err, sizeof(err)) < 0);
		if (!strstr(err, bad[i][1]) || strncmp(err, "virtio-net: ", 12))
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i][0], err, bad[i][1]);
		assert_null(strchr(err, '\n'));
	}
	/* Accepted: tap=NAME anywhere, bhyve's short hex digits, 0x MTUs. */
	assert_int_equal(emu->legacy_config(cfg, "pci.0.30.0", "mtu=0x5dc,tap=vm-net.0,"
					    "mac=2:0:0:a:b:c", err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "pci.0.30.0.backend"), "vm-net.0");
	assert_string_equal(config_get(cfg, "pci.0.30.0.mtu"), "0x5dc");
	assert_int_equal(emu->legacy_config(cfg, "pci.0.31.0", "mtu=46,kvtap0,mtu=65535",
					    err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "pci.0.31.0.backend"), "kvtap0");
	config_free(cfg);
}

/* A tap that does not exist: one line saying how to create it. */
static void test_missing_tap(void **state)
{
	struct config *cfg = config_new();
	struct pci_bus bus;
	struct pci_dev d = { .bus = &bus, .emu = &virtio_net_emu, .slot = 3 };
	char err[512] = "";

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(config_set(cfg, NODE ".backend", "khyvenosuch0"), 0);
	assert_int_equal(virtio_net_emu.init(&d, cfg, NODE, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "khyvenosuch0: no such tap; create it first: "
			       "ip tuntap add dev khyvenosuch0 mode tap user "));
	assert_null(d.priv);
	config_free(cfg);
}

static void test_tx(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[200], hdr[HDR] = { 1, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0 }, got[512];
	struct virtio_net_stats s;

	start(f, F_BASIC | (f->vnet ? F_CSUM : 0));
	make_frame(frame, sizeof(frame), 1);
	guest_send(f, hdr, frame, sizeof(frame));
	drain(f);
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_int_equal(used_len(f, TXQ, 0), 0);
	if (f->vnet) {
		/* The guest's header is the tap's vnet header: passed as is. */
		assert_int_equal(host_recv(f, got, sizeof(got)), HDR + sizeof(frame));
		assert_memory_equal(got, hdr, HDR);
		assert_memory_equal(got + HDR, frame, sizeof(frame));
	} else {
		assert_int_equal(host_recv(f, got, sizeof(got)), sizeof(frame));
		assert_memory_equal(got, frame, sizeof(frame));
	}
	/* Header and frame in one descriptor, split mid-header in three. */
	{
		uint8_t all[HDR + 100];
		struct seg three[3] = { { all, 5 }, { all + 5, 40 }, { all + 45, sizeof(all) - 45 } };

		memset(all, 0, HDR);
		make_frame(all + HDR, 100, 9);
		post_chain(f, TXQ, three, 3);
		kick(f, TXQ);
		drain(f);
		assert_int_equal(used_idx(f, TXQ), 2);
		assert_int_equal(host_recv(f, got, sizeof(got)), f->vnet ? HDR + 100 : 100);
		assert_memory_equal(f->vnet ? got + HDR : got, all + HDR, 100);
	}
	s = stats(f);
	assert_int_equal(s.tx_packets, 2);
	assert_int_equal(s.tx_bytes, 300);
	assert_int_equal(s.tx_errors + s.tx_dropped + s.rx_packets, 0);
}

static void test_rx_one_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[1000], hdr[HDR] = { 2, 0 };	/* DATA_VALID */
	uint16_t head;
	const uint8_t *b;
	struct virtio_net_stats s;

	start(f, F_BASIC | (f->vnet ? F_GUEST_CSUM : 0));
	head = post_rx(f, 2048);
	kick(f, RXQ);
	make_frame(frame, sizeof(frame), 3);
	host_send(f, hdr, frame, sizeof(frame));
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 1);
	assert_int_equal(used_id(f, RXQ, 0), head);
	assert_int_equal(used_len(f, RXQ, 0), HDR + sizeof(frame));
	b = f->ram + BUF(RXQ, head);
	assert_int_equal(b[0], f->vnet ? 2 : 0);	/* the tap's flags, or a zero header */
	assert_int_equal(b[1], 0);
	assert_int_equal(rd16(f, BUF(RXQ, head) + 10), 1);	/* num_buffers */
	assert_memory_equal(b + HDR, frame, sizeof(frame));
	s = stats(f);
	assert_int_equal(s.rx_packets, 1);
	assert_int_equal(s.rx_bytes, sizeof(frame));
	assert_int_equal(s.rx_errors + s.rx_dropped, 0);
}

static void test_rx_merged(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[1400], got[HDR + 1400];
	uint16_t heads[4];
	size_t at = 0;

	start(f, F_BASIC | F_MRG_RXBUF);
	for (unsigned i = 0; i < 4; i++)
		heads[i] = post_rx(f, 512);
	kick(f, RXQ);
	make_frame(frame, sizeof(frame), 5);
	host_send(f, NULL, frame, sizeof(frame));
	drain(f);
	/* 1412 bytes: 512 + 512 + 388, published together. */
	assert_int_equal(used_idx(f, RXQ), 3);
	for (uint16_t i = 0; i < 3; i++) {
		uint32_t len = used_len(f, RXQ, i);

		assert_int_equal(used_id(f, RXQ, i), heads[i]);
		assert_int_equal(len, i < 2 ? 512 : 388);
		memcpy(got + at, f->ram + BUF(RXQ, heads[i]), len);
		at += len;
	}
	assert_int_equal(at, sizeof(got));
	assert_int_equal(rd16(f, BUF(RXQ, heads[0]) + 10), 3);	/* num_buffers */
	assert_memory_equal(got + HDR, frame, sizeof(frame));
	/* The fourth buffer is still the device's; a small frame uses it. */
	host_send(f, NULL, frame, 60);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 4);
	assert_int_equal(used_id(f, RXQ, 3), heads[3]);
	assert_int_equal(used_len(f, RXQ, 3), HDR + 60);
	assert_int_equal(rd16(f, BUF(RXQ, heads[3]) + 10), 1);
	assert_int_equal(stats(f).rx_packets, 2);
}

/* Frames wait while the guest has no buffers (held, not dropped), and a
 * frame needing more buffers than posted waits for the rest. */
static void test_rx_waits_for_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[1000];
	uint16_t h1, h2;

	start(f, F_BASIC | F_MRG_RXBUF);
	kick(f, RXQ);				/* the driver says hello, no buffers */
	make_frame(frame, sizeof(frame), 7);
	host_send(f, NULL, frame, sizeof(frame));
	host_send(f, NULL, frame, 100);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 0);
	/* Kicks are asked for: the driver must notify about new buffers. */
	assert_int_equal(rd16(f, USED(RXQ)) & VRING_USED_F_NO_NOTIFY, 0);
	h1 = post_rx(f, 600);			/* half of what the frame needs */
	kick(f, RXQ);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 0);
	h2 = post_rx(f, 600);
	kick(f, RXQ);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 2);
	assert_int_equal(used_id(f, RXQ, 0), h1);
	assert_int_equal(used_id(f, RXQ, 1), h2);
	assert_int_equal(used_len(f, RXQ, 0) + used_len(f, RXQ, 1), HDR + sizeof(frame));
	assert_int_equal(rd16(f, BUF(RXQ, h1) + 10), 2);
	/* The second frame waited in the backend. */
	post_rx(f, 600);
	kick(f, RXQ);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 3);
	assert_int_equal(used_len(f, RXQ, 2), HDR + 100);
	assert_int_equal(stats(f).rx_packets, 2);
	assert_int_equal(stats(f).rx_dropped, 0);
}

/* Checkpoint f onto a new card g: g's driver state is f's.  0 or
 * pci_bus_restore's error. */
static int move(struct fixture *f, struct fixture *g, char *err, size_t errlen)
{
	int rc = snaptest_pci_move(&f->pci, f->ram, &g->pci, g->ram, MEM_SIZE, err, errlen);

	memcpy(g->next_desc, f->next_desc, sizeof(f->next_desc));
	return rc;
}

/* A checkpoint taken while the card holds a buffer for a frame that
 * needs more: the restored card gets that buffer back (the frame itself
 * is lost, as on a wire) and fills it with the next frame; the original
 * goes on with what it held.  Transmit works after the restore. */
static void test_checkpoint_rx_held(void **state)
{
	struct fixture *f = *state, *g = make_named(false, NULL, "othername");
	uint8_t frame[1000], got[1100];
	char err[256] = "";
	uint16_t h1, h2;

	start(f, F_BASIC | F_MRG_RXBUF);
	kick(f, RXQ);
	make_frame(frame, sizeof(frame), 9);
	host_send(f, NULL, frame, sizeof(frame));
	h1 = post_rx(f, 600);
	kick(f, RXQ);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 0);		/* h1 held, frame waiting */
	if (move(f, g, err, sizeof(err)))
		fail_msg("restore: %s", err);
	/* the MAC derived from the old name stays */
	assert_int_equal(dev_rd(g, 0, 4), dev_rd(f, 0, 4));
	h2 = post_rx(g, 600);
	kick(g, RXQ);
	make_frame(frame, sizeof(frame), 10);
	host_send(g, NULL, frame, sizeof(frame));
	drain(g);
	assert_int_equal(used_idx(g, RXQ), 2);
	assert_int_equal(used_id(g, RXQ, 0), h1);
	assert_int_equal(used_id(g, RXQ, 1), h2);
	assert_int_equal(rd16(g, BUF(RXQ, h1) + 10), 2);
	assert_memory_equal(g->ram + BUF(RXQ, h1) + HDR, frame, 600 - HDR);
	guest_send(g, (const uint8_t[HDR]){ 0 }, frame, 60);
	drain(g);
	assert_int_equal(host_recv(g, got, sizeof(got)), 60);
	assert_memory_equal(got, frame, 60);
	/* the original: its held frame goes out once it gets a second buffer */
	post_rx(f, 600);
	kick(f, RXQ);
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 2);
	assert_int_equal(used_id(f, RXQ, 0), h1);
	teardown((void **)&g);
}

/* A card with another MAC or MTU than the saved one is refused. */
static void test_checkpoint_mismatch(void **state)
{
	struct fixture *f = *state, *g = make(false, "tap0,mac=52:54:00:aa:bb:cc");
	char err[256] = "";

	start(f, F_BASIC);
	assert_int_equal(move(f, g, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "MAC address"));
	teardown((void **)&g);
	g = make(false, "tap0,mtu=9000");
	assert_int_equal(move(f, g, err, sizeof(err)), -EPROTO);
	teardown((void **)&g);
}

static void test_bad_tx_buffers(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[SLOT_LEN];
	uint8_t small[8] = { 0 }, got[64];
	struct seg huge[5];
	struct seg wr[2] = { { small, 8 }, { NULL, 64 } };
	struct virtio_net_stats s;

	start(f, F_BASIC);
	post_chain(f, TXQ, wr, 1);			/* 8 bytes: not even a header */
	for (unsigned i = 0; i < 5; i++)		/* 80 KiB: longer than any frame */
		huge[i] = (struct seg){ big, SLOT_LEN };
	post_chain(f, TXQ, huge, 5);
	post_chain(f, TXQ, wr, 2);			/* 8 readable + 64 writable */
	kick(f, TXQ);
	drain(f);
	assert_int_equal(used_idx(f, TXQ), 3);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(used_len(f, TXQ, i), 0);
	assert_true(host_recv(f, got, sizeof(got)) < 0);	/* nothing went out */
	s = stats(f);
	assert_int_equal(s.tx_errors, 3);
	assert_int_equal(s.tx_packets, 0);
	assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_bad_rx_buffers_and_frames(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[3000];
	uint16_t h;
	struct virtio_net_stats s;

	start(f, F_BASIC);			/* no MRG_RXBUF: one buffer per frame */
	post_rx(f, 8);				/* cannot hold a header: returned */
	h = post_rx(f, 1600);
	kick(f, RXQ);
	make_frame(frame, sizeof(frame), 11);
	host_send(f, NULL, frame, sizeof(frame));	/* does not fit 1600: dropped */
	host_send(f, NULL, frame, 5);			/* a runt: error */
	host_send(f, NULL, frame, 1500);		/* fits */
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 2);
	assert_int_equal(used_len(f, RXQ, 0), 0);
	assert_int_equal(used_id(f, RXQ, 1), h);
	assert_int_equal(used_len(f, RXQ, 1), HDR + 1500);
	s = stats(f);
	assert_int_equal(s.rx_errors, 2);
	assert_int_equal(s.rx_dropped, 1);
	assert_int_equal(s.rx_packets, 1);
	assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A tap's header asking for offloads the guest did not accept. */
static void test_rx_offload_filter(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[100], csum[HDR] = { 1 }, gso[HDR] = { 0, 1 }, dv[HDR] = { 2 };
	struct virtio_net_stats s;
	uint16_t h;

	start(f, F_BASIC);
	for (unsigned i = 0; i < 3; i++)
		post_rx(f, 256);
	kick(f, RXQ);
	make_frame(frame, sizeof(frame), 13);
	host_send(f, csum, frame, sizeof(frame));	/* NEEDS_CSUM */
	host_send(f, gso, frame, sizeof(frame));	/* TCPv4 GSO */
	host_send(f, dv, frame, sizeof(frame));		/* DATA_VALID: delivered, cleared */
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 1);
	h = (uint16_t)used_id(f, RXQ, 0);
	assert_int_equal(f->ram[BUF(RXQ, h)], 0);
	s = stats(f);
	assert_int_equal(s.rx_dropped, 2);
	assert_int_equal(s.rx_packets, 1);
	/* Once accepted, the same headers pass. */
	start(f, F_BASIC | F_GUEST_CSUM | F_GUEST_TSO4);
	post_rx(f, 256);
	post_rx(f, 256);
	kick(f, RXQ);
	host_send(f, csum, frame, sizeof(frame));
	host_send(f, gso, frame, sizeof(frame));
	drain(f);
	assert_int_equal(used_idx(f, RXQ), 2);
	assert_int_equal(f->ram[BUF(RXQ, used_id(f, RXQ, 0))], 1);
	assert_int_equal(f->ram[BUF(RXQ, used_id(f, RXQ, 1)) + 1], 1);
}

static void test_broken_queue(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[100], hdr[HDR] = { 0 }, got[256];

	start(f, F_BASIC);
	/* More buffers announced than the ring has: the driver lied. */
	wr16(f, AVAIL(TXQ) + 2, QSIZE + 3);
	kick(f, TXQ);
	drain(f);
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(f, TXQ), 0);
	/* A reset brings it back. */
	start(f, F_BASIC);
	assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	make_frame(frame, sizeof(frame), 2);
	guest_send(f, hdr, frame, sizeof(frame));
	drain(f);
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_true(host_recv(f, got, sizeof(got)) > 0);
	/* A receive descriptor outside guest RAM breaks the receive queue. */
	{
		uint64_t dp = DESC(RXQ), addr = MEM_SIZE - 16;
		uint32_t len = 4096;

		memcpy(f->ram + dp, &addr, 8);
		memcpy(f->ram + dp + 8, &len, 4);
		wr16(f, dp + 12, VRING_DESC_F_WRITE);
		wr16(f, AVAIL(RXQ) + 4, 0);
		wr16(f, AVAIL(RXQ) + 2, 1);
		kick(f, RXQ);
		host_send(f, NULL, frame, sizeof(frame));
		drain(f);
		assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
		assert_int_equal(used_idx(f, RXQ), 0);
	}
}

static void *traffic(void *opaque)
{
	struct fixture *f = opaque;
	uint8_t frame[HDR + 700] = { 0 }, buf[2048];
	size_t off = f->vnet ? 0 : HDR;

	make_frame(frame + HDR, sizeof(frame) - HDR, 17);
	while (!atomic_load(&f->stop_traffic)) {
		struct pollfd p = { .fd = f->peer, .events = POLLOUT };

		/* Keep the backend busy both ways; never block for long. */
		if (poll(&p, 1, 10) == 1 &&
		    send(f->peer, frame + off, sizeof(frame) - off, MSG_DONTWAIT) < 0)
			usleep(100);
		while (recv(f->peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	return NULL;
}

/* Resets while frames flow both ways: the reset returns with the thread
 * parked, and the card works after each one. */
static void test_reset_under_traffic(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[300], hdr[HDR] = { 0 };
	struct virtio_net_stats before, after;

	make_frame(frame, sizeof(frame), 19);
	atomic_store(&f->stop_traffic, false);
	assert_int_equal(pthread_create(&f->traffic, NULL, traffic, f), 0);
	for (int round = 0; round < 40; round++) {
		start(f, F_BASIC | F_MRG_RXBUF);
		for (unsigned i = 0; i < 4; i++)
			post_rx(f, round % 2 ? 256 : 1024);	/* odd rounds: merged */
		kick(f, RXQ);
		for (unsigned i = 0; i < 3; i++)
			guest_send(f, hdr, frame, sizeof(frame));
		if (round % 3 == 0)
			usleep(1000);
		/* start() resets at the top of the next round. */
	}
	atomic_store(&f->stop_traffic, true);
	pthread_join(f->traffic, NULL);
	before = stats(f);
	/* Quiet now: one more clean round trip. */
	while (recv(f->peer, frame, sizeof(frame), MSG_DONTWAIT) > 0)
		;
	start(f, F_BASIC);
	drain(f);
	while (recv(f->peer, frame, sizeof(frame), MSG_DONTWAIT) > 0)
		;
	post_rx(f, 2048);
	kick(f, RXQ);
	drain(f);
	after = stats(f);
	{
		uint8_t small[64];
		uint16_t base = used_idx(f, RXQ);

		make_frame(small, sizeof(small), 23);
		if (base == 0) {	/* no leftover frame took the buffer */
			host_send(f, NULL, small, sizeof(small));
			drain(f);
			assert_int_equal(used_idx(f, RXQ), 1);
		}
		guest_send(f, hdr, small, sizeof(small));
		drain(f);
		assert_int_equal(used_idx(f, TXQ), 1);
	}
	assert_true(after.rx_packets >= before.rx_packets);
	assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
}

/* The host side closes: the card stops reading, a drain still answers,
 * transmit errors are counted. */
static void test_backend_gone(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[100], hdr[HDR] = { 0 };

	start(f, F_BASIC);
	post_rx(f, 2048);
	kick(f, RXQ);
	close(f->peer);
	f->peer = socket(AF_UNIX, SOCK_SEQPACKET, 0);	/* teardown closes something */
	drain(f);
	make_frame(frame, sizeof(frame), 29);
	guest_send(f, hdr, frame, sizeof(frame));
	drain(f);
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(stats(f).tx_errors, 1);
}

static void test_stats_other_device(void **state)
{
	struct pci_dev d = { .emu = pci_emul_find("virtio-rnd") };
	struct virtio_net_stats s;

	(void)state;
	assert_int_equal(virtio_net_stats(&d, &s), -ENODEV);
	assert_int_equal(virtio_net_drain(&d), -ENODEV);
}

int main(void)
{
#define V(fn) cmocka_unit_test_setup_teardown(fn, setup_vnet, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, setup_plain, teardown)
	const struct CMUnitTest tests[] = {
		V(test_identity_and_features),
		P(test_identity_and_features),
		V(test_offload_negotiation),
		V(test_backend_and_init_errors),
		V(test_config_default_mac),
		cmocka_unit_test_teardown(test_config_mac_mtu, teardown),
		cmocka_unit_test(test_legacy_config),
		cmocka_unit_test(test_missing_tap),
		V(test_tx),
		P(test_tx),
		V(test_rx_one_buffer),
		P(test_rx_one_buffer),
		V(test_rx_merged),
		P(test_rx_merged),
		V(test_rx_waits_for_buffers),
		P(test_checkpoint_rx_held),
		P(test_checkpoint_mismatch),
		V(test_bad_tx_buffers),
		P(test_bad_rx_buffers_and_frames),
		V(test_rx_offload_filter),
		V(test_broken_queue),
		V(test_reset_under_traffic),
		P(test_reset_under_traffic),
		V(test_backend_gone),
		cmocka_unit_test(test_stats_other_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
