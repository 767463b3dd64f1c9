/* virtio-blk (virtio device id 2) on a blockif backend. */
#ifndef KHYVE_VIRTIO_BLK_H
#define KHYVE_VIRTIO_BLK_H

#include "hw/blockif.h"
#include "hw/pci.h"

extern const struct pci_devemu virtio_blk_emu;

/* The disk's counters (for blockstats); -ENODEV if dev is not virtio-blk. */
int virtio_blk_stats(struct pci_dev *dev, struct blockif_stats *out);

#endif
