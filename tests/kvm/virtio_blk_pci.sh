#!/usr/bin/env bash
# -s 5,virtio-blk,IMG puts a modern virtio disk (1af4:1042, class 01:80) in
# slot 5 (the slot the pci guest probes), seen by its PCI scan; the VM exits
# cleanly with its I/O thread and backend, and the image is untouched by a
# guest that never drives it.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest pci
img=$(mktemp "${TMPDIR:-/tmp}/khyve-kvm-blk.XXXXXX")
trap 'rm -f "$img"' EXIT
head -c 65536 /dev/urandom > "$img"
sum=$(md5sum < "$img")
vm_args pci -s 5,virtio-blk,"$img" -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^pci 00:05.0 vendor=1af4 device=1042 class=018000$'
[ "$(md5sum < "$img")" = "$sum" ] || fail "the image changed"
pass
