#!/usr/bin/env bash
# -l com1,unix=PATH: khyve listens on a Unix socket; a client connects, sends
# a line, reads it back upper-cased; the guest powers off (exit 1) and khyve
# removes the socket file.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo
sock=$TMP/console.sock
vm_args echo -l "com1,unix=$sock"
start_vm "${ARGS[@]}"
python3 - "$sock" >"$TMP/client" 2>&1 <<'PY'
import socket, sys, time
path = sys.argv[1]
deadline = time.time() + 30
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        break
    except (FileNotFoundError, ConnectionRefusedError):
        s.close()
        if time.time() > deadline:
            sys.exit("client: %s never accepted a connection" % path)
        time.sleep(0.05)
s.settimeout(30)
s.sendall(b"hello unix\n")
buf = b""
try:
    while b"echo: done" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
except socket.timeout:
    print("client: timed out")
sys.stdout.write(buf.decode("latin-1"))
PY
crc=$?
wait_vm
cat "$TMP/client" >>"$OUT"
[ "$crc" -eq 0 ] || fail "socket client failed (status $crc)"
expect_status 1
expect_console '^HELLO UNIX$'
expect_console '^echo: done$'
[ ! -e "$sock" ] || fail "khyve left $sock behind after exit"
pass
