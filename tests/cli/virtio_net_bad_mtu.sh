#!/usr/bin/env bash
# mtu= takes bhyve's range, 46 (ETHERMIN) to 65535; anything else is refused
# in one line while the options are parsed.
. "$(dirname "$0")/common.inc"
for mtu in 45 0 65536 -1 1500x abc ''; do
	expect_error "virtio-net: invalid MTU \"$mtu\" \(want 46 to 65535\)" \
		-s 0,hostbridge -s 3,virtio-net,tap0,mtu=$mtu testvm
done
pass
