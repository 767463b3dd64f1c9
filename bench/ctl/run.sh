#!/bin/bash
# bench/ctl/run.sh — the control socket beside QEMU's QMP, on this host.
#
#   round trips  khyve: get-vm-pid over <rundir>/<vm> (SOCK_SEQPACKET) to a
#                tiny guest (build/guest/echo.elf) on /dev/kvm;
#                QEMU:  query-status over QMP (qemu-system-x86_64 -M none,
#                one QMP socket per client, as QMP serves one client per
#                socket).  1 and 8 clients, each doing N requests back to
#                back: requests/s, p50 and p99 latency.
#   create+destroy  of a destroy-on-close named VM through vmmctl (the
#                registry, its lock and the reaper), per operation.
# Goals (issue): p99 < 100 us and > 20,000 round trips/s on one client;
# create+destroy well under 1 ms.  Never gates CI: exits 0 unless it
# could not run.
# Usage: bench/ctl/run.sh [-n REQUESTS]     (default 20000 per client)
set -u
cd "$(dirname "$0")/../.." || exit 2
N=${BENCH_N:-20000}
while getopts n:h o; do
	case $o in n) N=$OPTARG;; *) sed -n '2,17p' "$0"; exit 2;; esac
done
KHYVE=build/khyve
OUTD=build/bench/ctl
mkdir -p "$OUTD"
[ -x "$KHYVE" ] && [ -f build/libkhyve-core.a ] || { echo "bench/ctl: run make first"; exit 2; }
[ -f build/guest/echo.elf ] || { echo "bench/ctl: run make guests first"; exit 2; }
cc -std=c17 -D_GNU_SOURCE -O2 -Isrc -o "$OUTD/ctlbench" bench/ctl/ctlbench.c \
	build/libkhyve-core.a -luring -lseccomp -lmd -ljson-c -lxml2 -pthread || exit 2

TMP=$(mktemp -d /tmp/khyve-bench-ctl.XXXXXX)
cleanup() { kill -KILL ${KPID:-} ${QPID:-} 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
mkfifo "$TMP/in"; exec 9<>"$TMP/in"
"$KHYVE" -m 32M -s 0,hostbridge -s 31,lpc -l com1,stdio -o rundir="$TMP/run" \
	-o boot.kernel=build/guest/echo.elf benchvm <"$TMP/in" >"$TMP/console" 2>&1 &
KPID=$!
qargs=()
for i in $(seq 8); do
	qargs+=(-chardev "socket,id=q$i,path=$TMP/qmp$i,server=on,wait=off" -mon "chardev=q$i,mode=control")
done
qemu-system-x86_64 -M none -display none -nodefaults -S "${qargs[@]}" >"$TMP/qemu.log" 2>&1 &
QPID=$!
for _ in $(seq 100); do
	[ -S "$TMP/run/benchvm" ] && [ -S "$TMP/qmp8" ] && break
	sleep 0.1
done
[ -S "$TMP/run/benchvm" ] || { echo "bench/ctl: khyve did not start"; cat "$TMP/console"; exit 2; }
[ -S "$TMP/qmp8" ] || { echo "bench/ctl: QEMU did not start"; cat "$TMP/qemu.log"; exit 2; }

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-28s %12s %12s %8s\n' "row" "khyve" "QEMU QMP" "k/QEMU"
for c in 1 8; do
	k=$("$OUTD/ctlbench" khyve "$TMP/run/benchvm" $c "$N") || { echo "khyve run failed"; exit 2; }
	socks=()
	for i in $(seq $c); do socks+=("$TMP/qmp$i"); done
	q=$("$OUTD/ctlbench" qmp "${socks[@]}" "$N") || { echo "QMP run failed"; exit 2; }
	echo "clients=$c khyve $k qemu $q" >> "$OUTD/results.txt"
	for f in rps p50_us p99_us; do
		kv=$(echo "$k" | field $f); qv=$(echo "$q" | field $f)
		case $f in rps) what="requests/s (higher better)";; *) what="$f (lower better)";; esac
		printf '%-28s %12s %12s %8s\n' "$c client(s): $what" "$kv" "$qv" "$(ratio "$kv" "$qv")"
	done
done
cd_line=$("$OUTD/ctlbench" vmmctl "$TMP/cd" 2000) || { echo "create/destroy failed"; exit 2; }
echo "create+destroy: $cd_line" | tee -a "$OUTD/results.txt"
printf '%-28s %12s\n' "create+destroy, us per op" "$(echo "$cd_line" | field us_per_op)"
exit 0
