#!/usr/bin/env bash
# kill -9 of khyve (and, with -M, of its monitor and VM process): the VM's
# registry entry and socket go at once (the khyve-reaper removes them) and
# the name is free.  With the reaper killed as well, the first use of the
# registry (khyvectl --list) removes what is left.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest echo
mkfifo "$TMP/in"
exec 9<>"$TMP/in"

# vm_pids: khyve and, with -M, its VM process (not the reaper).
vm_pids() {
	echo "$BGPID $(pgrep -x -P "$BGPID" khyve | tr '\n' ' ')"
}

for mode in plain monitor reaper-too; do
	extra=()
	[ $mode = monitor ] && extra=(-M)
	vm_args echo -l com1,stdio -o rundir="$RUNDIR" "${extra[@]}"
	STDIN=$TMP/in start_vm "${ARGS[@]}"
	wait_console 'echo: ready' || { wait_vm; fail "$mode: guest never ready"; }
	[ -S "$RUNDIR/$VM" ] || fail "$mode: no control socket"
	pids=$(vm_pids)
	[ $mode = reaper-too ] && pids="$pids $(pgrep -P "$BGPID" -x khyve-reaper | tr '\n' ' ')"
	kill -KILL $pids
	wait "$BGPID" 2>/dev/null; BGPID=
	if [ $mode = reaper-too ]; then
		"$KHYVECTL" --rundir="$RUNDIR" --list >"$TMP/list" 2>&1 ||
			fail "$mode: --list failed: $(cat "$TMP/list")"
		grep -q "$VM" "$TMP/list" && fail "$mode: --list still shows the killed VM"
	fi
	for _ in $(seq 50); do
		[ -z "$(ls -A "$RUNDIR" | grep -v '^\.registry$')" ] && break
		sleep 0.1
	done
	expect_rundir_empty
	# The name is free at once.
	STDIN=$TMP/in start_vm "${ARGS[@]}"
	wait_console 'echo: ready' || { wait_vm; fail "$mode: the name was not reusable"; }
	ctl --force-poweroff >/dev/null 2>&1 || fail "$mode: --force-poweroff failed"
	wait_vm
	expect_status 1
	expect_rundir_empty
	: > "$OUT"
done
exec 9>&-
pass
