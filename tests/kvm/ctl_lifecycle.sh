#!/usr/bin/env bash
# A named VM through its life: listed while it runs; its name refused to a
# second khyve; force-reset exits 0, force-poweroff 1, destroy 4; garbage
# on the socket is survived; after each end the run directory is empty.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest echo
mkfifo "$TMP/in"
exec 9<>"$TMP/in"		# stdin that never delivers a byte nor EOF
vm_args echo -l com1,stdio -o rundir="$RUNDIR"

# boot_and_end ACTION STATUS
boot_and_end() {
	STDIN=$TMP/in start_vm "${ARGS[@]}"
	wait_console 'echo: ready' || { wait_vm; fail "guest never printed 'echo: ready'"; }
	ctl "$1" >"$TMP/ctl.out" 2>&1 || { cat "$TMP/ctl.out"; fail "khyvectl $1 failed"; }
	wait_vm
	expect_status "$2"
	expect_rundir_empty
}

STDIN=$TMP/in start_vm "${ARGS[@]}"
wait_console 'echo: ready' || { wait_vm; fail "guest never printed 'echo: ready'"; }
"$KHYVECTL" --rundir="$RUNDIR" --list >"$TMP/list" 2>&1 || fail "--list failed: $(cat "$TMP/list")"
grep -qE "^$VM +$BGPID " "$TMP/list" || { cat "$TMP/list"; fail "--list lacks '$VM $BGPID'"; }
# The same name again: refused, and the first VM is untouched.
"$KHYVE" "${ARGS[@]}" </dev/null >"$TMP/second.out" 2>"$TMP/second.err"
[ $? = 4 ] || fail "a second khyve with the same name did not exit 4"
grep -q 'in use' "$TMP/second.err" || fail "second khyve: $(cat "$TMP/second.err")"
# Garbage of every kind on the socket: the VM keeps answering.
python3 - "$RUNDIR/$VM" <<'PY' || fail "garbage client failed"
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1]); s.settimeout(5); return s
for junk in [b"", b"x", b"GET / HTTP/1.0\r\n\r\n", bytes(16), bytes(65536),
             struct.pack('<IHHII', 0x5659484b, 9, 1, 1, 0),            # version
             struct.pack('<IHHII', 0x5659484b, 1, 0x7777, 1, 0),       # type
             struct.pack('<IHHII', 0x5659484b, 1, 7, 1, 100)]:         # length
    s = conn()
    try:
        s.send(junk)
        s.recv(65536)
    except OSError:
        pass
    s.close()
s = conn(); s.close()                      # connect and vanish
PY
ctl --get-vm-pid >"$TMP/pid" 2>&1 || fail "--get-vm-pid after garbage: $(cat "$TMP/pid")"
[ "$(cat "$TMP/pid")" = "$BGPID" ] || fail "--get-vm-pid printed '$(cat "$TMP/pid")', not $BGPID"
ctl --force-reset >/dev/null 2>&1 || fail "--force-reset failed"
wait_vm
expect_status 0
expect_rundir_empty
boot_and_end --force-poweroff 1
boot_and_end --destroy 4
exec 9>&-
pass
