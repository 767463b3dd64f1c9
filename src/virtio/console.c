/* virtio-console (virtio device id 3, spec 5.3) with VIRTIO_CONSOLE_F_MULTIPORT:
 * -s N,virtio-console,port1=/path.sock[,port2=...] as in bhyve.  Each port
 * is a Unix socket khyve listens on (a chardev "unix=PATH"); port.N
 * (N = 1..16) is virtio port id N-1.
 *
 * Queues: 0/1 port 0 receiveq/transmitq, 2/3 control receiveq/transmitq,
 * then 2+2*id / 3+2*id for port id >= 1.
 *
 * Guest -> host: transmitq buffers are written to the chardev, which never
 * blocks; past its CHARDEV_OUTBUF_SIZE buffer (a client not reading) bytes
 * are dropped and counted by the chardev (reported at close), and with no
 * client connected they are discarded, like a serial line nobody listens
 * to.  Host -> guest: the socket's bytes fill the port's receiveq buffers;
 * with none posted the chardev stops reading the socket until the guest
 * posts buffers and kicks the receiveq.
 *
 * Every port is announced open (PORT_OPEN 1) once the guest says it is
 * ready; none is a console port (CONSOLE_PORT is never sent, as bhyve
 * does by default).
 *
 * Locking: one mutex per device.  vCPUs (queue_notify) call
 * chardev_write/chardev_rx_ready with it held; the loop thread calls
 * con_rx with no chardev lock held, and con_rx takes it: no cycle. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "hw/chardev.h"
#include "hw/pci.h"
#include "lib/config.h"
#include "lib/log.h"
#include "machine/machine.h"
#include "snapshot/snapfile.h"
#include "virtio/pci.h"
#include "virtio/virtqueue.h"

#define CON_MAX_PORTS		16
#define CON_QUEUE_SIZE		64
#define CON_NAME_MAX		127
#define CON_CTRL_PENDING	128	/* control messages waiting for buffers */

#define VIRTIO_CONSOLE_F_SIZE		0
#define VIRTIO_CONSOLE_F_MULTIPORT	1
#define VIRTIO_CONSOLE_F_EMERG_WRITE	2

enum {
	CON_DEVICE_READY = 0,
	CON_PORT_ADD = 1,
	CON_PORT_REMOVE = 2,
	CON_PORT_READY = 3,
	CON_CONSOLE_PORT = 4,
	CON_RESIZE = 5,
	CON_PORT_OPEN = 6,
	CON_PORT_NAME = 7,
};

#define CON_Q_CTRL_RX	2
#define CON_Q_CTRL_TX	3
#define CON_CFG_LEN	12	/* cols, rows, max_nr_ports, emerg_wr */

struct virtio_console;

struct con_port {
	struct virtio_console *con;
	unsigned id;			/* virtio port id (bhyve's N - 1) */
	bool configured;
	char *name;			/* port.N.name or NULL */
	struct chardev *chr;
	bool ready, guest_open;		/* guest said PORT_READY / PORT_OPEN */
};

struct con_ctrl {
	uint32_t id;
	uint16_t event, value;
};

struct virtio_console {
	struct virtio_pci *t;
	struct virtio_dev_ops ops;	/* nqueues depends on the ports */
	struct vq_mem mem;		/* the transport's, cached */
	pthread_mutex_t lock;
	unsigned nports;		/* highest configured id + 1 */
	struct con_port port[CON_MAX_PORTS];
	bool device_ready;
	bool live;			/* a kick since the last reset */
	struct con_ctrl pending[CON_CTRL_PENDING];
	unsigned pend_head, pend_len;
	uint64_t ctrl_dropped;
	int broken_once, bad_ctrl_once, overflow_once;
	struct vq_elem elem;		/* large: kept here, not on a stack */
};

static bool con_multiport(struct virtio_console *c)
{
	return virtio_pci_features(c->t) & (1ull << VIRTIO_CONSOLE_F_MULTIPORT);
}

static unsigned rxq_of(unsigned id)
{
	return id ? 2 + 2 * id : 0;
}

static void con_broken(struct virtio_console *c, int rc)
{
	log_error_once(&c->broken_once, "virtio-console: the guest broke a queue (%s); "
		       "device needs a reset", strerror(-rc));
	virtio_pci_set_needs_reset(c->t);
}

/* Copies buf into the writable part of c->elem; returns bytes copied. */
static uint32_t elem_fill(struct vq_elem *e, const uint8_t *buf, size_t len)
{
	uint32_t done = 0;

	for (unsigned i = e->out_num; i < (unsigned)e->out_num + e->in_num && len; i++) {
		size_t n = e->iov[i].iov_len;

		if (n > len)
			n = len;
		memcpy(e->iov[i].iov_base, buf, n);
		buf += n;
		len -= n;
		done += (uint32_t)n;
	}
	return done;
}

/* After a pop/push loop on queue q: a guest error breaks the device, and
 * the driver hears about whatever was returned. */
static void queue_batch_done(struct virtio_console *c, unsigned q, int rc, bool pushed)
{
	if (rc < 0)
		con_broken(c, rc);
	if (pushed)
		virtio_pci_notify_used(c->t, q);
}

/* Called with c->lock held: sends queued control messages while the guest
 * has control receiveq buffers. */
static void ctrl_flush(struct virtio_console *c)
{
	struct virtqueue *vq = virtio_pci_queue(c->t, CON_Q_CTRL_RX);
	bool pushed = false;
	int rc = 0;

	while (c->pend_len && vq && (rc = vq_pop(vq, &c->mem, &c->elem)) == 1) {
		struct con_ctrl *m = &c->pending[c->pend_head];
		uint8_t msg[8 + CON_NAME_MAX];
		size_t len = 8;

		memcpy(msg, &m->id, 4);
		memcpy(msg + 4, &m->event, 2);
		memcpy(msg + 6, &m->value, 2);
		if (m->event == CON_PORT_NAME && m->id < c->nports && c->port[m->id].name) {
			size_t n = strlen(c->port[m->id].name);

			memcpy(msg + 8, c->port[m->id].name, n);
			len += n;
		}
		c->pend_head = (c->pend_head + 1) % CON_CTRL_PENDING;
		c->pend_len--;
		if (c->elem.in_len < len) {
			/* The driver posts 4 KiB buffers; a smaller one is its loss. */
			log_error_once(&c->bad_ctrl_once, "virtio-console: control receive "
				       "buffer too small (%llu bytes); message dropped",
				       (unsigned long long)c->elem.in_len);
			len = c->elem.in_len;
		}
		rc = vq_push(vq, &c->mem, &c->elem, elem_fill(&c->elem, msg, len));
		if (rc < 0)
			break;
		pushed = true;
	}
	queue_batch_done(c, CON_Q_CTRL_RX, rc, pushed);
}

/* Called with c->lock held. */
static void ctrl_send(struct virtio_console *c, uint32_t id, uint16_t event, uint16_t value)
{
	if (c->pend_len == CON_CTRL_PENDING) {
		c->ctrl_dropped++;
		log_error_once(&c->overflow_once, "virtio-console: the guest does not take "
			       "control messages; dropping them");
		return;
	}
	c->pending[(c->pend_head + c->pend_len) % CON_CTRL_PENDING] =
		(struct con_ctrl){ id, event, value };
	c->pend_len++;
}

/* Called with c->lock held: one message from the guest. */
static void ctrl_handle(struct virtio_console *c, const uint8_t *msg, size_t len,
			uint64_t sent)
{
	struct con_ctrl m;

	if (len != 8) {
		log_error_once(&c->bad_ctrl_once, "virtio-console: ignoring a %llu-byte "
			       "control message from the guest", (unsigned long long)sent);
		return;
	}
	memcpy(&m.id, msg, 4);
	memcpy(&m.event, msg + 4, 2);
	memcpy(&m.value, msg + 6, 2);
	switch (m.event) {
	case CON_DEVICE_READY:
		if (m.value != 1) {
			log_error("virtio-console: the guest driver failed to initialise");
			return;
		}
		c->device_ready = true;
		for (unsigned i = 0; i < c->nports; i++)
			if (c->port[i].configured)
				ctrl_send(c, i, CON_PORT_ADD, 1);
		return;
	case CON_PORT_READY:
		if (m.id >= c->nports || !c->port[m.id].configured)
			break;
		if (m.value != 1) {
			log_error("virtio-console: the guest failed to set up port %u",
				  (unsigned)m.id + 1);
			return;
		}
		c->port[m.id].ready = true;
		if (c->port[m.id].name)
			ctrl_send(c, m.id, CON_PORT_NAME, 1);
		ctrl_send(c, m.id, CON_PORT_OPEN, 1);
		return;
	case CON_PORT_OPEN:
		if (m.id >= c->nports || !c->port[m.id].configured)
			break;
		c->port[m.id].guest_open = m.value != 0;
		return;
	default:
		break;
	}
	log_error_once(&c->bad_ctrl_once, "virtio-console: ignoring a bad control message "
		       "from the guest (port %u, event %u)", (unsigned)m.id, (unsigned)m.event);
}

/* Called with c->lock held. */
static void ctrl_tx(struct virtio_console *c)
{
	struct virtqueue *vq = virtio_pci_queue(c->t, CON_Q_CTRL_TX);
	bool pushed = false;
	int rc;

	while ((rc = vq_pop(vq, &c->mem, &c->elem)) == 1) {
		uint8_t msg[8];
		size_t got = 0;

		for (unsigned i = 0; i < c->elem.out_num && got < sizeof(msg); i++) {
			size_t n = c->elem.iov[i].iov_len;

			if (n > sizeof(msg) - got)
				n = sizeof(msg) - got;
			memcpy(msg + got, c->elem.iov[i].iov_base, n);
			got += n;
		}
		rc = vq_push(vq, &c->mem, &c->elem, 0);
		if (rc < 0)
			break;
		pushed = true;
		ctrl_handle(c, msg, c->elem.out_len == sizeof(msg) ? got : 0, c->elem.out_len);
	}
	queue_batch_done(c, CON_Q_CTRL_TX, rc, pushed);
	ctrl_flush(c);
}

/* Called with c->lock held: guest output of port p. */
static void port_tx(struct virtio_console *c, struct con_port *p, unsigned q)
{
	struct virtqueue *vq = virtio_pci_queue(c->t, q);
	bool pushed = false;
	int rc;

	while ((rc = vq_pop(vq, &c->mem, &c->elem)) == 1) {
		for (unsigned i = 0; i < c->elem.out_num; i++)
			if (p->chr)
				chardev_write(p->chr, c->elem.iov[i].iov_base,
					      c->elem.iov[i].iov_len);
		rc = vq_push(vq, &c->mem, &c->elem, 0);
		if (rc < 0)
			break;
		pushed = true;
	}
	queue_batch_done(c, q, rc, pushed);
}

/* Loop thread: bytes from a port's socket into its receiveq. */
static size_t con_rx(void *opaque, const uint8_t *buf, size_t len)
{
	struct con_port *p = opaque;
	struct virtio_console *c = p->con;
	unsigned q = rxq_of(p->id);
	struct virtqueue *vq;
	size_t done = 0;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	/* After a reset the transport rewrites the queues without our lock:
	 * touch them only once the driver kicked again. */
	vq = c->live ? virtio_pci_queue(c->t, q) : NULL;
	if (p->id && !con_multiport(c))
		vq = NULL;
	while (vq && done < len && (rc = vq_pop(vq, &c->mem, &c->elem)) == 1) {
		uint32_t n = elem_fill(&c->elem, buf + done, len - done);

		rc = vq_push(vq, &c->mem, &c->elem, n);
		if (rc < 0)
			break;
		done += n;
		if (!n)
			break;	/* a buffer with no room: wait for better ones */
	}
	queue_batch_done(c, q, rc, done);
	pthread_mutex_unlock(&c->lock);
	return done;
}

static const struct chardev_sink con_sink = { .rx = con_rx };

static void con_queue_notify(void *dev, unsigned q)
{
	struct virtio_console *c = dev;
	unsigned id = q < 2 ? 0 : q / 2 - 1;
	struct con_port *p;

	if (q >= c->ops.nqueues)
		return;
	pthread_mutex_lock(&c->lock);
	c->live = true;
	if (q == CON_Q_CTRL_RX || q == CON_Q_CTRL_TX) {
		if (con_multiport(c)) {
			if (q == CON_Q_CTRL_TX)
				ctrl_tx(c);
			else
				ctrl_flush(c);
		}
	} else if (id < c->nports && (!id || con_multiport(c))) {
		p = &c->port[id];
		if (q & 1)
			port_tx(c, p, q);
		else if (p->chr)
			chardev_rx_ready(p->chr);	/* buffers posted: read again */
	}
	pthread_mutex_unlock(&c->lock);
}

static void con_reset(void *dev)
{
	struct virtio_console *c = dev;

	pthread_mutex_lock(&c->lock);
	c->device_ready = c->live = false;
	c->pend_head = c->pend_len = 0;
	for (unsigned i = 0; i < c->nports; i++)
		c->port[i].ready = c->port[i].guest_open = false;
	pthread_mutex_unlock(&c->lock);
}

static void con_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
	struct virtio_console *c = dev;
	uint8_t cfg[CON_CFG_LEN] = { 0 };
	uint32_t n = c->nports;

	memcpy(cfg + 4, &n, 4);		/* cols = rows = 0, emerg_wr reads 0 */
	memcpy(buf, cfg + off, len);
}

static void con_config_write(void *dev, unsigned off, const void *buf, unsigned len)
{
	/* emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, not offered: ignored. */
}

static const struct virtio_dev_ops con_ops_template = {
	.name = "virtio-console",
	.type = VIRTIO_ID_CONSOLE,
	.pci_class = 0x07,		/* simple communication controller */
	.pci_subclass = 0x80,		/* other, as QEMU and bhyve */
	.features = 1ull << VIRTIO_CONSOLE_F_MULTIPORT,
	.queue_max_size = CON_QUEUE_SIZE,
	.config_len = CON_CFG_LEN,
	.config_read = con_config_read,
	.config_write = con_config_write,
	.queue_notify = con_queue_notify,
	.reset = con_reset,
};

/* "portN=PATH" (bhyve's legacy form, N = 1..16) -> port.N.path; any other
 * "key=value" goes under the node as is (e.g. port.1.name=NAME). */
/* bhyve's legacy form: "-s N,virtio-console,NAME=PATH[,NAME=PATH...]".
 * Each token is a port, numbered from 0 in order; NAME is what the guest
 * sees (libvirt passes org.qemu.guest_agent.0=PATH for the agent). */
static int con_legacy_config(struct config *cfg, const char *node, const char *opts,
			     char *err, size_t errlen)
{
	char *copy = strdup(opts ? opts : ""), *tok, *next;
	unsigned port = 0;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = copy; tok && !rc; tok = next, port++) {
		char var[256], *eq;

		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1]) {
			snprintf(err, errlen, "virtio-console: port \"%s\": expected NAME=PATH", tok);
			rc = -EINVAL;
			break;
		}
		if (port >= CON_MAX_PORTS) {
			snprintf(err, errlen, "virtio-console: too many ports (at most %d)", CON_MAX_PORTS);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		snprintf(var, sizeof(var), "%s.port.%u.name", node, port);
		rc = config_set(cfg, var, tok);
		snprintf(var, sizeof(var), "%s.port.%u.path", node, port);
		if (!rc)
			rc = config_set(cfg, var, eq + 1);
		if (rc)
			snprintf(err, errlen, "virtio-console: %s: %s", var, strerror(-rc));
	}
	free(copy);
	return rc;
}

/* Checks what chardev_open would otherwise report in a second line. */
static int check_sock_path(const char *path, const char *node, unsigned n,
			   char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!*path || strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: virtio-console: port %u: socket path must be 1 to "
			 "%zu bytes", node, n, sizeof(dir) - 1);
		return -EINVAL;
	}
	if (!lstat(path, &st) && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: virtio-console: port %u: %s exists and is not a "
			 "socket; refusing to replace it", node, n, path);
		return -EEXIST;
	}
	if (!slash)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: virtio-console: port %u: %s: %s", node, n, path,
			 stat(dir, &st) < 0 ? "directory does not exist" : "not in a directory");
		return -ENOENT;
	}
	return 0;
}

static void con_free(struct virtio_console *c)
{
	for (unsigned i = 0; i < CON_MAX_PORTS; i++) {
		chardev_close(c->port[i].chr);
		free(c->port[i].name);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int con_ports(struct virtio_console *c, struct config *cfg, const char *node,
		     unsigned slot, struct evloop *loop, char *err, size_t errlen)
{
	for (unsigned n = 0; n < CON_MAX_PORTS; n++) {
		struct con_port *p = &c->port[n];
		char var[128], spec[160], label[16];
		const char *path, *name;
		int rc;

		snprintf(var, sizeof(var), "%s.port.%u.path", node, n);
		path = config_get(cfg, var);
		snprintf(var, sizeof(var), "%s.port.%u.name", node, n);
		name = config_get(cfg, var);
		if (!path) {
			if (name) {
				snprintf(err, errlen, "%s: virtio-console: port %u has a name "
					 "but no path", node, n);
				return -EINVAL;
			}
			continue;
		}
		if (name && (!*name || strlen(name) > CON_NAME_MAX)) {
			snprintf(err, errlen, "%s: virtio-console: port %u: name must be 1 to "
				 "%d bytes", node, n, CON_NAME_MAX);
			return -EINVAL;
		}
		rc = check_sock_path(path, node, n, err, errlen);
		if (rc)
			return rc;
		if (name && !(p->name = strdup(name)))
			return -ENOMEM;
		snprintf(spec, sizeof(spec), "unix=%s", path);
		snprintf(label, sizeof(label), "vtcon%u.%u", slot % 100, n);
		rc = chardev_open(spec, label, loop, &p->chr);
		if (rc) {
			/* chardev_open logged the reason already. */
			snprintf(err, errlen, "%s: virtio-console: port %u unusable", node, n);
			return rc;
		}
		p->con = c;
		p->id = n;
		p->configured = true;
		c->nports = n + 1;
	}
	if (!c->nports) {
		snprintf(err, errlen, "%s: virtio-console: no ports (NAME=PATH)", node);
		return -EINVAL;
	}
	return 0;
}

static int con_init(struct pci_dev *dev, struct config *cfg, const char *node,
		    char *err, size_t errlen)
{
	struct machine *m = dev->bus->machine;
	struct virtio_console *c;
	int rc;

	if (!m || !m->loop) {
		snprintf(err, errlen, "%s: virtio-console: the machine gives no event loop", node);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->ops = con_ops_template;
	rc = con_ports(c, cfg, node, dev->slot, m->loop, err, errlen);
	if (!rc) {
		c->ops.nqueues = 2 + 2 * c->nports;
		rc = virtio_pci_attach(dev, cfg, node, &c->ops, c, &c->t, err, errlen);
		if (!rc)
			c->mem = *virtio_pci_vq_mem(c->t);
	}
	if (rc) {
		con_free(c);
		return rc;
	}
	for (unsigned i = 0; i < c->nports; i++)
		if (c->port[i].chr)
			chardev_attach_sink(c->port[i].chr, &con_sink, &c->port[i]);
	return 0;
}

static void con_destroy(struct pci_dev *dev)
{
	struct virtio_pci *t = dev->priv;
	struct virtio_console *c = t ? virtio_pci_device(t) : NULL;

	/* The chardevs first: no more input calls into the device. */
	if (c)
		for (unsigned i = 0; i < CON_MAX_PORTS; i++) {
			chardev_close(c->port[i].chr);
			c->port[i].chr = NULL;
		}
	virtio_pci_destroy(t);
	if (c)
		con_free(c);
}

/* ---- checkpoint ---- */

/* Work happens on vCPUs (kicks) and the event loop (socket input), and a
 * checkpoint runs on that loop with the vCPUs paused: nothing is in
 * flight.  Saved: the transport, which ports exist under which names
 * (the guest was told), what the guest said about them, and the control
 * messages it has not taken yet. */
static void con_save(struct pci_dev *dev, struct snap_writer *w)
{
	struct virtio_console *c = virtio_pci_device(dev->priv);

	virtio_pci_put(c->t, w);
	pthread_mutex_lock(&c->lock);
	snap_put_u8(w, (uint8_t)(c->device_ready | c->live << 1));
	snap_put_u32(w, c->nports);
	for (unsigned i = 0; i < c->nports; i++) {
		const struct con_port *p = &c->port[i];
		size_t n = p->name ? strlen(p->name) : 0;

		snap_put_u8(w, (uint8_t)(p->configured | p->ready << 1 | p->guest_open << 2));
		snap_put_u8(w, (uint8_t)n);
		snap_put(w, p->name ? p->name : "", n);
	}
	snap_put_u32(w, c->pend_len);
	for (unsigned i = 0; i < c->pend_len; i++) {
		const struct con_ctrl *m = &c->pending[(c->pend_head + i) % CON_CTRL_PENDING];

		snap_put_u32(w, m->id);
		snap_put_u16(w, m->event);
		snap_put_u16(w, m->value);
	}
	snap_put_u64(w, c->ctrl_dropped);
	pthread_mutex_unlock(&c->lock);
}

/* Port i as saved must be port i as configured now. */
static bool port_matches(const struct con_port *p, uint8_t flags, const char *name, size_t n)
{
	size_t have = p->name ? strlen(p->name) : 0;

	return (bool)(flags & 1) == p->configured && n == have &&
	       (!n || !memcmp(name, p->name, n));
}

static int con_restore_ports(struct virtio_console *c, struct snap_cursor *cur,
			     char *err, size_t errlen)
{
	uint32_t nports = snap_get_u32(cur);

	if (cur->bad || nports != c->nports) {
		snprintf(err, errlen, "virtio-console: the checkpoint has %u ports, the command "
			 "line %u", nports, c->nports);
		return -EPROTO;
	}
	for (unsigned i = 0; i < nports; i++) {
		struct con_port *p = &c->port[i];
		uint8_t flags = snap_get_u8(cur), n = snap_get_u8(cur);
		char name[256];

		snap_get(cur, name, n);
		if (cur->bad || (flags & ~7u) || !port_matches(p, flags, name, n)) {
			snprintf(err, errlen, "virtio-console: port %u differs from the "
				 "checkpoint's (present, or its name)", i + 1);
			return -EPROTO;
		}
		p->ready = flags & 2;
		p->guest_open = flags & 4;
	}
	return 0;
}

static int con_restore_pending(struct virtio_console *c, struct snap_cursor *cur,
			       char *err, size_t errlen)
{
	uint32_t n = snap_get_u32(cur);

	if (cur->bad || n > CON_CTRL_PENDING) {
		snprintf(err, errlen, "virtio-console: %u control messages pending (at most %u)",
			 n, CON_CTRL_PENDING);
		return -EPROTO;
	}
	c->pend_head = 0;
	c->pend_len = n;
	for (unsigned i = 0; i < n; i++) {
		struct con_ctrl *m = &c->pending[i];

		m->id = snap_get_u32(cur);
		m->event = snap_get_u16(cur);
		m->value = snap_get_u16(cur);
		/* ctrl_flush reads the name of the port a PORT_NAME names */
		if (m->id >= c->nports || m->event > CON_PORT_NAME) {
			snprintf(err, errlen, "virtio-console: a pending control message names "
				 "port %u, event %u", (unsigned)m->id, (unsigned)m->event);
			return -EPROTO;
		}
	}
	c->ctrl_dropped = snap_get_u64(cur);
	return 0;
}

static int con_restore(struct pci_dev *dev, struct snap_cursor *cur, char *err, size_t errlen)
{
	struct virtio_console *c = virtio_pci_device(dev->priv);
	uint8_t flags;
	int rc = virtio_pci_get(c->t, cur);

	if (rc) {
		snprintf(err, errlen, "virtio-console: its saved transport state is %s",
			 rc == -EFAULT ? "outside guest memory" : "inconsistent (other ports?)");
		return -EPROTO;
	}
	pthread_mutex_lock(&c->lock);
	flags = snap_get_u8(cur);
	c->device_ready = flags & 1;
	c->live = flags & 2;
	rc = con_restore_ports(c, cur, err, errlen);
	if (!rc)
		rc = con_restore_pending(c, cur, err, errlen);
	if (!rc && (cur->bad || (flags & ~3u))) {
		snprintf(err, errlen, "virtio-console: its saved state is damaged");
		rc = -EPROTO;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

const struct pci_devemu virtio_console_emu = {
	.name = "virtio-console",
	.help = "virtio console ports on Unix sockets (port1=PATH,...)",
	.legacy_config = con_legacy_config,
	.init = con_init,
	.destroy = con_destroy,
	.cfg_read = virtio_pci_cfg_read,
	.cfg_write = virtio_pci_cfg_write,
	.cfg_written = virtio_pci_cfg_written,
	.save = con_save,
	.restore = con_restore,
};
