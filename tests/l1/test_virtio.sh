#!/bin/bash
# tests/l1/test_virtio.sh — khyve's virtio devices seen by Debian's kernel
# inside the L1 machine:
#   -c 1, -s 4,virtio-rnd, khyve.test=hwrng: the guest's virtio_pci and
#        virtio-rng drivers bind the modern virtio-pci entropy device
#        (1af4:1044), hw_random selects it (rng_current = virtio_rng.N), 64
#        bytes read from /dev/hwrng with more than 8 distinct values, the
#        queue's interrupts delivered as MSI-X (PCI-MSI, count > 0); exit 1
# One L1 boot.  Exit 0 pass, 77 skip (also when this khyve has no
# virtio-rnd), else fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    if kb=$(l1_khyve_bin) && ! "$kb" -s help 2>&1 | grep -q '^ *virtio-rnd\b'; then
        echo "SKIP: $kb has no virtio-rnd device ('-s help' does not list it)"
        exit 77
    fi
    l1_test_main "$0" "$@"
fi

t_setup_inside

name=hwrng-c1
kv_run $name 120 1 hwrng -s 4,virtio-rnd
t_expect_console $name 'KHYVE-GUEST-UP cpus=1$' "boots to the guest marker"
t_expect_console $name 'KHYVE-GUEST-PCI [0-9a-f:.]+:04\.0 0x1af4:0x1044 driver=virtio-pci$' \
    "guest sees 1af4:1044 at slot 4, bound by virtio-pci"
t_expect_console $name 'KHYVE-GUEST-HWRNG-CURRENT=virtio_rng\.[0-9]+$' \
    "hw_random uses the virtio RNG (rng_current)"
t_expect_console $name 'KHYVE-GUEST-HWRNG-BYTES=64$' "64 bytes read from /dev/hwrng"
distinct=$(tr -d '\r' < "$KHYVE_L1_OUT/$name.console" |
           sed -n 's/^KHYVE-GUEST-HWRNG-DISTINCT=\([0-9]*\)$/\1/p' | tail -1)
if [ -n "$distinct" ] && [ "$distinct" -gt 8 ]; then
    t_pass "$name: the 64 bytes have $distinct distinct values (> 8)"
else
    t_fail "$name: the 64 bytes have ${distinct:-no} distinct values, want > 8"
    t_show $name
fi
t_expect_console $name 'KHYVE-GUEST-IRQ: [0-9]+: [1-9][0-9]* PCI-MSI [0-9]+-edge virtio[0-9]+-input$' \
    "the request queue interrupts arrive as MSI-X (virtioN-input, count > 0)"
t_expect_console $name 'KHYVE-GUEST-ACTION=poweroff$' "guest ran poweroff -f"
t_expect_rc $name 1
t_expect_clean $name

t_finish
