#!/usr/bin/env bash
# Checkpoint, suspend and restore of the counter guest (monitor mode, so
# the sandboxed VM process writes the files through the directory fd):
#   --checkpoint: three files, mode 0600, the guest counts on; the same
#     name again is refused, --force replaces it;
#   --suspend: khyve exits 5, the guest's last count is L;
#   khyve -r: no second boot, the count goes on from L+1 under another
#     VM name, and memory and registers agree (no MISMATCH); the live
#     checkpoint restores too, without -M;
#   a VM with virtio-blk, -rnd and -console suspends and restores, and a
#     disk of another size is refused;
#   khyve -r refuses with exit 4, one line naming the file, and nothing
#     left running or in the run directory: a flipped state byte, a
#     truncated memory file, damaged metadata, another device list,
#     another vCPU count.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest counter
CK=$TMP/ck
mkdir -p "$CK"
base=(-M -s 0,hostbridge -s 31,lpc -l com1,stdio -o rundir="$RUNDIR")
counts() { sed 's/\r$//' "$OUT" | sed -n 's/^counter: \([0-9][0-9]*\)$/\1/p'; }
last_count() { counts | tail -1; }

start_vm -c 1 -m 32M "${base[@]}" -o "boot.kernel=$GUESTS/counter.elf" "$VM"
wait_console '^counter: 3$' || { wait_vm; fail "the guest never counted to 3"; }
ctl --checkpoint="$CK/live" || fail "--checkpoint failed"
for f in live live.kern live.meta; do
	[ -f "$CK/$f" ] || fail "--checkpoint left no $f"
	[ "$(stat -c %a "$CK/$f")" = 600 ] || fail "$f has mode $(stat -c %a "$CK/$f")"
done
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["ncpus"] == 1 and m["memsize"] == 32 << 20' \
	"$CK/live.meta" || fail "live.meta: $(head -c 400 "$CK/live.meta")"
# sparse: a 32 MiB guest that touched a few pages takes far less
used=$(( $(stat -c %b "$CK/live") * 512 ))
[ "$used" -lt $((8 << 20)) ] || fail "the memory file takes $used bytes on disk"
n=$(last_count)
wait_console "^counter: $((n + 2))\$" || { wait_vm; fail "the guest stopped counting after --checkpoint"; }
ctl --checkpoint="$CK/live" 2>"$TMP/again" && fail "a second --checkpoint to the same name succeeded"
grep -q 'exists' "$TMP/again" || fail "the refusal does not say the file exists: $(cat "$TMP/again")"
ctl --checkpoint="$CK/live" --force || fail "--checkpoint --force failed"

ctl --suspend="$CK/susp" || fail "--suspend failed"
wait_vm
expect_status 5
expect_rundir_empty
saved=$(last_count)
[ -n "$saved" ] || fail "no count before the suspend"
ls -A "$CK" | grep -q '\.tmp$' && fail "temporary files left: $(ls -A "$CK")"

# ---- restore, under another name
VM0=$VM VM=$VM-restored
OUT=$TMP/restored.out ERR=$TMP/restored.err
start_vm "${base[@]}" -r "$CK/susp" "$VM"
wait_console "^counter: $((saved + 3))\$" || { wait_vm; fail "the restored guest did not count on from $saved"; }
first=$(counts | head -1)
[ "$first" = $((saved + 1)) ] || fail "the restored guest went on at $first, not $((saved + 1))"
expect_no_console '^counter: start$'
expect_no_console 'MISMATCH'
ctl --get-vm-pid >/dev/null || fail "the restored VM has no control socket under its new name"
kill -TERM "$BGPID"; sleep 1; kill -TERM "$BGPID" 2>/dev/null
wait_vm
expect_status 1
expect_rundir_empty

# ---- the live checkpoint, without -M (one process): it counts on too
OUT=$TMP/live.out ERR=$TMP/live.err
start_vm "${base[@]:1}" -r "$CK/live" "$VM"
wait_console '^counter: [0-9]+$' || { wait_vm; fail "the live checkpoint did not count on"; }
expect_no_console '^counter: start$'
first=$(counts | head -1)
[ "$first" -gt 3 ] || fail "the live checkpoint went on at $first (it was taken after 3)"
kill -TERM "$BGPID"; sleep 1; kill -TERM "$BGPID" 2>/dev/null
wait_vm
expect_rundir_empty

# ---- refusals of khyve -r: exit 4, one line, nothing left behind
refuse() {
	local what=$1 want=$2
	shift 2
	run_vm "$@"
	[ "$RC" = 4 ] || fail "$what: khyve -r exited $(status_name "$RC"), not 4"
	grep -q -- "$want" "$ERR" || fail "$what: stderr lacks \"$want\""
	expect_rundir_empty
}
cp "$CK/susp" "$CK/bad"; cp "$CK/susp.kern" "$CK/bad.kern"; cp "$CK/susp.meta" "$CK/bad.meta"
printf '\xff' | dd of="$CK/bad.kern" bs=1 seek=200 conv=notrunc status=none
refuse "flipped state byte" "bad.kern" "${base[@]}" -r "$CK/bad" "$VM"
cp "$CK/susp.kern" "$CK/bad.kern"
truncate -s -4096 "$CK/bad"
refuse "truncated memory" "memory file has" "${base[@]}" -r "$CK/bad" "$VM"
cp "$CK/susp" "$CK/bad"
sed -i 's/"ncpus": 1/"ncpus": "1"/' "$CK/bad.meta"
refuse "damaged metadata" "bad.meta" "${base[@]}" -r "$CK/bad" "$VM"
cp "$CK/susp.meta" "$CK/bad.meta"
refuse "another device list" "virtio-rnd at slot 0:5:0" "${base[@]}" -s 5,virtio-rnd -r "$CK/bad" "$VM"
refuse "another vCPU count" "vCPUs" "${base[@]}" -c 2 -r "$CK/bad" "$VM"
refuse "no checkpoint" "nothing.meta" "${base[@]}" -r "$CK/nothing" "$VM"

# ---- virtio devices are saved too (this guest leaves them idle): the
# restore checks the disk against the saved one
VM=$VM0-dev OUT=$TMP/dev.out ERR=$TMP/dev.err
truncate -s 1M "$TMP/disk.img"
devs=(-s 4,virtio-blk,"$TMP/disk.img" -s 5,virtio-rnd -s 6,virtio-console,port1="$TMP/con.sock")
start_vm -c 1 -m 32M "${base[@]}" "${devs[@]}" -o "boot.kernel=$GUESTS/counter.elf" "$VM"
wait_console '^counter: 1$' || { wait_vm; fail "the guest with virtio devices never counted"; }
ctl --suspend="$CK/dev" 2>"$TMP/dev" || fail "--suspend with virtio devices: $(cat "$TMP/dev")"
wait_vm
expect_status 5
saved=$(last_count)
truncate -s 2M "$TMP/disk.img"
refuse "a disk of another size" "the disk differs" "${base[@]}" "${devs[@]}" -r "$CK/dev" "$VM"
[ -e "$TMP/con.sock" ] && fail "the refused restore left the console socket"
truncate -s 1M "$TMP/disk.img"
OUT=$TMP/dev2.out ERR=$TMP/dev2.err
start_vm "${base[@]}" "${devs[@]}" -r "$CK/dev" "$VM"
wait_console "^counter: $((saved + 2))\$" ||
	{ wait_vm; fail "the guest with virtio devices did not count on from $saved"; }
kill -TERM "$BGPID"; sleep 1; kill -TERM "$BGPID" 2>/dev/null
wait_vm
expect_rundir_empty
pass
