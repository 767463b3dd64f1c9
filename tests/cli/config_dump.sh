#!/usr/bin/env bash
# -o config.dump=true prints the bhyve_config(5) tree the options made and
# exits 0 without creating a VM (works with /dev/kvm masked; no control
# socket appears).
. "$(dirname "$0")/common.inc"
vm=dump-$$
expect_ok -c 2 -m 64M -s 0,hostbridge -s 31,lpc -l com1,stdio -o config.dump=true "$vm"
[ ! -s "$ERR" ] || fail "unexpected stderr"
expect_stdout '^memory\.size=64M$'
expect_stdout '^pci\.0\.31\.0\.device=lpc$'
expect_stdout '^pci\.0\.0\.0\.device=hostbridge$'
expect_stdout '^lpc\.com1\.path=stdio$'
expect_stdout "^name=$vm\$"
expect_stdout '^cpus=2$'
for d in /run/khyve "${XDG_RUNTIME_DIR:-/nonexistent}/khyve" "/tmp/khyve-$(id -u)"; do
	[ ! -e "$d/$vm" ] || fail "$d/$vm exists: config.dump created a VM"
done
[ -n "$MASK" ] || pass "(could not mask /dev/kvm; config printed)"
pass
