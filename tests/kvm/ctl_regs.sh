#!/usr/bin/env bash
# Registers and memory over the control socket: the values the regs guest
# loaded read back (get-rbx, get-r12, get-all); pause, set rbx and rip to
# its landing pad, resume: the guest prints the new rbx; read-mem returns
# its pattern; a bad register value or vCPU is refused.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest regs
vm_args regs -l com1,stdio -o rundir="$RUNDIR"
start_vm "${ARGS[@]}"
wait_console '^regs: ready rip=' || { wait_vm; fail "guest never printed 'regs: ready'"; }
spin=$(sed -n 's/^regs: ready rip=\(0x[0-9a-f]*\).*/\1/p' "$OUT" | tr -d '\r')
moved=$(sed -n 's/^regs: moved-at=\(0x[0-9a-f]*\).*/\1/p' "$OUT" | tr -d '\r')
# bhyvectl's format, "rip[0]		0x...": the value is the last field.
reg() { ctl "$@" | awk '{ print $NF }'; }
# The guest loads its values around the ready line: wait until it spins.
for _ in $(seq 50); do
	[ "$(reg --get-rip 2>/dev/null)" = "$spin" ] && break
	sleep 0.1
done
hexeq() { [ "$(printf '%d' "$1" 2>/dev/null)" = "$(printf '%d' "$2" 2>/dev/null)" ]; }
rip=$(reg --get-rip) || fail "--get-rip failed"
hexeq "$rip" "$spin" || fail "--get-rip is $rip, the guest spins at $spin"
rbx=$(reg --get-rbx) && hexeq "$rbx" 0x1111222233334444 || fail "--get-rbx: $rbx"
r12=$(reg --get-r12) && hexeq "$r12" 0x5555666677778888 || fail "--get-r12: $r12"
ctl --get-all >"$TMP/all" || fail "--get-all failed"
grep -qiE 'r15.*0xfedcba9876543210' "$TMP/all" || { cat "$TMP/all"; fail "--get-all lacks r15"; }
grep -qE '^cs\[0\][[:space:]]+0x0*10$' "$TMP/all" || { cat "$TMP/all"; fail "--get-all lacks cs 0x10"; }
ctl --get-all --json >"$TMP/all.json" || fail "--get-all --json failed"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/all.json" ||
	fail "--get-all --json is not JSON: $(head -c 300 "$TMP/all.json")"
ctl --read-mem=0x300000,16 >"$TMP/mem" || fail "--read-mem failed"
grep -qi '03 0a 11 18 1f 26 2d 34' "$TMP/mem" || { cat "$TMP/mem"; fail "--read-mem: wrong bytes"; }
ctl --read-mem=0xffffffff000,16 >"$TMP/bad" 2>&1 && fail "--read-mem outside RAM succeeded"
ctl --set-rip=zz >"$TMP/bad" 2>&1; [ $? = 2 ] || fail "--set-rip=zz not a usage error"
ctl --get-rip --cpu=3 >"$TMP/bad" 2>&1 && fail "--get-rip --cpu=3 succeeded on a 1-vCPU VM"
ctl --pause || fail "--pause failed"
ctl --set-rbx=0x42 || fail "--set-rbx failed"
ctl --set-rip="$moved" || fail "--set-rip failed"
ctl --resume || fail "--resume failed"
wait_vm
expect_status 1
expect_console '^regs: moved rbx=0x0000000000000042$'
expect_rundir_empty
pass
