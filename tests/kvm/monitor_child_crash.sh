#!/usr/bin/env bash
# Monitor mode survives its VM process: when the child dies of a signal
# the monitor reports it in one line and exits 4, leaving nothing in the
# run directory; SIGTERM to the monitor reaches the guest (power button).
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest echo
mkfifo "$TMP/in"
exec 9<>"$TMP/in"
vm_args echo -l com1,stdio -M -o rundir="$RUNDIR"
STDIN=$TMP/in start_vm "${ARGS[@]}"
wait_console 'echo: ready' || { wait_vm; fail "guest never ready"; }
child=$(ctl --get-vm-pid) || fail "--get-vm-pid failed"
[ "$child" != "$BGPID" ] || fail "no separate VM process"
kill -KILL "$child"		# a crash ASan would not intercept
wait_vm
expect_status 4
grep -q 'died of signal 9' "$ERR" || fail "the monitor did not report the crash"
expect_rundir_empty
# Signals sent to the monitor are the guest's: the echo guest ignores the
# power button, so the second SIGTERM forces poweroff.
: > "$OUT"
STDIN=$TMP/in start_vm "${ARGS[@]}"
wait_console 'echo: ready' || { wait_vm; fail "guest never ready (2)"; }
kill -TERM "$BGPID"; sleep 0.5; kill -TERM "$BGPID"
wait_vm
expect_status 1
expect_rundir_empty
exec 9>&-
pass
