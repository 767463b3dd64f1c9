#!/bin/bash
# Inside the L1 machine: the kvm suite (tiny guests), for hosts with no
# usable /dev/kvm.  tests/run-all.sh boots L1 with this script and reads
# $KHYVE_L1_OUT/results.txt (the inner run's output) and test-logs/.
[ -n "${KHYVE_IN_L1:-}" ] || { echo "kvm-suite.sh: runs inside L1 (tests/run-all.sh kvm)"; exit 2; }
cd "$(dirname "$0")/../.." || exit 2
KHYVE_TEST_LOGS=$KHYVE_L1_OUT/test-logs tests/run-all.sh kvm >"$KHYVE_L1_OUT/results.txt" 2>&1
