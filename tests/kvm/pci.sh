#!/usr/bin/env bash
# PCI config mechanism #1: hostbridge at 0:0.0 is 1275:1275 class 060000 and
# lpc at 0:31.0 is 8086:7000 class 060100 (as bhyve); an empty slot reads
# all ones.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest pci
vm_args pci -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^pci 00:00\.0 vendor=1275 device=1275 class=060000$'
expect_console '^pci 00:1f\.0 vendor=8086 device=7000 class=060100$'
expect_console '^pci 00:05\.0 vendor=ffff device=ffff class=ffffff$'
pass
