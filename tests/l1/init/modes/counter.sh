# khyve.test=counter (sourced by guest-init): the guest a checkpoint test
# saves and restores.  With virtio-blk /dev/vda (a raw scratch disk) and
# virtio-net eth0 (10.99.0.2/24, the host's tap is 10.99.0.1), once a
# second, forever:
#   KHYVE-GUEST-COUNT=N           N counts from 1; a restored guest goes on
#                                 from where it was saved
#   KHYVE-GUEST-DISK=ok N | bad N "count N" written to sector N % 64 of
#                                 /dev/vda past the page cache, read back
#                                 the same way and compared
# The host pings the guest to see the network.  Never returns.
load_modules virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
    virtio_pci virtio_blk failover net_failover virtio_net
n=100
while { [ ! -b /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; } && [ $n -gt 0 ]; do
    sleep 0.1; n=$((n - 1))
done
[ -b /dev/vda ] || fail "no /dev/vda"
[ -e /sys/class/net/eth0 ] || fail "no eth0"
ip link set lo up
ip addr add 10.99.0.2/24 dev eth0
ip link set eth0 up
echo "KHYVE-GUEST-COUNTER-READY"
n=0
while :; do
    n=$((n + 1))
    echo "KHYVE-GUEST-COUNT=$n"
    s=$((n % 64))
    printf 'count %-505d\n' "$n" > /tmp/sector
    if dd if=/tmp/sector of=/dev/vda bs=512 seek=$s count=1 oflag=direct conv=notrunc \
            2>/dev/null &&
       dd if=/dev/vda of=/tmp/back bs=512 skip=$s count=1 iflag=direct 2>/dev/null &&
       cmp -s /tmp/sector /tmp/back; then
        echo "KHYVE-GUEST-DISK=ok $n"
    else
        echo "KHYVE-GUEST-DISK=bad $n"
    fi
    sleep 1
done
