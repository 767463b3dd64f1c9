/* PCI bus 0 with configuration mechanism #1 (0xCF8/0xCFC), devices as
 * emulation ops tables (bhyve's pci_devemu). */
#ifndef KHYVE_PCI_H
#define KHYVE_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>

#include "hw/iobus.h"
#include "hw/platform.h"

struct config;
struct pci_bus;
struct pci_dev;
struct snap_writer;
struct snap_cursor;
struct snap_file;

#define PCI_SLOTS	32
#define PCI_FUNCS	8
#define PCI_CFG_SIZE	256
#define PCI_BARS	6

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;			/* power of two */
	uint64_t addr;			/* current guest address, 0 = unmapped */
	bool mapped;
	const struct io_ops *ops;	/* accesses are offset from the BAR base */
	void *dev;
};

/* One emulation ("-s slot,NAME,..."). */
struct pci_devemu {
	const char *name;
	const char *help;		/* one line for "-s help" */
	/* Turns the legacy "-s slot,name,OPTS" tail into variables under the
	 * device's node (nodepath = "pci.B.S.F").  NULL: the generic form
	 * "key=value,key,..." (a bare key means key=true), done by the caller. */
	int (*legacy_config)(struct config *cfg, const char *nodepath,
			     const char *opts, char *err, size_t errlen);
	/* Sets up dev (config header, BARs) from its config node. */
	int (*init)(struct pci_dev *dev, struct config *cfg, const char *nodepath,
		    char *err, size_t errlen);
	void (*destroy)(struct pci_dev *dev);
	/* Optional hooks for device-specific config registers (capabilities);
	 * return true when handled. */
	bool (*cfg_read)(struct pci_dev *dev, unsigned off, unsigned size, uint32_t *val);
	bool (*cfg_write)(struct pci_dev *dev, unsigned off, unsigned size, uint32_t val);
	/* Optional: after the bus applied a write to the standard header
	 * (command register bits such as INTx disable). */
	void (*cfg_written)(struct pci_dev *dev, unsigned off, unsigned size);
	/* Checkpoint.  The bus saves a function's config space and BAR
	 * addresses; save appends the emulation's own state to the same
	 * section and restore reads it back, after init from the same
	 * configuration, with the VM paused.  stateless: the config space is
	 * all there is.  An emulation with neither cannot be checkpointed
	 * yet: a checkpoint of a VM that has it is refused. */
	bool stateless;
	void (*save)(struct pci_dev *dev, struct snap_writer *w);
	int (*restore)(struct pci_dev *dev, struct snap_cursor *c, char *err, size_t errlen);
	/* Optional, around save with the vCPUs paused: pause finishes the
	 * I/O the device has in flight and stops its own threads touching
	 * guest memory, resume lets them go on.  A device without them does
	 * its work on vCPU or event-loop threads only. */
	void (*pause)(struct pci_dev *dev);
	void (*resume)(struct pci_dev *dev);
};

struct pci_dev {
	struct pci_bus *bus;
	const struct pci_devemu *emu;
	uint8_t slot, func;
	uint8_t cfg[PCI_CFG_SIZE];
	struct pci_bar bar[PCI_BARS];
	void *priv;			/* the emulation's own state */
};

/* Registry of emulations built into this khyve. */
const struct pci_devemu *pci_emul_find(const char *name);
void pci_emul_list(FILE *out);

/* What device emulations need from the machine: guest memory (a host
 * pointer to [gpa, gpa+len) wholly inside guest RAM, else NULL) and
 * interrupts (MSI messages, legacy INTx lines by GSI). */
struct pci_platform {
	void *(*gpa)(void *opaque, uint64_t gpa, uint64_t len);
	int (*msi)(void *opaque, uint64_t addr, uint32_t data);
	void (*intx)(void *opaque, unsigned gsi, int level);
	void *opaque;
};

struct pci_bus {
	pthread_mutex_t lock;		/* config accesses and BAR moves */
	struct pci_platform platform;	/* set by the machine before populating */
	uint32_t cf8;			/* config address latch */
	struct pci_dev *dev[PCI_SLOTS][PCI_FUNCS];
	struct io_bus *pio, *mmio;	/* where BARs are mapped */
	uint64_t next_io, next_mmio32;	/* BAR allocation cursors */
	void *machine;			/* handed to devices that need it */
};

int pci_bus_init(struct pci_bus *bus, struct io_bus *pio, struct io_bus *mmio, void *machine);
void pci_bus_destroy(struct pci_bus *bus);
/* Creates every "pci.0.S.F" node of cfg (bus 0 only for now). */
int pci_bus_populate(struct pci_bus *bus, struct config *cfg, char *err, size_t errlen);
extern const struct io_ops pci_cfg_addr_ops, pci_cfg_data_ops;

/* Checkpoint of every function, one section "pci.B.S.F" each.
 * pci_bus_unsaveable: the first function whose emulation cannot be
 * checkpointed, NULL when all can.  pci_bus_pause/resume bracket
 * pci_bus_save and the writing of guest memory.  pci_bus_restore: every function must
 * find its section (the same device, BARs that fit) and every pci section
 * its function; 0, or -EPROTO with the reason in err. */
const struct pci_dev *pci_bus_unsaveable(struct pci_bus *bus);
void pci_bus_pause(struct pci_bus *bus);
void pci_bus_resume(struct pci_bus *bus);
void pci_bus_save(struct pci_bus *bus, struct snap_writer *w);
int pci_bus_restore(struct pci_bus *bus, const struct snap_file *f, char *err, size_t errlen);

/* Helpers for emulations. */
void pci_set_ids(struct pci_dev *dev, uint16_t vendor, uint16_t device,
		 uint8_t class, uint8_t subclass, uint8_t progif);
/* Declares BAR idx and allocates its address in the bus windows. */
int pci_bar_alloc(struct pci_dev *dev, unsigned idx, enum pci_bar_type type,
		  uint64_t size, const struct io_ops *ops, void *opaque);

static inline void pci_cfg_write16(struct pci_dev *d, unsigned off, uint16_t v)
{
	d->cfg[off] = v & 0xff;
	d->cfg[off + 1] = v >> 8;
}

static inline void pci_cfg_write32(struct pci_dev *d, unsigned off, uint32_t v)
{
	pci_cfg_write16(d, off, v & 0xffff);
	pci_cfg_write16(d, off + 2, v >> 16);
}

#endif
