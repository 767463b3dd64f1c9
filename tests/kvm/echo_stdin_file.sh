#!/usr/bin/env bash
# Console input from a regular file on stdin (khyve ... <input): the echo
# guest gets the line and powers off -> exit 1.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest echo
vm_args echo -l com1,stdio
printf 'hello file\n' >"$TMP/in"
STDIN=$TMP/in run_vm "${ARGS[@]}"
expect_status 1
expect_console '^echo: ready$'
expect_console '^HELLO FILE$'
expect_console '^echo: done$'
pass
