# khyve.test=net (sourced by guest-init): virtio-net on the host's tap,
# whose end in L1 is 10.99.0.1/24; the guest is 10.99.0.2.
# Prints KHYVE-GUEST-NET-* markers:
#   PCI <bdf> <vendor>:<device> driver=<driver>   each virtio function
#   MAC=, MTU=, FEATURES=<virtio feature bits as 0/1, bit 0 first>
#   PING sent=3 received=N                        the guest pings the host
#   UP                                            the host may ping now
#   GET bytes= md5=, POST <server's answer>       8 MiB down over HTTP, then
#                                                 up over TCP (skipped with
#                                                 khyve.net=quick)
#   FINISH=<answer>                               the server answers once the
#                                                 host has pinged the guest
#   STATS name=value...                           eth0's counters
# then returns; guest-init powers off.
net_quick=
for w in $(cat /proc/cmdline); do
    case $w in khyve.net=quick) net_quick=1;; esac
done
# virtio_net needs net_failover and failover: load_modules loads only the
# names it is given.
load_modules virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
    virtio_pci failover net_failover virtio_net
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor" 2>/dev/null)" = 0x1af4 ] || continue
    drv=none
    [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
    echo "KHYVE-GUEST-NET-PCI ${d##*/} $(cat "$d/vendor"):$(cat "$d/device") driver=$drv"
done
n=100
while [ ! -e /sys/class/net/eth0 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
    fail "no eth0 (virtio_net did not bind)"
    dmesg | grep -iE 'virtio|net' | sed 's/^/KHYVE-GUEST-DMESG: /'
    return
fi
echo "KHYVE-GUEST-NET-MAC=$(cat /sys/class/net/eth0/address)"
echo "KHYVE-GUEST-NET-MTU=$(cat /sys/class/net/eth0/mtu)"
echo "KHYVE-GUEST-NET-FEATURES=$(cat /sys/class/net/eth0/device/features 2>/dev/null)"
ip link set lo up
ip addr add 10.99.0.2/24 dev eth0
ip link set eth0 up
n=100
while [ "$(cat /sys/class/net/eth0/operstate)" != up ] && [ $n -gt 0 ]; do
    sleep 0.1; n=$((n - 1))
done
echo "KHYVE-GUEST-NET-OPERSTATE=$(cat /sys/class/net/eth0/operstate)"
got=$(ping -c 3 -W 20 10.99.0.1 2>&1 | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
echo "KHYVE-GUEST-NET-PING sent=3 received=${got:-0}"
echo "KHYVE-GUEST-NET-UP"
srv=http://10.99.0.1:8099
if [ -z "$net_quick" ]; then
    t0=$(date +%s)
    if wget -q -O /tmp/blob "$srv/blob"; then
        echo "KHYVE-GUEST-NET-GET bytes=$(wc -c < /tmp/blob) md5=$(md5sum < /tmp/blob |
            cut -d' ' -f1) secs=$(($(date +%s) - t0))"
        # Up with nc (busybox wget posts a file as a string, up to its
        # first NUL): the server reads to EOF, answers "bytes=N md5=M".
        t0=$(date +%s)
        echo "KHYVE-GUEST-NET-POST $(nc 10.99.0.1 8100 < /tmp/blob 2>&1)" \
            "secs=$(($(date +%s) - t0))"
        rm -f /tmp/blob
    else
        fail "wget $srv/blob failed"
    fi
fi
echo "KHYVE-GUEST-NET-FINISH=$(wget -q -O - "$srv/finish" 2>&1)"
s=/sys/class/net/eth0/statistics
echo "KHYVE-GUEST-NET-STATS $(for c in rx_packets rx_bytes tx_packets tx_bytes rx_errors \
    tx_errors rx_dropped tx_dropped rx_length_errors rx_frame_errors; do
    printf '%s=%s ' $c "$(cat $s/$c)"; done)"
dmesg | grep -iE 'virtio_net|virtio-net|eth0' | sed 's/^/KHYVE-GUEST-DMESG: /'
