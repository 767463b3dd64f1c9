#!/usr/bin/env bash
# The regs guest (for khyvectl register/memory tests): it prints where its
# pattern page, its regs_moved label and its spin loop are, then spins
# forever.  Check the three lines, that the addresses are sane (in the ELF
# loaded at 1 MiB; equal to the symbols when nm is there), that it keeps
# spinning, then SIGTERM twice (power button ignored) -> exit 1.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest regs
vm_args regs -l com1,stdio
start_vm "${ARGS[@]}"
ready='^regs: ready rip=0x([0-9a-f]{16})$'
for _ in $(seq 300); do
	sed 's/\r$//' "$OUT" 2>/dev/null | grep -qE "$ready" && break
	kill -0 "$BGPID" 2>/dev/null || break
	sleep 0.1
done
sed 's/\r$//' "$OUT" | grep -qE "$ready" || { wait_vm; fail "guest never printed 'regs: ready'"; }
sleep 0.3
kill -0 "$BGPID" 2>/dev/null || { wait_vm; fail "khyve exited while the guest spun"; }
kpid=$BGPID
kill -TERM "$kpid"
for _ in $(seq 50); do
	grep -q 'pressing the ACPI power button' "$ERR" 2>/dev/null && break
	sleep 0.1
done
kill -0 "$kpid" 2>/dev/null && kill -TERM "$kpid"
wait_vm
expect_status 1
expect_console '^regs: pattern at=0x0000000000300000 len=4096$'
expect_console '^regs: moved-at=0x[0-9a-f]{16}$'
expect_no_console 'regs: moved rbx'
con=$(sed 's/\r$//' "$OUT")
[ "$(grep '^regs: ' <<<"$con" | sed 's/=.*//' | tr '\n' '|')" = "regs: pattern at|regs: moved-at|regs: ready rip|" ] ||
	fail "expected exactly the pattern, moved-at and ready lines, in that order"
rip=$((16#$(sed -nE "s/$ready/\1/p" <<<"$con")))
moved=$((16#$(sed -nE 's/^regs: moved-at=0x([0-9a-f]{16})$/\1/p' <<<"$con")))
for a in $rip $moved; do
	[ "$a" -ge $((0x100000)) ] && [ "$a" -lt $((0x200000)) ] ||
		fail "address $(printf 0x%x "$a") not in the guest image at 1 MiB"
done
[ "$rip" -ne "$moved" ] || fail "spin loop and regs_moved at the same address"
if command -v nm >/dev/null; then
	syms=$(nm "$GUESTS/regs.elf")
	want_spin=$((16#$(awk '$3 == "regs_spin" { print $1 }' <<<"$syms")))
	want_moved=$((16#$(awk '$3 == "regs_moved" { print $1 }' <<<"$syms")))
	[ "$rip" -eq "$want_spin" ] || fail "rip $(printf 0x%x "$rip") is not regs_spin $(printf 0x%x "$want_spin")"
	[ "$moved" -eq "$want_moved" ] || fail "moved-at $(printf 0x%x "$moved") is not regs_moved $(printf 0x%x "$want_moved")"
fi
pass
