#!/usr/bin/env bash
# -s 5,virtio-console,port1=SOCK puts a modern virtio console (1af4:1043)
# in slot 5; khyve listens on SOCK while it runs and removes it at exit.
# A socket path in a directory that does not exist is a config error.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest pci
vm_args pci -s 5,virtio-console,port1="$TMP/c.sock" -l com1,stdio
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^pci 00:05.0 vendor=1af4 device=1043 class=078000$'
[ ! -e "$TMP/c.sock" ] || fail "$TMP/c.sock left behind after exit"

vm_args pci -s 5,virtio-console,port1="$TMP/nodir/c.sock" -l com1,stdio
run_vm "${ARGS[@]}"
[ "$RC" -eq 4 ] || fail "missing socket directory: exit $RC, expected 4"
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "missing socket directory: expected one line on stderr"
grep -q 'nodir/c.sock' "$ERR" || fail "the error does not name the path"
pass
