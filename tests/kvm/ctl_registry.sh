#!/usr/bin/env bash
# The registry through khyvectl: --create makes a persistent VM (root
# only), khyve runs under its name and leaves it stopped, --destroy
# removes it; vmm.maxvms caps one user's VMs; names too long for the
# socket path are refused in one line.
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest hello echo
[ "$(id -u)" = 0 ] || skip "needs root (persistent VMs)"
"$KHYVECTL" --rundir="$RUNDIR" --vm=pers --create || fail "--create failed"
"$KHYVECTL" --rundir="$RUNDIR" --vm=pers --create 2>"$TMP/err" && fail "a second --create succeeded"
grep -q 'pers' "$TMP/err" || fail "second --create: $(cat "$TMP/err")"
"$KHYVECTL" --rundir="$RUNDIR" --list >"$TMP/list" || fail "--list failed"
grep -qE '^pers ' "$TMP/list" || { cat "$TMP/list"; fail "--list lacks pers"; }
# khyve runs the persistent VM and leaves it registered.
VM=pers
vm_args hello -l com1,stdio -o rundir="$RUNDIR"
run_vm "${ARGS[@]}"
expect_status 1
[ -e "$RUNDIR/pers.vm" ] || fail "the persistent VM's entry went with khyve"
[ ! -e "$RUNDIR/pers" ] || fail "the control socket stayed after khyve exited"
"$KHYVECTL" --rundir="$RUNDIR" --vm=pers --destroy || fail "--destroy failed"
[ ! -e "$RUNDIR/pers.vm" ] || fail "--destroy left the entry"
"$KHYVECTL" --rundir="$RUNDIR" --vm=pers --destroy 2>"$TMP/err" && fail "destroying a gone VM succeeded"
# vmm.maxvms=1: a second VM of the same user is refused while one runs.
mkfifo "$TMP/in"; exec 9<>"$TMP/in"
VM=first
vm_args echo -l com1,stdio -o rundir="$RUNDIR" -o vmm.maxvms=1
STDIN=$TMP/in start_vm "${ARGS[@]}"
wait_console 'echo: ready' || { wait_vm; fail "first VM never ready"; }
"$KHYVE" -m 32M -o rundir="$RUNDIR" -o vmm.maxvms=1 -o boot.kernel="$GUESTS/hello.elf" second \
	</dev/null >"$TMP/second.out" 2>"$TMP/second.err"
[ $? = 4 ] || fail "a second VM past vmm.maxvms=1 was not refused"
grep -q 'vmm.maxvms=1' "$TMP/second.err" || fail "maxvms: $(cat "$TMP/second.err")"
"$KHYVECTL" --rundir="$RUNDIR" --vm=first --force-poweroff >/dev/null || fail "--force-poweroff"
wait_vm
expect_status 1
exec 9>&-
# A name that does not fit the socket path.
long=$(printf 'n%.0s' $(seq 120))
"$KHYVE" -m 32M -o rundir="$RUNDIR" -o boot.kernel="$GUESTS/hello.elf" "$long" \
	</dev/null >/dev/null 2>"$TMP/err"
[ $? = 4 ] && [ "$(wc -l < "$TMP/err")" = 1 ] && grep -q 'too long' "$TMP/err" ||
	fail "long name: $(cat "$TMP/err")"
expect_rundir_empty
pass
