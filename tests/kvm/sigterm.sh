#!/usr/bin/env bash
# A guest that ignores the ACPI power button: the first SIGTERM presses it,
# the second forces poweroff -> exit 1, no sanitizer report, nothing left.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo
mkfifo "$TMP/in"
exec 9<>"$TMP/in"	# stdin that never delivers a byte nor EOF
vm_args echo -l com1,stdio
STDIN=$TMP/in start_vm "${ARGS[@]}"
for _ in $(seq 300); do
	grep -q 'echo: ready' "$OUT" 2>/dev/null && break
	kill -0 "$BGPID" 2>/dev/null || break
	sleep 0.1
done
grep -q 'echo: ready' "$OUT" || { wait_vm; fail "guest never printed 'echo: ready'"; }
kpid=$BGPID
kill -TERM "$kpid"
sleep 1
kill -0 "$kpid" 2>/dev/null && kill -TERM "$kpid"
wait_vm
exec 9>&-
expect_status 1
expect_no_console '^ECHO'
pass
