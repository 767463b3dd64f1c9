/* virtio-net (virtio device id 1) on a network backend (hw/tap.h). */
#ifndef KHYVE_VIRTIO_NET_H
#define KHYVE_VIRTIO_NET_H

#include <stdint.h>

#include "hw/pci.h"

struct config;
struct netbe;

extern const struct pci_devemu virtio_net_emu;

/* Counters since the device was created (for domifstat).  Bytes are
 * Ethernet frame bytes, without the virtio header.  errors: frames the
 * guest or the backend got wrong (too short, too long, refused by the
 * backend); dropped: good frames with nowhere to go (no room in the
 * guest's buffers, the backend full, offloads the guest did not accept). */
struct virtio_net_stats {
	uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped;	/* to the guest */
	uint64_t tx_packets, tx_bytes, tx_errors, tx_dropped;	/* from the guest */
};

/* 0, or -ENODEV if dev is not a virtio-net device. */
int virtio_net_stats(struct pci_dev *dev, struct virtio_net_stats *out);

/* virtio_net_emu.init with a backend of the caller's instead of the
 * node's "backend" (tests, fuzzers); be is the device's from now on, also
 * on failure.  dev->emu must be &virtio_net_emu so destroy finds it. */
int virtio_net_init_backend(struct pci_dev *dev, struct config *cfg, const char *node,
			    struct netbe *be, char *err, size_t errlen);

/* Waits until the I/O thread is idle: every kick and every frame waiting
 * on the backend before the call has been handled (or waits for receive
 * buffers the guest has not posted).  For checkpoints and tests. */
int virtio_net_drain(struct pci_dev *dev);

#endif
