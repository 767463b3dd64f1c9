#!/usr/bin/env bash
# khyvectl --inject-nmi: three NMIs reach the guest's handler one by one
# ("nmi 1".."nmi 3"), get-stats counts them, an NMI for a vCPU that does
# not exist is refused in one line.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest nmi
vm_args nmi -l com1,stdio -o rundir="$RUNDIR"
start_vm "${ARGS[@]}"
wait_console '^nmi: ready' || { wait_vm; fail "guest never printed 'nmi: ready'"; }
ctl --inject-nmi --cpu=5 >"$TMP/bad" 2>&1 && fail "--inject-nmi --cpu=5 succeeded on a 1-vCPU VM"
[ "$(wc -l < "$TMP/bad")" = 1 ] && grep -q "$VM" "$TMP/bad" || fail "bad cpu: '$(cat "$TMP/bad")'"
for i in 1 2 3; do
	ctl --inject-nmi >"$TMP/ctl" 2>&1 || fail "--inject-nmi: $(cat "$TMP/ctl")"
	wait_console "^nmi $i\$" 10 || { wait_vm; fail "the guest did not report NMI $i"; }
	if [ $i = 2 ]; then
		n=$(ctl --get-stats | awk '$1 == "vcpu0.nmis" { print $2 }')
		[ "$n" = 2 ] || fail "--get-stats vcpu0.nmis is '$n', want 2"
	fi
done
wait_vm
expect_status 1
expect_console '^nmi: done$'
expect_no_console 'unexpected'
expect_rundir_empty
pass
