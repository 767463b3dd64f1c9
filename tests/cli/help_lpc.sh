#!/usr/bin/env bash
# khyve -l help lists the LPC devices and exits 0.
. "$(dirname "$0")/common.inc"
expect_ok -l help
expect_stdout '\<com1\>'
pass
