#!/usr/bin/env bash
# -s N,virtio-net,tapfd=N (a tap descriptor a manager passes): a number
# that is no descriptor, not a number, or a descriptor that is no tap is
# refused in one line naming it.
. "$(dirname "$0")/common.inc"
guest=$ROOT/build/guest/hello.elf
[ -f "$guest" ] || skip "guest hello.elf not built (make guests)"
expect_error 'tapfd=99: no such open descriptor' \
	-m 64M -s 0,hostbridge -s 3,virtio-net,tapfd=99 -o "boot.kernel=$guest" testvm
expect_error 'tapfd=x: want the number of an inherited descriptor' \
	-m 64M -s 0,hostbridge -s 3,virtio-net,tapfd=x -o "boot.kernel=$guest" testvm
expect_error 'tapfd=1: want the number of an inherited descriptor' \
	-m 64M -s 0,hostbridge -s 3,virtio-net,tapfd=1 -o "boot.kernel=$guest" testvm
exec 7</dev/null
expect_error 'tapfd=7: not a tun/tap descriptor' \
	-m 64M -s 0,hostbridge -s 3,virtio-net,tapfd=7,mac=52:54:00:00:00:01 -o "boot.kernel=$guest" testvm
pass
