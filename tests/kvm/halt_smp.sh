#!/usr/bin/env bash
# -c 2: the BSP halts with interrupts off and the AP was never started
# (no INIT/SIPI): the VM as a whole is halted -> exit 2, not a hang.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest halt
vm_args halt -c 2 -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 2
expect_console '^halt: halting with interrupts off$'
pass
