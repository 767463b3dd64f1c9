#!/bin/bash
# tests/l1/test_ctl.sh — khyvectl against a stock Linux guest inside L1:
#   nmi   khyvectl --inject-nmi reaches the guest: its kernel logs
#         "Uhhuh. NMI received for unknown reason"; then --get-rip answers,
#         --get-stats counts the NMI, and --force-poweroff ends khyve
#         with status 1
#   -M    in monitor mode --get-vm-pid names the VM process, not the
#         monitor, and the guest still boots and powers off (exit 1)
# One L1 boot.  Exit 0 pass, 77 skip, else fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    l1_need_khyvectl
    l1_test_main "$0" "$@"
fi

t_setup_inside
CTL=$(dirname "$KV_BIN")/khyvectl
run=/tmp/khyve-ctl-run            # tmpfs in L1; sun_path-short
rm -rf "$run"; mkdir -m 700 -p "$run"

name=ctl-nmi
kv_start $name 1 nmi -o rundir=$run
if kv_wait_for $name '^KHYVE-GUEST-NMI-WAITING' 120; then
    if out=$("$CTL" --vm=l1test --rundir=$run --inject-nmi 2>&1); then
        t_pass "$name: khyvectl --inject-nmi succeeded"
    else
        t_fail "$name: khyvectl --inject-nmi: $out"
    fi
    kv_wait_for $name '^KHYVE-GUEST-NMI-SEEN=' 150
    rip=$("$CTL" --vm=l1test --rundir=$run --get-rip 2>&1)
    t_info "$name: --get-rip: $rip"
    if echo "$rip" | grep -qE '^rip\[0\][[:space:]]+0x[0-9a-f]{16}$'; then
        t_pass "$name: --get-rip answers"
    else
        t_fail "$name: --get-rip: $rip"
    fi
    nmis=$("$CTL" --vm=l1test --rundir=$run --get-stats 2>&1 | awk '$1 == "vcpu0.nmis" { print $2 }')
    if [ "${nmis:-0}" -ge 1 ]; then
        t_pass "$name: --get-stats counts the NMI (vcpu0.nmis=$nmis)"
    else
        t_fail "$name: --get-stats vcpu0.nmis='$nmis'"
    fi
    "$CTL" --vm=l1test --rundir=$run --force-poweroff >/dev/null 2>&1
else
    t_fail "$name: the guest never got ready for the NMI"
fi
kv_wait $name 60
t_expect_console $name '^KHYVE-GUEST-NMI-SEEN=.*NMI received' \
    "the guest kernel logged the injected NMI"
t_expect_rc $name 1
t_expect_clean $name
if [ -z "$(ls -A "$run" 2>/dev/null | grep -v '^\.registry$')" ]; then
    t_pass "$name: the run directory is empty again"
else
    t_fail "$name: left in $run: $(ls -A "$run" | tr '\n' ' ')"
fi

name=ctl-monitor
kv_start $name 1 ignore -M -o rundir=$run
if kv_wait_for $name '^KHYVE-GUEST-WAITING' 120; then
    pids=$("$CTL" --vm=l1test --rundir=$run --get-vm-pid --json 2>&1)
    t_info "$name: --get-vm-pid --json: $pids"
    vmpid=$("$CTL" --vm=l1test --rundir=$run --get-vm-pid 2>&1)
    if [ -n "$vmpid" ] && [ "$vmpid" != "$KV_PID" ] && [ -d "/proc/$vmpid" ] &&
       [ "$(awk '/^PPid/ { print $2 }' "/proc/$vmpid/status")" = "$KV_PID" ]; then
        t_pass "$name: --get-vm-pid names the VM process ($vmpid), a child of the monitor ($KV_PID)"
    else
        t_fail "$name: --get-vm-pid gave '$vmpid' (monitor $KV_PID)"
    fi
    "$CTL" --vm=l1test --rundir=$run --force-poweroff >/dev/null 2>&1
else
    t_fail "$name: the guest never booted"
fi
kv_wait $name 60
t_expect_rc $name 1
t_expect_clean $name
rm -rf "$run"
t_finish
