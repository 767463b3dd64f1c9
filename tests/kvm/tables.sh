#!/usr/bin/env bash
# The guest finds the ACPI RSDP, the MP table and the SMBIOS entry point in
# the BIOS area with valid checksums; -Y leaves the MP table out.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest tables

vm_args tables -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^tables: rsdp ok at '
expect_console '^tables: mptable ok at '
expect_console '^tables: smbios ok at '

vm_args tables -Y -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^tables: rsdp ok at '
expect_console '^tables: mptable missing$'
expect_console '^tables: smbios ok at '
pass
