#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with libFuzzer + ASan/UBSan and runs each
# for a bounded time (FUZZ_SECONDS, default 15): the CI smoke of the fuzzers.
# Longer runs by hand:  FUZZ_SECONDS=3600 tests/fuzz/run-smoke.sh fuzz_boot
# Crashes are kept in build/fuzz/<target>/ as crash-* files.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-15}
out=build/fuzz
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null; then
	echo "SKIP: $cc not installed (libFuzzer needs clang)"; exit 77
fi
mkdir -p "$out"
# tests/unit/vdriver.c: the fake virtio driver, for device targets.
srcs=$(find src -name '*.c' ! -path 'src/khyve/*' ! -path 'src/khyvectl/*' ! -path 'src/khyvesh/*' | sort)
flags="-std=c17 -D_GNU_SOURCE -Isrc $(pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2) $(pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//'))
fail=0
for t in "${targets[@]}"; do
	bin="$out/$t"
	# shellcheck disable=SC2086
	$cc $flags -o "$bin" "tests/fuzz/$t.c" $srcs tests/unit/vdriver.c -luring -lseccomp -lmd -ljson-c -lxml2 -lnl-route-3 -lnl-3 -pthread
	mkdir -p "$out/$t.corpus" "$out/$t.crashes"
	[ -d "tests/fuzz/corpus/$t" ] && cp -n tests/fuzz/corpus/$t/* "$out/$t.corpus/" 2>/dev/null || true
	if "$bin" -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 \
		-artifact_prefix="$out/$t.crashes/" "$out/$t.corpus" >"$out/$t.log" 2>&1; then
		echo "fuzz $t: ok ($(grep -c . "$out/$t.log") log lines, ${secs}s)"
	else
		echo "fuzz $t: FAILED, see $out/$t.log and $out/$t.crashes/"; tail -30 "$out/$t.log"
		fail=1
	fi
done
exit $fail
