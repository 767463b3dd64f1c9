#!/usr/bin/env bash
# virtio-blk is known but not yet available: refused, naming it.
. "$(dirname "$0")/common.inc"
truncate -s 1M "$TMP/disk.img"
expect_error 'virtio-blk' -s 0,hostbridge -s 3,virtio-blk,"$TMP/disk.img" testvm
pass
