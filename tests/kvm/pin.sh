#!/usr/bin/env bash
# -p vcpu:hostcpu pins a vCPU thread; a host CPU that does not exist is
# refused before the VM is created (exit 4, one line).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest hello

vm_args hello -p 0:0 -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^hello from khyve guest$'

bad=$(( $(nproc --all) + 7 ))
vm_args hello -p 0:$bad -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 4
[ "$(wc -l <"$ERR")" = 1 ] || fail "want one line on stderr"
grep -q "cpuset" "$ERR" || fail "stderr does not name the cpuset"
pass
