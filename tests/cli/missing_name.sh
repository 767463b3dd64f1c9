#!/usr/bin/env bash
# No positional VM name.
. "$(dirname "$0")/common.inc"
expect_error 'name' -m 32M -s 0,hostbridge -s 31,lpc
pass
