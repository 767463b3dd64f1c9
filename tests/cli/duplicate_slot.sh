#!/usr/bin/env bash
# Two devices in one slot.
. "$(dirname "$0")/common.inc"
expect_error 'slot|duplicate|already|in use|twice' -s 0,hostbridge -s 0,lpc testvm
pass
