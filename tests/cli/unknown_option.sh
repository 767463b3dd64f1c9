#!/usr/bin/env bash
# An unknown option is refused by khyve itself (not getopt's own message).
. "$(dirname "$0")/common.inc"
expect_error 'option|-Z' -Z -s 0,hostbridge testvm
pass
