#!/usr/bin/env bash
# A device emulation khyve does not know.
. "$(dirname "$0")/common.inc"
expect_error 'frobnicator' -s 0,hostbridge -s 3,frobnicator testvm
pass
