#!/usr/bin/env bash
# khyve -h prints the usage and exits 0.
. "$(dirname "$0")/common.inc"
expect_ok -h
cat "$OUT" "$ERR" | grep -qi 'usage' || fail "no usage text"
cat "$OUT" "$ERR" | grep -qE -- '-s ' || fail "usage does not mention -s"
pass
