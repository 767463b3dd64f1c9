#!/usr/bin/env bash
# 0x06 to the reset control register 0xCF9 -> exit 0 (reset).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest reset_cf9
vm_args reset_cf9 -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 0
expect_console '^reset_cf9: resetting via 0xcf9$'
expect_no_console 'still running'
pass
