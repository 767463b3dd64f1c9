#!/usr/bin/env bash
# -l com1,tcp=127.0.0.1:PORT: khyve listens on TCP; a client sends a line
# and reads it back upper-cased.  -l com1,file=PATH: the guest's output is
# appended to the file.  A port in use is refused in one line.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo hello
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
vm_args echo -l "com1,tcp=127.0.0.1:$port"
start_vm "${ARGS[@]}"
python3 - "$port" >"$TMP/client" 2>&1 <<'PY'
import socket, sys, time
deadline = time.time() + 30
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        break
    except ConnectionRefusedError:
        if time.time() > deadline:
            sys.exit("client: nobody accepted on port %s" % sys.argv[1])
        time.sleep(0.05)
s.settimeout(30)
s.sendall(b"hello tcp\n")
buf = b""
while b"echo: done" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode("latin-1"))
PY
crc=$?
wait_vm
cat "$TMP/client" >>"$OUT"
[ "$crc" -eq 0 ] || fail "tcp client failed (status $crc)"
expect_status 1
expect_console '^HELLO TCP$'

echo "earlier line" >"$TMP/console.log"
vm_args hello -l "com1,file=$TMP/console.log"
run_vm "${ARGS[@]}"
expect_status 1
[ "$(head -1 "$TMP/console.log")" = "earlier line" ] || fail "file= did not append"
grep -q '^hello from khyve guest' "$TMP/console.log" || fail "file= lacks the guest's output: $(cat "$TMP/console.log")"

# A fresh port another program listens on (the first one may be in TIME_WAIT).
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(30)' "$TMP/held" &
holder=$!
for _ in $(seq 50); do [ -s "$TMP/held" ] && break; sleep 0.1; done
port=$(cat "$TMP/held")
vm_args hello -l "com1,tcp=127.0.0.1:$port"
run_vm "${ARGS[@]}"
kill $holder
expect_status 4
grep -q "com1: tcp=127.0.0.1:$port: Address already in use" "$ERR" || fail "port in use: $(cat "$ERR")"
pass
