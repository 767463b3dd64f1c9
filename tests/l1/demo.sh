#!/bin/bash
# tests/l1/demo.sh — what `make demo` runs after building build/khyve:
# installs what is missing (apt-get), fetches Debian's kernel, builds the
# busybox guest initramfs and boots a 2-vCPU VM with khyve that prints a few
# facts about itself and powers off.  If this host's /dev/kvm cannot run a
# stock Linux guest, the VM is booted inside the L1 test machine instead
# (QEMU TCG emulating an AMD CPU with SVM; see tests/l1/README.md).
# Exit 0 when the guest ran and powered off (khyve exit 1).
set -u
. "$(dirname "$0")/lib.sh"

demo_boot() {     # $1 = khyve binary; console on stdout
    local bin=$1 rc
    echo "demo: $bin -c 2 -m 256M ... (guest kernel ${L1_GUEST_KERNEL##*/})"
    "$bin" -c 2 -m 256M -s 0,hostbridge -s 31,lpc -l com1,stdio \
        -o "boot.kernel=$L1_GUEST_KERNEL" -o "boot.initrd=$L1_GUEST_INITRD" \
        -o "boot.cmdline=console=ttyS0 quiet khyve.test=demo" \
        -U 2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10 demo
    rc=$?
    echo "demo: khyve exit status $rc: $(khyve_status_text "$rc")"
    return $rc
}

if [ -n "${KHYVE_IN_L1:-}" ]; then
    bin=${KHYVE_BIN:-$KHYVE_ROOT/build/khyve}
    [ -x "$bin" ] || bin=$(l1_khyve_bin) || { echo "demo: khyve is not built"; exit 4; }
    demo_boot "$bin"
    exit $?
fi

# ---- host side ----
want=()
command -v cpio >/dev/null || want+=(cpio)
l1_busybox >/dev/null 2>&1 || want+=(busybox-static)
direct=1
if [ ! -e /dev/kvm ]; then
    why="there is no /dev/kvm"; direct=0
elif [ -d /sys/module/kvm_pvm ]; then
    why="/dev/kvm is a nested PVM host (kvm_pvm), which cannot run a stock Linux guest"; direct=0
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    why="/dev/kvm is not readable and writable by $(id -un)"; direct=0
fi
[ $direct = 1 ] || command -v qemu-system-x86_64 >/dev/null || want+=(qemu-system-x86)
if [ ${#want[@]} -gt 0 ]; then
    echo "demo: installing ${want[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "demo: not root: run 'apt-get install ${want[*]}' as root first"; exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${want[@]}" ||
        { apt-get update && apt-get install -y --no-install-recommends "${want[@]}"; } ||
        { echo "demo: apt-get install ${want[*]} failed"; exit 1; }
fi

bin=$KHYVE_ROOT/build/khyve
[ -x "$bin" ] || { echo "demo: $bin is missing: run make"; exit 1; }
l1_kernel && l1_guest_initrd || { echo "demo: cannot prepare the guest kernel and initramfs"; exit 1; }
L1_GUEST_KERNEL=$L1_VMLINUZ

if [ $direct = 1 ]; then
    echo "demo: booting the VM on this host's /dev/kvm"
    demo_boot "$bin"; rc=$?
else
    echo "demo: $why; booting the VM inside the L1 test machine (QEMU TCG emulating an AMD CPU with SVM; about a minute)"
    L1_TEE=1 l1_run -n demo -t 300 "$0"; rc=$?
    if [ $rc = 125 ]; then
        echo "demo: the L1 machine failed (log: build/l1/logs/demo.log)"; exit 1
    fi
    echo "demo: khyve exit status $rc: $(khyve_status_text "$rc")"
fi
[ $rc = 1 ]
