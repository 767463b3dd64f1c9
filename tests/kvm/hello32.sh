#!/usr/bin/env bash
# ELF32 guest in flat protected mode (paging off): greeting, segment/CR0
# state, then S5 -> exit 1.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest hello32
vm_args hello32 -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^hello from khyve guest \(32-bit\)$'
expect_console '^cs=0008 ds=0018 ss=0018 pe=1 pg=0$'
pass
