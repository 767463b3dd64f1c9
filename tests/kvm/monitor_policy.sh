#!/usr/bin/env bash
# The monitor's policy for a boot that ends (-o on_reboot / on_poweroff /
# on_crash = restart | destroy, libvirt's <on_*>): on_reboot=destroy ends
# khyve at the guest's reset; on_poweroff=restart boots again after a
# poweroff until destroyed; on_crash=restart boots again after a triple
# fault; restart without -M, or a value other than the two, is refused.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest marker triple
vm_args marker -M -l com1,stdio -o on_reboot=destroy
run_vm "${ARGS[@]}"
expect_status 0
[ "$(sed 's/\r$//' "$OUT" | grep -c '^marker: ')" = 1 ] || fail "on_reboot=destroy booted again"

vm_args marker -M -l com1,stdio -o on_poweroff=restart -o rundir="$RUNDIR"
start_vm "${ARGS[@]}"
wait_console '^marker: found boot=3$' || { wait_vm; fail "on_poweroff=restart: no third boot"; }
ctl --destroy >/dev/null 2>&1 || fail "khyvectl --destroy failed"
wait_vm
expect_status 4
expect_rundir_empty

vm_args triple -M -l com1,stdio -o on_crash=restart -o rundir="$RUNDIR"
start_vm "${ARGS[@]}"
for _ in $(seq 100); do
	[ "$(sed 's/\r$//' "$OUT" | grep -c '^triple: ')" -ge 2 ] && break
	sleep 0.1
done
[ "$(sed 's/\r$//' "$OUT" | grep -c '^triple: ')" -ge 2 ] || { ctl --destroy; wait_vm; fail "on_crash=restart: no second boot"; }
ctl --destroy >/dev/null 2>&1 || fail "khyvectl --destroy failed"
wait_vm
expect_status 4

vm_args marker -l com1,stdio -o monitor=false -o on_poweroff=restart
run_vm "${ARGS[@]}"
expect_status 4
grep -q 'on_poweroff=restart needs monitor mode (-M)' "$ERR" || fail "no -M: $(cat "$ERR")"
vm_args marker -M -l com1,stdio -o on_crash=preserve
run_vm "${ARGS[@]}"
expect_status 4
grep -q 'on_crash=preserve: want restart or destroy' "$ERR" || fail "bad value: $(cat "$ERR")"
pass
