#!/usr/bin/env bash
# /dev/kvm missing, not a KVM device, or not accessible: one clear line,
# exit 4.  Uses a private mount namespace (needs root and unshare).
. "$(dirname "$0")/common.inc"
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || skip "needs root and unshare"
unshare -m sh -c 'mount -t tmpfs none /mnt' 2>/dev/null || skip "mount namespaces are not allowed here"
kernel=$ROOT/build/guest/hello.elf
[ -f "$kernel" ] || skip "guest hello.elf not built (make guests)"
args=(-m 32M -o "boot.kernel=$kernel" kvmtest)

check() {	# check WHAT GREP-PATTERN SHELL-SETUP
	local what=$1 pat=$2 setup=$3
	unshare -m sh -c "$setup && exec \"\$0\" \"\$@\"" "$KHYVE" "${args[@]}" \
		</dev/null >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	[ "$rc" = 4 ] || fail "$what: exit $rc, want 4 ($(cat "$TMP/err"))"
	[ "$(wc -l <"$TMP/err")" = 1 ] || fail "$what: want one line on stderr, got: $(cat "$TMP/err")"
	grep -q "^khyve: kvmtest: .*$pat" "$TMP/err" || fail "$what: message lacks '$pat': $(cat "$TMP/err")"
}

check missing "/dev/kvm: not found" "mount -t tmpfs none /dev"
# Each case builds its own /dev on a tmpfs, so it runs the same whether or
# not this machine has a /dev/kvm: a character device that is not KVM
# (/dev/null's numbers), and KVM's numbers at mode 600 for another user
# (the open fails on permissions before the device is looked at).
check not-kvm "/dev/kvm: not a KVM device" "mount -t tmpfs none /dev && mknod -m 666 /dev/kvm c 1 3"
if command -v setpriv >/dev/null; then
	check no-permission "/dev/kvm: permission denied" \
		"mount -t tmpfs none /dev && mknod -m 600 /dev/kvm c 10 232 && exec setpriv --reuid=65534 --regid=65534 --clear-groups \"\$0\" \"\$@\" ; false"
fi
pass
