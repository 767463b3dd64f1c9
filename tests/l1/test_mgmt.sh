#!/bin/bash
# tests/l1/test_mgmt.sh — khyvesh managing stock Linux guests inside L1
# (domains in libvirt domain XML, khyve:///system as root, no daemon):
#   two   two khyvesh processes start two defined domains at the same
#         moment: both say "started", both are running, both guests boot
#   user  nobody, with XDG directories of their own: khyve:///session
#         list --all does not show root's domains, khyve:///system is
#         refused with one "error:" line, destroy of root's domain fails
#         (and it keeps running)
#   B     destroy of a running domain: shut off at once, its khyve gone
#   A     (-c 2, guest `wait`) dominfo: running, CPU(s) 2; vcpuinfo: two
#         vCPUs; cpu-stats --total: cpu_time; domtime --time T then read
#         back within a few seconds; inject-nmi: the guest kernel logs the
#         NMI; reboot: the guest boots again (KHYVE-GUEST-UP a second time)
#         in the same domain (same domid); shutdown: shut off in time
#   end   undefine: nothing left in list --all, /etc/khyve, /run/khyve;
#         no khyve process, no console socket; no sanitizer report
# The guest consoles are <serial type='unix'> sockets, read by a client
# that reconnects (each boot of -M is a new VM process with a new socket).
# The host's / is read-only inside L1, so /etc, /var/log, /var/lib get a tmpfs
# over them that links to the original entries (khyvesh creates
# /etc/khyve and /var/log/khyve).  One L1 boot.  Exit 0 pass, 77 skip,
# else fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    kdir=$(dirname "$(l1_khyve_bin 2>/dev/null || echo .)")
    if [ ! -x "$kdir/khyvesh" ]; then
        echo "SKIP: $kdir/khyvesh is not built"
        exit 77
    fi
    l1_test_main "$0" "$@"
fi

t_setup_inside
SH=$(dirname "$KV_BIN")/khyvesh
export KHYVE_BIN=$KV_BIN           # khyvesh runs the khyve under test
unset KHYVE_DEFAULT_URI
SYS=khyve:///system
T=/tmp/khv-mgmt                    # tmpfs in L1; sun_path-short
P=mgmt-                            # every domain of this test
A=${P}a B=${P}b
rm -rf "$T"; mkdir -p "$T"; chmod 755 "$T"
BOOT_T=240                         # a guest boot, two at once, in TCG L1

# ---- a writable /etc and /var/log for khyve:///system ----
# make_writable DIR: tmpfs over DIR, holding symlinks to DIR's entries
# (kept visible at $T/orig/...), so that DIR/khyve can be created.
make_writable() {
    local d=$1 o=$T/orig$1 e
    if [ -d "$d/khyve" ] && [ -w "$d/khyve" ]; then return 0; fi
    if mkdir "$d/.khv-mgmt-probe" 2>/dev/null; then rmdir "$d/.khv-mgmt-probe"; return 0; fi
    mkdir -p "$o" && mount --bind "$d" "$o" && mount -t tmpfs -o mode=755 tmpfs "$d" ||
        return 1
    for e in "$o"/* "$o"/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        if [ -L "$e" ]; then cp -P "$e" "$d/"; else ln -s "$e" "$d/${e##*/}"; fi
    done
}
for d in /etc /var/log /var/lib; do
    make_writable $d || { t_fail "cannot make $d writable inside L1"; exit 1; }
done
t_info "khyvesh: $SH"

# ---- helpers ----
# sh_run NAME ARGS...: khyvesh as root on khyve:///system; stdout in OUT,
# stderr in ERR, status in RC; every call logged in $KHYVE_L1_OUT/khyvesh.log.
sh_run() {
    OUT=$("$SH" -c $SYS "$@" 2>"$T/err"); RC=$?
    ERR=$(cat "$T/err")
    { echo "\$ khyvesh $* -> $RC"; [ -n "$OUT" ] && echo "$OUT"; [ -n "$ERR" ] && echo "stderr: $ERR"; } \
        >> "$KHYVE_L1_OUT/khyvesh.log"
    return $RC
}
state() { "$SH" -c $SYS domstate "$1" 2>/dev/null | head -1; }
# wait_state NAME STATE SECONDS
wait_state() {
    local n=$(($3 * 4))
    while [ $n -gt 0 ]; do
        [ "$(state "$1")" = "$2" ] && return 0
        sleep 0.25; n=$((n - 1))
    done
    return 1
}
# count NAME REGEX: lines of NAME's console matching REGEX.
count() { tr -d '\r' < "$KHYVE_L1_OUT/$1.console" 2>/dev/null | grep -acE "$2"; }
# wait_count NAME REGEX N SECONDS: until the console has N such lines.
wait_count() {
    local n=$(($4 * 2))
    while [ $n -gt 0 ]; do
        [ "$(count "$1" "$2")" -ge "$3" ] && return 0
        sleep 0.5; n=$((n - 1))
    done
    return 1
}
# write_xml NAME CPUS MODE: $T/NAME.xml, console socket $T/NAME.con.
write_xml() {
    cat > "$T/$1.xml" <<EOF
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>$2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$L1_GUEST_KERNEL</kernel>
    <initrd>$L1_GUEST_INITRD</initrd>
    <cmdline>$(l1_guest_cmdline "$3")</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <serial type='unix'><source mode='bind' path='$T/$1.con'/><target port='0'/></serial>
  </devices>
</domain>
EOF
}
# console_reader NAME: appends everything the socket $T/NAME.con gives to
# $KHYVE_L1_OUT/NAME.console, reconnecting after each hangup; its pid goes
# to CONSOLE_PIDS.
CONSOLE_PIDS=()
console_reader() {
    python3 -u - "$T/$1.con" "$KHYVE_L1_OUT/$1.console" <<'PY' &
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
with open(out, "ab", buffering=0) as f:
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            s.close()
            time.sleep(0.05)
            continue
        while True:
            try:
                b = s.recv(65536)
            except OSError:
                break
            if not b:
                break
            f.write(b)
        s.close()
PY
    CONSOLE_PIDS+=($!)
}
# The khyve log of a domain is its "stderr" for t_show / t_expect_clean.
copy_log() { cp "/var/log/khyve/$1.log" "$KHYVE_L1_OUT/$1.stderr" 2>/dev/null; }
fail_show() { t_fail "$1"; copy_log "$2"; t_show "$2"; }

# ---- define ----
write_xml $A 2 wait
write_xml $B 1 wait
for d in $A $B; do
    : > "$KHYVE_L1_OUT/$d.console"
    if sh_run define "$T/$d.xml" && echo "$OUT" | grep -q "Domain '$d' defined"; then
        t_pass "$d: define"
    else
        t_fail "$d: define: rc $RC: $OUT $ERR"
    fi
done
sh_run list --all
if echo "$OUT" | grep -qE "^ -  +$A +shut off$" && echo "$OUT" | grep -qE "^ -  +$B +shut off$"; then
    t_pass "list --all: both defined domains shut off"
else
    t_fail "list --all: $OUT"
fi

# ---- two starts at the same moment ----
console_reader $A
console_reader $B
t0=$EPOCHREALTIME
"$SH" -c $SYS start $A > "$T/start.$A" 2>&1 & pa=$!
"$SH" -c $SYS start $B > "$T/start.$B" 2>&1 & pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
t_info "two starts: $A exit $ra, $B exit $rb, both returned after ${secs}s"
cat "$T/start.$A" "$T/start.$B" >> "$KHYVE_L1_OUT/khyvesh.log"
for d in $A $B; do
    if grep -q "Domain '$d' started" "$T/start.$d"; then
        t_pass "$d: start (two khyvesh at once) says started"
    else
        t_fail "$d: start (two khyvesh at once): $(cat "$T/start.$d")"
    fi
done
[ $ra = 0 ] && [ $rb = 0 ] && t_pass "both concurrent starts exit 0" ||
    t_fail "concurrent starts: exit $ra and $rb"
sh_run list
if echo "$OUT" | grep -qE "^ [0-9]+ +$A +running$" && echo "$OUT" | grep -qE "^ [0-9]+ +$B +running$"; then
    t_pass "list: both domains running"
else
    t_fail "list: $OUT"
fi
sh_run domid $A; ida=$(echo "$OUT" | head -1)
sh_run domid $B; idb=$(echo "$OUT" | head -1)
if [[ $ida =~ ^[0-9]+$ ]] && [[ $idb =~ ^[0-9]+$ ]] && [ "$ida" != "$idb" ] &&
   [ -d /proc/$ida ] && [ -d /proc/$idb ]; then
    t_pass "domid: $A=$ida, $B=$idb, two live processes"
else
    t_fail "domid: '$ida' '$idb'"
fi

# ---- an unprivileged session user (nobody) ----
U=65534
mkdir -p "$T/user"/{run,config,state}
chown -R $U:$U "$T/user"; chmod -R 700 "$T/user"
as_user() {
    setpriv --reuid=$U --regid=$U --clear-groups \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$T/user" \
        XDG_RUNTIME_DIR="$T/user/run" XDG_CONFIG_HOME="$T/user/config" \
        XDG_STATE_HOME="$T/user/state" ASAN_OPTIONS="$ASAN_OPTIONS" \
        UBSAN_OPTIONS="$UBSAN_OPTIONS" KHYVE_BIN="$KV_BIN" "$SH" "$@"
}
if uo=$(as_user -c khyve:///session list --all 2>"$T/uerr"); then
    if echo "$uo" | grep -q "$P"; then
        t_fail "user: session list --all shows root's domains: $uo"
    else
        t_pass "user: khyve:///session list --all does not show root's domains"
    fi
else
    t_fail "user: session list --all failed: $(cat "$T/uerr")"
fi
if uo=$(as_user -c $SYS list 2>"$T/uerr"); then
    t_fail "user: khyve:///system list was allowed: $uo"
elif [ "$(wc -l < "$T/uerr")" = 1 ] && grep -q '^error: ' "$T/uerr" && [ -z "$uo" ]; then
    t_pass "user: khyve:///system list refused: $(cat "$T/uerr")"
else
    t_fail "user: khyve:///system list: want one 'error:' line, got: $(cat "$T/uerr") $uo"
fi
for uri in khyve:///session $SYS; do
    if uo=$(as_user -c $uri destroy $B 2>&1); then
        t_fail "user: $uri destroy $B succeeded: $uo"
    else
        t_pass "user: $uri destroy $B fails: $(echo "$uo" | head -1)"
    fi
done
as_user -c khyve:///session domstate $B >/dev/null 2>&1 &&
    t_fail "user: session domstate $B answers" ||
    t_pass "user: session domstate $B fails (no such domain)"
if [ "$(state $B)" = running ] && [ -d /proc/$idb ]; then
    t_pass "$B: still running after the user's attempts"
else
    t_fail "$B: state '$(state $B)' after the user's attempts"
fi

# ---- destroy of a running domain ----
if wait_count $B '^KHYVE-GUEST-UP' 1 $BOOT_T; then
    t_pass "$B: the guest booted ($(count $B '^KHYVE-GUEST-UP cpus=1') x KHYVE-GUEST-UP cpus=1)"
else
    fail_show "$B: no KHYVE-GUEST-UP within ${BOOT_T}s" $B
fi
t0=$EPOCHREALTIME
sh_run destroy $B; rc=$RC
st=$(state $B)
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if [ $rc = 0 ] && [ "$st" = "shut off" ]; then
    t_pass "$B: destroy -> shut off at once (${secs}s)"
else
    t_fail "$B: destroy rc $rc ($OUT $ERR), then state '$st'"
fi
sleep 0.5
if [ -d /proc/$idb ]; then
    t_fail "$B: its khyve ($idb) still exists after destroy"
else
    t_pass "$B: its khyve ($idb) is gone"
fi
sh_run domid $B
[ "$(echo "$OUT" | head -1)" = - ] && t_pass "$B: domid is - when shut off" ||
    t_fail "$B: domid after destroy: $OUT $ERR"

# ---- the 2-vCPU domain ----
if wait_count $A '^KHYVE-GUEST-WAITING' 1 $BOOT_T; then
    t_pass "$A: the guest booted and waits for the power button"
else
    fail_show "$A: no KHYVE-GUEST-WAITING within ${BOOT_T}s" $A
fi
t_expect_console $A '^KHYVE-GUEST-UP cpus=2' "the guest sees 2 CPUs"

sh_run dominfo $A
if echo "$OUT" | grep -qE '^State: +running$' && echo "$OUT" | grep -qE '^CPU\(s\): +2$' &&
   echo "$OUT" | grep -qE "^Id: +$ida$"; then
    t_pass "$A: dominfo: Id $ida, State running, CPU(s) 2"
else
    t_fail "$A: dominfo: $OUT $ERR"
fi
sh_run dominfo $A --json
if echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(not (d["state"] == "running" and d["vcpus"] == 2 and d["cpu_time_ns"] > 0))' 2>/dev/null; then
    t_pass "$A: dominfo --json: running, 2 vCPUs, cpu_time_ns > 0"
else
    t_fail "$A: dominfo --json: $OUT $ERR"
fi

sh_run vcpuinfo $A
n=$(echo "$OUT" | grep -cE '^VCPU: +[01]$')
nr=$(echo "$OUT" | grep -cE '^State: +running$')
if [ $RC = 0 ] && [ "$n" = 2 ] && [ "$nr" = 2 ]; then
    t_pass "$A: vcpuinfo lists vCPUs 0 and 1, running"
else
    t_fail "$A: vcpuinfo: $OUT $ERR"
fi
sh_run vcpuinfo $A --json
if echo "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(not (sorted(x["vcpu"] for x in v) == [0, 1] and all(x["thread"] > 0 for x in v)))' 2>/dev/null; then
    t_pass "$A: vcpuinfo --json: vCPUs 0 and 1, each on a thread"
else
    t_fail "$A: vcpuinfo --json: $OUT $ERR"
fi

sh_run cpu-stats $A --total
ct=$(echo "$OUT" | awk '$1 == "cpu_time" { print $2 }')
if echo "$OUT" | grep -q '^Total:' && awk -v t="${ct:-0}" 'BEGIN { exit !(t > 0) }'; then
    t_pass "$A: cpu-stats --total: Total cpu_time ${ct}s"
else
    t_fail "$A: cpu-stats --total: $OUT $ERR"
fi
sh_run cpu-stats $A
if [ "$(echo "$OUT" | grep -cE '^vCPU[01]:$')" = 2 ] && echo "$OUT" | grep -q '^Total:'; then
    t_pass "$A: cpu-stats: vCPU0, vCPU1 and Total"
else
    t_fail "$A: cpu-stats: $OUT $ERR"
fi

# domtime: a time far from now, read back within a few seconds.
want=2000000000                    # 2033-05-18 03:33:20 UTC
if sh_run domtime $A --time $want; then
    sleep 2
    sh_run domtime $A
    got=$(echo "$OUT" | sed -n 's/^Time: \([0-9]*\)$/\1/p')
    if [ -n "$got" ] && [ "$got" -ge $want ] && [ "$got" -le $((want + 15)) ]; then
        t_pass "$A: domtime --time $want, read back $got"
    else
        t_fail "$A: domtime after --time $want: $OUT $ERR"
    fi
    sh_run domtime $A --pretty
    echo "$OUT" | grep -q '^Time: 2033-05-18 03:33:' && t_pass "$A: domtime --pretty: $OUT" ||
        t_fail "$A: domtime --pretty: $OUT $ERR"
    sh_run domtime $A --now
else
    t_fail "$A: domtime --time $want: $ERR"
fi

# inject-nmi: the guest kernel reports the unknown NMI on its console
# (pr_emerg, shown even with `quiet`).
if sh_run inject-nmi $A; then
    t_pass "$A: inject-nmi succeeded"
    if wait_count $A 'NMI received' 1 60; then
        t_pass "$A: the guest kernel logged the NMI: $(tr -d '\r' < "$KHYVE_L1_OUT/$A.console" | grep -a -m1 'NMI received')"
    else
        fail_show "$A: the guest kernel logged no NMI within 60 s" $A
    fi
else
    t_fail "$A: inject-nmi: $ERR"
fi
[ "$(state $A)" = running ] && t_pass "$A: running after the NMI" ||
    t_fail "$A: state '$(state $A)' after the NMI"

# reboot: the power button; the guest powers off, which ends the boot as a
# reset, and the monitor boots it again: same domain id.
if sh_run reboot $A && echo "$OUT" | grep -q "Domain '$A' is being rebooted"; then
    t_pass "$A: reboot: $(echo "$OUT" | head -1)"
else
    t_fail "$A: reboot: rc $RC: $OUT $ERR"
fi
if wait_count $A '^KHYVE-GUEST-UP' 2 $BOOT_T; then
    t_pass "$A: the guest came back (KHYVE-GUEST-UP a second time)"
else
    fail_show "$A: no second KHYVE-GUEST-UP within ${BOOT_T}s" $A
fi
[ "$(count $A '^KHYVE-GUEST-POWERBUTTON')" -ge 1 ] &&
    t_pass "$A: the guest saw the power button before the reboot" ||
    t_fail "$A: no KHYVE-GUEST-POWERBUTTON before the second boot"
st=$(state $A); sh_run domid $A; id2=$(echo "$OUT" | head -1)
if [ "$st" = running ] && [ "$id2" = "$ida" ]; then
    t_pass "$A: after the reboot: running, same domid $ida"
else
    t_fail "$A: after the reboot: state '$st', domid '$id2' (was $ida)"
fi

# shutdown: the power button again; shut off in time.
if wait_count $A '^KHYVE-GUEST-WAITING' 2 $BOOT_T; then
    t0=$EPOCHREALTIME
    if sh_run shutdown $A && echo "$OUT" | grep -q "Domain '$A' is being shutdown"; then
        t_pass "$A: shutdown: $(echo "$OUT" | head -1)"
    else
        t_fail "$A: shutdown: rc $RC: $OUT $ERR"
    fi
    if wait_state $A "shut off" 90; then
        secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        t_pass "$A: shut off ${secs}s after shutdown"
    else
        fail_show "$A: still '$(state $A)' 90 s after shutdown" $A
        sh_run destroy $A
    fi
    [ "$(count $A '^KHYVE-GUEST-POWERBUTTON')" -ge 2 ] &&
        t_pass "$A: the guest saw the power button again and powered off" ||
        t_fail "$A: the guest did not see the second power button press"
else
    fail_show "$A: the rebooted guest never waited for the power button" $A
    sh_run destroy $A
fi
sleep 0.5
[ -d /proc/$ida ] && t_fail "$A: its khyve ($ida) still exists" ||
    t_pass "$A: its khyve ($ida) is gone"

# ---- undefine, and what is left ----
for d in $A $B; do
    if sh_run undefine $d && echo "$OUT" | grep -q "Domain '$d' has been undefined"; then
        t_pass "$d: undefine"
    else
        t_fail "$d: undefine: rc $RC: $OUT $ERR"
    fi
done
sh_run list --all --name
if echo "$OUT" | grep -q "$P"; then
    t_fail "list --all after undefine: $OUT"
else
    t_pass "list --all shows none of this test's domains"
fi
sleep 1
for pid in "${CONSOLE_PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
t_info "left in /run/khyve: $(cd /run/khyve 2>/dev/null && find . -mindepth 1 | tr '\n' ' ')"
left=$(find /etc/khyve /var/lib/khyve /run/khyve -name "$P*" 2>/dev/null)
[ -z "$left" ] && t_pass "nothing named $P* left in /etc/khyve, /var/lib/khyve, /run/khyve" ||
    t_fail "left: $left"
# The live definition of a domain whose guest powered off by itself
# (shutdown, not destroy) is pruned by undefine and list.
stale=$(find /run/khyve/.domains -name "$P*" 2>/dev/null | tr '\n' ' ')
[ -z "$stale" ] && t_pass "no live definition left in /run/khyve/.domains" ||
    t_fail "stale live definitions left: $stale"
socks=$(find /run/khyve "$T" -path "$T/orig" -prune -o -type s -print 2>/dev/null)
[ -z "$socks" ] && t_pass "no socket left in /run/khyve or $T" || t_fail "sockets left: $socks"
procs=
for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$KV_BIN" ] && procs="$procs ${p#/proc/}"
done
[ -z "$procs" ] && t_pass "no khyve process left" || t_fail "khyve processes left:$procs"
for d in $A $B; do
    copy_log $d
    t_expect_clean $d
done
t_finish
