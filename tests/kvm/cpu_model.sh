#!/usr/bin/env bash
# -o cpu.model=: x86-64-v1 hides what v2 and v3 add (CMPXCHG16B, LAHF,
# LZCNT) and keeps the hypervisor bit; a model this host's KVM cannot run,
# or an unknown one, is refused in one line before the guest starts.
. "$(dirname "$0")/common.inc"
need_kvm; need_guest cpuid
word() { sed 's/\r$//' "$OUT" | awk -v k="cpuid $1 $2=" 'index($0, k) == 1 { print substr($0, length(k) + 1) }'; }
vm_args cpuid -l com1,stdio -o cpu.model=x86-64-v1
run_vm "${ARGS[@]}"
expect_status 1
expect_console '^cpuid: done$'
ecx1=$((16#$(word 00000001.0 ecx))) ecx81=$((16#$(word 80000001.0 ecx)))
(( ecx1 & (1 << 13) )) && fail "x86-64-v1 shows CMPXCHG16B (leaf 1 ECX $(word 00000001.0 ecx))"
(( ecx1 & (1 << 31) )) || fail "x86-64-v1 lost the hypervisor bit"
(( ecx81 & ((1 << 0) | (1 << 5)) )) && fail "x86-64-v1 shows LAHF or LZCNT (0x80000001 ECX $(word 80000001.0 ecx))"
vm_args cpuid -l com1,stdio -o cpu.model=nosuch
run_vm "${ARGS[@]}"
expect_status 4
grep -q 'cpu.model=nosuch: unknown CPU model (khyve has host, x86-64-v1' "$ERR" || fail "unknown model: $(cat "$ERR")"
# The highest level this host cannot run, if any, names what is missing.
for m in x86-64-v4 x86-64-v3 x86-64-v2; do
	vm_args cpuid -l com1,stdio -o cpu.model=$m
	run_vm "${ARGS[@]}"
	[ "$RC" = 1 ] && continue
	expect_status 4
	grep -qE "cpu.model=$m: this host's KVM lacks [a-z0-9_.]+, which the model has" "$ERR" ||
		fail "$m refused without naming the missing feature: $(cat "$ERR")"
	break
done
pass
