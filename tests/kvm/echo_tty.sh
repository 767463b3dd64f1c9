#!/usr/bin/env bash
# -l com1,/dev/pts/N: khyve opens an existing tty (here the slave side of a
# pty this test holds, as a user's terminal program would); a line typed on
# the master comes back upper-cased and the guest powers off (exit 1).
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo
python3 - "$KHYVE" "$GUESTS/echo.elf" "$VM" "$TMP" >"$TMP/client" 2>&1 <<'PY'
import os, select, subprocess, sys, time, tty
khyve, guest, vm, tmp = sys.argv[1:5]
master, slave = os.openpty()
tty.setraw(master)
path = os.ttyname(slave)  # khyve opens it by path, as a user would
p = subprocess.Popen([khyve, "-c", "1", "-m", "32M", "-s", "0,hostbridge",
                      "-s", "31,lpc", "-l", "com1," + path,
                      "-o", "boot.kernel=" + guest, vm],
                     stdin=subprocess.DEVNULL, stdout=open(tmp + "/khyve.out", "w"),
                     stderr=open(tmp + "/khyve.err", "w"))
buf, sent, end = b"", False, time.time() + 50
while b"echo: done" not in buf and time.time() < end:
    if not sent and b"echo: ready" in buf:
        os.write(master, b"hello tty\n")
        sent = True
    r, _, _ = select.select([master], [], [], 0.2)
    if r:
        try:
            buf += os.read(master, 4096)
        except OSError:
            break
os.close(slave)
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "timeout"
sys.stdout.write(buf.decode("latin-1"))
print("\nkhyve-status=%s" % rc)
PY
cat "$TMP/client" >>"$OUT"
cat "$TMP/khyve.err" >>"$ERR" 2>/dev/null
grep -q '^khyve-status=1$' "$TMP/client" || fail "khyve did not power off with status 1: $(tail -1 "$TMP/client")"
expect_console '^HELLO TTY'
expect_console '^echo: done'
pass
