#!/usr/bin/env bash
# mac= must be a unicast, non-zero xx:xx:xx:xx:xx:xx (bhyve's net_parsemac):
# anything else is refused in one line, while the options are parsed for
# -s, when the card is built (still before /dev/kvm) for -o.
. "$(dirname "$0")/common.inc"
for mac in 01:00:5e:00:00:01 00:00:00:00:00:00 52:54:00:12:34 52:54:00:12:34:567 \
	   52:54:00:12:34:zz 52-54-00-12-34-56 ''; do
	expect_error "virtio-net: invalid MAC address \"$mac\"" \
		-s 0,hostbridge -s 3,virtio-net,tap0,mac=$mac testvm
done
guest=$ROOT/build/guest/hello.elf
[ -f "$guest" ] || skip "guest hello.elf not built (make guests) for the -o case"
expect_error 'pci.0.3.0: virtio-net: invalid MAC address "ff:ff:ff:ff:ff:ff"' \
	-m 64M -s 0,hostbridge -o pci.0.3.0.device=virtio-net -o pci.0.3.0.backend=tap0 \
	-o pci.0.3.0.mac=ff:ff:ff:ff:ff:ff -o "boot.kernel=$guest" testvm
pass
