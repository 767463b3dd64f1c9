#!/usr/bin/env bash
# khyve's test runner.   tests/run-all.sh [unit|cli|kvm|l1|fuzz ...]
# Default: every suite present.  Runs
#   unit  build/asan/tests/unit/test_*   (cmocka; individual tests counted)
#   cli   tests/cli/*.sh                 (no KVM needed)
#   kvm   tests/kvm/*.sh                 (tiny guests on /dev/kvm; on a host
#                                         without a usable one, all of them
#                                         inside one L1 test machine)
#   l1    tests/l1/test_*.sh             (Linux guests in the L1 machine)
#   fuzz  tests/fuzz/run-smoke.sh        (libFuzzer smoke)
# Scripts: exit 0 pass, 77 skip, anything else fail.  Prints one
# PASS/FAIL/SKIP line per test with its duration, keeps failing tests'
# output in build/test-logs/, and ends with exactly one line
# "N passed, N failed[, N skipped]"; exits 1 when anything failed.
# Environment: TEST_TIMEOUT (seconds per test script/binary, default 600),
# KHYVE_TEST_LOGS (where failing tests' logs go, default build/test-logs).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
LOGS=${KHYVE_TEST_LOGS:-$ROOT/build/test-logs}
ASAN_BIN=${KHYVE_BUILD:-$ROOT/build/asan}	# override for testing the runner
TEST_TIMEOUT=${TEST_TIMEOUT:-600}

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:print_stacktrace=1:detect_leaks=1:exitcode=86:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=87}
export KHYVE=${KHYVE:-$ASAN_BIN/khyve}
export GUESTS=${GUESTS:-$ROOT/build/guest}

passed=0 failed=0 skipped=0
failures=()

rm -rf "$LOGS"
mkdir -p "$LOGS"

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# report RESULT NAME START [NOTE]
report() {
	printf '%-4s %-40s %7s%s\n' "$1" "$2" "$(elapsed "$3")" "${4:+  $4}"
}

logname() { echo "$LOGS/${1//\//_}.log"; }

# run_script SUITE/NAME PATH: a script with the 0/77/other protocol.
run_script() {
	local name=$1 path=$2 start rc out
	out=$(mktemp)
	start=$(now)
	{ timeout -k 10 "$TEST_TIMEOUT" bash "$path" </dev/null >"$out" 2>&1; } 2>/dev/null
	rc=$?
	case $rc in
	0)	passed=$((passed + 1)); report PASS "$name" "$start" ;;
	77)	skipped=$((skipped + 1))
		report SKIP "$name" "$start" "$(grep -m1 -i 'skip' "$out" | cut -c1-120)" ;;
	*)	failed=$((failed + 1)); failures+=("$name")
		[ $rc = 124 ] && echo "runner: timed out after ${TEST_TIMEOUT}s" >>"$out"
		cp "$out" "$(logname "$name")"
		report FAIL "$name" "$start" "(status $rc, log $(realpath --relative-to="$ROOT" "$(logname "$name")"))"
		sed 's/^/    | /' "$out" | tail -25 ;;
	esac
	rm -f "$out"
}

suite_unit() {
	local bin name start rc out p f n src
	# A test source without its binary is a failure, not silence.
	if [ -z "${KHYVE_BUILD:-}" ]; then
		for src in tests/unit/test_*.c; do
			[ -f "$src" ] || continue
			name=unit/$(basename "$src" .c)
			[ -x "$ASAN_BIN/tests/unit/$(basename "$src" .c)" ] && continue
			start=$(now)
			failed=$((failed + 1)); failures+=("$name")
			report FAIL "$name" "$start" "(not built: make asan)"
		done
	fi
	for bin in "$ASAN_BIN"/tests/unit/test_*; do
		[ -x "$bin" ] && [ -f "$bin" ] || continue
		name=unit/$(basename "$bin")
		out=$(mktemp)
		start=$(now)
		{ timeout -k 10 "$TEST_TIMEOUT" "$bin" </dev/null >"$out" 2>&1; } 2>/dev/null
		rc=$?
		[ "$rc" -le 128 ] || echo "runner: exit status $rc (signal $((rc - 128)) or timeout)" >>"$out"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
		n=$(grep -c '^\[  \(PASSED\|FAILED\)  \] [0-9][0-9]* test(s)' "$out")
		if [ "$n" = 0 ]; then
			p=0; f=1	# crashed or ran no tests: one failure
		elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1	# non-zero exit (sanitizer, leak...) after its tests passed
		fi
		passed=$((passed + p)); failed=$((failed + f))
		if [ "$f" = 0 ]; then
			report PASS "$name" "$start" "($p tests)"
		else
			failures+=("$name")
			cp "$out" "$(logname "$name")"
			report FAIL "$name" "$start" "($p passed, $f failed, status $rc, log $(realpath --relative-to="$ROOT" "$(logname "$name")"))"
			{ grep -E '^\[  FAILED  \] [^0-9]|^\[  ERROR   \]|ERROR: AddressSanitizer|runtime error' "$out" ||
			  tail -10 "$out"; } | awk '!seen[$0]++' | sed 's/^/    | /' | head -20
		fi
		rm -f "$out"
	done
}

suite_scripts() {	# SUITE GLOB...
	local suite=$1 t
	shift
	for t in "$@"; do
		[ -f "$t" ] || continue
		run_script "$suite/$(basename "$t" .sh)" "$t"
	done
}

suite_cli()  { suite_scripts cli tests/cli/*.sh; }
suite_kvm() {
	if [ -n "${KHYVE_IN_L1:-}" ] || host_kvm_usable; then
		suite_scripts kvm tests/kvm/*.sh
	else
		suite_kvm_in_l1
	fi
}

# tests/l1/lib.sh's test, in a subshell: the suite does not take in the
# rest of that library.
host_kvm_usable() {
	( . tests/l1/lib.sh && l1_host_kvm_usable )
}

# No KVM here: the whole kvm suite runs in one L1 machine (it has a real
# /dev/kvm), through tests/l1/kvm-suite.sh, and its lines, counts and logs
# are taken over as if it had run here.  A run that gives no summary line
# (L1 did not boot, timed out) is one failure, kvm/in-l1.
suite_kvm_in_l1() {
	local start out dir summary p f s names
	start=$(now) out=$(mktemp) dir=$ROOT/build/l1/runs/kvm-suite
	echo "(no usable /dev/kvm on this host: the kvm tests run inside one L1 machine)"
	rm -f "$dir/results.txt"
	( . tests/l1/lib.sh && l1_run -n kvm-suite -t 1500 tests/l1/kvm-suite.sh ) >"$out" 2>&1
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$dir/results.txt" 2>/dev/null | tail -1)
	if [ -z "$summary" ]; then
		failed=$((failed + 1)); failures+=("kvm/in-l1")
		cp "$out" "$(logname kvm/in-l1)"
		report FAIL "kvm/in-l1" "$start" "(no results from L1, log $(realpath --relative-to="$ROOT" "$(logname kvm/in-l1)"))"
		sed 's/^/    | /' "$out" | tail -25
		rm -f "$out"
		return
	fi
	grep -vE '^(== |logs: |failed: )|^[0-9]+ passed, [0-9]+ failed' "$dir/results.txt"
	read -r p f s < <(echo "$summary" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/')
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	read -ra names < <(sed -n 's/^failed: //p' "$dir/results.txt")
	failures+=("${names[@]}")
	[ -d "$dir/test-logs" ] && cp "$dir"/test-logs/*.log "$LOGS/" 2>/dev/null
	echo "(kvm suite in L1: $(elapsed "$start") in all, L1 console build/l1/logs/kvm-suite.log)"
	rm -f "$out"
}
suite_l1()   { suite_scripts l1 tests/l1/test_*.sh; }
suite_fuzz() { [ -f tests/fuzz/run-smoke.sh ] && run_script fuzz/smoke tests/fuzz/run-smoke.sh; }

present() {
	case $1 in
	unit) compgen -G "$ASAN_BIN/tests/unit/test_*" >/dev/null || compgen -G "tests/unit/test_*.c" >/dev/null ;;
	cli)  compgen -G "tests/cli/*.sh" >/dev/null ;;
	kvm)  compgen -G "tests/kvm/*.sh" >/dev/null ;;
	l1)   compgen -G "tests/l1/test_*.sh" >/dev/null ;;
	fuzz) [ -f tests/fuzz/run-smoke.sh ] ;;
	esac
}

suites=("$@")
if [ ${#suites[@]} = 0 ]; then
	for s in unit cli kvm l1 fuzz; do
		present "$s" && suites+=("$s")
	done
fi
for s in "${suites[@]}"; do
	case $s in
	unit|cli|kvm|l1|fuzz) ;;
	*) echo "run-all.sh: unknown suite '$s' (unit, cli, kvm, l1, fuzz)" >&2; exit 2 ;;
	esac
done

total_start=$(now)
for s in "${suites[@]}"; do
	echo "== $s"
	"suite_$s"
done

echo "== done in $(elapsed "$total_start")"
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
	echo "logs: build/test-logs/"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
