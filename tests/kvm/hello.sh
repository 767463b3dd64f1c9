#!/usr/bin/env bash
# ELF64 guest in long mode: prints a greeting and the segment/CR0 state of
# khyve's boot convention, then S5 through PM1a -> exit 1 (poweroff).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest hello
vm_args hello -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^hello from khyve guest$'
expect_console '^cs=0010 ds=0018 ss=0018 pe=1 pg=1$'
expect_no_console 'still running'
pass
