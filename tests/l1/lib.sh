# shellcheck shell=bash
# tests/l1/lib.sh — the L1 test machine, sourced by tests/l1/*.sh, bench/ and
# the demo.  See tests/l1/README.md.
#
# Every step is cached under build/l1/ and redone only when its inputs change:
#   l1_kernel          Debian's linux-image-*-amd64 (apt-get download +
#                      dpkg-deb -x, never installed) -> build/l1/kernel/
#   l1_guest_initrd    busybox guest initramfs       -> build/l1/guest-initrd.gz
#   l1_l1_initrd       busybox L1 initramfs          -> build/l1/l1-initrd.gz
#   l1_prepare         all three
#   l1_run SCRIPT ARGS boots the L1 machine (QEMU TCG, AMD CPU with SVM), runs
#                      SCRIPT ARGS chrooted into the host's / (9p, read-only)
#                      and returns its exit status.
# Inside L1 the script sees KHYVE_IN_L1=1 and KHYVE_L1_OUT, a directory that
# is writable there and is build/l1/runs/<name>/ on the host.

L1_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KHYVE_ROOT=$(cd "$L1_LIB_DIR/../.." && pwd)
L1_DIR=${L1_DIR:-$KHYVE_ROOT/build/l1}
L1_KDIR=$L1_DIR/kernel
L1_GUEST_INITRD=$L1_DIR/guest-initrd.gz
L1_L1_INITRD=$L1_DIR/l1-initrd.gz
L1_TIMEOUT=${L1_TIMEOUT:-600}          # seconds for one whole L1 boot
L1_MEM=${L1_MEM:-3072}
# One vCPU: nested SVM under multi-threaded TCG has hung or soft-locked the
# L1 kernel with two (seen in test_power and the kvm suite); L2 guests with
# -c 2 still run, their vCPUs sharing the one.  Benchmarks may ask for more.
L1_SMP=${L1_SMP:-1}

# Modules the L1 machine needs (DESIGN.md); dependencies are added from
# modules.dep.  The guest needs the ACPI button (power button) and evdev, and
# for virtio devices the virtio PCI transport and drivers (virtio-rng; the
# hw_random core is built in, CONFIG_HW_RANDOM=y), virtio-blk with ext4, and
# virtio-net (ext4 asks the crypto API for crc32c, which no modprobe can
# load here, so crc32c_generic comes first).  L1 needs tun for the taps and
# vhost_net for the QEMU peer in bench/net.
# The guest init loads them only in the modes that use them.
L1_MODULES="irqbypass ccp kvm kvm-amd virtio_ring virtio virtio_pci_modern_dev
virtio_pci_legacy_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p tun vhost_net"
L1_GUEST_MODULES="button evdev virtio_ring virtio virtio_pci_modern_dev
virtio_pci_legacy_dev virtio_pci virtio_rng virtio_console virtio_blk crc32c_generic
ext4 virtio_net"

l1_msg() { printf 'l1: %s\n' "$*" >&2; }
l1_die() { printf 'l1: error: %s\n' "$*" >&2; return 1; }

# Busybox-static is what both initramfs images are made of.
l1_busybox() {
    local b
    for b in /bin/busybox /usr/bin/busybox; do
        if [ -x "$b" ] && file_is_static "$b"; then echo "$b"; return 0; fi
    done
    l1_die "no static busybox: apt-get install busybox-static"
}
file_is_static() {
    # A dynamic ELF has a PT_INTERP program header, i.e. the string
    # /lib64/ld-linux in its first few KiB.
    ! head -c 4096 "$1" | grep -aq 'ld-linux'
}

# Which reasons make the L1 suite skip (exit 77) on this machine; prints the
# reason and returns 1 when it cannot run.
l1_can_run() {
    if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
        echo "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
        return 1
    fi
    if ! command -v cpio >/dev/null 2>&1; then
        echo "cpio missing (apt-get install cpio)"; return 1
    fi
    if ! l1_busybox >/dev/null 2>&1; then
        echo "static busybox missing (apt-get install busybox-static)"; return 1
    fi
    case $KHYVE_ROOT in *[[:space:]]*)
        echo "work tree path has spaces; the L1 kernel command line cannot carry it"
        return 1;;
    esac
    return 0
}

# ---------------------------------------------------------------- kernel ---
# Sets L1_KVER, L1_VMLINUZ, L1_MODDIR.
l1_kernel() {
    local pkg deb stamp
    mkdir -p "$L1_DIR/debs" "$L1_DIR/logs"
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9].*-amd64$/ {print $2; exit}')
    if [ -z "$pkg" ] && ! ls "$L1_KDIR"/.stamp-* >/dev/null 2>&1; then
        l1_msg "apt-cache knows no linux-image-amd64: running apt-get update"
        apt-get update -qq >&2 || true
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
              awk '/Depends: linux-image-[0-9].*-amd64$/ {print $2; exit}')
    fi
    if [ -z "$pkg" ]; then
        # Offline but already unpacked: use what is there.
        stamp=$(ls "$L1_KDIR"/.stamp-* 2>/dev/null | head -1)
        [ -n "$stamp" ] || { l1_die "cannot find the linux-image-amd64 package"; return 1; }
        pkg=${stamp##*/.stamp-}
    fi
    if [ ! -e "$L1_KDIR/.stamp-$pkg" ]; then
        deb=$(ls "$L1_DIR/debs/${pkg}_"*.deb 2>/dev/null | head -1)
        if [ -z "$deb" ]; then
            l1_msg "downloading $pkg"
            ( cd "$L1_DIR/debs" && apt-get download -q "$pkg" ) >&2 2>/dev/null ||
            ( cd "$L1_DIR/debs" && apt-get download "$pkg" ) >&2 ||
                { l1_die "apt-get download $pkg failed"; return 1; }
            deb=$(ls "$L1_DIR/debs/${pkg}_"*.deb | head -1)
        fi
        l1_msg "unpacking $deb"
        rm -rf "$L1_KDIR"; mkdir -p "$L1_KDIR"
        dpkg-deb -x "$deb" "$L1_KDIR" || { l1_die "dpkg-deb -x failed"; return 1; }
        local kver
        kver=$(ls "$L1_KDIR/lib/modules" | head -1)
        # Debian generates modules.dep at install time (postinst); the package
        # has none, so generate it with busybox depmod.
        if [ ! -s "$L1_KDIR/lib/modules/$kver/modules.dep" ]; then
            "$(l1_busybox)" depmod -b "$L1_KDIR" "$kver" ||
                { l1_die "depmod failed"; return 1; }
        fi
        touch "$L1_KDIR/.stamp-$pkg"
    fi
    L1_KVER=$(ls "$L1_KDIR/lib/modules" | head -1)
    L1_MODDIR=$L1_KDIR/lib/modules/$L1_KVER
    L1_VMLINUZ=$L1_KDIR/boot/vmlinuz-$L1_KVER
    [ -r "$L1_VMLINUZ" ] || { l1_die "no $L1_VMLINUZ"; return 1; }
}

# l1_modules_ordered NAME... -> relative .ko paths, dependencies first.
l1_modules_ordered() {
    awk -v want="$*" '
        function norm(s) { gsub(/-/, "_", s); return s }
        function base(p,  b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.[gx]z|\.zst)?$/, "", b); return norm(b) }
        function visit(m,  n, i, d) {
            if (m in done) return
            if (!(m in path)) { print "MISSING " m; missing = 1; return }
            done[m] = 1
            n = split(deps[m], d, " ")
            for (i = 1; i <= n; i++) visit(base(d[i]))
            print path[m]
        }
        {
            p = $1; sub(/:$/, "", p); m = base(p); path[m] = p
            $1 = ""; deps[m] = $0
        }
        END {
            n = split(want, w, /[ \t\n]+/)
            for (i = 1; i <= n; i++) if (w[i] != "") visit(norm(w[i]))
            exit missing
        }' "$L1_MODDIR/modules.dep"
}

# l1_copy_modules DESTROOT NAME... : copies the modules (decompressed) into
# DESTROOT/lib/modules/ and writes DESTROOT/lib/modules/load.list in order.
l1_copy_modules() {
    local dest=$1; shift
    local list rel out
    list=$(l1_modules_ordered "$@") || { l1_die "modules not found: $list"; return 1; }
    mkdir -p "$dest/lib/modules"
    : > "$dest/lib/modules/load.list"
    for rel in $list; do
        out=${rel##*/}
        case $out in
            *.ko.xz)  xz -dc "$L1_MODDIR/$rel" > "$dest/lib/modules/${out%.xz}"; out=${out%.xz};;
            *.ko.gz)  gzip -dc "$L1_MODDIR/$rel" > "$dest/lib/modules/${out%.gz}"; out=${out%.gz};;
            *.ko.zst) zstd -qdc "$L1_MODDIR/$rel" > "$dest/lib/modules/${out%.zst}"; out=${out%.zst};;
            *)        cp "$L1_MODDIR/$rel" "$dest/lib/modules/$out";;
        esac
        echo "$out" >> "$dest/lib/modules/load.list"
    done
}

# l1_mkinitrd INIT OUT MODULES... : busybox + INIT + modules -> gzipped cpio.
l1_mkinitrd() {
    local init=$1 out=$2; shift 2
    local tmp bb
    bb=$(l1_busybox) || return 1
    tmp=$(mktemp -d "$L1_DIR/initrd.XXXXXX")
    mkdir -p "$tmp"/{bin,dev,proc,sys,tmp,run,newroot,etc}
    cp "$bb" "$tmp/bin/busybox"
    ln -s busybox "$tmp/bin/sh"
    cp "$init" "$tmp/init"; chmod 755 "$tmp/init"
    if [ -n "${L1_INITRD_MODES:-}" ]; then
        mkdir -p "$tmp/modes"
        for f in "$L1_INITRD_MODES"/*.sh; do [ -e "$f" ] && cp "$f" "$tmp/modes/"; done
    fi
    l1_copy_modules "$tmp" "$@" || { rm -rf "$tmp"; return 1; }
    ( cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 ) |
        gzip -6 > "$out.tmp" && mv "$out.tmp" "$out"
    local rc=$?
    rm -rf "$tmp"
    return $rc
}

# Rebuild OUT when it is missing or older than any of the inputs.
l1_stale() {
    local out=$1 f; shift
    [ -e "$out" ] || return 0
    for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
    return 1
}

l1_guest_initrd() {
    l1_kernel || return 1
    local init=$L1_LIB_DIR/init/guest-init
    if l1_stale "$L1_GUEST_INITRD" "$init" "$L1_LIB_DIR/lib.sh" "$L1_KDIR/.stamp-"* \
            "$L1_LIB_DIR"/init/modes/*.sh; then
        l1_msg "building $L1_GUEST_INITRD"
        L1_INITRD_MODES=$L1_LIB_DIR/init/modes \
            l1_mkinitrd "$init" "$L1_GUEST_INITRD" $L1_GUEST_MODULES || return 1
    fi
}

l1_l1_initrd() {
    l1_kernel || return 1
    local init=$L1_LIB_DIR/init/l1-init
    if l1_stale "$L1_L1_INITRD" "$init" "$L1_LIB_DIR/lib.sh" "$L1_KDIR/.stamp-"*; then
        l1_msg "building $L1_L1_INITRD"
        l1_mkinitrd "$init" "$L1_L1_INITRD" $L1_MODULES || return 1
    fi
}

l1_prepare() {
    l1_kernel && l1_guest_initrd && l1_l1_initrd
}

# ------------------------------------------------------------------- run ---
# l1_run [-n NAME] [-t SECONDS] SCRIPT [ARGS...]
# Boots L1, runs SCRIPT ARGS (absolute, or relative to the work tree) inside
# it, returns its exit status (125 when L1 gave none: boot failure, panic,
# timeout).  The L1 console goes to build/l1/logs/NAME.log, and also to
# stderr when L1_TEE=1.  The run's writable directory is build/l1/runs/NAME/.
l1_run() {
    local name="" t=$L1_TIMEOUT
    while [ $# -gt 0 ]; do
        case $1 in
            -n) name=$2; shift 2;;
            -t) t=$2; shift 2;;
            *) break;;
        esac
    done
    local script=$1; shift
    if [ -e "$script" ]; then script=$(realpath "$script")
    else case $script in /*) ;; *) script=$KHYVE_ROOT/$script;; esac
    fi
    [ -n "$name" ] || name=$(basename "$script" .sh)
    case $L1_DIR in /dev/*|/proc/*|/sys/*)
        l1_msg "L1_DIR=$L1_DIR is hidden inside L1 (bind mounts there)"; return 125;;
        /tmp/*|/run/*)
        case $L1_DIR in "$KHYVE_ROOT"/*) ;; *)
            l1_msg "L1_DIR=$L1_DIR is hidden inside L1 (tmpfs there) unless it is inside the work tree"
            return 125;;
        esac;;
    esac
    mkdir -p "$L1_DIR/runs" "$L1_DIR/logs"
    # One L1 machine at a time: two TCG machines on a 2-core host would
    # halve each other's speed (and trip timeouts), and two runs of the same
    # test would share one run directory and log.
    local lockfd
    exec {lockfd}>"$L1_DIR/l1.lock"
    if ! flock -n "$lockfd"; then
        l1_msg "waiting for another L1 run to finish (lock $L1_DIR/l1.lock)"
        flock "$lockfd"
    fi
    L1_RUN_SECONDS=0
    if ! l1_prepare; then
        exec {lockfd}>&-
        l1_msg "could not prepare the L1 kernel and initramfs images"
        return 125
    fi
    local rundir=$L1_DIR/runs/$name log=$L1_DIR/logs/$name.log
    rm -rf "$rundir"; mkdir -p "$rundir" "$L1_DIR/logs"
    {
        echo '#!/bin/bash'
        echo "cd $(printf '%q' "$KHYVE_ROOT") || exit 126"
        echo "export KHYVE_IN_L1=1 KHYVE_L1_OUT=$(printf '%q' "$rundir")"
        echo "export L1_GUEST_KERNEL=$(printf '%q' "$L1_VMLINUZ")"
        echo "export L1_GUEST_INITRD=$(printf '%q' "$L1_GUEST_INITRD")"
        local v
        for v in KHYVE_BIN KHYVE KHYVE_L1_VERBOSE ASAN_OPTIONS UBSAN_OPTIONS \
                 BENCH_N BENCH_CPUS BENCH_MEM; do
            [ -n "${!v:-}" ] || continue
            case $v in
                KHYVE_BIN|KHYVE) echo "export $v=$(printf '%q' "$(realpath -m "${!v}")")";;
                *) echo "export $v=$(printf '%q' "${!v}")";;
            esac
        done
        printf 'exec'; printf ' %q' "$script" "$@"; printf '\n'
    } > "$rundir/cmd.sh"
    chmod 755 "$rundir/cmd.sh"

    local -a qemu=(qemu-system-x86_64 -M q35 -accel tcg -cpu EPYC,+svm
        -smp "$L1_SMP" -m "$L1_MEM" -nographic -no-reboot -nodefaults
        -serial stdio -monitor none
        -kernel "$L1_VMLINUZ" -initrd "$L1_L1_INITRD"
        -append "console=ttyS0 quiet panic=-1 khyve_l1_cmd=$rundir/cmd.sh khyve_l1_out=$rundir khyve_l1_keep=$KHYVE_ROOT"
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
        -virtfs local,path="$rundir",mount_tag=l1out,security_model=none,multidevs=remap)
    local t0=$SECONDS rc attempt
    # The L1 kernel (nested SVM under TCG) has been seen to panic on its
    # own, in its exception entry; that says nothing about khyve, so such a
    # run is tried once more.  Any other failure is final.
    for attempt in 1 2; do
        l1_msg "booting L1 for $name (log: ${log#"$KHYVE_ROOT"/})"
        if [ "${L1_TEE:-0}" = 1 ]; then
            # Live console, less QEMU's TCG CPUID warnings and BIOS screen codes.
            timeout -k 10 "$t" "${qemu[@]}" </dev/null 2>&1 | tee "$log" |
                grep --line-buffered -v "TCG doesn't support requested feature" |
                sed -u 's/\x1bc/\n/g; s/\x1b\[[?0-9;]*[a-zA-Z]//g' >&2
        else
            timeout -k 10 "$t" "${qemu[@]}" </dev/null >"$log" 2>&1
        fi
        rc=$(tr -d '\r' < "$log" | sed -n 's/^KHYVE-L1-EXIT=\([0-9]*\)$/\1/p' | tail -1)
        [ -z "$rc" ] && [ $attempt = 1 ] && grep -q 'Kernel panic - not syncing' "$log" || break
        cp "$log" "$log.panic"
        l1_msg "the L1 machine's own kernel panicked (log kept as ${log#"$KHYVE_ROOT"/}.panic); trying $name once more"
        : > "$rundir/report.txt"
    done
    exec {lockfd}>&-
    L1_RUN_SECONDS=$((SECONDS - t0))
    if [ -z "$rc" ]; then
        l1_msg "L1 for $name gave no exit status after ${L1_RUN_SECONDS}s (timeout ${t}s?); last lines of $log:"
        tail -n 25 "$log" | tr -d '\r' | sed 's/^/l1|  /' >&2
        return 125
    fi
    l1_msg "L1 for $name: exit $rc after ${L1_RUN_SECONDS}s"
    return "$rc"
}

# --------------------------------------------------- helpers used inside L1 ---
# The khyve binary the tests use: $KHYVE_BIN, else $KHYVE (tests/run-all.sh
# sets it), else the ASan build, else the optimised one.
l1_khyve_bin() {
    local b
    if [ -n "${KHYVE_BIN:-}" ]; then
        [ -x "$KHYVE_BIN" ] && { realpath "$KHYVE_BIN"; return 0; }
        return 1
    fi
    for b in ${KHYVE:-} "$KHYVE_ROOT/build/asan/khyve" "$KHYVE_ROOT/build/khyve"; do
        [ -x "$b" ] && { echo "$b"; return 0; }
    done
    return 1
}

# Meaning of bhyve's exit statuses.
khyve_status_text() {
    case $1 in
        0) echo "guest rebooted";;
        1) echo "guest powered off";;
        2) echo "guest halted";;
        3) echo "triple fault";;
        4) echo "error";;
        5) echo "suspended";;
        124|137) echo "killed by the test's timeout";;
        *) echo "unexpected status";;
    esac
}

# Guest kernel command line used everywhere: quiet unless KHYVE_L1_VERBOSE=1.
l1_guest_cmdline() {
    local q=quiet
    [ "${KHYVE_L1_VERBOSE:-0}" = 1 ] && q=
    echo "console=ttyS0 $q khyve.test=$1"
}

# -------------------------------------------- khyve runs inside L1 (tests) ---
KV_UUID_DEFAULT=2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10

# kv_cmd CPUS MODE [KHYVE-OPTIONS...] -> array KV_CMD (VM name "l1test").
kv_cmd() {
    local cpus=$1 mode=$2; shift 2
    KV_CMD=("$KV_BIN" -c "$cpus" -m 256M -s 0,hostbridge -s 31,lpc
        -l com1,stdio
        -o "boot.kernel=$L1_GUEST_KERNEL" -o "boot.initrd=$L1_GUEST_INITRD"
        -o "boot.cmdline=$(l1_guest_cmdline "$mode")" "$@" l1test)
}

# kv_start NAME CPUS MODE [OPTS...]: starts khyve in the background, console
# to $KHYVE_L1_OUT/NAME.console, stderr to NAME.stderr; sets KV_PID, KV_T0.
kv_start() {
    local name=$1; shift
    kv_cmd "$@"
    printf '%q ' "${KV_CMD[@]}" > "$KHYVE_L1_OUT/$name.cmd"; echo >> "$KHYVE_L1_OUT/$name.cmd"
    KV_T0=$EPOCHREALTIME
    "${KV_CMD[@]}" </dev/null >"$KHYVE_L1_OUT/$name.console" 2>"$KHYVE_L1_OUT/$name.stderr" &
    KV_PID=$!
}

# kv_wait NAME TIMEOUT: waits for the khyve started by kv_start; KILLs it after
# TIMEOUT seconds (status 137).  Sets KV_RC and KV_SECS.
kv_wait() {
    local name=$1 t=$2 wd
    ( sleep "$t"; kill -KILL "$KV_PID" 2>/dev/null ) & wd=$!
    wait "$KV_PID"; KV_RC=$?
    kill "$wd" 2>/dev/null; wait "$wd" 2>/dev/null
    KV_SECS=$(awk -v a="$KV_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    t_info "$name: khyve exit $KV_RC ($(khyve_status_text "$KV_RC")) after ${KV_SECS}s"
}

# kv_run NAME TIMEOUT CPUS MODE [OPTS...]: kv_start + kv_wait.
kv_run() {
    local name=$1 t=$2; shift 2
    kv_start "$name" "$@"
    kv_wait "$name" "$t"
}

# kv_wait_for NAME REGEX SECONDS: waits until the console shows REGEX.
kv_wait_for() {
    local name=$1 re=$2 n=$(($3 * 2))
    while [ $n -gt 0 ]; do
        grep -aEq "$re" "$KHYVE_L1_OUT/$name.console" 2>/dev/null && return 0
        kill -0 "$KV_PID" 2>/dev/null || { grep -aEq "$re" "$KHYVE_L1_OUT/$name.console"; return; }
        sleep 0.5; n=$((n - 1))
    done
    return 1
}

# ----- assertions: lines "PASS: ..." / "FAIL: ..." on stdout and in report.txt
T_FAILS=0
T_PASSES=0
t_out() { echo "$*"; [ -n "${KHYVE_L1_OUT:-}" ] && echo "$*" >> "$KHYVE_L1_OUT/report.txt"; }
t_info() { t_out "INFO: $*"; }
t_pass() { t_out "PASS: $*"; T_PASSES=$((T_PASSES + 1)); }
t_fail() { t_out "FAIL: $*"; T_FAILS=$((T_FAILS + 1)); }
# Shows the end of a run's console and stderr after a failure.
t_show() {
    local f
    for f in "$KHYVE_L1_OUT/$1.console" "$KHYVE_L1_OUT/$1.stderr"; do
        [ -s "$f" ] || continue
        t_out "----- last lines of ${f##*/}"
        tail -n 15 "$f" | tr -d '\r' | sed 's/^/  | /' | while IFS= read -r l; do t_out "$l"; done
    done
}
# t_expect_rc NAME WANT
t_expect_rc() {
    if [ "$KV_RC" = "$2" ]; then
        t_pass "$1: exit status $2 ($(khyve_status_text "$2"))"
    else
        t_fail "$1: exit status $KV_RC ($(khyve_status_text "$KV_RC")), want $2 ($(khyve_status_text "$2"))"
        t_show "$1"
    fi
}
# t_expect_console NAME REGEX WHAT
t_expect_console() {
    if tr -d '\r' < "$KHYVE_L1_OUT/$1.console" | grep -aEq "$2"; then
        t_pass "$1: $3"
    else
        t_fail "$1: $3: no line matching /$2/ on the console"
        t_show "$1"
    fi
}
# t_expect_clean NAME: no sanitizer report, no guest panic or init failure.
t_expect_clean() {
    if grep -aEq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
            "$KHYVE_L1_OUT/$1.stderr"; then
        t_fail "$1: sanitizer report on khyve's stderr"
        grep -aE -m5 -A8 'ERROR|runtime error' "$KHYVE_L1_OUT/$1.stderr" |
            while IFS= read -r l; do t_out "  | $l"; done
    fi
    if grep -aEq 'Kernel panic|KHYVE-GUEST-FAIL' "$KHYVE_L1_OUT/$1.console"; then
        t_fail "$1: guest reported a failure"
        grep -aE -m5 'Kernel panic|KHYVE-GUEST-FAIL' "$KHYVE_L1_OUT/$1.console" |
            while IFS= read -r l; do t_out "  | $l"; done
    fi
}
# Sets up a test inside L1: KV_BIN, /dev/kvm, ASan options.
t_setup_inside() {
    : > "$KHYVE_L1_OUT/report.txt"
    [ -c /dev/kvm ] || { t_fail "no /dev/kvm inside L1 (kvm-amd did not load)"; exit 1; }
    KV_BIN=$(l1_khyve_bin) || { t_fail "no khyve binary"; exit 1; }
    # ASan's default exit code (1) would read as "powered off".
    export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:abort_on_error=0:detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
    t_info "khyve: $KV_BIN"
}
t_finish() {
    t_info "$T_PASSES passed, $T_FAILS failed"
    [ "$T_FAILS" -eq 0 ]
}

# l1_need_khyvectl: the host side of a test that drives khyvectl; exits 77
# (skip) when khyvectl is not built beside the khyve under test.
l1_need_khyvectl() {
    local kdir
    kdir=$(dirname "$(l1_khyve_bin 2>/dev/null || echo .)")
    if [ ! -x "$kdir/khyvectl" ]; then
        echo "SKIP: $kdir/khyvectl is not built"
        exit 77
    fi
}

# l1_host_kvm_usable: this host's /dev/kvm exists and opens read-write
# (the kvm suite and bench/ctl run on the host then, else inside L1).
l1_host_kvm_usable() {
    local fd
    [ -c /dev/kvm ] || return 1
    { exec {fd}<>/dev/kvm; } 2>/dev/null || return 1
    exec {fd}>&-
}

# l1_test_main "$0" "$@": the host side of a tests/l1/test_*.sh script; never
# returns.  Skips (77) when L1 cannot run or khyve is not built, else boots
# L1 with the same script and prints its report.
l1_test_main() {
    local script=$1 name reason rc
    shift
    name=$(basename "$script" .sh)
    reason=$(l1_can_run) || { echo "SKIP: $reason"; exit 77; }
    if [ -n "${KHYVE_BIN:-}" ] && [ ! -x "$KHYVE_BIN" ]; then
        echo "FAIL: KHYVE_BIN=$KHYVE_BIN is not an executable"; exit 1
    fi
    l1_khyve_bin >/dev/null || { echo "SKIP: khyve is not built (make asan)"; exit 77; }
    l1_run -n "$name" "$script" "$@"; rc=$?
    if [ -s "$L1_DIR/runs/$name/report.txt" ]; then
        cat "$L1_DIR/runs/$name/report.txt"
    fi
    echo "$name: L1 round trip ${L1_RUN_SECONDS}s; files: ${L1_DIR#"$KHYVE_ROOT"/}/runs/$name/, L1 console: ${L1_DIR#"$KHYVE_ROOT"/}/logs/$name.log"
    [ $rc -eq 125 ] && echo "FAIL: the L1 machine gave no exit status"
    exit $rc
}
