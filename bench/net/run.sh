#!/bin/bash
# bench/net/run.sh — virtio-net TCP throughput and ping latency: khyve vs QEMU.
#
# Inside ONE L1 test machine (tests/l1/lib.sh; QEMU TCG with SVM, kvm-amd),
# the same guest (Debian's kernel + build/bench/guest-initrd.img: busybox,
# iperf3, bench/lib/bench-init; 1 vCPU, 512 MiB, eth0 10.98.0.2/24, MAC
# 52:54:00:be:0c:02) talks to L1 through a tap (kbtap0, 10.98.0.1/24, made
# afresh for every VM) under
#   khyve           build/khyve -s 3,virtio-net,kbtap0,mac=...
#   qemu-vhost-off  qemu-system-x86_64 -M pc -accel kvm -cpu host
#                   -netdev tap,ifname=kbtap0,script=no,downscript=no,vhost=off
#                   -device virtio-net-pci,netdev=n0,mac=...
#   qemu-vhost-on   the same with vhost=on (the kernel's vhost-net worker)
# An iperf3 server runs in L1 for the whole run.  Rounds are interleaved
# (khyve, vhost-off, vhost-on, khyve, ...) so that drift in the host's load
# hits all alike; the table shows medians.
#
# Rows: iperf3 TCP guest->host and host->guest (-R), one stream, the
# receiver's Mbit/s with the first second left out (higher is better);
# busybox ping from the guest to the host, average ms (lower is better).
# Ratios are khyve/QEMU for throughput and QEMU/khyve for latency, so
# >= 1.00 always means khyve is as good or better.
#
# When `build/khyve -s help` lists no virtio-net, the khyve rows are skipped
# (said so) and the QEMU rows still run.
#
# Usage: bench/net/run.sh [-r ROUNDS] [-t SECONDS] [-p PINGS] [-v "VMM..."]
#   -r  rounds per VMM (BENCH_ROUNDS, 2)
#   -t  iperf3 time per direction (BENCH_RUNTIME, 10)
#   -p  pings, one a second (BENCH_PINGS, 20)
#   -v  which VMMs (BENCH_NET_VMMS, "khyve qemu-vhost-off qemu-vhost-on")
# Raw numbers: build/l1/runs/bench-net/results.tsv; consoles beside it.
# Benchmarks never gate CI: this exits 0 unless it could not run at all.
. "$(dirname "$0")/../lib/lib.sh"

ALL_VMMS="khyve qemu-vhost-off qemu-vhost-on"
TAP=kbtap0 HOST_IP=10.98.0.1 GUEST_IP=10.98.0.2 MAC=52:54:00:be:0c:02
MEM=512

khyve_has_net() { "$(bench_khyve)" -s help 2>&1 | grep -q '^ *virtio-net\b'; }

if [ -z "${KHYVE_IN_L1:-}" ]; then
    BENCH_ROUNDS=${BENCH_ROUNDS:-2} BENCH_RUNTIME=${BENCH_RUNTIME:-10}
    BENCH_PINGS=${BENCH_PINGS:-20} BENCH_NET_VMMS=${BENCH_NET_VMMS:-$ALL_VMMS}
    while getopts r:t:p:v:h o; do
        case $o in
            r) BENCH_ROUNDS=$OPTARG;; t) BENCH_RUNTIME=$OPTARG;;
            p) BENCH_PINGS=$OPTARG;; v) BENCH_NET_VMMS=$OPTARG;;
            *) sed -n '2,35p' "$0"; exit 2;;
        esac
    done
    for v in BENCH_ROUNDS BENCH_RUNTIME BENCH_PINGS; do
        case ${!v} in ''|*[!0-9]*|0) echo "bench: $v must be a positive number"; exit 2;; esac
    done
    for v in $BENCH_NET_VMMS; do
        case " $ALL_VMMS " in *" $v "*) ;; *) echo "bench: unknown VMM '$v' (want: $ALL_VMMS)"; exit 2;; esac
    done
    SKIPPED_KHYVE=
    case " $BENCH_NET_VMMS " in *" khyve "*)
        if [ -x "$(bench_khyve)" ] && ! khyve_has_net; then
            SKIPPED_KHYVE="$(bench_khyve) has no virtio-net device ('-s help' does not list it)"
            echo "bench: skipping the khyve rows: $SKIPPED_KHYVE"
            BENCH_NET_VMMS=$(sed 's/\<khyve\> *//' <<<"$BENCH_NET_VMMS")
        fi;;
    esac
fi

# ------------------------------------------------------------ inside L1 ---
if [ -n "${KHYVE_IN_L1:-}" ]; then
    bench_import "$@"
    bench_l1_setup
    RT=$BENCH_RUNTIME
    cmdline="console=ttyS0 quiet bench.mode=net bench.rt=$RT bench.ping=$BENCH_PINGS"
    cmdline+=" bench.ip=$GUEST_IP/24 bench.host=$HOST_IP"
    # Per VM: boot (~15 s) + 2 iperf3 runs + pings, generously.
    VM_T=$((150 + 2 * (RT + 10) * 2 + BENCH_PINGS * 2))
    SRV_PID=
    cleanup() {
        [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
        ip link del "$TAP" 2>/dev/null
    }
    trap cleanup EXIT
    [ -c /dev/net/tun ] || { echo "bench: no /dev/net/tun in L1 (tun module)"; exit 1; }
    case " $BENCH_NET_VMMS " in *" qemu-vhost-on "*)
        [ -c /dev/vhost-net ] || echo "bench: no /dev/vhost-net in L1 (vhost_net module): the vhost=on rows will fail";;
    esac
    iperf3 -s > "$KHYVE_L1_OUT/iperf3-server.log" 2>&1 &
    SRV_PID=$!
    echo "bench: tap $TAP $HOST_IP/24, guest $GUEST_IP; iperf3 ${RT}s per direction," \
         "$BENCH_PINGS pings; $BENCH_ROUNDS rounds of: $BENCH_NET_VMMS"

    new_tap() {
        ip link del "$TAP" 2>/dev/null
        ip tuntap add dev "$TAP" mode tap && ip addr add "$HOST_IP/24" dev "$TAP" &&
            ip link set "$TAP" up
    }
    for r in $(seq "$BENCH_ROUNDS"); do
        for v in $BENCH_NET_VMMS; do
            case $v in
                khyve)
                    VM=("$BK_BIN" -c 1 -m "${MEM}M" -s 0,hostbridge
                        -s "3,virtio-net,$TAP,mac=$MAC" -s 31,lpc -l com1,stdio
                        -o "boot.kernel=$BK_KERNEL" -o "boot.initrd=$BK_INITRD"
                        -o "boot.cmdline=$cmdline" bench);;
                qemu-vhost-*)
                    VM=(qemu-system-x86_64 -M pc -accel kvm -cpu host -smp 1 -m "${MEM}M"
                        -nographic -nodefaults -serial stdio -monitor none -no-reboot
                        -kernel "$BK_KERNEL" -initrd "$BK_INITRD" -append "$cmdline"
                        -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=${v#qemu-vhost-}"
                        -device "virtio-net-pci,netdev=n0,mac=$MAC");;
            esac
            new_tap || { echo "bench: cannot create the tap $TAP"; exit 1; }
            bench_vm "$v" "$r" "$VM_T" "${VM[@]}"
            s=/sys/class/net/$TAP/statistics
            echo "    L1 $TAP: rx_packets=$(cat $s/rx_packets) rx_bytes=$(cat $s/rx_bytes)" \
                 "tx_packets=$(cat $s/tx_packets) tx_bytes=$(cat $s/tx_bytes)" \
                 "rx_dropped=$(cat $s/rx_dropped) tx_dropped=$(cat $s/tx_dropped)"
        done
    done
    exit 0
fi

# ---------------------------------------------------------------- host ---
n_vmms=$(wc -w <<<"$BENCH_NET_VMMS")
[ "$n_vmms" -gt 0 ] || { echo "bench: no VMM left to run"; exit 1; }
echo "bench: virtio-net, $BENCH_ROUNDS rounds of: $BENCH_NET_VMMS; iperf3 ${BENCH_RUNTIME}s per direction, $BENCH_PINGS pings; inside one L1 machine"
bench_host_main bench-net $((600 + BENCH_ROUNDS * n_vmms * (150 + 4 * (BENCH_RUNTIME + 10) + 2 * BENCH_PINGS))) \
    "$0" BENCH_ROUNDS BENCH_RUNTIME BENCH_PINGS BENCH_NET_VMMS
res=$L1_DIR/runs/bench-net/results.tsv
[ "$(wc -l < "$res" 2>/dev/null || echo 0)" -gt 1 ] || { echo "bench: no results"; exit 1; }
[ -n "$BENCH_L1_FAILED" ] && echo "bench: warning: $BENCH_L1_FAILED"

has() { case " $BENCH_NET_VMMS " in *" $1 "*) return 0;; esac; return 1; }
echo
echo "virtio-net: guest <-> L1 over a tap; iperf3 one TCP stream, ${BENCH_RUNTIME}s per direction;"
echo "ping from the guest, $BENCH_PINGS a second apart; medians of $BENCH_ROUNDS rounds;"
echo "ratio >= 1.00: khyve as good or better (throughput khyve/QEMU, latency QEMU/khyve)"
printf '%-28s %-7s %10s %15s %15s %12s %12s\n' row better khyve qemu-vhost-off qemu-vhost-on \
    "khyve/off" "khyve/on"
for m in tcp-g2h-Mbps tcp-h2g-Mbps ping-avg-ms; do
    case $m in
        tcp-g2h-Mbps) l="TCP guest->host (Mbit/s)" d=higher;;
        tcp-h2g-Mbps) l="TCP host->guest (Mbit/s)" d=higher;;
        ping-avg-ms)  l="ping guest->host avg (ms)" d=lower;;
    esac
    k=NA off=NA on=NA
    has khyve && k=$(bench_median "$res" khyve "$m")
    has qemu-vhost-off && off=$(bench_median "$res" qemu-vhost-off "$m")
    has qemu-vhost-on && on=$(bench_median "$res" qemu-vhost-on "$m")
    printf '%-28s %-7s %10s %15s %15s %12s %12s\n' "$l" "$d" "$(bench_fmt "$k")" \
        "$(bench_fmt "$off")" "$(bench_fmt "$on")" \
        "$(bench_ratio "$k" "$off" "$d")" "$(bench_ratio "$k" "$on" "$d")"
done
[ -n "$SKIPPED_KHYVE" ] && echo "khyve rows skipped: $SKIPPED_KHYVE"
short=$(awk -F'\t' 'NR > 1 && $4 == "NA" { n++ } END { print n + 0 }' "$res")
[ "$short" -gt 0 ] && echo "note: $short results missing (NA); see the consoles in ${res%/*}/"
echo
echo "(all under TCG-emulated SVM: compare ratios, not absolute numbers)"
echo "raw: ${res#"$KHYVE_ROOT"/} (L1 round trip ${L1_RUN_SECONDS}s)"
exit 0
