#!/usr/bin/env bash
# -m with an unknown suffix.
. "$(dirname "$0")/common.inc"
expect_error 'memory|size' -m 12Q -s 0,hostbridge testvm
pass
