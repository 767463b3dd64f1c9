#!/bin/bash
# tests/l1/test_power.sh — khyve's halt and ACPI power button, inside L1:
#   -c 2, khyve.test=halt: exit 2 (halted)
#   -c 1, khyve.test=wait, SIGTERM to khyve once the guest waits: the guest
#        sees the power button (KHYVE-GUEST-POWERBUTTON), powers off: exit 1
#   -c 1, khyve.test=ignore (guest ignores the button), SIGTERM then a second
#        SIGTERM: forced poweroff, exit 1
# One L1 boot for all.  Exit 0 pass, 77 skip, else fail.
. "$(dirname "$0")/lib.sh"
[ -n "${KHYVE_IN_L1:-}" ] || l1_test_main "$0" "$@"

t_setup_inside

kv_run halt-c2 120 2 halt
t_expect_console halt-c2 'KHYVE-GUEST-UP cpus=2$' "boots to the guest marker with cpus=2"
t_expect_console halt-c2 'KHYVE-GUEST-ACTION=halt$' "guest ran halt -f"
t_expect_rc halt-c2 2
t_expect_clean halt-c2

kv_start button 1 wait
if kv_wait_for button 'KHYVE-GUEST-WAITING' 120; then
    t_info "button: guest waits for the power button; sending SIGTERM to khyve"
    kill -TERM "$KV_PID"
else
    t_fail "button: guest never reported KHYVE-GUEST-WAITING"
fi
kv_wait button 60
t_expect_console button 'KHYVE-GUEST-POWERBUTTON' "guest saw the ACPI power button"
t_expect_console button 'KHYVE-GUEST-ACTION=poweroff$' "guest powered off after the button"
t_expect_rc button 1
t_expect_clean button

kv_start force 1 ignore
if kv_wait_for force 'KHYVE-GUEST-WAITING' 120; then
    t_info "force: guest ignores the power button; SIGTERM, then SIGTERM again after 2s"
    kill -TERM "$KV_PID"; sleep 2
    kill -0 "$KV_PID" 2>/dev/null && kill -TERM "$KV_PID"
else
    t_fail "force: guest never reported KHYVE-GUEST-WAITING"
fi
kv_wait force 60
t_expect_rc force 1
t_expect_clean force

t_finish
