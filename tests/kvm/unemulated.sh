#!/usr/bin/env bash
# What khyve does not emulate: an unclaimed I/O port reads all ones, and is
# fatal with -e (exit 4, one line naming the port); an unknown MSR raises #GP
# (no IDT: triple fault, exit 3), and with -w reads 0 (exit 1).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest probe

vm_args probe -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 3
expect_console '^probe: port 0x1234 reads ff$'
expect_no_console 'probe: done'

vm_args probe -e -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 4
grep -q 'unemulated I/O port 0x1234' "$ERR" || fail "-e: stderr does not name port 0x1234"
expect_no_console 'unknown msr'

vm_args probe -w -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^probe: unknown msr reads 00000000$'
expect_console '^probe: done$'
pass
