#!/usr/bin/env bash
# khyvesh runs domains (khyve:///session in private XDG dirs, tiny guests):
# start, list/domid/domstate/dominfo, vcpuinfo, cpu-stats, dommemstat,
# domblkstat, domtime, inject-nmi (the guest's handler sees it), suspend and
# resume, reset (same domain id, a new VM process), destroy (nothing left),
# a start khyve refuses (its reason, nothing left), two starts at once,
# a transient domain, undefine while running, and as root bridged taps that
# vanish even when the VM is killed -9.
. "$(dirname "$0")/common.inc"
. "$ROOT/tests/cli/khyvesh.inc"
need_kvm; need_ctl; need_guest nmi counter
export XDG_CONFIG_HOME=$TMP/cfg XDG_STATE_HOME=$TMP/state XDG_RUNTIME_DIR=$TMP/xdg
export KHYVE_BIN=$KHYVE
mkdir -m 700 "$XDG_RUNTIME_DIR"
SH_PRE=(-c khyve:///session)
RUN=$XDG_RUNTIME_DIR/khyve
LOGDIR=$XDG_STATE_HOME/khyve/log
P=kt$$
BR=

end_all() {
	local d
	for d in $("$SH" "${SH_PRE[@]}" list --name 2>/dev/null); do
		"$SH" "${SH_PRE[@]}" destroy "$d" >/dev/null 2>&1
	done
	[ -z "$BR" ] || ip link del "$BR" 2>/dev/null
	[ -z "${READER:-}" ] || kill "$READER" 2>/dev/null
	rm -rf "$TMP"
}
trap end_all EXIT

# domain NAME GUEST VCPUS [DEVICES-XML]: a definition file $TMP/NAME.xml.
domain() {
	cat >"$TMP/$1.xml" <<EOF
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>$3</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$GUESTS/$2.elf</kernel></os>
  <devices>${4:-}</devices>
</domain>
EOF
}
ok() { run_sh "$@"; [ "$RC" = 0 ] || fail "khyvesh $*: exit $RC: $(cat "$ERR")"; }
state_is() { ok domstate "$1"; [ "$(head -1 "$OUT")" = "$2" ] || fail "$1 is '$(head -1 "$OUT")', not $2"; }
# field FILE KEY: the last word of the line "KEY: ..." or "KEY ...".
field() { awk -v k="$2" 'index($0, k ":") == 1 || index($0, k " ") == 1 { print $NF; exit }' "$1"; }

# A reader on the guest's serial socket, its bytes in $TMP/console.
read_console() {
	python3 - "$1" "$TMP/console" <<'PY' &
import socket, sys, time
for _ in range(300):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("cannot connect to " + sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        b = s.recv(4096)
        if not b:
            break
        f.write(b)
PY
	READER=$!
}
console_has() {
	local n=$(( ${2:-20} * 10 ))
	while [ $n -gt 0 ]; do
		tr -d '\r' <"$TMP/console" 2>/dev/null | grep -qE -- "$1" && return 0
		sleep 0.1; n=$((n - 1))
	done
	fail "the console never showed /$1/: $(cat "$TMP/console" 2>/dev/null)"
}
# alive PID: a process that has not ended (a zombie init has yet to reap has).
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
nothing_left() {
	[ ! -e "$RUN/$1" ] || fail "$1: its control socket is left"
	[ ! -e "$RUN/.domains/$1.xml" ] || fail "$1: its running definition is left"
}

# ---- one domain through its life ----
VMA=$P-a
truncate -s 1M "$TMP/disk.img"
domain "$VMA" nmi 2 "<disk type='file' device='disk'><source file='$TMP/disk.img'/><target dev='vda' bus='virtio'/></disk>
  <serial type='unix'><source mode='bind' path='$TMP/a.con'/><target port='0'/></serial>"
ok define "$TMP/$VMA.xml"
state_is "$VMA" "shut off"
ok start "$VMA"
grep -q "^Domain '$VMA' started" "$OUT" || fail "start said: $(cat "$OUT")"
read_console "$TMP/a.con"
for _ in $(seq 100); do [ -e "$TMP/console" ] && break; sleep 0.05; done
[ -e "$TMP/console" ] || fail "could not connect to the serial socket $TMP/a.con"
sleep 0.2	# the guest printed "nmi: ready" long ago, to nobody: unix serials drop output while no client is connected
ok domid "$VMA"; ID=$(head -1 "$OUT")
[ "$ID" -gt 1 ] 2>/dev/null && alive "$ID" || fail "domid '$ID' is not a live process"
ok list
grep -qE "^ $ID +$VMA +running$" "$OUT" || fail "list lacks '$ID $VMA running': $(cat "$OUT")"
ok dominfo "$VMA"
[ "$(field "$OUT" State)" = running ] && [ "$(field "$OUT" 'CPU(s)')" = 2 ] &&
	[ "$(field "$OUT" Id)" = "$ID" ] || fail "dominfo: $(cat "$OUT")"
ok dominfo "$VMA" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["state"]=="running" and d["vcpus"]==2 and d["max_memory_kib"]==32768, d' "$OUT" ||
	fail "dominfo --json: $(cat "$OUT")"
ok vcpuinfo "$VMA"
[ "$(grep -c '^VCPU:' "$OUT")" = 2 ] && grep -qE '^CPU Affinity: +[y-]+$' "$OUT" || fail "vcpuinfo: $(cat "$OUT")"
ok cpu-stats "$VMA" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["vcpus"])==2 and d["total"]["cpu_time"]>0, d' "$OUT" ||
	fail "cpu-stats --json: $(cat "$OUT")"
ok dommemstat "$VMA"
[ "$(field "$OUT" actual)" = 32768 ] && [ "$(field "$OUT" rss)" -gt 0 ] || fail "dommemstat: $(cat "$OUT")"
ok domblkstat "$VMA" vda
[ "$(grep -c '^vda ' "$OUT")" = 9 ] || fail "domblkstat vda: $(cat "$OUT")"
refused 'invalid path: vdq' domblkstat "$VMA" vdq
ok domtime "$VMA" --time 1000000000
ok domtime "$VMA"
grep -qE '^Time: 100000000[0-5]$' "$OUT" || fail "domtime after --time 1000000000: $(cat "$OUT")"
ok inject-nmi "$VMA"
console_has '^nmi 1$'
ok suspend "$VMA"
state_is "$VMA" paused
refused 'already paused' suspend "$VMA"
ok resume "$VMA"
state_is "$VMA" running
refused 'not paused' resume "$VMA"
VMPID=$("$KHYVECTL" --rundir="$RUN" --vm="$VMA" --get-vm-pid)
ok reset "$VMA"
for _ in $(seq 100); do
	NEW=$("$KHYVECTL" --rundir="$RUN" --vm="$VMA" --get-vm-pid 2>/dev/null)
	[ -n "$NEW" ] && [ "$NEW" != "$VMPID" ] && break
	sleep 0.1
done
[ -n "$NEW" ] && [ "$NEW" != "$VMPID" ] || fail "after reset the VM process is still $VMPID"
ok domid "$VMA"
[ "$(head -1 "$OUT")" = "$ID" ] || fail "reset changed the domain id to $(head -1 "$OUT")"
ok destroy "$VMA"
state_is "$VMA" "shut off"
alive "$ID" && fail "khyve $ID still runs after destroy"
nothing_left "$VMA"
refused "domain '$VMA' is not running" destroy "$VMA"
refused "not running" vcpuinfo "$VMA"

# ---- a start khyve refuses: its reason, nothing left ----
VMB=$P-bad
domain "$VMB" nmi 1
sed -i "s|$GUESTS/nmi.elf|$TMP/no-such-kernel|" "$TMP/$VMB.xml"
ok define "$TMP/$VMB.xml"
refused "did not start: .*no-such-kernel: No such file" start "$VMB"
state_is "$VMB" "shut off"
nothing_left "$VMB"
grep -q 'starting up: .*khyve -M ' "$LOGDIR/$VMB.log" || fail "no start line in $VMB's log"

# ---- two starts at once, a transient domain, undefine while running ----
for n in c d; do domain "$P-$n" counter 1; ok define "$TMP/$P-$n.xml"; done
"$SH" "${SH_PRE[@]}" start "$P-c" >"$TMP/c.out" 2>&1 & C=$!
"$SH" "${SH_PRE[@]}" start "$P-d" >"$TMP/d.out" 2>&1 & D=$!
wait $C || fail "concurrent start c: $(cat "$TMP/c.out")"
wait $D || fail "concurrent start d: $(cat "$TMP/d.out")"
state_is "$P-c" running
state_is "$P-d" running
domain "$P-t" counter 1
ok create "$TMP/$P-t.xml"
ok dominfo "$P-t"
[ "$(field "$OUT" Persistent)" = no ] || fail "a created domain is persistent: $(cat "$OUT")"
ok undefine "$P-c"
ok list
grep -qE " $P-c +running$" "$OUT" || fail "undefined while running: no longer listed running"
for n in c d t; do ok destroy "$P-$n"; nothing_left "$P-$n"; done
ok list --all --name
grep -qE "^$P-(c|t)$" "$OUT" && fail "a destroyed transient domain is still listed: $(cat "$OUT")"

# ---- the serial console on a pty: what the guest wrote before, then an answer ----
domain "$P-e" echo 1 "<serial type='pty'><target port='0'/></serial>"
ok create "$TMP/$P-e.xml"
(printf 'hello\n'; sleep 1) | timeout 20 "$SH" "${SH_PRE[@]}" console "$P-e" >"$TMP/con" 2>&1 ||
	fail "console: $(cat "$TMP/con")"
tr -d '\r' <"$TMP/con" | grep -q '^echo: ready$' && tr -d '\r' <"$TMP/con" | grep -q '^HELLO$' ||
	fail "console did not show the guest's output and answer: $(cat "$TMP/con")"
refused "domain '$VMB' is not running" console "$VMB"
for _ in $(seq 50); do
	"$SH" "${SH_PRE[@]}" domstate "$P-e" >/dev/null 2>&1 || break	# powered off: gone
	sleep 0.1
done
refused "failed to get domain '$P-e'" domstate "$P-e"
ok list --all		# prunes what a VM that ended on its own left
nothing_left "$P-e"

# ---- taps on a bridge (root) ----
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip link add "kb$$" type bridge 2>/dev/null; then
	BR=kb$$
	ip link set "$BR" up
	domain "$P-n" counter 1 "<interface type='bridge'><source bridge='$BR'/><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>
  <interface type='bridge'><source bridge='$BR'/><target dev='kt$$x'/><model type='virtio'/></interface>"
	ok create "$TMP/$P-n.xml"
	taps=$(ip -o link show master "$BR" | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort | tr '\n' ' ')
	[ "$(echo $taps | wc -w)" = 2 ] && [[ " $taps" == *" kt$$x "* ]] || fail "taps on $BR: '$taps'"
	ok dumpxml "$P-n"
	tap1=$(grep -o "<target dev='[^']*'" "$OUT" | head -1 | cut -d"'" -f2)
	[[ " $taps" == *" $tap1 "* ]] || fail "dumpxml's first tap '$tap1' is not on $BR ($taps)"
	ip link show "$tap1" | grep -q 'fe:54:00:12:34:56' || fail "tap $tap1 lacks MAC fe:54:00:12:34:56"
	# The running XML defined again: the made-up tap name goes, the given one stays.
	sed -e "s|<name>$P-n</name>|<name>$P-n2</name>|" -e '/<uuid>/d' "$OUT" >"$TMP/n2.xml"
	ok define "$TMP/n2.xml"
	ok dumpxml "$P-n2"
	grep -q "<target dev='$tap1'/>" "$OUT" && fail "define kept the made-up tap name $tap1"
	grep -q "<target dev='kt$$x'/>" "$OUT" || fail "define dropped the given tap name kt$$x"
	ok undefine "$P-n2"
	ok domifstat "$P-n" "$tap1"
	[ "$(grep -c "^$tap1 [rt]x_" "$OUT")" = 8 ] || fail "domifstat: $(cat "$OUT")"
	ok domifstat "$P-n" 52:54:00:12:34:56
	refused 'invalid interface' domifstat "$P-n" nosuchtap
	ok domid "$P-n"
	kill -KILL "$(head -1 "$OUT")"
	for _ in $(seq 100); do
		[ -z "$(ip -o link show master "$BR")" ] && break
		sleep 0.1
	done
	[ -z "$(ip -o link show master "$BR")" ] || fail "taps left after kill -9: $(ip -o link show master "$BR")"
	refused "failed to get domain '$P-n'" domstate "$P-n"	# transient: gone with its VM
	domain "$P-m" counter 1 "<interface type='bridge'><source bridge='nobr$$'/><model type='virtio'/></interface>"
	refused "bridge nobr$$ does not exist" create "$TMP/$P-m.xml"
fi

if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOGDIR"/*.log; then
	fail "a sanitizer report in a domain's log"
fi
pass
