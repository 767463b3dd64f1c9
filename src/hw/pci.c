/* PCI bus 0: configuration mechanism #1 and the standard type-0 header.
 * Emulations own their registers beyond the header through hooks. */
#include "hw/pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/layout.h"
#include "lib/config.h"
#include "snapshot/snapfile.h"

#define PCI_VENDOR_ID		0x00
#define PCI_COMMAND		0x04
#define PCI_CMD_IO		0x1
#define PCI_CMD_MEM		0x2
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_CF8_ENABLE		0x80000000u

int pci_bus_init(struct pci_bus *bus, struct io_bus *pio, struct io_bus *mmio, void *machine)
{
	memset(bus, 0, sizeof(*bus));
	bus->pio = pio;
	bus->mmio = mmio;
	bus->machine = machine;
	bus->next_io = LAYOUT_PCI_IO_BASE;
	bus->next_mmio32 = LAYOUT_PCI_MMIO32_BASE;
	return -pthread_mutex_init(&bus->lock, NULL);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			struct pci_dev *d = bus->dev[s][f];

			if (!d)
				continue;
			if (d->emu->destroy)
				d->emu->destroy(d);
			free(d);
		}
	pthread_mutex_destroy(&bus->lock);
}

void pci_set_ids(struct pci_dev *dev, uint16_t vendor, uint16_t device,
		 uint8_t class, uint8_t subclass, uint8_t progif)
{
	pci_cfg_write16(dev, PCI_VENDOR_ID, vendor);
	pci_cfg_write16(dev, 0x02, device);
	dev->cfg[0x09] = progif;
	dev->cfg[0x0a] = subclass;
	dev->cfg[0x0b] = class;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int pci_bar_alloc(struct pci_dev *dev, unsigned idx, enum pci_bar_type type,
		  uint64_t size, const struct io_ops *ops, void *opaque)
{
	struct pci_bus *bus = dev->bus;
	uint64_t *cursor, end, addr;
	uint32_t low;

	if (idx >= PCI_BARS || size == 0 || (size & (size - 1)) ||
	    (type == PCI_BAR_MEM64 && idx == PCI_BARS - 1))
		return -EINVAL;
	if (type == PCI_BAR_IO) {
		size = size < 4 ? 4 : size;
		cursor = &bus->next_io;
		end = LAYOUT_PCI_IO_END;
	} else {
		size = size < 4096 ? 4096 : size;
		cursor = &bus->next_mmio32;
		end = LAYOUT_PCI_MMIO32_END;
	}
	addr = align_up(*cursor, size);
	if (addr + size > end)
		return -ENOSPC;
	*cursor = addr + size;
	dev->bar[idx] = (struct pci_bar){ .type = type, .size = size, .addr = addr,
					  .ops = ops, .dev = opaque };
	low = (uint32_t)addr | (type == PCI_BAR_IO ? 0x1 : type == PCI_BAR_MEM64 ? 0x4 : 0);
	pci_cfg_write32(dev, PCI_BAR0 + 4 * idx, low);
	if (type == PCI_BAR_MEM64)
		pci_cfg_write32(dev, PCI_BAR0 + 4 * (idx + 1), (uint32_t)(addr >> 32));
	return 0;
}

static struct io_bus *bar_bus(struct pci_dev *dev, const struct pci_bar *b)
{
	return b->type == PCI_BAR_IO ? dev->bus->pio : dev->bus->mmio;
}

/* Keeps each BAR's bus mapping in line with the command register. */
static void pci_update_mappings(struct pci_dev *dev)
{
	uint16_t cmd = dev->cfg[PCI_COMMAND] | dev->cfg[PCI_COMMAND + 1] << 8;

	for (unsigned i = 0; i < PCI_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];
		bool want;

		if (b->type == PCI_BAR_NONE)
			continue;
		want = (b->type == PCI_BAR_IO ? cmd & PCI_CMD_IO : cmd & PCI_CMD_MEM) &&
		       b->addr != 0;
		if (b->mapped && !want) {
			io_bus_remove(bar_bus(dev, b), b->addr);
			b->mapped = false;
		} else if (!b->mapped && want) {
			/* A guest may program overlapping BARs; the loser stays unmapped. */
			b->mapped = io_bus_add(bar_bus(dev, b), b->addr, b->size, b->ops, b->dev) == 0;
		}
	}
}

static void pci_bar_write(struct pci_dev *dev, unsigned idx, uint32_t val)
{
	struct pci_bar *b = &dev->bar[idx];
	bool high = false;
	uint64_t addr;

	if (b->type == PCI_BAR_NONE && idx > 0 && dev->bar[idx - 1].type == PCI_BAR_MEM64) {
		b = &dev->bar[idx - 1];
		high = true;
	}
	if (b->type == PCI_BAR_NONE)
		return;
	if (high)
		addr = (b->addr & 0xffffffffu) | (uint64_t)val << 32;
	else
		addr = (b->addr & ~0xffffffffull) | (val & ~(uint32_t)(b->size - 1) &
						     (b->type == PCI_BAR_IO ? ~0x3u : ~0xfu));
	if (b->type == PCI_BAR_IO)
		addr &= 0xffff;
	if (b->mapped) {
		io_bus_remove(bar_bus(dev, b), b->addr);
		b->mapped = false;
	}
	b->addr = addr & ~(b->size - 1);
	/* Sizing (all ones) reads back the size mask through cfg[]. */
	if (high) {
		pci_cfg_write32(dev, PCI_BAR0 + 4 * idx, (uint32_t)(b->addr >> 32));
	} else {
		uint32_t flags = b->type == PCI_BAR_IO ? 0x1 : b->type == PCI_BAR_MEM64 ? 0x4 : 0;

		pci_cfg_write32(dev, PCI_BAR0 + 4 * (unsigned)(b - dev->bar),
				((uint32_t)b->addr & ~(uint32_t)(b->size - 1)) | flags);
	}
	pci_update_mappings(dev);
}

static uint32_t cfg_get(const struct pci_dev *dev, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)dev->cfg[off + i] << (8 * i);
	return v;
}

static void pci_header_write(struct pci_dev *dev, unsigned off, unsigned size, uint32_t val)
{
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 4 * PCI_BARS) {
		/* BARs are only written whole, as every OS does. */
		if (size == 4 && (off & 3) == 0)
			pci_bar_write(dev, (off - PCI_BAR0) / 4, val);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = (val >> (8 * i)) & 0xff;

		/* Writable: command, cache line, latency, interrupt line. */
		if (o == PCI_COMMAND)
			dev->cfg[o] = b & 0x07;
		else if (o == PCI_COMMAND + 1)
			dev->cfg[o] = b & 0x05;	/* SERR#, INTx disable */
		else if (o == 0x0c || o == 0x0d || o == PCI_INTERRUPT_LINE)
			dev->cfg[o] = b;
	}
	if (off <= PCI_COMMAND + 1 && off + size > PCI_COMMAND)
		pci_update_mappings(dev);
}

static struct pci_dev *pci_cfg_target(struct pci_bus *bus, unsigned *off)
{
	uint32_t a = bus->cf8;
	unsigned busno = (a >> 16) & 0xff, slot = (a >> 11) & 0x1f, func = (a >> 8) & 7;

	if (!(a & PCI_CF8_ENABLE) || busno != 0)
		return NULL;
	*off = a & 0xfc;
	return bus->dev[slot][func];
}

static uint64_t pci_cfg_addr_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	uint32_t v;

	pthread_mutex_lock(&bus->lock);
	v = bus->cf8;
	pthread_mutex_unlock(&bus->lock);
	/* Only whole-dword accesses hit the latch; others see nothing. */
	return size == 4 && off == 0 ? v : 0xffffffffu;
}

static void pci_cfg_addr_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct pci_bus *bus = opaque;

	if (size != 4 || off != 0)
		return;
	pthread_mutex_lock(&bus->lock);
	bus->cf8 = (uint32_t)val & 0x80fffffc;
	pthread_mutex_unlock(&bus->lock);
}

static uint64_t pci_cfg_data_read(void *opaque, uint64_t port_off, unsigned size)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *dev;
	unsigned off = 0;
	uint32_t v = 0xffffffffu;

	pthread_mutex_lock(&bus->lock);
	dev = pci_cfg_target(bus, &off);
	off += (unsigned)port_off;
	if (dev && off + size <= PCI_CFG_SIZE &&
	    !(dev->emu->cfg_read && dev->emu->cfg_read(dev, off, size, &v)))
		v = cfg_get(dev, off, size);
	pthread_mutex_unlock(&bus->lock);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void pci_cfg_data_write(void *opaque, uint64_t port_off, unsigned size, uint64_t val)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *dev;
	unsigned off = 0;

	pthread_mutex_lock(&bus->lock);
	dev = pci_cfg_target(bus, &off);
	off += (unsigned)port_off;
	if (dev && off + size <= PCI_CFG_SIZE &&
	    !(dev->emu->cfg_write && dev->emu->cfg_write(dev, off, size, (uint32_t)val)) &&
	    off < 0x40) {
		pci_header_write(dev, off, size, (uint32_t)val);
		if (dev->emu->cfg_written)
			dev->emu->cfg_written(dev, off, size);
	}
	pthread_mutex_unlock(&bus->lock);
}

const struct io_ops pci_cfg_addr_ops = {
	.name = "pci-cfg-addr", .read = pci_cfg_addr_read, .write = pci_cfg_addr_write,
};

const struct io_ops pci_cfg_data_ops = {
	.name = "pci-cfg-data", .read = pci_cfg_data_read, .write = pci_cfg_data_write,
};

struct populate_ctx {
	struct pci_bus *bus;
	struct config *cfg;
	char *err;
	size_t errlen;
	const char *level;		/* "bus", "slot" or "func" */
	unsigned busno, slot;
};

static int parse_index(const char *name, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (name[0] < '0' || name[0] > '9')
		return -EINVAL;
	v = strtoul(name, &end, 10);
	if (*end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int pci_add_function(struct populate_ctx *c, unsigned func)
{
	char path[48], var[64];
	const char *name;
	const struct pci_devemu *emu;
	struct pci_dev *dev;
	int err;

	snprintf(path, sizeof(path), "pci.%u.%u.%u", c->busno, c->slot, func);
	snprintf(var, sizeof(var), "%s.device", path);
	name = config_get(c->cfg, var);
	if (!name) {
		snprintf(c->err, c->errlen, "%s: no device= given", path);
		return -EINVAL;
	}
	emu = pci_emul_find(name);
	if (!emu) {
		snprintf(c->err, c->errlen, "%s: unknown device \"%s\"", path, name);
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->bus = c->bus;
	dev->emu = emu;
	dev->slot = (uint8_t)c->slot;
	dev->func = (uint8_t)func;
	err = emu->init(dev, c->cfg, path, c->err, c->errlen);
	if (err) {
		free(dev);
		return err;
	}
	c->bus->dev[c->slot][func] = dev;
	return 0;
}

static int populate_visit(void *opaque, const char *name, const char *value,
			  struct config_node *child)
{
	struct populate_ctx *c = opaque;
	unsigned idx;
	int err;

	if (!child)
		return 0;	/* stray variables at these levels are ignored, as bhyve */
	if (!strcmp(c->level, "bus")) {
		if (parse_index(name, 255, &idx)) {
			snprintf(c->err, c->errlen, "pci.%s: bad bus number", name);
			return -EINVAL;
		}
		if (idx != 0) {
			snprintf(c->err, c->errlen, "pci.%s: only PCI bus 0 exists in khyve", name);
			return -EINVAL;
		}
		c->busno = idx;
		c->level = "slot";
		err = config_node_foreach(c->cfg, child, populate_visit, c);
		c->level = "bus";
		return err;
	}
	if (!strcmp(c->level, "slot")) {
		if (parse_index(name, PCI_SLOTS - 1, &idx)) {
			snprintf(c->err, c->errlen, "pci.%u.%s: bad slot number (0-31)", c->busno, name);
			return -EINVAL;
		}
		c->slot = idx;
		c->level = "func";
		err = config_node_foreach(c->cfg, child, populate_visit, c);
		c->level = "slot";
		return err;
	}
	if (parse_index(name, PCI_FUNCS - 1, &idx)) {
		snprintf(c->err, c->errlen, "pci.%u.%u.%s: bad function number (0-7)",
			 c->busno, c->slot, name);
		return -EINVAL;
	}
	return pci_add_function(c, idx);
}

/* A multi-function slot must say so in function 0's header type. */
static void pci_mark_multifunction(struct pci_bus *bus)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		unsigned n = 0;

		for (unsigned f = 0; f < PCI_FUNCS; f++)
			n += bus->dev[s][f] != NULL;
		if (n > 1 && bus->dev[s][0])
			bus->dev[s][0]->cfg[PCI_HEADER_TYPE] |= 0x80;
	}
}

int pci_bus_populate(struct pci_bus *bus, struct config *cfg, char *err, size_t errlen)
{
	struct populate_ctx c = { .bus = bus, .cfg = cfg, .err = err, .errlen = errlen,
				  .level = "bus" };
	struct config_node *root = config_find_node(cfg, "pci");
	int rc;

	if (!root)
		return 0;
	rc = config_node_foreach(cfg, root, populate_visit, &c);
	if (rc)
		return rc;
	for (unsigned f = 1; f < PCI_FUNCS; f++)
		for (unsigned s = 0; s < PCI_SLOTS; s++)
			if (bus->dev[s][f] && !bus->dev[s][0]) {
				snprintf(err, errlen, "pci.0.%u.%u: function %u needs a function 0 in slot %u",
					 s, f, f, s);
				return -EINVAL;
			}
	pci_mark_multifunction(bus);
	return 0;
}

/* ---- checkpoint ---- */

#define PCI_SECTION_VERSION	1

static void section_name(const struct pci_dev *dev, char *buf, size_t len)
{
	snprintf(buf, len, "pci.0.%u.%u", dev->slot, dev->func);
}

const struct pci_dev *pci_bus_unsaveable(struct pci_bus *bus)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			const struct pci_dev *dev = bus->dev[s][f];

			if (dev && !dev->emu->stateless && !(dev->emu->save && dev->emu->restore))
				return dev;
		}
	return NULL;
}

void pci_bus_pause(struct pci_bus *bus)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			struct pci_dev *dev = bus->dev[s][f];

			if (dev && dev->emu->pause)
				dev->emu->pause(dev);
		}
}

void pci_bus_resume(struct pci_bus *bus)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			struct pci_dev *dev = bus->dev[s][f];

			if (dev && dev->emu->resume)
				dev->emu->resume(dev);
		}
}

void pci_bus_save(struct pci_bus *bus, struct snap_writer *w)
{
	char name[SNAP_NAME_MAX];

	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			struct pci_dev *dev = bus->dev[s][f];

			if (!dev)
				continue;
			section_name(dev, name, sizeof(name));
			snap_begin(w, name, PCI_SECTION_VERSION);
			pthread_mutex_lock(&bus->lock);
			snap_put(w, dev->cfg, sizeof(dev->cfg));
			for (unsigned i = 0; i < PCI_BARS; i++)
				snap_put_u64(w, dev->bar[i].addr);
			pthread_mutex_unlock(&bus->lock);
			if (dev->emu->save)
				dev->emu->save(dev, w);
			snap_end(w);
		}
}

/* The bytes that say which device this is: IDs, class, header type,
 * subsystem.  A checkpoint restores into the same device only. */
static bool same_device(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, 4) && !memcmp(a + 8, b + 8, 4) &&
	       (a[PCI_HEADER_TYPE] & 0x7f) == (b[PCI_HEADER_TYPE] & 0x7f) &&
	       !memcmp(a + 0x2c, b + 0x2c, 4);
}

static bool bar_fits(const struct pci_bar *b, uint64_t addr)
{
	if (b->type == PCI_BAR_NONE)
		return addr == 0;
	if (addr & (b->size - 1))
		return false;
	if (b->type == PCI_BAR_IO)
		return addr <= 0xffff && addr + b->size <= 0x10000;
	if (b->type == PCI_BAR_MEM32)
		return addr + b->size <= (1ull << 32);
	return addr <= UINT64_MAX - b->size;
}

static void apply_config(struct pci_dev *dev, const uint8_t *cfg, const uint64_t *bars)
{
	pthread_mutex_lock(&dev->bus->lock);
	for (unsigned i = 0; i < PCI_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];

		if (b->mapped)
			io_bus_remove(bar_bus(dev, b), b->addr);
		b->mapped = false;
		b->addr = bars[i];
	}
	memcpy(dev->cfg, cfg, PCI_CFG_SIZE);
	pci_update_mappings(dev);
	pthread_mutex_unlock(&dev->bus->lock);
}

static int restore_function(struct pci_dev *dev, const struct snap_section *sec,
			    const char *name, char *err, size_t errlen)
{
	uint8_t cfg[PCI_CFG_SIZE];
	uint64_t bars[PCI_BARS];
	struct snap_cursor c;
	int rc = 0;

	if (sec->version != PCI_SECTION_VERSION) {
		snprintf(err, errlen, "section %s has version %u, this khyve reads %u", name,
			 sec->version, PCI_SECTION_VERSION);
		return -EPROTO;
	}
	snap_cursor_init(&c, sec);
	snap_get(&c, cfg, sizeof(cfg));
	for (unsigned i = 0; i < PCI_BARS; i++)
		bars[i] = snap_get_u64(&c);
	if (c.bad) {
		snprintf(err, errlen, "section %s is too short", name);
		return -EPROTO;
	}
	if (!same_device(cfg, dev->cfg)) {
		snprintf(err, errlen, "section %s holds another device than the %s configured",
			 name, dev->emu->name);
		return -EPROTO;
	}
	for (unsigned i = 0; i < PCI_BARS; i++)
		if (!bar_fits(&dev->bar[i], bars[i])) {
			snprintf(err, errlen, "section %s: BAR %u at 0x%llx does not fit it", name,
				 i, (unsigned long long)bars[i]);
			return -EPROTO;
		}
	apply_config(dev, cfg, bars);
	if (dev->emu->restore)
		rc = dev->emu->restore(dev, &c, err, errlen);
	if (rc == 0 && !snap_cursor_done(&c)) {
		snprintf(err, errlen, "section %s has the wrong size", name);
		rc = -EPROTO;
	}
	return rc;
}

/* A pci.* section without a function here: the devices differ. */
static int check_no_extra(struct pci_bus *bus, const struct snap_file *f, char *err,
			  size_t errlen)
{
	for (unsigned i = 0; i < f->n; i++) {
		unsigned s, fn;
		int end = 0;

		if (strncmp(f->sec[i].name, "pci.", 4))
			continue;
		if (sscanf(f->sec[i].name, "pci.0.%u.%u%n", &s, &fn, &end) != 2 ||
		    f->sec[i].name[end] || s >= PCI_SLOTS || fn >= PCI_FUNCS || !bus->dev[s][fn]) {
			snprintf(err, errlen, "section %s: no such PCI function is configured",
				 f->sec[i].name);
			return -EPROTO;
		}
	}
	return 0;
}

int pci_bus_restore(struct pci_bus *bus, const struct snap_file *f, char *err, size_t errlen)
{
	char name[SNAP_NAME_MAX];
	int rc = check_no_extra(bus, f, err, errlen);

	for (unsigned s = 0; rc == 0 && s < PCI_SLOTS; s++)
		for (unsigned fn = 0; rc == 0 && fn < PCI_FUNCS; fn++) {
			struct pci_dev *dev = bus->dev[s][fn];
			const struct snap_section *sec;

			if (!dev)
				continue;
			section_name(dev, name, sizeof(name));
			sec = snap_find(f, name);
			if (!sec) {
				snprintf(err, errlen, "the checkpoint has no %s (%s): the devices "
					 "differ", name, dev->emu->name);
				return -EPROTO;
			}
			rc = restore_function(dev, sec, name, err, errlen);
		}
	return rc;
}

