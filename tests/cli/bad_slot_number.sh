#!/usr/bin/env bash
# -s with a slot number beyond 31.
. "$(dirname "$0")/common.inc"
expect_error 'slot|99' -s 99,hostbridge testvm
pass
