#!/bin/bash
# tests/l1/test_net.sh — virtio-net on a Linux tap, seen by Debian's kernel
# inside the L1 machine.  L1 gets a tap kvtap0 = 10.99.0.1/24 and a small
# HTTP server on it; the guest (khyve.test=net) is 10.99.0.2.
#   -s 3,virtio-net,kvtap0: the guest's virtio_net binds 1af4:1041 at slot
#        3, eth0 has bhyve's default MAC for slot 3, function 0 and VM
#        "l1test" (58:9c:fc + MD5("3-0-l1test")), MTU 1500, the offloads
#        (CSUM, GUEST/HOST_TSO4, MRG_RXBUF) negotiated; the guest pings the
#        host 3/3 and the host pings the guest 3/3; 8 MiB go down (HTTP) and
#        back up (TCP) with the same MD5, carried in frames larger than the MTU
#        both ways (the tap's GSO frames reach the guest through merged
#        receive buffers; the guest's TSO frames reach the tap); no errors
#        on either side; exit 1
#   -s 3,virtio-net,kvtap0,mac=52:54:00:12:34:56,mtu=1400: eth0 has that
#        MAC and MTU 1400, pings both ways; exit 1
# The tap is removed at the end.  One L1 boot.  Exit 0 pass, 77 skip (also
# when this khyve has no virtio-net), else fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    if kb=$(l1_khyve_bin) && ! "$kb" -s help 2>&1 | grep -q '^ *virtio-net\b'; then
        echo "SKIP: $kb has no virtio-net device ('-s help' does not list it)"
        exit 77
    fi
    l1_test_main "$0" "$@"
fi

t_setup_inside

TAP=kvtap0
HOST_IP=10.99.0.1
GUEST_IP=10.99.0.2
PORT=8099				# the guest's net.sh knows these
UP_PORT=8100
BLOB_BYTES=$((8 << 20))
WORK=/tmp/khyve-net			# tmpfs inside L1
SRV_PID=

cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    ip link del "$TAP" 2>/dev/null
}
trap cleanup EXIT

rm -rf "$WORK"; mkdir -p "$WORK"
ip link del "$TAP" 2>/dev/null
if ! { ip tuntap add dev "$TAP" mode tap && ip addr add "$HOST_IP/24" dev "$TAP" &&
       ip link set "$TAP" up; }; then
    t_fail "cannot create the tap $TAP in L1 (tun module loaded?)"
    exit 1
fi
t_info "tap $TAP: $HOST_IP/24"

head -c "$BLOB_BYTES" /dev/urandom > "$WORK/blob"
BLOB_MD5=$(md5sum < "$WORK/blob" | cut -d' ' -f1)

# The server: HTTP GET /blob and GET /finish (answers "ok" once
# $WORK/pinged exists) on $PORT; on $UP_PORT it reads a TCP stream to its
# end and answers "bytes=N md5=M".  It notes the tap's frame counters
# around each transfer in $WORK/server.log, and the largest frame a packet
# socket saw on the tap in that direction (a GSO frame keeps its size):
#   DOWN frames=N bytes=B max=M   host -> guest while the guest downloaded
#   UP frames=N bytes=B max=M     guest -> host while the guest uploaded
cat > "$WORK/server.py" <<'PY'
import hashlib, http.server, os, socket, sys, threading, time
blob_path, flag, tap, log, host, port, up_port = sys.argv[1:8]
BLOB = open(blob_path, 'rb').read()
marks = {}
largest = {'in': 0, 'out': 0}

def sniff():
    # PACKET_OUTGOING (4): host -> guest; anything else came from khyve.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((tap, 0))
    while True:
        d, a = s.recvfrom(262144)
        k = 'out' if a[2] == 4 else 'in'
        largest[k] = max(largest[k], len(d))

def counter(d, what):
    with open('/sys/class/net/%s/statistics/%s_%s' % (tap, d, what)) as f:
        return int(f.read())

def note(s):
    with open(log, 'a') as f:
        f.write(s + '\n')

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'

    def log_message(self, fmt, *args):
        note('http: ' + fmt % args)

    def reply(self, body, ctype='text/plain'):
        self.send_response(200)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == '/blob':
            marks['down'] = (counter('tx', 'packets'), counter('tx', 'bytes'))
            largest['out'] = 0
            self.reply(BLOB, 'application/octet-stream')
        elif self.path == '/finish':
            deadline = time.time() + 120
            while not os.path.exists(flag) and time.time() < deadline:
                time.sleep(0.2)
            self.reply(b'ok' if os.path.exists(flag) else b'timeout')
        else:
            self.send_error(404)

def upload_server():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(up_port)))
    s.listen(4)
    while True:
        c, _ = s.accept()
        # The guest connects once it has the whole blob: the download is over.
        if 'down' in marks:
            p, b = marks.pop('down')
            note('DOWN frames=%d bytes=%d max=%d' % (counter('tx', 'packets') - p,
                                                     counter('tx', 'bytes') - b,
                                                     largest['out']))
        p, b = counter('rx', 'packets'), counter('rx', 'bytes')
        largest['in'] = 0
        h, got = hashlib.md5(), 0
        # A slow guest (TCG) sending 1 KiB writes that are acked at once
        # sends one MSS-or-less segment per write: nothing for TSO to merge.
        # Not reading for a moment lets its send buffer fill, so the guest
        # then sends large TSO frames, which is what the test looks for.
        time.sleep(1.5)
        while True:
            d = c.recv(65536)
            if not d:
                break
            h.update(d)
            got += len(d)
        note('UP frames=%d bytes=%d max=%d' % (counter('rx', 'packets') - p,
                                               counter('rx', 'bytes') - b, largest['in']))
        c.sendall(('bytes=%d md5=%s' % (got, h.hexdigest())).encode())
        c.close()

threading.Thread(target=sniff, daemon=True).start()
threading.Thread(target=upload_server, daemon=True).start()
http.server.ThreadingHTTPServer((host, int(port)), H).serve_forever()
PY
python3 "$WORK/server.py" "$WORK/blob" "$WORK/pinged" "$TAP" "$WORK/server.log" \
    "$HOST_IP" "$PORT" "$UP_PORT" > "$WORK/server.out" 2>&1 &
SRV_PID=$!

# bhyve's net_genmac(): 58:9c:fc and the first three bytes of
# MD5("<slot>-<func>-<vm name>").
default_mac=$(printf '3-0-l1test' | md5sum |
              sed 's/^\(..\)\(..\)\(..\).*/58:9c:fc:\1:\2:\3/')

# host_pings NAME: the host pings the guest once the guest says it is up.
host_pings() {
    local name=$1 got
    rm -f "$WORK/pinged"
    if kv_wait_for "$name" 'KHYVE-GUEST-NET-UP' 240; then
        busybox ping -c 3 -W 20 "$GUEST_IP" > "$KHYVE_L1_OUT/$name.hostping" 2>&1
        got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' "$KHYVE_L1_OUT/$name.hostping")
        if [ "${got:-0}" = 3 ]; then
            t_pass "$name: the host pinged the guest (3/3 replies)"
        else
            t_fail "$name: the host's ping of the guest got ${got:-no} of 3 replies"
            sed 's/^/  | /' "$KHYVE_L1_OUT/$name.hostping" | while IFS= read -r l; do t_out "$l"; done
        fi
    else
        t_fail "$name: the guest never said KHYVE-GUEST-NET-UP"
    fi
    touch "$WORK/pinged"
}

# big_frames WHAT NAME TEXT: the DOWN/UP line of the server log saw a frame
# larger than a 1514-byte Ethernet frame: TSO/GSO at work.  The largest
# frame, not the average, is asked for: how many segments the guest's TCP
# puts in one frame follows its pacing rate, i.e. the speed of the machine.
big_frames() {
    local what=$1 name=$2 line frames bytes max
    line=$(grep "^$what " "$WORK/server.log" | tail -1)
    frames=$(echo "$line" | sed -n 's/.*frames=\([0-9]*\).*/\1/p')
    bytes=$(echo "$line" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
    max=$(echo "$line" | sed -n 's/.*max=\([0-9]*\).*/\1/p')
    if [ -n "$max" ] && [ "$max" -gt 1514 ]; then
        t_pass "$name: $3 (up to $max bytes; $frames frames, $((bytes / frames)) bytes each on average)"
    else
        t_fail "$name: $3: the largest frame had ${max:-no} bytes, want > 1514 ($line)"
    fi
}

# no_device_errors NAME: khyve logged nothing about the card.
no_device_errors() {
    if grep -q 'virtio-net' "$KHYVE_L1_OUT/$1.stderr"; then
        t_fail "$1: khyve reported: $(grep -m3 'virtio-net' "$KHYVE_L1_OUT/$1.stderr" | tr '\n' ' ')"
    else
        t_pass "$1: no virtio-net error on khyve's stderr"
    fi
}

# feature_bit NAME BIT WHAT: the guest negotiated the feature.
feature_bit() {
    local f
    f=$(tr -d '\r' < "$KHYVE_L1_OUT/$1.console" | sed -n 's/^KHYVE-GUEST-NET-FEATURES=//p' | tail -1)
    if [ "${f:$2:1}" = 1 ]; then
        t_pass "$1: the guest negotiated $3 (bit $2)"
    else
        t_fail "$1: the guest did not negotiate $3 (bit $2; features ${f:-none})"
    fi
}

name=net-default
kv_start $name 1 net -s 3,virtio-net,$TAP
host_pings $name
kv_wait $name 400
t_expect_console $name 'KHYVE-GUEST-NET-PCI [0-9a-f:.]+:03\.0 0x1af4:0x1041 driver=virtio-pci$' \
    "the guest sees 1af4:1041 at slot 3, bound by virtio-pci"
t_expect_console $name "KHYVE-GUEST-NET-MAC=$default_mac\$" \
    "eth0's MAC is bhyve's default for slot 3 / l1test ($default_mac)"
t_expect_console $name 'KHYVE-GUEST-NET-MTU=1500$' "eth0's MTU is 1500"
feature_bit $name 0 CSUM
feature_bit $name 1 GUEST_CSUM
feature_bit $name 7 GUEST_TSO4
feature_bit $name 11 HOST_TSO4
feature_bit $name 15 MRG_RXBUF
feature_bit $name 32 VERSION_1
t_expect_console $name 'KHYVE-GUEST-NET-PING sent=3 received=3$' "the guest pinged the host (3/3)"
t_expect_console $name "KHYVE-GUEST-NET-GET bytes=$BLOB_BYTES md5=$BLOB_MD5 " \
    "the guest downloaded $BLOB_BYTES bytes intact"
t_expect_console $name "KHYVE-GUEST-NET-POST bytes=$BLOB_BYTES md5=$BLOB_MD5 " \
    "the guest uploaded $BLOB_BYTES bytes intact"
big_frames DOWN $name "the host sent GSO frames, delivered through merged receive buffers"
big_frames UP $name "the guest's TSO frames reached the tap"
t_expect_console $name 'KHYVE-GUEST-NET-FINISH=ok$' "the guest waited for the host's pings"
t_expect_console $name 'KHYVE-GUEST-NET-STATS .*rx_errors=0 tx_errors=0 rx_dropped=0 tx_dropped=0 rx_length_errors=0 rx_frame_errors=0 $' \
    "the guest counted no errors or drops on eth0"
no_device_errors $name
t_info "$name: $(tr -d '\r' < "$KHYVE_L1_OUT/$name.console" | grep -E 'KHYVE-GUEST-NET-(GET|POST|STATS)' | tr '\n' ' ')"
t_info "$name: server: $(grep -E '^(DOWN|UP) ' "$WORK/server.log" | tr '\n' ' ')"
t_info "$name: tap: $(ip -s link show "$TAP" | tr -s ' \n' ' ')"
t_expect_console $name 'KHYVE-GUEST-ACTION=poweroff$' "the guest powered off"
t_expect_rc $name 1
t_expect_clean $name

name=net-mac-mtu
kv_start $name 1 net -s 3,virtio-net,$TAP,mac=52:54:00:12:34:56,mtu=1400 \
    -o "boot.cmdline=$(l1_guest_cmdline net) khyve.net=quick"
host_pings $name
kv_wait $name 300
t_expect_console $name 'KHYVE-GUEST-NET-MAC=52:54:00:12:34:56$' "eth0's MAC is the mac= given"
t_expect_console $name 'KHYVE-GUEST-NET-MTU=1400$' "eth0's MTU is the mtu= given"
feature_bit $name 3 MTU
t_expect_console $name 'KHYVE-GUEST-NET-PING sent=3 received=3$' "the guest pinged the host (3/3)"
t_expect_console $name 'KHYVE-GUEST-NET-FINISH=ok$' "the guest waited for the host's pings"
no_device_errors $name
t_expect_rc $name 1
t_expect_clean $name

t_finish
