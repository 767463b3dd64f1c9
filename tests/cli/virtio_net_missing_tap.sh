#!/usr/bin/env bash
# -s N,virtio-net,TAP with no such interface: khyve never creates a tap, it
# says in one line how to create one, before /dev/kvm is touched.
. "$(dirname "$0")/common.inc"
guest=$ROOT/build/guest/hello.elf
[ -f "$guest" ] || skip "guest hello.elf not built (make guests)"
tap=khyvenotap0
[ -e "/sys/class/net/$tap" ] && skip "an interface named $tap exists here"
expect_error "$tap: no such tap; create it first: ip tuntap add dev $tap mode tap user [^ ]+ && ip link set $tap up" \
	-m 64M -s 0,hostbridge -s 3,virtio-net,$tap -o "boot.kernel=$guest" testvm
# tap=NAME names a tap too, and -o backend= is the same variable.
expect_error "$tap: no such tap; create it first" \
	-m 64M -s 0,hostbridge -s 3,virtio-net,mtu=9000,tap=$tap -o "boot.kernel=$guest" testvm
expect_error "pci.0.3.0: virtio-net: $tap: no such tap" \
	-m 64M -s 0,hostbridge -o pci.0.3.0.device=virtio-net -o pci.0.3.0.backend=$tap \
	-o "boot.kernel=$guest" testvm
# An interface that is not a tap (the loopback) is named as such.
expect_error 'lo: not a tap device' \
	-m 64M -s 0,hostbridge -s 3,virtio-net,lo -o "boot.kernel=$guest" testvm
pass
