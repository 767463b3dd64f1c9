#!/bin/bash
# tests/l1/test_virtio.sh — khyve's virtio devices seen by Debian's kernel
# inside the L1 machine:
#   -c 1, -s 4,virtio-rnd, khyve.test=hwrng: the guest's virtio_pci and
#        virtio-rng drivers bind the modern virtio-pci entropy device
#        (1af4:1044), hw_random selects it (rng_current = virtio_rng.N), 64
#        bytes read from /dev/hwrng with more than 8 distinct values, the
#        queue's interrupts delivered as MSI-X (PCI-MSI, count > 0); exit 1
#   -c 1, -W -s 4,virtio-rnd, khyve.test=hwrng: the device has MSI, not
#        MSI-X; Linux's virtio_pci does not use plain MSI and falls back to
#        INTx, so the same 64 bytes arrive with the device's interrupt on
#        an IO-APIC line (count > 0) and none as PCI-MSI; exit 1
#   -c 1, -s 4,virtio-console,org.khyve.test=SOCK, khyve.test=vport: the
#        guest's virtio_console driver completes the multiport handshake,
#        the port appears with its name, a line the guest writes reaches a
#        client of the Unix socket and the client's answer reaches the guest;
#        the socket file is gone after exit
# One L1 boot.  Exit 0 pass, 77 skip (also when this khyve has no
# virtio-rnd), else fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    if kb=$(l1_khyve_bin) && ! "$kb" -s help 2>&1 | grep -q '^ *virtio-rnd\b'; then
        echo "SKIP: $kb has no virtio-rnd device ('-s help' does not list it)"
        exit 77
    fi
    l1_test_main "$0" "$@"
fi

t_setup_inside

name=hwrng-c1
kv_run $name 120 1 hwrng -s 4,virtio-rnd
t_expect_console $name 'KHYVE-GUEST-UP cpus=1$' "boots to the guest marker"
t_expect_console $name 'KHYVE-GUEST-PCI [0-9a-f:.]+:04\.0 0x1af4:0x1044 driver=virtio-pci$' \
    "guest sees 1af4:1044 at slot 4, bound by virtio-pci"
t_expect_console $name 'KHYVE-GUEST-HWRNG-CURRENT=virtio_rng\.[0-9]+$' \
    "hw_random uses the virtio RNG (rng_current)"
t_expect_console $name 'KHYVE-GUEST-HWRNG-BYTES=64$' "64 bytes read from /dev/hwrng"
distinct=$(tr -d '\r' < "$KHYVE_L1_OUT/$name.console" |
           sed -n 's/^KHYVE-GUEST-HWRNG-DISTINCT=\([0-9]*\)$/\1/p' | tail -1)
if [ -n "$distinct" ] && [ "$distinct" -gt 8 ]; then
    t_pass "$name: the 64 bytes have $distinct distinct values (> 8)"
else
    t_fail "$name: the 64 bytes have ${distinct:-no} distinct values, want > 8"
    t_show $name
fi
t_expect_console $name 'KHYVE-GUEST-IRQ: [0-9]+: [1-9][0-9]* PCI-MSI [0-9]+-edge virtio[0-9]+-input$' \
    "the request queue interrupts arrive as MSI-X (virtioN-input, count > 0)"
t_expect_console $name 'KHYVE-GUEST-ACTION=poweroff$' "guest ran poweroff -f"
t_expect_rc $name 1
t_expect_clean $name

# -W: MSI instead of MSI-X, which Linux's virtio_pci passes over for INTx.
name=hwrng-msi-c1
kv_run $name 120 1 hwrng -W -s 4,virtio-rnd
t_expect_console $name 'KHYVE-GUEST-PCI [0-9a-f:.]+:04\.0 0x1af4:0x1044 driver=virtio-pci$' \
    "guest sees 1af4:1044 at slot 4, bound by virtio-pci"
t_expect_console $name 'KHYVE-GUEST-HWRNG-CURRENT=virtio_rng\.[0-9]+$' \
    "hw_random uses the virtio RNG (rng_current)"
t_expect_console $name 'KHYVE-GUEST-HWRNG-BYTES=64$' "64 bytes read from /dev/hwrng"
t_expect_console $name 'KHYVE-GUEST-IRQ: [0-9]+: [1-9][0-9]* IO-APIC [0-9]+-fasteoi virtio[0-9]+$' \
    "the device interrupts on an IO-APIC line (INTx, count > 0)"
if tr -d '\r' < "$KHYVE_L1_OUT/$name.console" | grep -aEq '^KHYVE-GUEST-IRQ:.*PCI-MSI.*virtio'; then
    t_fail "$name: a virtio interrupt is PCI-MSI although the device has no MSI-X"
    t_show $name
else
    t_pass "$name: no virtio interrupt is PCI-MSI"
fi
t_expect_rc $name 1
t_expect_clean $name

name=vport-c1
sock=/tmp/khyve-vcon.sock		# tmpfs inside L1: the work tree is 9p
rm -f "$sock"
kv_start $name 1 vport -s 4,virtio-console,org.khyve.test=$sock
python3 - "$sock" > "$KHYVE_L1_OUT/$name.client" 2>&1 <<'PY'
import socket, sys, time
path = sys.argv[1]
deadline = time.time() + 60
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        break
    except OSError:
        s.close()
        if time.time() > deadline:
            sys.exit("client: %s never accepted" % path)
        time.sleep(0.1)
s.settimeout(90)
buf = b""
while b"\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print("client got: " + buf.decode("latin-1").strip())
s.sendall(b"ping from the host\n")
try:
    while s.recv(4096):
        pass
except OSError:
    pass
PY
kv_wait $name 150
if grep -q '^client got: hello from the guest$' "$KHYVE_L1_OUT/$name.client"; then
    t_pass "$name: the guest's line reached the socket client"
else
    t_fail "$name: the socket client did not get the guest's line: $(cat "$KHYVE_L1_OUT/$name.client")"
fi
t_expect_console $name 'KHYVE-GUEST-VPORT vport[0-9]+p[0-9]+ name=org.khyve.test$' \
    "the port appears in the guest with its name"
t_expect_console $name 'KHYVE-GUEST-VPORT-READ=ping from the host$' \
    "the client's answer reached the guest"
t_expect_rc $name 1
t_expect_clean $name
if [ -e "$sock" ]; then t_fail "$name: khyve left $sock behind"; else t_pass "$name: socket removed at exit"; fi

t_finish
