#!/usr/bin/env bash
# A VM name too long for the control socket path (sun_path is 108 bytes).
. "$(dirname "$0")/common.inc"
name=$(printf "v%.0s" $(seq 120))
expect_error 'name' -s 0,hostbridge "$name"
pass
