#!/bin/bash
# bench/boot/run.sh — boot time and VMM memory: khyve vs QEMU (microvm, pc).
#
# Inside ONE L1 test machine (tests/l1/lib.sh; QEMU TCG with SVM, kvm-amd),
# boots Debian's kernel + the busybox test initramfs N times with each of
#   khyve        build/khyve (optimised) -s 0,hostbridge -s 31,lpc -l com1,stdio
#   qemu-microvm qemu-system-x86_64 -M microvm -accel kvm
#   qemu-pc      qemu-system-x86_64 -M pc -accel kvm
# all with the same -c/-smp, -m, kernel, initramfs and command line
# (console=ttyS0 quiet khyve.test=ignore), console on a pipe, and reports
# medians and khyve/QEMU ratios.  The runs are interleaved (khyve, microvm,
# pc, khyve, ...) so that drift in the host's load hits all three alike.
#
# Usage: bench/boot/run.sh [-n RUNS] [-c VCPUS] [-m MEGABYTES]   (5, 1, 256)
# Raw numbers: build/l1/runs/bench-boot/results.tsv; consoles beside it.
#
# What is measured:
#  boot   wall time from just before the VMM process is started to the
#         moment the guest's "KHYVE-GUEST-UP" line arrives on the VMM's
#         stdout (bash $EPOCHREALTIME; a blocking read on a pipe, no polling).
#         It includes VMM start-up, firmware (SeaBIOS/qboot for QEMU, none
#         for khyve), kernel decompression and boot, and initramfs unpacking.
#  vmm    the VMM's own memory: when the guest has printed
#         "KHYVE-GUEST-WAITING" (booted and idle), the Rss of every mapping
#         in /proc/PID/smaps except the guest-RAM mappings, i.e. those at
#         least as large as the guest's RAM (khyve's memfd, QEMU's pc.ram /
#         microvm.ram).  So: resident memory minus what the guest touched.
#         Also recorded: total VmRSS and the guest-RAM Rss.
# Benchmarks never gate CI: this exits 0 unless it could not run at all.
. "$(dirname "$0")/../../tests/l1/lib.sh"

N=${BENCH_N:-5} CPUS=${BENCH_CPUS:-1} MEM=${BENCH_MEM:-256}
while getopts n:c:m:h o; do
    case $o in
        n) N=$OPTARG;; c) CPUS=$OPTARG;; m) MEM=$OPTARG;;
        *) sed -n '2,30p' "$0"; exit 2;;
    esac
done
export BENCH_N=$N BENCH_CPUS=$CPUS BENCH_MEM=$MEM

# ------------------------------------------------------------ inside L1 ---
bench_one() {     # VMM RUN#: one boot; appends a line to results.tsv
    local vmm=$1 i=$2 out=$KHYVE_L1_OUT line pid wd t0 tup="" twait=""
    local log=$out/$vmm-$i.console fifo=/tmp/bench.fifo
    local cmdline="console=ttyS0 quiet khyve.test=ignore"
    local -a cmd
    case $vmm in
        khyve) cmd=("$KHYVE_ROOT/build/khyve" -c "$CPUS" -m "${MEM}M"
                    -s 0,hostbridge -s 31,lpc -l com1,stdio
                    -o "boot.kernel=$L1_GUEST_KERNEL" -o "boot.initrd=$L1_GUEST_INITRD"
                    -o "boot.cmdline=$cmdline" bench);;
        qemu-microvm|qemu-pc)
               cmd=(qemu-system-x86_64 -M "${vmm#qemu-}" -accel kvm -cpu host
                    -smp "$CPUS" -m "${MEM}M" -nographic -nodefaults
                    -serial stdio -monitor none -no-reboot
                    -kernel "$L1_GUEST_KERNEL" -initrd "$L1_GUEST_INITRD"
                    -append "$cmdline");;
    esac
    rm -f "$fifo"; mkfifo "$fifo"
    t0=$EPOCHREALTIME
    "${cmd[@]}" </dev/null >"$fifo" 2>"$out/$vmm-$i.stderr" &
    pid=$!
    ( sleep 120; kill -KILL "$pid" 2>/dev/null ) & wd=$!
    exec 3<"$fifo"
    : > "$log"
    while IFS= read -r -u 3 line; do
        printf '%s\n' "$line" >> "$log"
        case $line in
            *KHYVE-GUEST-UP*) tup=$EPOCHREALTIME;;
            *KHYVE-GUEST-WAITING*) twait=$EPOCHREALTIME; break;;
        esac
    done
    local own=NA guest=NA rss=NA
    if [ -n "$twait" ] && [ -r "/proc/$pid/smaps" ]; then
        read -r own guest < <(awk -v g=$((MEM * 1024)) '
            /^Size:/ { big = ($2 >= g) }
            /^Rss:/  { if (big) guest += $2; else own += $2 }
            END      { print own + 0, guest + 0 }' "/proc/$pid/smaps")
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    fi
    cat <&3 >> "$log" &
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kill "$wd" 2>/dev/null; wait "$wd" 2>/dev/null
    wait 2>/dev/null
    exec 3<&-
    local boot=NA
    [ -n "$tup" ] && boot=$(awk -v a="$t0" -v b="$tup" 'BEGIN { printf "%.3f", b - a }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$vmm" "$i" "$boot" "$own" "$guest" "$rss" >> "$out/results.tsv"
    printf '%-13s run %s: boot %ss, vmm %s KiB, guest-touched %s KiB, VmRSS %s KiB\n' \
        "$vmm" "$i" "$boot" "$own" "$guest" "$rss"
}

if [ -n "${KHYVE_IN_L1:-}" ]; then
    [ -c /dev/kvm ] || { echo "bench: no /dev/kvm inside L1"; exit 1; }
    printf 'vmm\trun\tboot_s\tvmm_kib\tguest_kib\tvmrss_kib\n' > "$KHYVE_L1_OUT/results.tsv"
    for i in $(seq "$N"); do
        for vmm in khyve qemu-microvm qemu-pc; do bench_one "$vmm" "$i"; done
    done
    exit 0
fi

# ---------------------------------------------------------------- host ---
reason=$(l1_can_run) || { echo "bench: cannot run: $reason"; exit 1; }
[ -x "$KHYVE_ROOT/build/khyve" ] || { echo "bench: build/khyve is missing: run make"; exit 1; }
echo "bench: $N boots each of khyve, qemu -M microvm, qemu -M pc; -c $CPUS -m ${MEM}M; inside one L1 machine"
l1_run -n bench-boot -t $((300 + N * 3 * 60)) "$0" || { echo "bench: the L1 run failed (log: build/l1/logs/bench-boot.log)"; exit 1; }
res=$L1_DIR/runs/bench-boot/results.tsv
[ -s "$res" ] || { echo "bench: no results"; exit 1; }

median() {  # VMM COLUMN -> median of the numeric values
    awk -F'\t' -v v="$1" -v c="$2" 'NR > 1 && $1 == v && $c != "NA" { print $c }' "$res" |
        sort -g | awk '{ a[NR] = $1 } END {
            if (NR == 0) { print "NA"; exit }
            if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }

kb=$(median khyve 3); km=$(median khyve 4)
echo
echo "boot = start of VMM to guest marker (s); vmm = VMM's own resident memory at"
echo "guest idle, guest-RAM mappings excluded (KiB); medians of $N runs"
printf '%-14s %10s %10s %14s %12s %14s\n' VMM "boot(s)" "vmm(KiB)" "guest(KiB)" "khyve/boot" "khyve/vmm"
for v in khyve qemu-microvm qemu-pc; do
    b=$(median "$v" 3); m=$(median "$v" 4); g=$(median "$v" 5)
    printf '%-14s %10s %10s %14s %12s %14s\n' "$v" "$b" "$m" "$g" "$(ratio "$kb" "$b")" "$(ratio "$km" "$m")"
done
echo
echo "raw: ${res#"$KHYVE_ROOT"/} (L1 round trip ${L1_RUN_SECONDS}s)"
exit 0
