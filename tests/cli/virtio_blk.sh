#!/usr/bin/env bash
# virtio-blk refuses bad backing files and options with one line each,
# before /dev/kvm is touched, and leaves the image as it was.
. "$(dirname "$0")/common.inc"
guest=$ROOT/build/guest/hello.elf
[ -f "$guest" ] || skip "guest hello.elf not built (make guests)"
img=$TMP/disk.img
truncate -s 1M "$img"
k=(-m 64M -o "boot.kernel=$guest" -s 0,hostbridge)
expect_error "$TMP/missing.img: No such file" "${k[@]}" -s 3,virtio-blk,"$TMP/missing.img" testvm
expect_error 'not a regular file or block device' "${k[@]}" -s 3,virtio-blk,/dev/null testvm
expect_error 'no backing file' "${k[@]}" -s 3,virtio-blk testvm
expect_error 'sectorsize=1000' "${k[@]}" -s 3,virtio-blk,"$img",sectorsize=1000 testvm
expect_error 'unknown option "frob"' "${k[@]}" -s 3,virtio-blk,"$img",frob=1 testvm
expect_error 'bootindex needs a boot ROM' "${k[@]}" -s 3,virtio-blk,"$img",bootindex=1 testvm
expect_error 'ro=maybe: not a boolean' "${k[@]}" -s 3,virtio-blk,"$img",ro=maybe testvm
expect_error 'block.engine=aio' -o block.engine=aio "${k[@]}" -s 3,virtio-blk,"$img" testvm
# Two VMs on one image: the second is refused while the first holds it.
exec 9<"$img"
flock -x 9
expect_error "$img: in use by another VM" "${k[@]}" -s 3,virtio-blk,"$img" testvm
exec 9<&-
# The same disk twice in one VM is the same mistake.
expect_error 'in use by another VM' "${k[@]}" -s 3,virtio-blk,"$img" -s 4,virtio-blk,"$img" testvm
[ "$(stat -c %s "$img")" = 1048576 ] || fail "the image changed size"
pass
