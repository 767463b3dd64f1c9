#!/usr/bin/env bash
# khyvectl --create / --destroy / --list on the registry, no VM process
# needed: root makes a persistent VM, which lists as stopped, answers
# "is not running" to socket actions and goes with --destroy; an
# unprivileged user is told to use khyve -M (EPERM passed through).
. "$(dirname "$0")/common.inc"
KHYVECTL=${KHYVECTL:-$ROOT/build/asan/khyvectl}
[ -x "$KHYVECTL" ] || fail "$KHYVECTL not built (make asan)"

show() {
	echo "--- command: khyvectl $LAST_ARGS"
	echo "--- exit status: ${RC:-none}"
	echo "--- stdout:"; [ -f "$OUT" ] && cat "$OUT"
	echo "--- stderr:"; [ -f "$ERR" ] && cat "$ERR"
	echo "---"
}

# run_ctl [setpriv...] -- args...: RC, OUT, ERR.
run_ctl() {
	local pre=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	LAST_ARGS="$*"
	timeout -k 5 30 "${pre[@]}" "$KHYVECTL" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	[ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "khyvectl did not exit within 30s"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer CHECK failed' "$ERR"; then
		fail "sanitizer report on stderr"
	fi
}

expect_ok() {
	run_ctl "$@"
	[ "$RC" = 0 ] || fail "exit status $RC, expected 0"
	[ ! -s "$ERR" ] || fail "something on stderr"
}

expect_fail() {	# ERE [setpriv...] -- args...
	local re=$1
	shift
	run_ctl "$@"
	[ "$RC" = 1 ] || fail "exit status $RC, expected 1"
	[ ! -s "$OUT" ] || fail "something on stdout"
	[ "$(wc -l <"$ERR")" = 1 ] || fail "stderr is not exactly one line"
	grep -qE -- "$re" "$ERR" || fail "stderr line does not say /$re/"
}

EPERM_LINE='^khyvectl: pers1: create: only root can create a persistent VM; an unprivileged user runs VMs with khyve -M$'

if [ "$(id -u)" != 0 ]; then
	RUN=$TMP/run
	expect_fail "$EPERM_LINE" -- --rundir="$RUN" --vm=pers1 --create
	pass "unprivileged --create refused (root part skipped)"
fi

RUN=$TMP/run
R=--rundir=$RUN
expect_ok -- "$R" --vm=pers1 --create
[ -f "$RUN/pers1.vm" ] || fail "no registry entry $RUN/pers1.vm"
[ ! -s "$OUT" ] || fail "--create printed something"

expect_ok -- "$R" --list
grep -qE '^pers1 +- +root +stopped +- +-$' "$OUT" || fail "--list does not show pers1 stopped"
expect_ok -- "$R" --list --json
grep -qF '[{"name":"pers1","pid":null,"monitor_pid":null,"uid":0,"owner":"root","state":"stopped","persistent":true,"vcpus":null,"memory":null}]' "$OUT" ||
	fail "--list --json is not the one stopped persistent VM"
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" || fail "--list --json is not JSON"
fi

expect_fail '^khyvectl: pers1: create: a VM of this name already exists in ' -- "$R" --vm=pers1 --create
expect_fail '^khyvectl: pers1: is not running$' -- "$R" --vm=pers1 --get-rip
expect_fail '^khyvectl: pers1: is not running$' -- "$R" --vm=pers1 --force-poweroff --json
expect_ok -- "$R" --vm=pers1			# exists: nothing else to do
expect_ok -- "$R" --vm=pers1 --destroy
[ ! -e "$RUN/pers1.vm" ] || fail "--destroy left $RUN/pers1.vm"
expect_fail "^khyvectl: pers1: no such VM in $RUN\$" -- "$R" --vm=pers1 --destroy
expect_fail "^khyvectl: pers1: no such VM in $RUN\$" -- "$R" --vm=pers1

# --create and --destroy in one invocation: created, then destroyed.
expect_ok -- "$R" --vm=pers2 --create --destroy
[ ! -e "$RUN/pers2.vm" ] || fail "--create --destroy left $RUN/pers2.vm"

# An unprivileged user: EPERM, with the hint.
if command -v setpriv >/dev/null && getent passwd nobody >/dev/null; then
	NOBODY=$(mktemp -d "${TMPDIR:-/tmp}/khyvectl-nobody.XXXXXX")
	trap 'rm -rf "$TMP" "$NOBODY"' EXIT
	chown nobody "$NOBODY" && chmod 700 "$NOBODY"
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	expect_fail "$EPERM_LINE" setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		--rundir="$NOBODY" --vm=pers1 --create
	[ ! -e "$NOBODY/pers1.vm" ] || fail "an unprivileged --create left an entry"
	# Root's run directory is not theirs.
	expect_fail "^khyvectl: pers2: run directory $RUN" setpriv --reuid="$uid" --regid="$gid" \
		--clear-groups -- --rundir="$RUN" --vm=pers2 --get-rip
fi
pass
