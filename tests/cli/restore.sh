#!/usr/bin/env bash
# A restore from a checkpoint (-r) is not yet available.
. "$(dirname "$0")/common.inc"
: >"$TMP/snapshot.ckp"
expect_error '-r|restore|snapshot|checkpoint' -r "$TMP/snapshot.ckp" -s 0,hostbridge testvm
pass
