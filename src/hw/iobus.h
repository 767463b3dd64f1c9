/* Port-I/O and MMIO buses: address ranges -> device ops tables. */
#ifndef KHYVE_IOBUS_H
#define KHYVE_IOBUS_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

/* A device's register window.  offset is relative to the registered base,
 * size is 1, 2, 4 or 8.  Reads return the value zero-extended. */
struct io_ops {
	const char *name;
	uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

struct io_range {
	uint64_t base, len;
	const struct io_ops *ops;
	void *dev;
};

struct io_bus {
	const char *name;		/* "pio" / "mmio", for messages */
	pthread_rwlock_t lock;
	struct io_range *ranges;	/* sorted by base, non-overlapping */
	unsigned nranges, cap;
};

int io_bus_init(struct io_bus *bus, const char *name);
void io_bus_destroy(struct io_bus *bus);
/* -EEXIST if [base, base+len) overlaps a registered range, -EINVAL on len 0
 * or wrap-around. */
int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
	       const struct io_ops *ops, void *dev);
/* Removes the range starting exactly at base; -ENOENT if none. */
int io_bus_remove(struct io_bus *bus, uint64_t base);
/* Dispatches one access; -ENOENT if no device claims every byte of it.
 * On read *value is filled. */
int io_bus_access(struct io_bus *bus, uint64_t addr, unsigned size,
		  bool is_write, uint64_t *value);

#endif
