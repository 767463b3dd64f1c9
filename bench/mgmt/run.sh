#!/bin/bash
# bench/mgmt/run.sh — khyvesh's start, dominfo and destroy beside virsh's
# (libvirt's QEMU driver, Debian's libvirtd, qemu:///system).
#
# Inside ONE L1 test machine (tests/l1/lib.sh), the same guest (Debian's
# kernel + build/l1/guest-initrd.gz, khyve.test=ignore: it boots, prints
# KHYVE-GUEST-UP and idles; 1 vCPU, 256 MiB, serial on a unix socket) is
# defined once with each tool, then every round does, for khyvesh and then
# for virsh:
#   start     `khyvesh start b1` / `virsh start b1v`, timed until the
#             command returns: khyvesh returns once the new khyve answers
#             on its control socket, virsh once libvirtd has launched QEMU
#             (-S), set it up over QMP and resumed its vCPUs.  Neither
#             waits for the guest's kernel.
#   (then the script waits for the guest's KHYVE-GUEST-UP line on the
#    serial socket, so that dominfo asks a running, idle guest; that wait
#    is shown as an informative "guest up" row)
#   dominfo   `khyvesh dominfo b1` / `virsh dominfo b1v`
#   destroy   `khyvesh destroy b1` / `virsh destroy b1v`, until it returns
#             (both wait for the VMM process to be gone)
# khyvesh: build/khyvesh + build/khyve (optimised), khyve:///session with
# XDG directories under L1's /tmp, no daemon.  virsh: libvirtd started
# inside L1 with a qemu.conf of its own (root, no security driver, no
# cgroups, no namespaces, no virtlogd) on tmpfs copies of /etc/libvirt,
# /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, so the host's
# files are never touched.  Each time is one command's wall time, from
# bash's $EPOCHREALTIME before the fork to after its exit.
# Table: median and min per command, ratio = khyvesh / virsh of the
# medians (goal: < 1, khyvesh faster).  Under TCG-emulated SVM: compare
# ratios, not absolute numbers.
#
# Usage: bench/mgmt/run.sh [-r ROUNDS] [-k]
#   -r  rounds (BENCH_ROUNDS, 5)
#   -k  khyvesh only, no libvirtd (BENCH_VIRSH=0): the virsh rows say n/a
# Raw numbers: build/l1/runs/bench-mgmt/results.tsv; libvirtd's log, the
# guests' consoles and each tool's output beside it.
# Benchmarks never gate CI: this exits 0 when it produced numbers.
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-5} BENCH_VIRSH=${BENCH_VIRSH:-1}
if [ -z "${KHYVE_IN_L1:-}" ]; then
    while getopts r:kh o; do
        case $o in
            r) BENCH_ROUNDS=$OPTARG;;
            k) BENCH_VIRSH=0;;
            *) sed -n '2,37p' "$0"; exit 2;;
        esac
    done
    case $BENCH_ROUNDS in ''|*[!0-9]*|0) echo "bench/mgmt: -r must be a positive number"; exit 2;; esac
fi
MEM=256 CPUS=1

# ------------------------------------------------------------ inside L1 ---
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$OUT/results.tsv"; }
na() { echo "$*" > "$OUT/virsh-na.txt"; echo "bench/mgmt: virsh: n/a: $*"; }

# timed TOOL ROUND OP CMD...: runs CMD, its output in OUT/TOOL-ROUND-OP.out,
# and appends its wall time to results.tsv when it succeeded.
timed() {
    local tool=$1 r=$2 op=$3 t0 t1 rc; shift 3
    t0=$EPOCHREALTIME
    "$@" </dev/null >"$OUT/$tool-$r-$op.out" 2>&1; rc=$?
    t1=$EPOCHREALTIME
    if [ $rc -eq 0 ]; then
        row "$tool" "$r" "$op" "$(secs "$t0" "$t1")"
    else
        row "$tool" "$r" "$op" NA
        echo "bench/mgmt: $tool round $r: $op failed (exit $rc): $(tail -n 3 "$OUT/$tool-$r-$op.out" | tr '\n' ' ')"
    fi
    LAST_T0=$t0
    return $rc
}

# guest_up SOCKET LOG T0: connects to the guest's serial (a unix socket the
# VMM listens on), copies it to LOG until KHYVE-GUEST-UP (prints the
# seconds since T0) or 180 s; the copy goes on in the background until the
# VMM closes the socket.
guest_up() {
    python3 - "$@" <<'PY'
import os, socket, sys, time
path, log, t0 = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.time() + 180
s = None
while time.time() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        break
    except OSError:
        s.close(); s = None; time.sleep(0.02)
if s is None:
    print("no serial socket " + path); sys.exit(1)
out = open(log, "ab", buffering=0)
buf = b""
s.settimeout(1)
while time.time() < deadline:
    try:
        d = s.recv(4096)
    except socket.timeout:
        continue
    if not d:
        print("the serial socket closed before KHYVE-GUEST-UP"); sys.exit(1)
    out.write(d); buf += d
    if b"KHYVE-GUEST-UP" in buf:
        print("%.6f" % (time.time() - t0))
        sys.stdout.flush()
        # Keep draining the console so that the guest never blocks on it.
        if os.fork() == 0:
            n = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(n, fd)
            s.settimeout(None)
            try:
                while True:
                    d = s.recv(4096)
                    if not d: break
                    out.write(d)
            except OSError:
                pass
            os._exit(0)
        sys.exit(0)
    buf = buf[-64:]
print("no KHYVE-GUEST-UP within 180 s"); sys.exit(1)
PY
}

# round TOOL R CMD...: start, wait for the guest, dominfo, destroy.
# CMD is the tool with its connection; DOM and CON name the domain and
# its serial socket.
round() {
    local tool=$1 r=$2 up; shift 2
    if ! timed "$tool" "$r" start "$@" start "$DOM"; then
        return 1
    fi
    if up=$(guest_up "$CON" "$OUT/$tool-$r.console" "$LAST_T0"); then
        row "$tool" "$r" guest-up "$up"
    else
        echo "bench/mgmt: $tool round $r: $up"
        row "$tool" "$r" guest-up NA
    fi
    timed "$tool" "$r" dominfo "$@" dominfo "$DOM"
    timed "$tool" "$r" destroy "$@" destroy "$DOM"
    printf 'bench/mgmt: %-7s round %s:' "$tool" "$r"
    awk -F'\t' -v t="$tool" -v r="$r" '$1 == t && $2 == r { printf " %s=%s", $3, $4 }' "$OUT/results.tsv"
    echo
}

# libvirt_setup: libvirtd on writable copies of its directories; 0 when
# virsh can talk to it (LV_WHY says why not otherwise).
libvirt_setup() {
    local d b
    LV_WHY=
    for b in libvirtd virsh qemu-system-x86_64; do
        command -v "$b" >/dev/null ||
            { LV_WHY="$b is not installed (scripts/deps.sh bench: libvirt-daemon-system libvirt-clients)"; return 1; }
    done
    # L1's / is the host's, read-only over 9p: put tmpfs copies over what
    # libvirtd writes.  Only L1 sees these mounts.
    mkdir -p "$W/etc-libvirt"
    cp -a /etc/libvirt/. "$W/etc-libvirt/" || { LV_WHY="cannot copy /etc/libvirt"; return 1; }
    for d in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
        [ -d "$d" ] || { LV_WHY="$d is missing (is libvirt-daemon-system installed?)"; return 1; }
        mount -t tmpfs -o mode=755 tmpfs "$d" || { LV_WHY="cannot mount a tmpfs on $d"; return 1; }
    done
    cp -a "$W/etc-libvirt/." /etc/libvirt/
    rm -f /etc/libvirt/qemu/*.xml /etc/libvirt/qemu/autostart/* \
          /etc/libvirt/qemu/networks/autostart/* 2>/dev/null
    # What L1 lacks: an AppArmor/SELinux policy, cgroups, udev for the
    # private /dev namespace, virtlogd.  The guest files are root's.
    cat >> /etc/libvirt/qemu.conf <<'EOF'

# bench/mgmt (inside the throw-away L1 machine only)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
    cat > "$W/libvirtd.conf" <<EOF
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:$OUT/libvirtd.log"
EOF
    local t0=$EPOCHREALTIME
    libvirtd -f "$W/libvirtd.conf" -p "$W/libvirtd.pid" </dev/null >>"$OUT/libvirtd.out" 2>&1 &
    LV_PID=$!
    # libvirtd probes QEMU's capabilities on the first qemu:///system
    # connection (under TCG this takes a while).
    for _ in $(seq 600); do
        if virsh -c qemu:///system version >"$OUT/virsh-version.out" 2>&1; then break; fi
        if ! kill -0 "$LV_PID" 2>/dev/null; then
            LV_WHY="libvirtd exited: $(tail -n 2 "$OUT/libvirtd.out" "$OUT/libvirtd.log" 2>/dev/null | grep -v '^==>' | tr '\n' ' ')"
            return 1
        fi
        sleep 0.5
    done
    if ! virsh -c qemu:///system version >"$OUT/virsh-version.out" 2>&1; then
        LV_WHY="virsh cannot connect: $(tail -n 1 "$OUT/virsh-version.out")"; return 1
    fi
    virsh -c qemu:///system capabilities > "$OUT/virsh-capabilities.xml" 2>&1
    echo "bench/mgmt: libvirtd ready after $(secs "$t0" "$EPOCHREALTIME") s: $(head -n 3 "$OUT/virsh-version.out" | tr '\n' ' ')"
}

if [ -n "${KHYVE_IN_L1:-}" ]; then
    bench_import "$@"
    OUT=$KHYVE_L1_OUT W=/tmp/bench-mgmt
    [ -c /dev/kvm ] || { echo "bench/mgmt: no /dev/kvm inside L1"; exit 1; }
    rm -rf "$W"; mkdir -p "$W"
    if ! cp "$L1_GUEST_KERNEL" "$W/vmlinuz" || ! cp "$L1_GUEST_INITRD" "$W/initrd.gz"; then
        echo "bench/mgmt: cannot copy the guest kernel and initramfs to $W"; exit 1
    fi
    sysctl -qw kernel.softlockup_panic=1 kernel.panic_on_rcu_stall=1 2>/dev/null
    printf 'tool\tround\top\tsecs\n' > "$OUT/results.tsv"
    KSH=$KHYVE_ROOT/build/khyvesh
    KHYVE_BIN=$(bench_khyve); export KHYVE_BIN
    echo "bench/mgmt: $BENCH_ROUNDS rounds; guest ${L1_GUEST_KERNEL##*/}, $CPUS vCPU, $MEM MiB;" \
         "$(nproc) L1 CPU(s), $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
    CMDLINE="console=ttyS0 quiet khyve.test=ignore"

    # khyvesh: a session connection on temporary XDG directories.
    export XDG_CONFIG_HOME=$W/xdg/config XDG_STATE_HOME=$W/xdg/state XDG_RUNTIME_DIR=$W/xdg/run
    mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
    cat > "$W/khyve.xml" <<EOF
<domain type='kvm'>
  <name>b1</name>
  <memory unit='MiB'>$MEM</memory>
  <vcpu>$CPUS</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>$W/vmlinuz</kernel>
    <initrd>$W/initrd.gz</initrd>
    <cmdline>$CMDLINE</cmdline>
  </os>
  <devices>
    <serial type='unix'><source mode='bind' path='$W/b1.con'/><target port='0'/></serial>
  </devices>
</domain>
EOF
    # virsh: the same guest for libvirt's QEMU driver (pc machine, the
    # host's CPU as khyve gives it, no balloon, USB, graphics or network).
    cat > "$W/libvirt.xml" <<EOF
<domain type='kvm'>
  <name>b1v</name>
  <memory unit='MiB'>$MEM</memory>
  <vcpu>$CPUS</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$W/vmlinuz</kernel>
    <initrd>$W/initrd.gz</initrd>
    <cmdline>$CMDLINE</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='host-passthrough'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <controller type='usb' model='none'/>
    <serial type='unix'><source mode='bind' path='$W/b1v.con'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
    KS=("$KSH" -c khyve:///session)
    VS=(virsh -c qemu:///system)
    "${KS[@]}" define "$W/khyve.xml" > "$OUT/khyvesh-define.out" 2>&1 ||
        { echo "bench/mgmt: khyvesh define failed: $(cat "$OUT/khyvesh-define.out")"; exit 1; }
    VIRSH_OK=1
    if [ "$BENCH_VIRSH" = 0 ]; then
        na "not run (-k)"; VIRSH_OK=
    elif ! libvirt_setup; then
        na "$LV_WHY"; VIRSH_OK=
    elif ! "${VS[@]}" define "$W/libvirt.xml" > "$OUT/virsh-define.out" 2>&1; then
        na "virsh define: $(grep -m1 error "$OUT/virsh-define.out")"; VIRSH_OK=
    fi

    for r in $(seq "$BENCH_ROUNDS"); do
        # Who goes first alternates, so that neither always runs right
        # after the other's guest was destroyed.
        [ $((r % 2)) = 1 ] && DOM=b1 CON=$W/b1.con round khyvesh "$r" "${KS[@]}"
        if [ -n "$VIRSH_OK" ]; then
            if ! DOM=b1v CON=$W/b1v.con round virsh "$r" "${VS[@]}"; then
                if [ "$r" = 1 ]; then
                    na "virsh start: $(grep -m1 -i error "$OUT/virsh-1-start.out" | cut -c1-300)"
                    cp /var/log/libvirt/qemu/b1v.log "$OUT/qemu-b1v.log" 2>/dev/null
                    VIRSH_OK=
                fi
            fi
        fi
        [ $((r % 2)) = 0 ] && DOM=b1 CON=$W/b1.con round khyvesh "$r" "${KS[@]}"
    done
    cp /var/log/libvirt/qemu/b1v.log "$OUT/qemu-b1v.log" 2>/dev/null
    "${KS[@]}" dumpxml b1 > "$OUT/khyvesh-dumpxml.xml" 2>&1
    "${KS[@]}" domxml-to-native bhyve-argv --domain b1 > "$OUT/khyvesh-argv.txt" 2>&1
    if [ -n "$VIRSH_OK" ]; then
        "${VS[@]}" dumpxml b1v > "$OUT/virsh-dumpxml.xml" 2>&1
        # The first QEMU command line libvirtd logged (one word a line).
        awk '/^\/.*qemu-system/ { on = 1 } on { print } on && !/\\$/ { exit }' \
            "$OUT/qemu-b1v.log" > "$OUT/qemu-argv.txt" 2>/dev/null
        "${VS[@]}" undefine b1v >/dev/null 2>&1
    fi
    "${KS[@]}" undefine b1 >/dev/null 2>&1
    [ -n "${LV_PID:-}" ] && { kill "$LV_PID" 2>/dev/null; wait "$LV_PID" 2>/dev/null; }
    exit 0
fi

# ---------------------------------------------------------------- host ---
reason=$(l1_can_run) || { echo "bench/mgmt: cannot run: $reason"; exit 1; }
for b in "$(bench_khyve)" "$KHYVE_ROOT/build/khyvesh"; do
    [ -x "$b" ] || { echo "bench/mgmt: $b is missing: run make -j2 all"; exit 1; }
done
"$KHYVE_ROOT/scripts/deps.sh" bench ||
    echo "bench/mgmt: warning: scripts/deps.sh bench failed; virsh may be missing"
echo "bench/mgmt: khyvesh vs virsh (libvirt QEMU driver), $BENCH_ROUNDS rounds, inside one L1 machine"
dir=$L1_DIR/runs/bench-mgmt res=$dir/results.tsv
failed=
l1_run -n bench-mgmt -t $((900 + BENCH_ROUNDS * 300)) "$0" BENCH_ROUNDS="$BENCH_ROUNDS" \
        BENCH_VIRSH="$BENCH_VIRSH" ||
    failed="the L1 run failed (log: ${L1_DIR#"$KHYVE_ROOT"/}/logs/bench-mgmt.log); the table shows what it measured"
[ "$(awk -F'\t' 'NR > 1 && $4 != "NA"' "$res" 2>/dev/null | wc -l)" -gt 0 ] ||
    { echo "bench/mgmt: no results${failed:+: $failed}"; exit 1; }
[ -n "$failed" ] && echo "bench/mgmt: warning: $failed"
vna=$(cat "$dir/virsh-na.txt" 2>/dev/null)

stat() {   # stat TOOL OP -> "median min count" in ms, or "NA NA 0"
    awk -F'\t' -v t="$1" -v o="$2" 'NR > 1 && $1 == t && $3 == o && $4 != "NA" { print $4 * 1000 }' "$res" |
        sort -g | awk '{ a[NR] = $1 } END {
            if (NR == 0) { print "NA NA 0"; exit }
            m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            printf "%.1f %.1f %d\n", m, a[1], NR }'
}
echo
echo "khyvesh (khyve:///session, no daemon) vs virsh (qemu:///system, libvirtd + QEMU)"
echo "milliseconds per command, median (min) of $BENCH_ROUNDS rounds; ratio = khyvesh / virsh medians, < 1.00: khyvesh faster"
printf '%-22s %20s %20s %14s\n' command khyvesh virsh khyvesh/virsh
for op in start dominfo destroy guest-up; do
    read -r km kn _ <<<"$(stat khyvesh "$op")"
    read -r vm vn _ <<<"$(stat virsh "$op")"
    if [ "$op" = guest-up ]; then l="(start to guest up)"; else l=$op; fi
    k="$km ($kn)"; [ "$km" = NA ] && k=NA
    if [ -n "$vna" ] || [ "$vm" = NA ]; then
        v="n/a"; ratio="n/a"
    else
        v="$vm ($vn)"
        ratio=$(awk -v a="$km" -v b="$vm" 'BEGIN { if (a == "NA" || b <= 0) print "NA"; else printf "%.2f", a / b }')
    fi
    printf '%-22s %20s %20s %14s\n' "$l" "$k" "$v" "$ratio"
done
[ -n "$vna" ] && echo "virsh: n/a: $vna"
echo
echo "start = until the command returns: khyvesh start once khyve answers on its control socket,"
echo "virsh start once libvirtd has launched QEMU and resumed its vCPUs; neither waits for the guest."
echo "\"start to guest up\" (informative): from the start command to the guest's KHYVE-GUEST-UP line."
echo "(under TCG-emulated SVM: compare ratios, not absolute numbers)"
echo "raw: ${res#"$KHYVE_ROOT"/} (L1 round trip ${L1_RUN_SECONDS}s)"
exit 0
