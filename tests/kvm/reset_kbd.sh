#!/usr/bin/env bash
# i8042 command 0xFE pulses reset -> exit 0 (reset).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest reset_kbd
vm_args reset_kbd -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 0
expect_console '^reset_kbd: resetting via i8042$'
expect_no_console 'still running'
pass
