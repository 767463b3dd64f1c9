#!/usr/bin/env bash
# khyve -r refuses a checkpoint it cannot use before it opens /dev/kvm:
# one line naming the file and the reason, exit 4.  (Restores that work,
# and damage found in a real checkpoint: tests/kvm/checkpoint.sh.)
. "$(dirname "$0")/common.inc"
ck=$TMP/ck
expect_error "$ck.meta: No such file" -r "$ck" -s 0,hostbridge testvm
: >"$ck.meta"
expect_error "$ck.meta: not a regular file of 1 to" -r "$ck" -s 0,hostbridge testvm
echo '{ "format": "khyve-checkpoint", ' >"$ck.meta"
expect_error "$ck.meta: metadata is not JSON" -r "$ck" -s 0,hostbridge testvm
echo '{ "format": "qemu-savevm", "version": 1 }' >"$ck.meta"
expect_error "$ck.meta: metadata: format \"qemu-savevm\"" -r "$ck" -s 0,hostbridge
cat >"$ck.meta" <<'JSON'
{ "format": "khyve-checkpoint", "version": 1, "vmname": "web", "ncpus": 1,
  "memsize": 33554432, "destroy_on_close": true, "saved_at": 1,
  "state": { "size": 128, "crc32c": 0 },
  "sections": [ { "name": "vm.pit", "version": 1, "offset": 112, "size": 8, "crc32c": 0 } ],
  "devices": [ { "slot": "0:0:0", "device": "hostbridge" } ] }
JSON
expect_error "$ck.kern: No such file" -r "$ck" -s 0,hostbridge
head -c 128 /dev/zero >"$ck.kern"
expect_error "$ck.kern: not a khyve checkpoint state file" -r "$ck" -s 0,hostbridge
pass
