#!/usr/bin/env bash
# Two vCPUs (the AP waits for INIT/SIPI that never comes): the BSP's S5 still
# powers the VM off -> exit 1.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest hello
ARGS=(-c 2 -m 64M -s 0,hostbridge -s 31,lpc -l com1,stdio -o "boot.kernel=$GUESTS/hello.elf" "$VM")
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^hello from khyve guest$'
pass
