#!/usr/bin/env bash
# -s with a slot that is not a number.
. "$(dirname "$0")/common.inc"
expect_error 'slot' -s x,lpc testvm
pass
