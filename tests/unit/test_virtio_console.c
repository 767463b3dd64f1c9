/* virtio-console driven the way Linux's virtio_console uses it: the
 * multiport handshake on the control queues, then data both ways between
 * a port's queues and a real Unix socket served by an event loop thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pcitest.h"
#include "snaptest.h"
#include "hw/iobus.h"
#include "hw/layout.h"
#include "hw/pci.h"
#include "lib/config.h"
#include "lib/evloop.h"
#include "machine/machine.h"
#include "virtio/pci.h"

#define SLOT		4
#define MEM_SIZE	0x20000
#define QSIZE		16
#define NQ		6	/* two ports */
#define RING(q)		(0x1000u + 0x1000u * (q))
#define DESC(q)		RING(q)
#define AVAIL(q)	(RING(q) + 0x400)
#define USED(q)		(RING(q) + 0x800)
#define BUF(q, n)	(0x10000u + 0x1000u * (q) + 0x100u * (n))

struct fixture {
	struct io_bus pio, mmio;
	struct pci_bus pci;
	struct machine m;
	struct config *cfg;
	pthread_t thread;
	char dir[64], sock1[96], sock2[96];
	_Alignas(16) uint8_t ram[MEM_SIZE];
	uint64_t bar4;
	unsigned common, notify;
	uint16_t next_desc[NQ];
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

static uint64_t cc_rd(struct fixture *f, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(io_bus_access(&f->mmio, f->bar4 + cfg_rd(f, f->common + 8, 4) + reg,
				       size, false, &v), 0);
	return v;
}

static void cc_wr(struct fixture *f, unsigned reg, unsigned size, uint64_t v)
{
	assert_int_equal(io_bus_access(&f->mmio, f->bar4 + cfg_rd(f, f->common + 8, 4) + reg,
				       size, true, &v), 0);
}

static unsigned find_vcap(struct fixture *f, uint8_t type)
{
	for (unsigned p = cfg_rd(f, 0x34, 1); p; p = cfg_rd(f, p + 1, 1))
		if (cfg_rd(f, p, 1) == 0x09 && cfg_rd(f, p + 3, 1) == type)
			return p;
	return 0;
}

static void *loop_thread(void *opaque)
{
	struct fixture *f = opaque;

	evloop_run(f->m.loop);
	return NULL;
}

static struct fixture *make(const char *port1_name)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const struct pci_devemu *emu = pci_emul_find("virtio-console");
	struct pci_dev *d = calloc(1, sizeof(*d));
	char err[256] = "";

	assert_non_null(emu);
	snprintf(f->dir, sizeof(f->dir), "/tmp/khyve-vtcon.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock1, sizeof(f->sock1), "%s/p1.sock", f->dir);
	snprintf(f->sock2, sizeof(f->sock2), "%s/p2.sock", f->dir);
	f->cfg = config_new();
	f->m.loop = evloop_new();
	assert_non_null(f->m.loop);
	/* As -o would set them: port 0 unnamed, port 1 named. */
	assert_int_equal(config_set(f->cfg, "pci.0.4.0.device", "virtio-console"), 0);
	assert_int_equal(config_set(f->cfg, "pci.0.4.0.port.0.path", f->sock1), 0);
	assert_int_equal(config_set(f->cfg, "pci.0.4.0.port.1.path", f->sock2), 0);
	assert_int_equal(config_set(f->cfg, "pci.0.4.0.port.1.name", port1_name), 0);
	io_bus_init(&f->pio, "pio");
	io_bus_init(&f->mmio, "mmio");
	pci_bus_init(&f->pci, &f->pio, &f->mmio, &f->m);
	f->pci.platform = (struct pci_platform){ fake_gpa, fake_msi, fake_intx, f };
	io_bus_add(&f->pio, LAYOUT_PCI_CONFIG_ADDR, 4, &pci_cfg_addr_ops, &f->pci);
	io_bus_add(&f->pio, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &f->pci);
	d->bus = &f->pci;
	d->emu = emu;
	d->slot = SLOT;
	assert_int_equal(emu->init(d, f->cfg, "pci.0.4.0", err, sizeof(err)), 0);
	f->pci.dev[SLOT][0] = d;
	cfg_wr(f, 0x04, 2, 0x6);
	f->bar4 = (cfg_rd(f, 0x20, 4) & ~0xfull) | (uint64_t)cfg_rd(f, 0x24, 4) << 32;
	f->common = find_vcap(f, 1);
	f->notify = find_vcap(f, 2);
	assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
	return f;
}

static int setup(void **state)
{
	*state = make("org.khyve.agent");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	evloop_stop(f->m.loop);
	pthread_join(f->thread, NULL);
	pci_bus_destroy(&f->pci);
	/* The sockets go away with the device. */
	assert_int_equal(lstat(f->sock1, &st), -1);
	assert_int_equal(lstat(f->sock2, &st), -1);
	io_bus_destroy(&f->pio);
	io_bus_destroy(&f->mmio);
	evloop_free(f->m.loop);
	config_free(f->cfg);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void wr16(struct fixture *f, uint64_t gpa, uint16_t v) { memcpy(f->ram + gpa, &v, 2); }

static uint16_t used_idx(struct fixture *f, unsigned q)
{
	return __atomic_load_n((uint16_t *)(f->ram + USED(q) + 2), __ATOMIC_ACQUIRE);
}

static uint32_t used_len(struct fixture *f, unsigned q, uint16_t i)
{
	uint32_t v;

	memcpy(&v, f->ram + USED(q) + 4 + 8 * (i % QSIZE) + 4, 4);
	return v;
}

static uint32_t used_id(struct fixture *f, unsigned q, uint16_t i)
{
	uint32_t v;

	memcpy(&v, f->ram + USED(q) + 4 + 8 * (i % QSIZE), 4);
	return v;
}

static void kick(struct fixture *f, uint16_t q)
{
	uint32_t mult = cfg_rd(f, f->notify + 16, 4), off = cfg_rd(f, f->notify + 8, 4);
	uint64_t v = q;

	cc_wr(f, 0x16, 2, q);
	assert_int_equal(io_bus_access(&f->mmio, f->bar4 + off + mult * cc_rd(f, 0x1e, 2), 2,
				       true, &v), 0);
}

/* Posts a buffer on queue q: writable of len bytes, or readable with data. */
static uint16_t post(struct fixture *f, unsigned q, const void *data, uint32_t len)
{
	uint16_t n = f->next_desc[q]++ % QSIZE;
	uint64_t d = DESC(q) + 16 * n, addr = BUF(q, n);
	uint16_t idx, flags = data ? 0 : VRING_DESC_F_WRITE;

	memcpy(&idx, f->ram + AVAIL(q) + 2, 2);
	if (data)
		memcpy(f->ram + addr, data, len);
	memcpy(f->ram + d, &addr, 8);
	memcpy(f->ram + d + 8, &len, 4);
	memcpy(f->ram + d + 12, &flags, 2);
	wr16(f, d + 14, 0);
	wr16(f, AVAIL(q) + 4 + 2 * (idx % QSIZE), n);
	__atomic_store_n((uint16_t *)(f->ram + AVAIL(q) + 2), (uint16_t)(idx + 1), __ATOMIC_RELEASE);
	return n;
}

static void probe(struct fixture *f)
{
	uint64_t feat = (1ull << VIRTIO_F_VERSION_1) | 2;	/* + MULTIPORT */

	cc_wr(f, 0x14, 1, 0);
	cc_wr(f, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(f, 0x00, 4, 0);
	assert_true(cc_rd(f, 0x04, 4) & 2);			/* MULTIPORT offered */
	cc_wr(f, 0x08, 4, 0);
	cc_wr(f, 0x0c, 4, (uint32_t)feat);
	cc_wr(f, 0x08, 4, 1);
	cc_wr(f, 0x0c, 4, (uint32_t)(feat >> 32));
	cc_wr(f, 0x14, 1, 0x0b);
	assert_int_equal(cc_rd(f, 0x12, 2), NQ);
	for (unsigned q = 0; q < NQ; q++) {
		cc_wr(f, 0x16, 2, q);
		cc_wr(f, 0x18, 2, QSIZE);
		cc_wr(f, 0x20, 8, DESC(q));
		cc_wr(f, 0x28, 8, AVAIL(q));
		cc_wr(f, 0x30, 8, USED(q));
		cc_wr(f, 0x1c, 2, 1);
	}
	cc_wr(f, 0x14, 1, 0x0f);
	assert_int_equal(cc_rd(f, 0x14, 1), 0x0f);
}

static void ctrl_out(struct fixture *f, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[8];

	memcpy(m, &id, 4);
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	post(f, 3, m, 8);
	kick(f, 3);
}

/* The i-th control message the device sent. */
static void ctrl_in(struct fixture *f, uint16_t i, uint32_t id, uint16_t event,
		    uint16_t value, const char *name)
{
	uint32_t len = used_len(f, 2, i), gid;
	const uint8_t *m = f->ram + BUF(2, used_id(f, 2, i));
	uint16_t gev, gval;

	memcpy(&gid, m, 4);
	memcpy(&gev, m + 4, 2);
	memcpy(&gval, m + 6, 2);
	assert_int_equal(gid, id);
	assert_int_equal(gev, event);
	assert_int_equal(gval, value);
	assert_int_equal(len, 8 + (name ? strlen(name) : 0));
	if (name)
		assert_memory_equal(m + 8, name, strlen(name));
}

static void test_config_and_identity(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_rd(f, 0, 4), 0x10431af4);
	probe(f);
	/* max_nr_ports, through the device config window */
	{
		unsigned dev = find_vcap(f, 4);
		uint64_t v = 0;

		assert_int_equal(io_bus_access(&f->mmio, f->bar4 + cfg_rd(f, dev + 8, 4) + 4, 4,
					       false, &v), 0);
		assert_int_equal(v, 2);
	}
}

static void handshake(struct fixture *f)
{
	probe(f);
	for (unsigned i = 0; i < 8; i++)
		post(f, 2, NULL, 0x100);
	kick(f, 2);
	ctrl_out(f, 0, 0, 1);				/* DEVICE_READY */
	assert_int_equal(used_idx(f, 3), 1);
	assert_int_equal(used_idx(f, 2), 2);
	ctrl_in(f, 0, 0, 1, 1, NULL);			/* PORT_ADD 0 */
	ctrl_in(f, 1, 1, 1, 1, NULL);			/* PORT_ADD 1 */
	ctrl_out(f, 0, 3, 1);				/* PORT_READY 0 */
	assert_int_equal(used_idx(f, 2), 3);
	ctrl_in(f, 2, 0, 6, 1, NULL);			/* PORT_OPEN 0 */
	ctrl_out(f, 1, 3, 1);				/* PORT_READY 1 */
	assert_int_equal(used_idx(f, 2), 5);
	ctrl_in(f, 3, 1, 7, 1, "org.khyve.agent");	/* PORT_NAME 1 */
	ctrl_in(f, 4, 1, 6, 1, NULL);			/* PORT_OPEN 1 */
	ctrl_out(f, 1, 6, 1);				/* guest opened port 1 */
}

static void test_multiport_handshake(void **state)
{
	handshake(*state);
}

static void test_malformed_control(void **state)
{
	struct fixture *f = *state;

	handshake(f);
	post(f, 3, "abc", 3);				/* too short */
	kick(f, 3);
	ctrl_out(f, 9, 3, 1);				/* no such port */
	ctrl_out(f, 0, 99, 1);				/* no such event */
	assert_int_equal(used_idx(f, 3), 7);
	assert_int_equal(used_idx(f, 2), 5);		/* nothing sent back */
	assert_false(cc_rd(f, 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	ctrl_out(f, 0, 3, 1);				/* still answers */
	assert_int_equal(used_idx(f, 2), 6);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static bool wait_used(struct fixture *f, unsigned q, uint16_t want)
{
	for (int i = 0; i < 500; i++) {
		if (used_idx(f, q) == want)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_data_both_ways(void **state)
{
	struct fixture *f = *state;
	char buf[16] = "";
	struct pollfd p;
	int fd;

	handshake(f);
	fd = connect_to(f->sock2);			/* port 2 = id 1: queues 4/5 */
	assert_int_equal(write(fd, "hello", 5), 5);
	usleep(50000);
	/* No receive buffers yet: the bytes wait in the socket. */
	assert_int_equal(used_idx(f, 4), 0);
	post(f, 4, NULL, 3);
	post(f, 4, NULL, 64);
	kick(f, 4);
	assert_true(wait_used(f, 4, 2));
	assert_int_equal(used_len(f, 4, 0), 3);
	assert_int_equal(used_len(f, 4, 1), 2);
	assert_memory_equal(f->ram + BUF(4, 0), "hel", 3);
	assert_memory_equal(f->ram + BUF(4, 1), "lo", 2);
	/* Guest to host. */
	post(f, 5, "world", 5);
	kick(f, 5);
	assert_int_equal(used_idx(f, 5), 1);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);
	/* Port 1 (id 0, queues 0/1) is separate. */
	close(fd);
	fd = connect_to(f->sock1);
	post(f, 0, NULL, 16);
	kick(f, 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_true(wait_used(f, 0, 1));
	assert_int_equal(f->ram[BUF(0, 0)], 'x');
	close(fd);
}

/* Checkpoint f onto g: g's driver state is f's. */
static int move(struct fixture *f, struct fixture *g, char *err, size_t errlen)
{
	int rc = snaptest_pci_move(&f->pci, f->ram, &g->pci, g->ram, MEM_SIZE, err, errlen);

	memcpy(g->next_desc, f->next_desc, sizeof(f->next_desc));
	return rc;
}

/* The restored device knows what the guest said about its ports, still
 * owes it the control message it had no buffer for, and moves data. */
static void test_checkpoint(void **state)
{
	struct fixture *f = *state, *g = make("org.khyve.agent");
	char err[256] = "";
	int fd;

	handshake(f);
	ctrl_out(f, 1, 3, 1);		/* PORT_READY 1 again: NAME + OPEN */
	ctrl_out(f, 1, 3, 1);		/* two more; one control buffer left */
	assert_int_equal(used_idx(f, 2), 8);	/* the last OPEN waits */
	if (move(f, g, err, sizeof(err)))
		fail_msg("restore: %s", err);
	post(g, 2, NULL, 0x100);
	kick(g, 2);
	assert_int_equal(used_idx(g, 2), 9);
	ctrl_in(g, 8, 1, 6, 1, NULL);		/* PORT_OPEN 1 */
	fd = connect_to(g->sock2);
	post(g, 4, NULL, 64);
	kick(g, 4);
	assert_int_equal(write(fd, "after", 5), 5);
	assert_true(wait_used(g, 4, 1));
	assert_memory_equal(g->ram + BUF(4, 0), "after", 5);
	close(fd);
	teardown((void **)&g);
	/* Ports the guest knows by another name: refused. */
	g = make("org.other");
	assert_int_equal(move(f, g, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "port 2 differs"));
	teardown((void **)&g);
}

static void test_legacy_config_errors(void **state)
{
	const struct pci_devemu *emu = pci_emul_find("virtio-console");
	struct config *cfg = config_new();
	char err[256] = "";

	/* bhyve: each NAME=PATH is the next port, from 0; NAME is what the
	 * guest sees (libvirt's guest agent channel uses this). */
	assert_int_equal(emu->legacy_config(cfg, "pci.0.5.0",
					    "port1=/tmp/x,org.qemu.guest_agent.0=/tmp/y",
					    err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "pci.0.5.0.port.0.name"), "port1");
	assert_string_equal(config_get(cfg, "pci.0.5.0.port.0.path"), "/tmp/x");
	assert_string_equal(config_get(cfg, "pci.0.5.0.port.1.name"), "org.qemu.guest_agent.0");
	assert_string_equal(config_get(cfg, "pci.0.5.0.port.1.path"), "/tmp/y");
	assert_true(emu->legacy_config(cfg, "pci.0.6.0", "port1", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "NAME=PATH"));
	assert_true(emu->legacy_config(cfg, "pci.0.6.0", "=/tmp/x", err, sizeof(err)) < 0);
	assert_true(emu->legacy_config(cfg, "pci.0.6.0", "a=", err, sizeof(err)) < 0);
	assert_true(emu->legacy_config(cfg, "pci.0.6.0",
					"a=/1,b=/2,c=/3,d=/4,e=/5,f=/6,g=/7,h=/8,i=/9,j=/10,"
					"k=/11,l=/12,m=/13,n=/14,o=/15,p=/16,q=/17", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "too many"));
	config_free(cfg);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config_and_identity),
		T(test_multiport_handshake),
		T(test_malformed_control),
		T(test_data_both_ways),
		T(test_checkpoint),
		cmocka_unit_test(test_legacy_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
