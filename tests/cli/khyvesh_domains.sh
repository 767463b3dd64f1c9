#!/usr/bin/env bash
# khyvesh on domain definitions, in a session whose directories are this
# test's: define (the file lands in the config dir, mode 0600, the UUID
# is kept or made), list --all / --name / --json, dumpxml (validates
# against libvirt's domain.rng and defines again to the same XML),
# domuuid, domid and domstate of a defined domain, redefinition keeping
# the UUID, refusals (same UUID under another name, unsupported element,
# bad name, undefine of a missing domain), 8 khyvesh defining at once (all
# land, none half-written), domxml-from-native of a khyve command line and
# domxml-to-native back.
. "$(dirname "$0")/common.inc"
. "$(dirname "$0")/khyvesh.inc"
SH_PRE=(-c khyve:///session)
export XDG_RUNTIME_DIR=$TMP/run XDG_CONFIG_HOME=$TMP/config XDG_STATE_HOME=$TMP/state HOME=$TMP/home
mkdir -p -m 700 "$XDG_RUNTIME_DIR" "$HOME"
SCHEMA=/usr/share/libvirt/schemas/domain.rng
DOMS=$XDG_CONFIG_HOME/khyve/domains

ok() { run_sh "$@"; [ "$RC" = 0 ] || fail "khyvesh $*: exit $RC"; }
domain_xml() {	# NAME [UUID]
	cat <<XML
<domain type='kvm'>
  <name>$1</name>
${2:+  <uuid>$2</uuid>}
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>/boot/vmlinuz</kernel>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <on_reboot>restart</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/khyve/$1.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
XML
}

domain_xml web 2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10 > "$TMP/web.xml"
ok define "$TMP/web.xml"
expect_stdout "^Domain 'web' defined from "
[ -f "$DOMS/web.xml" ] || fail "no $DOMS/web.xml"
[ "$(stat -c %a "$DOMS/web.xml")" = 600 ] || fail "web.xml has mode $(stat -c %a "$DOMS/web.xml")"
ok list --all
expect_stdout '^ -  +web +shut off$'
ok list
grep -q web "$OUT" && fail "list without --all shows an inactive domain"
ok list --all --name
[ "$(cat "$OUT" | grep -c .)" = 1 ] && grep -qx web "$OUT" || fail "list --name: $(cat "$OUT")"
ok list --all --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d == [{"id": None, "name": "web", "state": "shut off", "persistent": True}], d' <"$OUT" ||
	fail "list --json: $(cat "$OUT")"
ok domuuid web
expect_stdout '^2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10$'
ok domstate web
expect_stdout '^shut off$'
ok domid web
expect_stdout '^-$'
ok dumpxml web
cp "$OUT" "$TMP/dump1.xml"
grep -q "<domain type='kvm'>" "$TMP/dump1.xml" || fail "dumpxml is not a kvm domain"
grep -q '<memory unit=.KiB.>262144</memory>' "$TMP/dump1.xml" || fail "dumpxml: memory not 262144 KiB"
if command -v xmllint >/dev/null && [ -f $SCHEMA ]; then
	xmllint --noout --relaxng $SCHEMA "$TMP/dump1.xml" 2>"$TMP/lint" ||
		fail "dumpxml does not validate: $(cat "$TMP/lint")"
fi
ok define "$TMP/dump1.xml"
ok dumpxml web
cmp -s "$OUT" "$TMP/dump1.xml" || fail "define of dumpxml's output changed the XML"
ok dumpxml 2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10
cmp -s "$OUT" "$TMP/dump1.xml" || fail "dumpxml by UUID differs"

# no <uuid>: a redefinition keeps the domain's
domain_xml web > "$TMP/web-nouuid.xml"
ok define "$TMP/web-nouuid.xml"
ok domuuid web
expect_stdout '^2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10$'
# a new domain without <uuid> gets one
domain_xml db > "$TMP/db.xml"
ok define "$TMP/db.xml"
ok domuuid db
expect_stdout '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

domain_xml other 2f5f07f4-55ad-4e46-9c3c-3a4b2b1d8e10 > "$TMP/other.xml"
refused "domain 'web' already exists with uuid" define "$TMP/other.xml"
domain_xml web 11111111-2222-4333-8444-555555555555 > "$TMP/web2.xml"
refused "already defined with uuid 2f5f07f4" define "$TMP/web2.xml"
sed 's|<devices>|<devices><hostdev mode="subsystem" type="pci"/>|' "$TMP/db.xml" > "$TMP/bad.xml"
refused "hostdev" define "$TMP/bad.xml"
domain_xml '../evil' > "$TMP/evil.xml"
refused "name" define "$TMP/evil.xml"
ls "$DOMS" | grep -qv '^\(web\|db\)\.xml$' && fail "refusals left files: $(ls -A "$DOMS")"
refused "failed to get domain 'nosuch'" undefine nosuch
refused "failed to get domain 'nosuch'" dumpxml nosuch
refused "failed to open" define "$TMP/does-not-exist.xml"

# eight at once: every one lands whole
for i in 1 2 3 4 5 6 7 8; do
	domain_xml "par$i" > "$TMP/par$i.xml"
	"$SH" -c khyve:///session define "$TMP/par$i.xml" >"$TMP/par$i.out" 2>&1 &
done
wait
for i in 1 2 3 4 5 6 7 8; do
	grep -q "Domain 'par$i' defined" "$TMP/par$i.out" || fail "par$i: $(cat "$TMP/par$i.out")"
done
ok list --all --name
[ "$(grep -c . "$OUT")" = 10 ] || fail "list after the parallel defines: $(cat "$OUT")"
ls -A "$DOMS" | grep -q '\.tmp$' && fail "temporary files left: $(ls -A "$DOMS")"

ok undefine web
expect_stdout "^Domain 'web' has been undefined"
[ -e "$DOMS/web.xml" ] && fail "undefine left web.xml"

# bhyve-argv both ways
cat > "$TMP/native.args" <<ARGS
/usr/sbin/khyve -c 2 -m 512M -u -s 0,hostbridge -s 2,virtio-blk,/var/vm/disk.img \\
  -s 3,virtio-net,tap0,mac=52:54:00:12:34:56 -s 4,virtio-rnd -s 31,lpc -l com1,pty \\
  -o boot.kernel=/boot/vmlinuz -o boot.cmdline=console=ttyS0 myvm
ARGS
ok domxml-from-native bhyve-argv "$TMP/native.args"
cp "$OUT" "$TMP/native.xml"
grep -q '<name>myvm</name>' "$TMP/native.xml" || fail "from-native: no name"
grep -q "<clock offset='utc'/>" "$TMP/native.xml" || fail "from-native: -u is not a utc clock"
grep -q "<source file='/var/vm/disk.img'/>" "$TMP/native.xml" || fail "from-native: no disk"
grep -q "<mac address='52:54:00:12:34:56'/>" "$TMP/native.xml" || fail "from-native: no MAC"
if command -v xmllint >/dev/null && [ -f $SCHEMA ]; then
	xmllint --noout --relaxng $SCHEMA "$TMP/native.xml" 2>"$TMP/lint" ||
		fail "from-native XML does not validate: $(cat "$TMP/lint")"
fi
ok domxml-to-native bhyve-argv "$TMP/native.xml"
for want in ' -c 2 ' ' -m 512M ' ' -u ' 'virtio-blk,/var/vm/disk.img' 'virtio-net,tap0,mac=52:54:00:12:34:56' \
	'virtio-rnd' '-l com1,pty' 'boot.kernel=/boot/vmlinuz' ' myvm$'; do
	grep -qE -- "$want" "$OUT" || fail "to-native lacks '$want': $(cat "$OUT")"
done
refused "unsupported config type qemu-argv" domxml-from-native qemu-argv "$TMP/native.args"
pass
