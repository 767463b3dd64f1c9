#!/bin/bash
# tests/l1/test_snapshot.sh — checkpoint, suspend and restore of a stock
# Linux guest inside L1 (khyve.test=counter: it counts once a second and
# writes and reads back a disk sector each time), in monitor mode, with
# virtio-net on a tap (kvtap0 = 10.99.0.1/24, the guest 10.99.0.2),
# virtio-blk on a raw image and virtio-rnd:
#   --checkpoint: the guest counts on, its disk keeps working
#   --suspend:    khyve exits 5; the guest's last count is L; the
#                 checkpoint holds the vCPU's nested (SVM) state
#   khyve -r:     the count goes on from L+1 with no second boot (no
#                 KHYVE-GUEST-UP), the disk reads back what the guest
#                 writes (and the image shows counts above L), the host
#                 pings the guest 3/3; --force-poweroff ends it (exit 1)
# The tap is removed at the end.  One L1 boot.  Exit 0 pass, 77 skip, else
# fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    l1_need_khyvectl
    l1_test_main "$0" "$@"
fi

t_setup_inside
CTL=$(dirname "$KV_BIN")/khyvectl
TAP=kvtap0
WORK=/tmp/khyve-snap                 # tmpfs in L1
run=$WORK/run                        # short enough for sun_path
cleanup() { ip link del "$TAP" 2>/dev/null; }
trap cleanup EXIT

rm -rf "$WORK"; mkdir -p "$WORK"; mkdir -m 700 "$run"
ip link del "$TAP" 2>/dev/null
if ! { ip tuntap add dev "$TAP" mode tap && ip addr add 10.99.0.1/24 dev "$TAP" &&
       ip link set "$TAP" up; }; then
    t_fail "cannot create the tap $TAP in L1"
    exit 1
fi
truncate -s 1M "$WORK/disk.img"
devs=(-s 3,virtio-net,$TAP -s 4,virtio-blk,$WORK/disk.img -s 5,virtio-rnd)

ctl() { "$CTL" --vm=l1test --rundir=$run "$@"; }
counts() { tr -d '\r' < "$KHYVE_L1_OUT/$1.console" | sed -n 's/^KHYVE-GUEST-COUNT=//p'; }
last_count() { counts "$1" | tail -1; }
# ping_guest NAME: 3 pings from the host; PASS/FAIL.
ping_guest() {
    local got
    busybox ping -c 3 -W 20 10.99.0.2 > "$KHYVE_L1_OUT/$1.ping" 2>&1
    got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$KHYVE_L1_OUT/$1.ping")
    if [ "${got:-0}" = 3 ]; then
        t_pass "$1: the host pings the guest 3/3"
    else
        t_fail "$1: the host pinged the guest ${got:-0}/3: $(tail -2 "$KHYVE_L1_OUT/$1.ping" | tr '\n' ' ')"
    fi
}

name=snap-run
kv_start $name 1 counter -M -o rundir=$run "${devs[@]}"
if ! kv_wait_for $name '^KHYVE-GUEST-COUNT=3' 240; then
    t_fail "$name: the guest never counted to 3"
    t_show $name
    ctl --force-poweroff >/dev/null 2>&1
    kv_wait $name 60
    exit 1
fi
ping_guest $name
if out=$(ctl --checkpoint=$WORK/live 2>&1); then
    t_pass "$name: --checkpoint succeeded ($(ls -s --block-size=K $WORK/live | cut -d' ' -f1) of memory on disk)"
else
    t_fail "$name: --checkpoint: $out"
fi
n=$(last_count $name)
if kv_wait_for $name "^KHYVE-GUEST-DISK=ok $((n + 2))" 60; then
    t_pass "$name: after --checkpoint the guest counts on and its disk works"
else
    t_fail "$name: after --checkpoint the guest stopped at $(last_count $name)"
fi
if out=$(ctl --suspend=$WORK/susp 2>&1); then
    t_pass "$name: --suspend succeeded"
else
    t_fail "$name: --suspend: $out"
fi
kv_wait $name 60
t_expect_rc $name 5
t_expect_clean $name
saved=$(last_count $name)
t_info "$name: the last count before the suspend: $saved"
# L1's kvm-amd nests: the vCPU's nested (SVM) state is saved too.
if [ "$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)" = 1 ]; then
    if grep -q '"name": "cpu.0.nested"' "$WORK/susp.meta"; then
        t_pass "$name: the checkpoint holds the vCPU's nested state"
    else
        t_fail "$name: no cpu.0.nested section in susp.meta"
    fi
fi

name=snap-restored
KV_CMD=("$KV_BIN" -M -r "$WORK/susp" -s 0,hostbridge -s 31,lpc -l com1,stdio
    -o rundir=$run "${devs[@]}" l1test)
printf '%q ' "${KV_CMD[@]}" > "$KHYVE_L1_OUT/$name.cmd"
KV_T0=$EPOCHREALTIME
"${KV_CMD[@]}" </dev/null >"$KHYVE_L1_OUT/$name.console" 2>"$KHYVE_L1_OUT/$name.stderr" &
KV_PID=$!
if kv_wait_for $name "^KHYVE-GUEST-DISK=ok $((saved + 3))" 120; then
    first=$(counts $name | head -1)
    if [ "$first" = $((saved + 1)) ]; then
        t_pass "$name: the restored guest counts on from $saved"
    else
        t_fail "$name: the restored guest went on at $first, not $((saved + 1))"
    fi
    t_pass "$name: the restored guest's disk reads back what it writes"
    if grep -aq "^count $((saved + 2)) " "$WORK/disk.img"; then
        t_pass "$name: the image holds what the restored guest wrote"
    else
        t_fail "$name: no \"count $((saved + 2))\" in the image"
    fi
    ping_guest $name
else
    t_fail "$name: the restored guest did not count on from $saved (last: $(last_count $name))"
    t_show $name
fi
if tr -d '\r' < "$KHYVE_L1_OUT/$name.console" | grep -aq '^KHYVE-GUEST-UP'; then
    t_fail "$name: the guest booted again"
else
    t_pass "$name: no second boot"
fi
if tr -d '\r' < "$KHYVE_L1_OUT/$name.console" | grep -aq '^KHYVE-GUEST-DISK=bad'; then
    t_fail "$name: $(grep -a -m1 '^KHYVE-GUEST-DISK=bad' "$KHYVE_L1_OUT/$name.console")"
fi
ctl --force-poweroff >/dev/null 2>&1
kv_wait $name 60
t_expect_rc $name 1
t_expect_clean $name
if [ -z "$(ls -A "$run" 2>/dev/null | grep -v '^\.registry$')" ]; then
    t_pass "$name: the run directory is empty again"
else
    t_fail "$name: left in $run: $(ls -A "$run" | tr '\n' ' ')"
fi
t_finish
