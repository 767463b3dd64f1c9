#!/usr/bin/env bash
# -l com1 needs the LPC bridge (-s 31,lpc).
. "$(dirname "$0")/common.inc"
expect_error 'lpc' -s 0,hostbridge -l com1,stdio testvm
pass
