#!/usr/bin/env bash
# khyvesh's host commands and command line: help lists the commands and
# one command's options; version, uri, hostname and nodeinfo answer as
# virsh does (CPU(s) = online CPUs, memory = MemTotal); capabilities and
# domcapabilities validate against libvirt's schemas; an unknown command,
# option or URI, a stray argument, session without XDG_RUNTIME_DIR and
# system for a non-root user each fail with exit 1 and one "error:" line.
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/khyvesh.inc"
SCHEMAS=/usr/share/libvirt/schemas
export XDG_RUNTIME_DIR=$TMP/run HOME=$TMP/home
mkdir -p "$XDG_RUNTIME_DIR" "$HOME"

ok() { run_sh "$@"; [ "$RC" = 0 ] || fail "khyvesh $*: exit $RC"; [ ! -s "$ERR" ] || fail "khyvesh $*: stderr"; }

ok help
expect_stdout '^ Host and Hypervisor \(help keyword .host.\):'
expect_stdout '^ +nodeinfo +node information'
ok help domcapabilities
expect_stdout '--arch'
ok -c khyve:///session uri
expect_stdout '^khyve:///session$'
ok -c khyve:///session version
expect_stdout '^Running hypervisor: KHYVE [0-9]+\.[0-9]+\.[0-9]+$'
ok -c khyve:///session hostname
[ -s "$OUT" ] || fail "hostname printed nothing"
ok -c khyve:///session nodeinfo
expect_stdout "^CPU\(s\): +$(getconf _NPROCESSORS_ONLN)\$"
expect_stdout "^Memory size: +$(awk '/^MemTotal/ { print $2 }' /proc/meminfo) KiB\$"
ok -c khyve:///session nodeinfo --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["cpus"] >= 1 and d["memory_kib"] > 0' <"$OUT" ||
	fail "nodeinfo --json is not the expected JSON"
if command -v xmllint >/dev/null && [ -f $SCHEMAS/domain.rng ]; then
	ok -c khyve:///session capabilities
	xmllint --noout --relaxng $SCHEMAS/capability.rng "$OUT" 2>"$TMP/lint" ||
		fail "capabilities do not validate: $(cat "$TMP/lint")"
	grep -q "<domain type='kvm'/>" "$OUT" || fail "capabilities name no kvm domain"
	ok -c khyve:///session domcapabilities
	xmllint --noout --relaxng $SCHEMAS/domaincaps.rng "$OUT" 2>"$TMP/lint" ||
		fail "domcapabilities do not validate: $(cat "$TMP/lint")"
else
	echo "note: xmllint or libvirt's schemas missing: the XML is not validated"
fi
refused "unknown command: 'frobnicate'" frobnicate
refused "doesn't support option --bogus" -c khyve:///session nodeinfo --bogus
refused "unexpected data 'extra'" -c khyve:///session nodeinfo extra
refused "unsupported URI 'qemu:///system'" -c qemu:///system uri
refused "unsupported arch 'ppc64'" -c khyve:///session domcapabilities --arch ppc64
refused "no command given"
XDG_RUNTIME_DIR= refused "XDG_RUNTIME_DIR" -c khyve:///session uri
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	LAST_ARGS="-c khyve:///system uri (as nobody)"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$SH" -c khyve:///system uri \
		>"$OUT" 2>"$ERR"
	RC=$?
	[ "$RC" = 1 ] && grep -q "^error: .*khyve:///system is root's" "$ERR" ||
		fail "a non-root user was not refused khyve:///system"
fi
pass
