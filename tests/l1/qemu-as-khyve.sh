#!/bin/bash
# tests/l1/qemu-as-khyve.sh — a stand-in for khyve used only to prove the L1
# tests themselves (KHYVE_BIN=tests/l1/qemu-as-khyve.sh tests/l1/test_*.sh).
# Accepts the subset of khyve's command line the tests use, runs QEMU/KVM
# (-M pc), presses the power button on SIGTERM (monitor system_powerdown),
# forces poweroff on a second one, and maps what the guest printed to bhyve's
# exit status (QEMU itself cannot tell reboot from poweroff with -no-reboot).
cpus=1 mem=256M kernel='' initrd='' cmdline='' uuid=''
while [ $# -gt 1 ]; do
    case $1 in
        -c) cpus=$2; shift;;
        -m) mem=$2; shift;;
        -U) uuid=$2; shift;;
        -s|-l) shift;;
        -o) case $2 in
                boot.kernel=*) kernel=${2#*=};;
                boot.initrd=*) initrd=${2#*=};;
                boot.cmdline=*) cmdline=${2#*=};;
            esac; shift;;
    esac
    shift
done
mon=$(mktemp -u /tmp/qak.XXXXXX); mkfifo "$mon.in" "$mon.out"
con=$(mktemp /tmp/qak.con.XXXXXX)
qemu-system-x86_64 -M pc -accel kvm -cpu host -smp "$cpus" -m "$mem" \
    -nographic -nodefaults -serial stdio -monitor "pipe:$mon" -no-reboot \
    ${uuid:+-uuid "$uuid"} -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
    </dev/null > >(tee "$con") &
pid=$!
exec 3>"$mon.in"; cat "$mon.out" >/dev/null &
terms=0
trap 'terms=$((terms+1)); if [ $terms = 1 ]; then echo system_powerdown >&3; else kill -KILL $pid; forced=1; fi' TERM
forced=0
while kill -0 $pid 2>/dev/null; do
    grep -q 'KHYVE-GUEST-ACTION=halt' "$con" && { sleep 2; kill -KILL $pid; halted=1; }
    sleep 0.2
done
wait $pid 2>/dev/null
sleep 0.3
rc=4
if [ "$forced" = 1 ]; then rc=1
elif [ "${halted:-0}" = 1 ]; then rc=2
elif grep -q 'KHYVE-GUEST-ACTION=reboot' "$con"; then rc=0
elif grep -q 'KHYVE-GUEST-ACTION=poweroff' "$con"; then rc=1
fi
rm -f "$mon.in" "$mon.out" "$con"
exit $rc
