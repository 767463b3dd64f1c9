# shellcheck shell=bash
# bench/lib/lib.sh — shared by bench/blk/run.sh and bench/net/run.sh.
# Sources tests/l1/lib.sh (the L1 test machine) and adds:
#   host side
#     bench_initrd            build/bench/guest-initrd.img: busybox-static,
#                             bench/lib/bench-init as /init, the virtio-pci,
#                             virtio-blk and virtio-net modules, fio and
#                             iperf3 with their shared libraries and the
#                             dynamic loader (from ldd), zstd-compressed
#     bench_host_main NAME TIMEOUT SCRIPT VAR...
#                             checks, deps, initramfs, one L1 boot running
#                             SCRIPT with the BENCH_* variables VAR...
#     bench_median / bench_best / bench_ratio / bench_row   the table
#   inside L1
#     bench_l1_setup          /dev/kvm, khyve binary, kernel+initramfs in /tmp
#     bench_vm VMM ROUND TIMEOUT CMD...
#                             runs one VM, appends its BENCH-RESULT lines
#                             to results.tsv
# shellcheck source=../../tests/l1/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../tests/l1/lib.sh"

BENCH_LIB_DIR=$KHYVE_ROOT/bench/lib
BENCH_BUILD=${BENCH_BUILD:-$KHYVE_ROOT/build/bench}
BENCH_INITRD=$BENCH_BUILD/guest-initrd.img
BENCH_GUEST_MODULES="virtio_pci virtio_blk virtio_net"
BENCH_GUEST_BINS="fio iperf3"

bench_msg() { printf 'bench: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- host ---
# bench_libs BIN...: the shared objects BIN... load (ldd), loader included.
bench_libs() {
    local b out
    for b in "$@"; do
        out=$(ldd "$b") || { bench_msg "ldd $b failed"; return 1; }
        if grep -q 'not found' <<<"$out"; then
            bench_msg "$b: $(grep 'not found' <<<"$out" | head -3 | tr '\n' ' ')"
            return 1
        fi
        awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
    done | sort -u
}

bench_initrd() {
    l1_kernel || return 1
    local bins=() b p tmp bb comp
    for b in $BENCH_GUEST_BINS; do
        p=$(command -v "$b") || { bench_msg "$b is missing (scripts/deps.sh bench)"; return 1; }
        bins+=("$p")
    done
    mkdir -p "$BENCH_BUILD"
    l1_stale "$BENCH_INITRD" "$BENCH_LIB_DIR/bench-init" "$BENCH_LIB_DIR/lib.sh" \
        "$L1_LIB_DIR/lib.sh" "$L1_KDIR/.stamp-"* "${bins[@]}" || return 0
    bench_msg "building ${BENCH_INITRD#"$KHYVE_ROOT"/} (busybox, fio, iperf3 and their libraries)"
    bb=$(l1_busybox) || return 1
    tmp=$(mktemp -d "$BENCH_BUILD/initrd.XXXXXX")
    mkdir -p "$tmp"/{bin,usr/bin,dev,proc,sys,tmp,run,etc}
    cp "$bb" "$tmp/bin/busybox"
    ln -s busybox "$tmp/bin/sh"
    cp "$BENCH_LIB_DIR/bench-init" "$tmp/init"; chmod 755 "$tmp/init"
    l1_copy_modules "$tmp" $BENCH_GUEST_MODULES || { rm -rf "$tmp"; return 1; }
    for p in "${bins[@]}"; do cp -L "$p" "$tmp/usr/bin/"; done
    # Each library at the path ldd names (the loader's default directories
    # and the RUNPATHs of Debian's libraries, e.g. .../ceph/, still hold).
    local libs
    libs=$(bench_libs "${bins[@]}") || { rm -rf "$tmp"; return 1; }
    for p in $libs; do
        mkdir -p "$tmp${p%/*}"
        cp -L "$p" "$tmp$p"
    done
    echo "root:x:0:0:root:/:/bin/sh" > "$tmp/etc/passwd"
    echo "root:x:0:" > "$tmp/etc/group"
    # The kernel unpacks zstd quickly even under TCG; gzip as a fallback.
    comp="gzip -6"
    command -v zstd >/dev/null && comp="zstd -q -6 -T0"
    ( cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 ) |
        $comp > "$BENCH_INITRD.tmp" && mv "$BENCH_INITRD.tmp" "$BENCH_INITRD"
    local rc=$?
    rm -rf "$tmp"
    [ $rc -eq 0 ] && bench_msg "$(du -h "$BENCH_INITRD" | cut -f1) ${BENCH_INITRD#"$KHYVE_ROOT"/}"
    return $rc
}

# bench_host_main NAME TIMEOUT SCRIPT VAR...: everything the host does before
# the table; exits 1 when the benchmark cannot run at all.  The variables
# VAR... (BENCH_*) reach the script inside L1 as VAR=VALUE arguments.  When
# the L1 run fails midway, BENCH_L1_FAILED says so (results.tsv is written
# as the runs go, so the table can still show what was measured).
bench_host_main() {
    local name=$1 t=$2 script=$3; shift 3
    local reason v args=()
    reason=$(l1_can_run) || { echo "bench: cannot run: $reason"; exit 1; }
    "$KHYVE_ROOT/scripts/deps.sh" bench ||
        { echo "bench: cannot run: scripts/deps.sh bench failed (fio, iperf3)"; exit 1; }
    [ -x "$(bench_khyve)" ] || { echo "bench: $(bench_khyve) is missing: run make"; exit 1; }
    bench_initrd || { echo "bench: cannot build the bench initramfs"; exit 1; }
    for v in "$@"; do args+=("$v=${!v}"); done
    BENCH_L1_FAILED=
    if ! l1_run -n "$name" -t "$t" "$script" "${args[@]}"; then
        BENCH_L1_FAILED="the L1 run failed (log: ${L1_DIR#"$KHYVE_ROOT"/}/logs/$name.log); the table shows what it measured before"
        echo "bench: $BENCH_L1_FAILED"
    fi
}

# The khyve under test: $KHYVE_BIN, else the optimised build.
bench_khyve() { echo "${KHYVE_BIN:-$KHYVE_ROOT/build/khyve}"; }

# bench_median TSV VMM METRIC -> median of the numeric values, or NA.
bench_median() {
    awk -F'\t' -v v="$2" -v m="$3" 'NR > 1 && $1 == v && $3 == m && $4 != "NA" { print $4 }' "$1" |
        sort -g | awk '{ a[NR] = $1 } END {
            if (NR == 0) { print "NA"; exit }
            if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# bench_best TSV VMM METRIC higher|lower -> the best value (max or min), or
# NA.  On a shared host interference only ever slows a round down, so the
# best round is the steadier estimate when rounds scatter.
bench_best() {
    awk -F'\t' -v v="$2" -v m="$3" -v d="${4:-higher}" 'NR > 1 && $1 == v && $3 == m && $4 != "NA" {
            if (n++ == 0 || (d == "lower" ? $4 < b : $4 > b)) b = $4 }
        END { if (n) print b; else print "NA" }' "$1"
}
# bench_count TSV VMM METRIC -> how many numeric values
bench_count() {
    awk -F'\t' -v v="$2" -v m="$3" 'NR > 1 && $1 == v && $3 == m && $4 != "NA" { n++ } END { print n + 0 }' "$1"
}

# bench_ratio KHYVE PEER higher|lower: how khyve compares, >= 1.00 meaning
# at least as good: KHYVE/PEER for higher-is-better rows, PEER/KHYVE for
# lower-is-better rows (latency).
bench_ratio() {
    awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN {
        if (a == "NA" || b == "NA" || a == 0 || b == 0) { print "NA"; exit }
        printf "%.2f", (d == "lower") ? b / a : a / b }'
}

# bench_fmt VALUE: 4 significant digits, NA unchanged.
bench_fmt() {
    awk -v a="$1" 'BEGIN { if (a == "NA") print "NA"; else if (a >= 1000) printf "%.0f", a;
        else if (a >= 100) printf "%.1f", a; else if (a >= 1) printf "%.2f", a; else printf "%.3f", a }'
}

# ------------------------------------------------------------ inside L1 ---
# Exports the BENCH_*=VALUE arguments the host passed.
bench_import() {
    local a
    for a in "$@"; do
        case $a in
            BENCH_[A-Z0-9_]*=*) export "${a?}";;
            *) echo "bench: unexpected argument '$a'"; exit 1;;
        esac
    done
}

# Sets BK_BIN (khyve), BK_KERNEL, BK_INITRD (copies in L1's tmpfs, so that
# no VMM reads them over 9p), BK_WORK; starts results.tsv.
bench_l1_setup() {
    [ -c /dev/kvm ] || { echo "bench: no /dev/kvm inside L1"; exit 1; }
    BK_BIN=$(bench_khyve)
    BK_WORK=/tmp/bench
    rm -rf "$BK_WORK"; mkdir -p "$BK_WORK"
    cp "$L1_GUEST_KERNEL" "$BK_WORK/vmlinuz" && cp "$BENCH_INITRD" "$BK_WORK/initrd.img" ||
        { echo "bench: cannot copy the guest kernel and initramfs to $BK_WORK"; exit 1; }
    BK_KERNEL=$BK_WORK/vmlinuz BK_INITRD=$BK_WORK/initrd.img
    # The L1 kernel has been seen (once, bench/net) to soft-lock CPU 0 for
    # good in khyve's main thread right after its guest powered off: the
    # whole L1 machine then hangs until l1_run's timeout.  Panic instead
    # (l1_run boots L1 once more after a panic), and print kernel warnings
    # and stack traces so that the L1 log shows where it was stuck.
    sysctl -qw kernel.softlockup_panic=1 kernel.panic_on_rcu_stall=1 2>/dev/null
    echo 7 > /proc/sys/kernel/printk
    printf 'vmm\tround\tmetric\tvalue\tsecs\n' > "$KHYVE_L1_OUT/results.tsv"
    echo "bench: khyve $BK_BIN; guest kernel ${L1_GUEST_KERNEL##*/}; $(nproc) L1 CPUs," \
         "$(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
}

# bench_vm VMM ROUND TIMEOUT CMD...: runs CMD (a VM whose guest prints
# BENCH-RESULT lines and powers off) with its console in
# $KHYVE_L1_OUT/VMM-ROUND.console, KILLs it after TIMEOUT seconds, appends
# "VMM ROUND METRIC VALUE SECS" lines to results.tsv and prints them.
bench_vm() {
    local vmm=$1 round=$2 t=$3; shift 3
    local name=$vmm-$round out=$KHYVE_L1_OUT pid wd rc t0 secs
    printf '%q ' "$@" > "$out/$name.cmd"; echo >> "$out/$name.cmd"
    t0=$EPOCHREALTIME
    "$@" </dev/null >"$out/$name.console" 2>"$out/$name.stderr" &
    pid=$!
    ( sleep "$t"; kill -KILL "$pid" 2>/dev/null ) & wd=$!
    wait "$pid"; rc=$?
    kill "$wd" 2>/dev/null; wait "$wd" 2>/dev/null
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    tr -d '\r' < "$out/$name.console" |
        awk -v v="$vmm" -v r="$round" -v s="$secs" '$1 == "BENCH-RESULT" && NF >= 3 {
            printf "%s\t%s\t%s\t%s\t%s\n", v, r, $2, $3, s }' >> "$out/results.tsv"
    printf '%-16s round %s: exit %s after %ss:' "$vmm" "$round" "$rc" "$secs"
    tr -d '\r' < "$out/$name.console" | awk '$1 == "BENCH-RESULT" { printf " %s=%s", $2, $3 }'
    echo
    tr -d '\r' < "$out/$name.console" | grep -a 'BENCH-FAIL' | sed 's/^/    /'
    if ! tr -d '\r' < "$out/$name.console" | grep -aq '^BENCH-DONE'; then
        echo "    no BENCH-DONE (exit $rc); last lines of the console and stderr:"
        tail -n 8 "$out/$name.console" | tr -d '\r' | sed 's/^/    | /'
        tail -n 5 "$out/$name.stderr" | sed 's/^/    ! /'
    fi
}
