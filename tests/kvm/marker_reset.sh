#!/usr/bin/env bash
# The marker guest keeps a magic + boot counter at 16 MiB across reboots.
# Without monitor mode the 0xCF9 reset ends khyve (exit 0) after
# 'marker: set'; with -M the reboot re-creates the VM over the same memory,
# so the second boot finds the marker -> 'marker: found boot=2', exit 1.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest marker
vm_args marker -l com1,stdio -o monitor=false
run_vm "${ARGS[@]}"
expect_status 0
expect_console '^marker: set$'
expect_no_console 'marker: found|still running'

vm_args marker -M -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
[ "$(sed 's/\r$//' "$OUT" | grep '^marker: ' | tr '\n' '|')" = "marker: set|marker: found boot=2|" ] ||
	fail "monitor mode: expected 'marker: set' then 'marker: found boot=2'"
pass
