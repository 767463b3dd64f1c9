#!/usr/bin/env bash
# khyve -s help lists the PCI device emulations and exits 0.
. "$(dirname "$0")/common.inc"
expect_ok -s help
expect_stdout '\<hostbridge\>'
expect_stdout '\<lpc\>'
pass
