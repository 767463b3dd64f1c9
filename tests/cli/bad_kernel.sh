#!/usr/bin/env bash
# A kernel file that is neither a bzImage nor an ELF file (a text file, and
# the short /etc/hostname): refused, naming the file.
. "$(dirname "$0")/common.inc"
for i in $(seq 200); do echo "this is not a kernel, line $i"; done >"$TMP/notakernel.txt"
expect_error 'notakernel\.txt' -s 0,hostbridge -s 31,lpc -o "boot.kernel=$TMP/notakernel.txt" testvm
grep -qiE 'bzimage|elf|format|kernel' "$ERR" || fail "message does not say what is wrong with the file"
if [ -s /etc/hostname ]; then
	expect_error '/etc/hostname' -s 0,hostbridge -s 31,lpc -o boot.kernel=/etc/hostname testvm
fi
pass
