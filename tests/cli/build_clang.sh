#!/usr/bin/env bash
# khyve builds clean with clang too (-Wall -Wextra -Werror), not only gcc.
. "$(dirname "$0")/common.inc"
command -v clang >/dev/null || skip "clang is not installed"
make -C "$ROOT" -s O=build/clang CC=clang -j"$(nproc)" all >"$TMP/build.log" 2>&1 ||
	fail "clang build failed: $(grep -m3 -E 'error|warning' "$TMP/build.log")"
[ -x "$ROOT/build/clang/khyve" ] || fail "no build/clang/khyve after the build"
pass
