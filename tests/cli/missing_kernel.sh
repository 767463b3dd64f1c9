#!/usr/bin/env bash
# boot.kernel names a file that does not exist: the message names the file.
. "$(dirname "$0")/common.inc"
expect_error "$TMP/no-such-kernel" -s 0,hostbridge -s 31,lpc -o "boot.kernel=$TMP/no-such-kernel" testvm
pass
