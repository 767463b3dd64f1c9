#!/usr/bin/env bash
# Console input from a pipe on stdin (-l com1,stdio): the echo guest reads
# COM1 and echoes upper-cased until '\n' (first run) or 'q' (second run,
# the rest of the input is never read) -> exit 1.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo
vm_args echo -l com1,stdio
printf 'hello stdio\n' >"$TMP/in1"
run_vm_pipe() {	# like run_vm, stdin a pipe from $1
	LAST_ARGS="$* (stdin: pipe)"
	local f=$1
	shift
	cat "$f" | timeout -k 5 "$TIMEOUT" "$KHYVE" "$@" >"$OUT" 2>"$ERR"
	RC=${PIPESTATUS[1]}
	[ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "khyve did not exit within ${TIMEOUT}s"
	check_sanitizers
	check_no_control_socket
}
run_vm_pipe "$TMP/in1" "${ARGS[@]}"
expect_status 1
expect_console '^echo: ready$'
expect_console '^HELLO STDIO$'
expect_console '^echo: done$'
printf 'abcq-not-read\n' >"$TMP/in2"
run_vm_pipe "$TMP/in2" "${ARGS[@]}"
expect_status 1
expect_console '^ABCQ$'
expect_no_console 'NOT-READ'
pass
