#include "hw/iobus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose end lies beyond addr. */
static unsigned io_bus_lower(const struct io_bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nranges;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int io_bus_grow(struct io_bus *bus)
{
	unsigned cap = bus->cap ? bus->cap * 2 : 16;
	struct io_range *n = realloc(bus->ranges, cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	bus->ranges = n;
	bus->cap = cap;
	return 0;
}

int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
	       const struct io_ops *ops, void *dev)
{
	unsigned i;
	int err = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = io_bus_lower(bus, base);
	if (i < bus->nranges && bus->ranges[i].base < base + len)
		err = -EEXIST;
	else if (bus->nranges == bus->cap)
		err = io_bus_grow(bus);
	if (!err) {
		memmove(&bus->ranges[i + 1], &bus->ranges[i],
			(bus->nranges - i) * sizeof(bus->ranges[0]));
		bus->ranges[i] = (struct io_range){ base, len, ops, dev };
		bus->nranges++;
	}
	pthread_rwlock_unlock(&bus->lock);
	return err;
}

int io_bus_remove(struct io_bus *bus, uint64_t base)
{
	unsigned i;
	int err = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = io_bus_lower(bus, base);
	if (i < bus->nranges && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nranges--;
		err = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return err;
}

int io_bus_access(struct io_bus *bus, uint64_t addr, unsigned size,
		  bool is_write, uint64_t *value)
{
	const struct io_range *r = NULL;
	struct io_range found;
	unsigned i;

	pthread_rwlock_rdlock(&bus->lock);
	i = io_bus_lower(bus, addr);
	if (i < bus->nranges) {
		r = &bus->ranges[i];
		/* The whole access must fall inside one device's window. */
		if (addr < r->base || addr + size > r->base + r->len)
			r = NULL;
		else
			found = *r;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r)
		return -ENOENT;
	if (is_write) {
		if (found.ops->write)
			found.ops->write(found.dev, addr - found.base, size, *value);
	} else {
		*value = found.ops->read ? found.ops->read(found.dev, addr - found.base, size) : 0;
	}
	return 0;
}
