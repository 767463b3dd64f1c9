/* Config-space access through ports 0xCF8/0xCFC, as a guest does it: for
 * the PCI and virtio-pci tests. */
#ifndef KHYVE_PCITEST_H
#define KHYVE_PCITEST_H

#include <stdint.h>

#include "hw/iobus.h"
#include "hw/layout.h"

static inline void pcitest_select(struct io_bus *pio, unsigned slot, unsigned off)
{
	uint64_t a = 0x80000000u | slot << 11 | (off & 0xfc);

	io_bus_access(pio, LAYOUT_PCI_CONFIG_ADDR, 4, true, &a);
}

static inline uint32_t pcitest_cfg_read(struct io_bus *pio, unsigned slot, unsigned off,
					unsigned size)
{
	uint64_t v = 0;

	pcitest_select(pio, slot, off);
	io_bus_access(pio, LAYOUT_PCI_CONFIG_DATA + (off & 3), size, false, &v);
	return (uint32_t)v;
}

static inline void pcitest_cfg_write(struct io_bus *pio, unsigned slot, unsigned off,
				     unsigned size, uint32_t val)
{
	uint64_t v = val;

	pcitest_select(pio, slot, off);
	io_bus_access(pio, LAYOUT_PCI_CONFIG_DATA + (off & 3), size, true, &v);
}

#endif
