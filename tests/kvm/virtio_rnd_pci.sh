#!/usr/bin/env bash
# -s 5,virtio-rnd puts a modern virtio device (1af4:1044) in slot 5, seen
# by the guest's PCI scan; without it the slot is empty.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest pci
vm_args pci -s 5,virtio-rnd -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^pci 00:05.0 vendor=1af4 device=1044 class=ff0000$'
pass
