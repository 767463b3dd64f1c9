#!/usr/bin/env bash
# An unprivileged user (setpriv to nobody, with a /dev/kvm node of their
# own in a private mount namespace): runs their own VM, in monitor mode by
# default, in $XDG_RUNTIME_DIR/khyve; may not create a persistent VM; can
# suspend it and restore it; can neither reach nor destroy root's VM; root
# can destroy theirs (exit 4).
. "$(dirname "$0")/common.inc"
need_kvm; need_ctl; need_guest echo
[ "$(id -u)" = 0 ] || skip "needs root to switch users"
command -v setpriv >/dev/null && command -v unshare >/dev/null || skip "setpriv/unshare missing"
U=65534
chmod 755 "$TMP"
mkdir -m 700 "$TMP/xdg" && chown $U:$U "$TMP/xdg"
dev=$(stat -c '%t %T' /dev/kvm)
mknod "$TMP/kvm" c $((0x${dev% *})) $((0x${dev#* })) 2>/dev/null || skip "cannot mknod in $TMP"
chown $U:$U "$TMP/kvm"
unshare -m --propagation private true 2>/dev/null || skip "no mount namespaces"

# as_user CMD...: CMD as nobody, with XDG_RUNTIME_DIR and their /dev/kvm.
as_user() {
	unshare -m --propagation private /bin/sh -c \
		'k=$1; x=$2; shift 2; mount --bind "$k" /dev/kvm &&
		 exec setpriv --reuid='$U' --regid='$U' --clear-groups env XDG_RUNTIME_DIR="$x" "$@"' \
		sh "$TMP/kvm" "$TMP/xdg" "$@"
}
mkfifo "$TMP/in" "$TMP/in2"; chmod 666 "$TMP/in"
exec 9<>"$TMP/in" 8<>"$TMP/in2"

# The user's VM.
LAST_ARGS="(as nobody) -m 32M ... uservm"
as_user "$KHYVE" -m 32M -s 0,hostbridge -s 31,lpc -l com1,stdio \
	-o boot.kernel="$GUESTS/echo.elf" uservm <"$TMP/in" >"$OUT" 2>"$ERR" &
BGPID=$!
wait_console 'echo: ready' || { wait "$BGPID"; RC=$?; fail "the user's VM never booted"; }
urun=$TMP/xdg/khyve
[ -S "$urun/uservm" ] || fail "no control socket in \$XDG_RUNTIME_DIR/khyve"
[ "$(stat -c %u "$urun/uservm")" = $U ] || fail "the socket does not belong to the user"
pids=$(as_user "$KHYVECTL" --vm=uservm --get-vm-pid --json 2>&1) || fail "user's --get-vm-pid: $pids"
vmpid=$(echo "$pids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
monpid=$(echo "$pids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["monitor_pid"])' 2>/dev/null)
[ -n "$monpid" ] && [ "$(awk '/^PPid/ { print $2 }' "/proc/$vmpid/status" 2>/dev/null)" = "$monpid" ] ||
	fail "not in monitor mode by default: --get-vm-pid --json gave $pids"
as_user "$KHYVECTL" --vm=mine --create >"$TMP/err" 2>&1 && fail "the user created a persistent VM"
grep -qi 'root' "$TMP/err" || fail "--create as user: $(cat "$TMP/err")"

# The user suspends their VM into a directory of theirs (the sandboxed VM
# process writes it) and restores it: it echoes again, no second boot.
mkdir -m 700 "$TMP/uck" && chown $U:$U "$TMP/uck"
as_user "$KHYVECTL" --vm=uservm --suspend="$TMP/uck/c" >"$TMP/err" 2>&1 ||
	fail "the user's --suspend: $(cat "$TMP/err")"
wait "$BGPID"; RC=$?
expect_status 5
[ "$(stat -c '%u %a' "$TMP/uck/c.meta")" = "$U 600" ] ||
	fail "the user's checkpoint: $(stat -c '%U %a' "$TMP/uck/c.meta")"
OUT=$TMP/restored.out
LAST_ARGS="(as nobody) -r $TMP/uck/c ..."
as_user "$KHYVE" -s 0,hostbridge -s 31,lpc -l com1,stdio -r "$TMP/uck/c" \
	<"$TMP/in" >"$OUT" 2>"$ERR" &
BGPID=$!
for _ in $(seq 100); do [ -S "$urun/uservm" ] && break; sleep 0.1; done
printf 'ab' >&9
wait_console 'AB' || { wait "$BGPID"; RC=$?; fail "the restored VM does not echo"; }
expect_no_console 'echo: ready'

# Root's VM, which the user can neither see nor destroy.
"$KHYVE" -m 32M -s 0,hostbridge -s 31,lpc -l com1,stdio -o rundir="$RUNDIR" \
	-o boot.kernel="$GUESTS/echo.elf" rootvm <"$TMP/in2" >"$TMP/root.out" 2>&1 &
ROOTPID=$!
for _ in $(seq 100); do grep -q 'echo: ready' "$TMP/root.out" && break; sleep 0.1; done
as_user "$KHYVECTL" --rundir="$RUNDIR" --vm=rootvm --destroy >"$TMP/err" 2>&1 &&
	fail "the user destroyed root's VM"
[ "$(wc -l < "$TMP/err")" = 1 ] || fail "user destroying root's VM: $(cat "$TMP/err")"
kill -0 "$ROOTPID" || fail "root's VM died"
"$KHYVECTL" --rundir="$RUNDIR" --vm=rootvm --force-poweroff >/dev/null || fail "root --force-poweroff"
wait "$ROOTPID"; [ $? = 1 ] || fail "root's VM did not power off"

# Root destroys the user's VM.
"$KHYVECTL" --rundir="$urun" --vm=uservm --destroy || fail "root could not destroy the user's VM"
wait "$BGPID"; RC=$?; BGPID=
check_sanitizers
expect_status 4
[ -z "$(ls -A "$urun" | grep -v '^\.registry$')" ] || fail "left in the user's run directory: $(ls -A "$urun")"
expect_rundir_empty
exec 9>&- 8>&-
pass
