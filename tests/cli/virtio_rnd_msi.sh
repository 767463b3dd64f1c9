#!/usr/bin/env bash
# -W gives virtio devices MSI instead of MSI-X (virtio_msix=false, global as
# in bhyve).  Without running a guest: config.dump shows the variable;
# devices are created before /dev/kvm is opened, so a non-boolean
# virtio_msix is refused naming it, and with /dev/kvm masked a -W virtio
# device gets past its creation to the KVM error.
. "$(dirname "$0")/common.inc"
guest=$ROOT/build/guest/hello.elf
[ -f "$guest" ] || skip "guest hello.elf not built (make guests)"
args=(-m 64M -s 0,hostbridge -s 4,virtio-rnd -o "boot.kernel=$guest")

expect_ok -W "${args[@]}" -o config.dump=true testvm
[ ! -s "$ERR" ] || fail "unexpected stderr"
expect_stdout '^virtio_msix=false$'
expect_stdout '^pci\.0\.4\.0\.device=virtio-rnd$'

expect_error 'pci\.0\.4\.0: virtio-rnd: virtio_msix=maybe: not a boolean' \
	"${args[@]}" -o virtio_msix=maybe testvm

[ -n "$MASK" ] || pass "(could not mask /dev/kvm; the device itself not tried)"
run_cli -W "${args[@]}" testvm
[ "$RC" = 4 ] || fail "exit status $RC, expected 4 (the masked /dev/kvm)"
grep -q '/dev/kvm: not a KVM device' "$ERR" || fail "the error is not the masked /dev/kvm"
! grep -qiE 'msi|virtio' "$ERR" || fail "the -W virtio device was refused"
pass
