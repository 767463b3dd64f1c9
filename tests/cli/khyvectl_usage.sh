#!/usr/bin/env bash
# khyvectl's command line: every mistake is refused before anything is
# touched, with exit status 2 and one line "khyvectl: ..." naming it;
# a VM that does not exist is exit status 1 with "no such VM in RUNDIR";
# --help exits 0; --list of an empty run directory is an empty table.
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

run_ctl() {
	LAST_ARGS="$*"
	timeout -k 5 30 "$KHYVECTL" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
	[ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "khyvectl did not exit within 30s"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer CHECK failed' "$ERR"; then
		fail "sanitizer report on stderr"
	fi
}

# expect_status STATUS ERE args...: that exit status, nothing on stdout,
# exactly one line "khyvectl: ..." on stderr matching ERE.
expect_status() {
	local want=$1 re=$2
	shift 2
	run_ctl "$@"
	[ "$RC" = "$want" ] || fail "exit status $RC, expected $want"
	[ ! -s "$OUT" ] || fail "something on stdout"
	[ "$(wc -l <"$ERR")" = 1 ] && [ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" = '\n' ] ||
		fail "stderr is not exactly one line"
	grep -q '^khyvectl: ' "$ERR" || fail "stderr line does not start with 'khyvectl: '"
	grep -qE -- "$re" "$ERR" || fail "stderr line does not say /$re/"
}

EMPTY=$TMP/run
mkdir -m 700 "$EMPTY"
R=--rundir=$EMPTY

# Help.
for h in -h --help; do
	run_ctl $h
	[ "$RC" = 0 ] || fail "$h: exit status $RC, expected 0"
	[ ! -s "$ERR" ] || fail "$h: something on stderr"
	grep -q '^usage: khyvectl --vm=NAME' "$OUT" || fail "$h: no usage line"
	for o in --create --destroy --get-stats --get-vm-pid --inject-nmi --checkpoint \
		 --read-mem --list --json rip efer gdtr_base; do
		grep -q -- "$o" "$OUT" || fail "$h: the usage does not mention $o"
	done
done

# Missing --vm, unknown options, stray arguments.
expect_status 2 '^khyvectl: --vm=NAME is required' "$R"
expect_status 2 '^khyvectl: --vm=NAME is required' "$R" --get-rip
expect_status 2 'unknown or ambiguous option --bogus' "$R" --vm=a --bogus
expect_status 2 'unknown option -Z' "$R" --vm=a -Z
expect_status 2 'unknown or ambiguous option --get-r\b' "$R" --vm=a --get-r
expect_status 2 'unexpected argument "vm1"' "$R" --get-rip vm1
expect_status 2 '^khyvectl: --set-rip needs a value' "$R" --vm=a --set-rip
expect_status 2 '^khyvectl: --get-rip=1: this option takes no value' "$R" --vm=a --get-rip=1
expect_status 2 '^khyvectl: --help=1: this option takes no value' "$R" --help=1
expect_status 2 'unknown option -Z' "$R" --vm=a -Zh

# Bad values.
expect_status 2 '^khyvectl: --cpu=x: want a vCPU number' "$R" --vm=a --cpu=x --get-rip
expect_status 2 '^khyvectl: --cpu=-1: ' "$R" --vm=a --cpu=-1 --get-rip
expect_status 2 '^khyvectl: --cpu=4294967296: ' "$R" --vm=a --cpu=4294967296 --inject-nmi
expect_status 2 '^khyvectl: --set-rip=zz: not a number' "$R" --vm=a --set-rip=zz
expect_status 2 '^khyvectl: --set-rax=0x: not a number' "$R" --vm=a --set-rax=0x
expect_status 2 '^khyvectl: --set-rax=18446744073709551616: not a number' \
	"$R" --vm=a --set-rax=18446744073709551616
expect_status 2 '^khyvectl: --set-rip=12abc: not a number' "$R" --vm=a --set-rip=12abc
expect_status 2 '^khyvectl: --set-cs=0x10000: a segment selector is 16 bits' \
	"$R" --vm=a --set-cs=0x10000
expect_status 2 '^khyvectl: --set-rtc-time=soon: want seconds' "$R" --vm=a --set-rtc-time=soon
expect_status 2 '^khyvectl: --read-mem=0x1000,40000: LEN must be 1 to 32768 bytes' \
	"$R" --vm=a --read-mem=0x1000,40000
expect_status 2 '^khyvectl: --read-mem=0x1000,32769: LEN must be 1 to 32768' \
	"$R" --vm=a --read-mem=0x1000,32769
expect_status 2 '^khyvectl: --read-mem=0x1000,0: LEN must be 1 to 32768' \
	"$R" --vm=a --read-mem=0x1000,0
expect_status 2 '^khyvectl: --read-mem=,16: want GPA' "$R" --vm=a --read-mem=,16
expect_status 2 '^khyvectl: --read-mem=0xffffffffffffffff,2: GPA\+LEN is past' \
	"$R" --vm=a --read-mem=0xffffffffffffffff,2
expect_status 2 '^khyvectl: --timeout=0: want seconds' "$R" --vm=a --timeout=0 --get-rip
expect_status 2 '^khyvectl: --checkpoint=/tmp/: want a file name' "$R" --vm=a --checkpoint=/tmp/
expect_status 2 '^khyvectl: --suspend=..: want a file name' "$R" --vm=a --suspend=..
expect_status 2 'the file name is too long' "$R" --vm=a --checkpoint=/tmp/$(printf 'x%.0s' {1..300})
expect_status 2 '^khyvectl: --rundir=: want a directory' --rundir= --vm=a

# Bad combinations and names.
expect_status 2 'at most one of' "$R" --vm=a --force-reset --force-poweroff
expect_status 2 'at most one of' "$R" --vm=a --destroy --force-poweroff
expect_status 2 'at most one of' "$R" --vm=a --suspend=/tmp/x --acpi-shutdown
expect_status 2 'one --checkpoint or --suspend' "$R" --vm=a --checkpoint=/tmp/x --suspend=/tmp/y
expect_status 2 '^khyvectl: --force goes with --checkpoint' "$R" --vm=a --force
expect_status 2 '^khyvectl: --list takes no --vm' "$R" --list --vm=a
expect_status 2 '^khyvectl: --list takes no --vm and no other action' "$R" --list --get-rip
expect_status 2 "VM name \"a/b\" may only contain" "$R" --vm=a/b --get-rip
expect_status 2 "must not start with '-'" "$R" --vm=-x --get-rip
expect_status 2 'the VM name is empty' "$R" --vm= --get-rip
expect_status 2 'too long' "$R" --vm="$(printf 'v%.0s' {1..200})" --get-rip

# A VM that does not exist: in an empty run directory, and in one that
# is not there (which khyvectl must not create).
expect_status 1 "^khyvectl: ghost: no such VM in $EMPTY\$" "$R" --vm=ghost --get-rip
expect_status 1 "^khyvectl: ghost: no such VM in $EMPTY\$" "$R" --vm=ghost
expect_status 1 "^khyvectl: ghost: no such VM in $EMPTY\$" "$R" --vm=ghost --destroy
expect_status 1 "^khyvectl: ghost: no such VM in $TMP/none\$" --rundir="$TMP/none" --vm=ghost --pause
[ ! -e "$TMP/none" ] || fail "khyvectl created the run directory $TMP/none"

# --list of an empty or missing run directory.
for d in "$EMPTY" "$TMP/none"; do
	run_ctl --rundir="$d" --list
	[ "$RC" = 0 ] && [ ! -s "$ERR" ] || fail "--list: exit status $RC"
	[ "$(cat "$OUT")" = "$(printf 'NAME  PID      OWNER  STATE    VCPUS  MEMORY')" ] ||
		fail "--list of an empty run directory is not just the header"
	run_ctl --rundir="$d" --list --json
	[ "$RC" = 0 ] && [ "$(cat "$OUT")" = "[]" ] || fail "--list --json is not []"
done
[ ! -e "$TMP/none" ] || fail "--list created the run directory $TMP/none"

# Someone else's run directory is refused by the registry's rules.
if [ "$(id -u)" != 0 ]; then
	expect_status 1 '^khyvectl: vm1: run directory /: must belong to you|^khyvectl: vm1: run directory / must belong' \
		--rundir=/ --vm=vm1 --get-rip
fi
pass "$(grep -c '^expect_status' "$0") refusals"
