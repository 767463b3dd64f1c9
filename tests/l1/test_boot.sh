#!/bin/bash
# tests/l1/test_boot.sh — khyve boots Debian's kernel inside the L1 machine:
#   -c 1, khyve.test=poweroff, -U UUID: marker cpus=1, SMBIOS UUID seen by the
#        guest in /sys/class/dmi/id/product_uuid, exit 1 (powered off)
#   -c 2, khyve.test=reboot: marker cpus=2, exit 0 (rebooted)
# One L1 boot for both.  Exit 0 pass, 77 skip, else fail.
. "$(dirname "$0")/lib.sh"
[ -n "${KHYVE_IN_L1:-}" ] || l1_test_main "$0" "$@"

t_setup_inside
uuid=$KV_UUID_DEFAULT

kv_run poweroff-c1 120 1 poweroff -U "$uuid"
t_expect_console poweroff-c1 'KHYVE-GUEST-UP cpus=1$' "boots to the guest marker with cpus=1"
t_expect_console poweroff-c1 "KHYVE-GUEST-UUID=(${uuid}|${uuid^^})\$" "guest sees SMBIOS UUID $uuid"
t_expect_console poweroff-c1 'KHYVE-GUEST-ACTION=poweroff$' "guest ran poweroff -f"
t_expect_rc poweroff-c1 1
t_expect_clean poweroff-c1

kv_run reboot-c2 120 2 reboot
t_expect_console reboot-c2 'KHYVE-GUEST-UP cpus=2$' "boots to the guest marker with cpus=2"
t_expect_console reboot-c2 'KHYVE-GUEST-ACTION=reboot$' "guest ran reboot -f"
t_expect_rc reboot-c2 0
t_expect_clean reboot-c2

t_finish
