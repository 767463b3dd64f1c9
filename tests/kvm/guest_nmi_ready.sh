#!/usr/bin/env bash
# The nmi guest (for khyvectl --inject-nmi tests): it loads its IDT, prints
# 'nmi: ready' and waits in an sti;hlt loop.  No NMI can be sent without the
# control socket, so check that it gets ready, keeps waiting (no halt exit
# 2: IF is set; no stray interrupt or exception), then SIGTERM it twice
# (it ignores the power button) -> exit 1 and no 'nmi N' line.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest nmi
vm_args nmi -l com1,stdio
start_vm "${ARGS[@]}"
for _ in $(seq 300); do
	grep -q 'nmi: ready' "$OUT" 2>/dev/null && break
	kill -0 "$BGPID" 2>/dev/null || break
	sleep 0.1
done
grep -q 'nmi: ready' "$OUT" || { wait_vm; fail "guest never printed 'nmi: ready'"; }
# khyve looks for "every vCPU in hlt with IF clear" every 250 ms.
sleep 0.7
kill -0 "$BGPID" 2>/dev/null || { wait_vm; fail "khyve exited while the guest waited for NMIs"; }
kpid=$BGPID
kill -TERM "$kpid"
for _ in $(seq 50); do
	grep -q 'pressing the ACPI power button' "$ERR" 2>/dev/null && break
	sleep 0.1
done
kill -0 "$kpid" 2>/dev/null && kill -TERM "$kpid"
wait_vm
expect_status 1
expect_console '^nmi: ready$'
expect_no_console '^nmi [0-9]'
expect_no_console 'unexpected|no handler'
pass
