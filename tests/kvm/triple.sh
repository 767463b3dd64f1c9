#!/usr/bin/env bash
# ud2 with a zero-limit IDT: #UD -> #GP -> #DF -> triple fault -> exit 3.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest triple
vm_args triple -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 3
expect_console '^triple: faulting with an empty IDT$'
expect_no_console 'still running'
pass
