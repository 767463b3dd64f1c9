#!/bin/bash
# bench/blk/run.sh — virtio-blk throughput and IOPS: khyve vs QEMU.
#
# Inside ONE L1 test machine (tests/l1/lib.sh; QEMU TCG with SVM, kvm-amd),
# the same guest (Debian's kernel + build/bench/guest-initrd.img: busybox,
# fio, bench/lib/bench-init; 1 vCPU, 512 MiB) runs fio on its /dev/vda under
#   khyve          build/khyve -s 3,virtio-blk,IMG          (host page cache, io_uring)
#   khyve-threads  the same with -o block.engine=threads    (worker threads)
#   qemu           qemu-system-x86_64 -M pc -accel kvm -cpu host
#                  -drive file=IMG,format=raw,cache=writeback,aio=threads
#                  -device virtio-blk-pci
#   khyve-nocache  build/khyve -s 3,virtio-blk,/dev/ram0,nocache   (O_DIRECT)
#   qemu-nocache   QEMU -drive file=/dev/ram0,cache=none,aio=io_uring
# IMG is a file in L1's tmpfs /tmp.  tmpfs has no O_DIRECT on this kernel,
# so the O_DIRECT pair uses a brd RAM disk (/dev/ram0, insmod brd in L1)
# instead; both are filled with zeros first, so no read hits a hole.
# Rounds are interleaved (khyve, khyve-threads, qemu, ..., khyve, ...) so
# that drift in the host's load hits all alike; the table shows medians.
#
# Rows (fio --direct=1 --ioengine=libaio on /dev/vda, a SIZE region,
# time-based, 1 s ramp): sequential read and write, 1 MiB blocks at iodepth
# 8 (MB/s); random read, 4 KiB blocks at iodepth 1 and 32 (IOPS).  All
# higher-is-better; ratio = khyve / QEMU.
#
# Usage: bench/blk/run.sh [-r ROUNDS] [-t SECONDS] [-s MIB] [-v "VMM..."]
#   -r  rounds per VMM (BENCH_ROUNDS, 2)
#   -t  fio runtime per row (BENCH_RUNTIME, 10)
#   -s  disk and fio region in MiB (BENCH_SIZE, 256)
#   -v  which VMMs (BENCH_BLK_VMMS, "khyve khyve-threads qemu khyve-nocache
#       qemu-nocache")
# Raw numbers: build/l1/runs/bench-blk/results.tsv; consoles beside it.
# Benchmarks never gate CI: this exits 0 unless it could not run at all.
. "$(dirname "$0")/../lib/lib.sh"

ALL_VMMS="khyve khyve-threads qemu khyve-nocache qemu-nocache"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_RUNTIME=${BENCH_RUNTIME:-10}
    BENCH_SIZE=${BENCH_SIZE:-256} BENCH_BLK_VMMS=${BENCH_BLK_VMMS:-$ALL_VMMS}
    while getopts r:t:s:v:h o; do
        case $o in
            r) BENCH_ROUNDS=$OPTARG;; t) BENCH_RUNTIME=$OPTARG;;
            s) BENCH_SIZE=$OPTARG;; v) BENCH_BLK_VMMS=$OPTARG;;
            *) sed -n '2,34p' "$0"; exit 2;;
        esac
    done
    for v in BENCH_ROUNDS BENCH_RUNTIME BENCH_SIZE; do
        case ${!v} in ''|*[!0-9]*|0) echo "bench: $v must be a positive number"; exit 2;; esac
    done
    for v in $BENCH_BLK_VMMS; do
        case " $ALL_VMMS " in *" $v "*) ;; *) echo "bench: unknown VMM '$v' (want: $ALL_VMMS)"; exit 2;; esac
    done
fi
MEM=512

# ------------------------------------------------------------ inside L1 ---
if [ -n "${KHYVE_IN_L1:-}" ]; then
    bench_import "$@"
    bench_l1_setup
    SIZE=$BENCH_SIZE RT=$BENCH_RUNTIME
    IMG=$BK_WORK/disk.img RAM=/dev/ram0
    cmdline="console=ttyS0 quiet bench.mode=blk bench.rt=$RT bench.size=${SIZE}M"
    # Per VM: boot (~15 s) + 4 rows of RT + ramp + fio start-up, generously.
    VM_T=$((120 + 4 * (RT + 15) * 2))

    # khyve's guest memory is a memfd (a monitor keeps it across reboots):
    # huge pages for it need shmem THP, as QEMU's anonymous memory gets
    # them from THP's default "madvise".  BENCH_SHMEM_THP=never to compare.
    echo "${BENCH_SHMEM_THP:-advise}" >/sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null ||
        echo "bench: cannot set shmem_enabled: khyve's guest memory gets no huge pages"
    dd if=/dev/zero of="$IMG" bs=1M count="$SIZE" status=none ||
        { echo "bench: cannot write $IMG"; exit 1; }
    case " $BENCH_BLK_VMMS " in *nocache*)
        kdir=$(dirname "$L1_GUEST_KERNEL")/../lib/modules/${L1_GUEST_KERNEL##*/vmlinuz-}
        [ -b $RAM ] || "$(l1_busybox)" insmod "$kdir/kernel/drivers/block/brd.ko" \
            rd_nr=1 rd_size=$((SIZE * 1024)) max_part=0 ||
            echo "bench: insmod brd failed: no O_DIRECT rows"
        if [ -b $RAM ]; then
            dd if=/dev/zero of=$RAM bs=1M count="$SIZE" oflag=direct status=none ||
                echo "bench: cannot fill $RAM"
        fi;;
    esac
    echo "bench: disk $IMG (tmpfs) and $RAM (brd), $SIZE MiB; fio rows of ${RT}s;" \
         "$BENCH_ROUNDS rounds of: $BENCH_BLK_VMMS"

    khyve_cmd() {   # DISK-OPTS [KHYVE-OPTIONS...]
        local disk=$1; shift
        VM=("$BK_BIN" -c 1 -m "${MEM}M" -s 0,hostbridge -s "3,virtio-blk,$disk"
            -s 31,lpc -l com1,stdio -o "boot.kernel=$BK_KERNEL" -o "boot.initrd=$BK_INITRD"
            -o "boot.cmdline=$cmdline" "$@" bench)
    }
    qemu_cmd() {    # DRIVE-OPTS
        VM=(qemu-system-x86_64 -M pc -accel kvm -cpu host -smp 1 -m "${MEM}M"
            -nographic -nodefaults -serial stdio -monitor none -no-reboot
            -kernel "$BK_KERNEL" -initrd "$BK_INITRD" -append "$cmdline"
            -drive "$1,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0)
    }
    for r in $(seq "$BENCH_ROUNDS"); do
        for v in $BENCH_BLK_VMMS; do
            case $v in
                *nocache) [ -b $RAM ] || continue;;
            esac
            case $v in
                khyve)         khyve_cmd "$IMG";;
                khyve-threads) khyve_cmd "$IMG" -o block.engine=threads;;
                qemu)          qemu_cmd "file=$IMG,cache=writeback,aio=threads";;
                khyve-nocache) khyve_cmd "$RAM,nocache";;
                qemu-nocache)  qemu_cmd "file=$RAM,cache=none,aio=io_uring";;
            esac
            bench_vm "$v" "$r" "$VM_T" "${VM[@]}"
        done
    done
    exit 0
fi

# ---------------------------------------------------------------- host ---
n_vmms=$(wc -w <<<"$BENCH_BLK_VMMS")
echo "bench: virtio-blk, $BENCH_ROUNDS rounds of: $BENCH_BLK_VMMS; fio rows of ${BENCH_RUNTIME}s on ${BENCH_SIZE} MiB; inside one L1 machine"
bench_host_main bench-blk $((600 + BENCH_ROUNDS * n_vmms * 4 * (BENCH_RUNTIME + 15) * 2)) "$0" \
    BENCH_ROUNDS BENCH_RUNTIME BENCH_SIZE BENCH_BLK_VMMS BENCH_SHMEM_THP
res=$L1_DIR/runs/bench-blk/results.tsv
[ "$(wc -l < "$res" 2>/dev/null || echo 0)" -gt 1 ] || { echo "bench: no results"; exit 1; }
[ -n "$BENCH_L1_FAILED" ] && echo "bench: warning: $BENCH_L1_FAILED"

METRICS="seq-read-MBps seq-write-MBps rand-read-qd1-iops rand-read-qd32-iops"
label() {
    case $1 in
        seq-read-MBps)       echo "seq read 1M QD8 (MB/s)";;
        seq-write-MBps)      echo "seq write 1M QD8 (MB/s)";;
        rand-read-qd1-iops)  echo "rand read 4K QD1 (IOPS)";;
        rand-read-qd32-iops) echo "rand read 4K QD32 (IOPS)";;
    esac
}
has() { case " $BENCH_BLK_VMMS " in *" $1 "*) return 0;; esac; return 1; }

# stat VMM METRIC: the value the tables show, by $STAT (median or best).
stat() {
    if [ "$STAT" = best ]; then bench_best "$res" "$1" "$2" higher; else bench_median "$res" "$1" "$2"; fi
}

# table TITLE PEER KHYVE...: one column per VMM, then khyve.../PEER ratios.
table() {
    local title=$1 peer=$2; shift 2
    local k m p h kv=()
    has "$peer" || return 0
    for k in "$@"; do has "$k" && kv+=("$k"); done
    [ ${#kv[@]} -gt 0 ] || return 0
    set -- "${kv[@]}"
    local cols=("$@" "$peer")
    echo
    echo "$title"
    printf '%-26s %-7s' row better
    for k in "${cols[@]}"; do printf ' %13s' "$k"; done
    for k in "$@"; do h="$k/$peer"; printf ' %*s' $(( ${#h} > 10 ? ${#h} : 10 )) "$h"; done
    echo
    for m in $METRICS; do
        printf '%-26s %-7s' "$(label "$m")" higher
        for k in "${cols[@]}"; do printf ' %13s' "$(bench_fmt "$(stat "$k" "$m")")"; done
        p=$(stat "$peer" "$m")
        for k in "$@"; do
            h="$k/$peer"
            printf ' %*s' $(( ${#h} > 10 ? ${#h} : 10 )) "$(bench_ratio "$(stat "$k" "$m")" "$p" higher)"
        done
        echo
    done
}

tables() {
    table "host page cache (file in L1 tmpfs): khyve io_uring / threads vs QEMU cache=writeback,aio=threads" \
        qemu khyve khyve-threads
    table "O_DIRECT (brd RAM disk): khyve ,nocache vs QEMU cache=none,aio=io_uring" \
        qemu-nocache khyve-nocache
}
echo
echo "virtio-blk: fio in the guest on /dev/vda (direct=1, libaio, ${BENCH_SIZE} MiB region,"
echo "${BENCH_RUNTIME}s per row); ratio >= 1.00: khyve as good or better"
echo "== medians of $BENCH_ROUNDS rounds"
STAT=median tables
echo
echo "== best of $BENCH_ROUNDS rounds (interference only slows a round: steadier when rounds scatter)"
STAT=best tables
short=$(awk -F'\t' 'NR > 1 && $4 == "NA" { n++ } END { print n + 0 }' "$res")
[ "$short" -gt 0 ] && echo "note: $short results missing (NA); see the consoles in ${res%/*}/"
echo
echo "(all under TCG-emulated SVM: compare ratios, not absolute numbers)"
echo "raw: ${res#"$KHYVE_ROOT"/} (L1 round trip ${L1_RUN_SECONDS}s)"
exit 0
