#!/usr/bin/env bash
# -l com1,pty: khyve creates a pty and prints its path on stderr; a client
# opens it, sends text, reads it back upper-cased, then '\n' ends the guest
# -> exit 1.  The pty must be raw (no echo of guest output into the guest).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo
vm_args echo -l com1,pty
start_vm "${ARGS[@]}"
python3 - "$ERR" >"$TMP/client" 2>&1 <<'PY'
import os, re, select, sys, time, tty
errfile = sys.argv[1]
deadline = time.time() + 30
path = None
while path is None:
    try:
        m = re.search(r"/dev/pts/[0-9]+", open(errfile, errors="replace").read())
    except FileNotFoundError:
        m = None
    if m:
        path = m.group(0)
    elif time.time() > deadline:
        sys.exit("client: no /dev/pts/N path on khyve's stderr")
    else:
        time.sleep(0.05)
fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
# Linux drops a pty's unread input when the master closes, so the echo is
# read back while the VM still runs; only then does '\n' end the guest.
os.write(fd, b"hello pty")
buf = b""
end = time.time() + 30
sent_nl = False
while time.time() < end:
    if not sent_nl and b"HELLO PTY" in buf:
        os.write(fd, b"\n")
        sent_nl = True
    r, _, _ = select.select([fd], [], [], 1)
    if not r:
        continue
    try:
        d = os.read(fd, 4096)
    except OSError:  # EIO: khyve closed the master
        break
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode("latin-1"))
PY
crc=$?
wait_vm
cat "$TMP/client" >>"$OUT"
[ "$crc" -eq 0 ] || fail "pty client failed (status $crc)"
expect_status 1
expect_console 'HELLO PTY'
pass
