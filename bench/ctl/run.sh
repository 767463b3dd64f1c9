#!/bin/bash
# bench/ctl/run.sh — the control socket beside QEMU's QMP.
#
#   round trips  khyve: get-vm-pid over <rundir>/<vm> (SOCK_SEQPACKET) to a
#                tiny guest (build/guest/echo.elf) on /dev/kvm;
#                QEMU:  query-status over QMP (qemu-system-x86_64 -M none,
#                one QMP socket per client, as QMP serves one client per
#                socket).  1 and 8 clients, each doing N requests back to
#                back: requests/s, p50 and p99 latency.
#   create+destroy  of a destroy-on-close named VM through vmmctl (the
#                registry, its lock and the reaper), per operation.
# Where: on this host when its /dev/kvm opens read-write (the test
# tests/run-all.sh uses for the kvm suite), else inside one L1 test machine
# (tests/l1/lib.sh), which has a real /dev/kvm; ctlbench is compiled on the
# host either way.  Inside L1 everything runs under TCG: compare ratios.
# Goals (issue): p99 < 100 us and > 20,000 round trips/s on one client;
# create+destroy well under 1 ms.  Never gates CI: exits 0 unless it
# could not run.
# Usage: bench/ctl/run.sh [-n REQUESTS] [-L]
#   -n  requests per client (BENCH_N, 20000)
#   -L  inside L1 even when the host's /dev/kvm works (BENCH_CTL_L1=1)
# Raw numbers: build/bench/ctl/results.txt, or build/l1/runs/bench-ctl/
# (results.txt, table.txt) after an L1 run.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/lib.sh
. "$(dirname "$0")/../lib/lib.sh"
cd "$KHYVE_ROOT"

N=${BENCH_N:-20000}
IN_L1=${BENCH_CTL_L1:-}
while getopts n:Lh o; do
	case $o in n) N=$OPTARG;; L) IN_L1=1;; *) sed -n '2,23p' "$0"; exit 2;; esac
done
case $N in ''|*[!0-9]*|0) echo "bench/ctl: -n must be a positive number"; exit 2;; esac
KHYVE=build/khyve
CTLBENCH=build/bench/ctl/ctlbench

# Host only: inside L1 the work tree is a read-only 9p mount.
build_ctlbench() {
	if [ ! -x "$KHYVE" ] || [ ! -f build/libkhyve-core.a ]; then echo "bench/ctl: run make first"; exit 2; fi
	[ -f build/guest/echo.elf ] || { echo "bench/ctl: run make guests first"; exit 2; }
	mkdir -p "${CTLBENCH%/*}"
	cc -std=c17 -D_GNU_SOURCE -O2 -Isrc -o "$CTLBENCH" bench/ctl/ctlbench.c \
		build/libkhyve-core.a -luring -lseccomp -lmd -ljson-c -lxml2 -lnl-route-3 -lnl-3 -pthread || exit 2
}

# Boots L1 with this script and shows the table the inner run wrote.
# Seconds: L1 boot plus 18 N round trips (1 + 8 clients, two peers) at
# 100 a second (QMP under TCG measured 130-230), plus 2000 create+destroy
# (about 20 ms each there).
run_in_l1() {
	local t=$((900 + N * 18 / 100)) rc=0 dir=$L1_DIR/runs/bench-ctl
	echo "bench/ctl: $N requests per client, inside one L1 machine (timeout ${t}s)"
	l1_run -n bench-ctl -t "$t" "$0" -n "$N" || rc=$?
	[ -s "$dir/table.txt" ] && cat "$dir/table.txt"
	if [ "$rc" -ne 0 ]; then
		echo "bench/ctl: the L1 run failed (exit $rc; L1 console ${L1_DIR#"$KHYVE_ROOT"/}/logs/bench-ctl.log)"
		exit 2
	fi
	echo "(under TCG-emulated SVM: compare ratios, not absolute numbers)"
	echo "raw: ${dir#"$KHYVE_ROOT"/}/results.txt (L1 round trip ${L1_RUN_SECONDS}s)"
}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# measure OUTD: starts khyve and QEMU, prints the table; raw lines go to
# OUTD/results.txt.  Temporary files live in /tmp (tmpfs inside L1).
measure() {
	local outd=$1 c i k q f kv qv what cd_line socks qargs=()
	TMP=$(mktemp -d /tmp/khyve-bench-ctl.XXXXXX)
	# Reaping them here, stderr closed, keeps bash's "Killed" job notice
	# for QEMU off the table.
	trap 'kill -KILL ${KPID:-} ${QPID:-} 2>/dev/null || true
		wait ${KPID:-} ${QPID:-} 2>/dev/null || true; rm -rf "$TMP"' EXIT
	mkfifo "$TMP/in"; exec 9<>"$TMP/in"
	"$KHYVE" -m 32M -s 0,hostbridge -s 31,lpc -l com1,stdio -o rundir="$TMP/run" \
		-o boot.kernel=build/guest/echo.elf benchvm <"$TMP/in" >"$TMP/console" 2>&1 &
	KPID=$!
	for i in $(seq 8); do
		qargs+=(-chardev "socket,id=q$i,path=$TMP/qmp$i,server=on,wait=off" -mon "chardev=q$i,mode=control")
	done
	qemu-system-x86_64 -M none -display none -nodefaults -S "${qargs[@]}" >"$TMP/qemu.log" 2>&1 &
	QPID=$!
	# 10 s on a host; under TCG in L1 start-up takes longer.
	for _ in $(seq 600); do
		[ -S "$TMP/run/benchvm" ] && [ -S "$TMP/qmp8" ] && break
		sleep 0.1
	done
	[ -S "$TMP/run/benchvm" ] || { echo "bench/ctl: khyve did not start"; cat "$TMP/console"; exit 2; }
	[ -S "$TMP/qmp8" ] || { echo "bench/ctl: QEMU did not start"; cat "$TMP/qemu.log"; exit 2; }

	printf '%-28s %12s %12s %8s\n' "row" "khyve" "QEMU QMP" "k/QEMU"
	for c in 1 8; do
		k=$("$CTLBENCH" khyve "$TMP/run/benchvm" $c "$N") || { echo "khyve run failed"; exit 2; }
		socks=()
		for i in $(seq $c); do socks+=("$TMP/qmp$i"); done
		q=$("$CTLBENCH" qmp "${socks[@]}" "$N") || { echo "QMP run failed"; exit 2; }
		echo "clients=$c khyve $k qemu $q" >> "$outd/results.txt"
		for f in rps p50_us p99_us; do
			kv=$(echo "$k" | field $f); qv=$(echo "$q" | field $f)
			case $f in rps) what="requests/s (higher better)";; *) what="$f (lower better)";; esac
			printf '%-28s %12s %12s %8s\n' "$c client(s): $what" "$kv" "$qv" "$(ratio "$kv" "$qv")"
		done
	done
	cd_line=$("$CTLBENCH" vmmctl "$TMP/cd" 2000) || { echo "create/destroy failed"; exit 2; }
	echo "create+destroy: $cd_line" >> "$outd/results.txt"
	printf '%-28s %12s\n' "create+destroy, us per op" "$(echo "$cd_line" | field us_per_op)"
}

if [ -n "${KHYVE_IN_L1:-}" ]; then
	# The build tree is read-only here: results go to $KHYVE_L1_OUT.
	[ -c /dev/kvm ] || { echo "bench/ctl: no /dev/kvm inside L1"; exit 2; }
	[ -x "$CTLBENCH" ] || { echo "bench/ctl: no $CTLBENCH (the host compiles it)"; exit 2; }
	measure "$KHYVE_L1_OUT" | tee "$KHYVE_L1_OUT/table.txt"
	exit 0
fi
build_ctlbench
if [ -n "$IN_L1" ] || ! l1_host_kvm_usable; then
	reason=$(l1_can_run) || { echo "bench/ctl: cannot run: $reason"; exit 2; }
	run_in_l1
	exit 0
fi
mkdir -p build/bench/ctl
measure build/bench/ctl
exit 0
