#!/usr/bin/env bash
# cli; hlt on the only vCPU -> exit 2 (halt).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest halt
vm_args halt -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 2
expect_console '^halt: halting with interrupts off$'
pass
