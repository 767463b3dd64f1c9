#!/bin/bash
# tests/l1/test_blk.sh — virtio-blk under Debian's kernel inside L1, on an
# ext4 image made on the host with mkfs.ext4 -d:
#   rw       the guest mounts /dev/vda, reads the host's /hello.txt, writes
#            /guest.txt and 4 MiB of random data (read back after dropping
#            its caches), fstrim; afterwards debugfs finds both files with
#            the guest's contents and e2fsck -fn is clean; the guest sees
#            the size, ser= serial, discard and write-zeroes
#   threads  the same reads and writes with block.engine=threads
#   ro       ,ro: the guest sees a read-only disk, a raw write and a rw
#            mount are refused, a ro mount reads; the image is unchanged
#   kill     kill -9 of khyve while the guest writes: every file the guest
#            synced before is intact and, after journal replay, e2fsck -fn
#            finds the file system clean
# One L1 boot.  Exit 0 pass, 77 skip, else fail.
. "$(dirname "$0")/lib.sh"
if [ -z "${KHYVE_IN_L1:-}" ]; then
    if kb=$(l1_khyve_bin) && ! "$kb" -s help 2>&1 | grep -q '^ *virtio-blk\b'; then
        echo "SKIP: $kb has no virtio-blk device ('-s help' does not list it)"
        exit 77
    fi
    l1_test_main "$0" "$@"
fi

t_setup_inside

work=/tmp/khyve-blk          # tmpfs inside L1: the work tree is 9p
rm -rf "$work"; mkdir -p "$work/src"
echo "hello from the host" > "$work/src/hello.txt"
img=$work/disk.img

# mkimage: a fresh 64 MiB ext4 image holding src/.
mkimage() {
    rm -f "$img"
    mkfs.ext4 -q -F -d "$work/src" -L khyvetest "$img" 64M ||
        { t_fail "mkfs.ext4 -d failed"; t_finish; exit 1; }
}
# dbg CMD: debugfs -R CMD on the image, quietly.
dbg() { debugfs -R "$1" "$img" 2>/dev/null; }
console_value() {
    tr -d '\r' < "$KHYVE_OUT_CONSOLE" | sed -n "s/^$1=//p" | tail -1
}

for engine in io_uring threads; do
    name=blk-rw-$engine
    [ $engine = threads ] && name=blk-rw-threads
    mkimage
    kv_run $name 180 1 "blk khyve.blk=rw" -o block.engine=$engine \
        -s 3,virtio-blk,"$img",ser=khyve-disk-0001
    KHYVE_OUT_CONSOLE=$KHYVE_L1_OUT/$name.console
    t_expect_console $name 'KHYVE-GUEST-BLK-DEV size=131072 serial=khyve-disk-0001 ro=0 lbs=512 discard=[1-9][0-9]* wz=[1-9][0-9]*$' \
        "guest sees 64 MiB, the ser= serial, rw, 512-byte sectors, discard and write-zeroes"
    t_expect_console $name '^KHYVE-GUEST-BLK-READ=hello from the host$' "guest reads the host's file"
    t_expect_console $name '^KHYVE-GUEST-BLK-FSTRIM=ok$' "fstrim (discard) succeeds"
    t_expect_console $name '^KHYVE-GUEST-BLK-DONE$' "guest unmounted cleanly"
    t_expect_rc $name 1
    t_expect_clean $name
    md5=$(console_value KHYVE-GUEST-BLK-MD5)
    reread=$(console_value KHYVE-GUEST-BLK-REREAD)
    if [ -n "$md5" ] && [ "$md5" = "$reread" ]; then
        t_pass "$name: 4 MiB read back from the device match what was written"
    else
        t_fail "$name: guest md5 after write '$md5', after re-read '$reread'"
    fi
    got=$(dbg "cat /guest.txt")
    if [ "$got" = "written by the guest" ]; then
        t_pass "$name: debugfs finds /guest.txt with the guest's text"
    else
        t_fail "$name: debugfs cat /guest.txt gave '$got'"
    fi
    host=$(dbg "cat /random.bin" | md5sum | cut -d' ' -f1)
    if [ -n "$md5" ] && [ "$host" = "$md5" ]; then
        t_pass "$name: /random.bin on the image has the guest's md5"
    else
        t_fail "$name: /random.bin md5 on the image $host, guest said '$md5'"
    fi
    if out=$(e2fsck -fn "$img" 2>&1); then
        t_pass "$name: e2fsck -fn finds the image clean"
    else
        t_fail "$name: e2fsck -fn: $(echo "$out" | tail -3 | tr '\n' ' ')"
    fi
done

name=blk-ro
mkimage
sum=$(md5sum < "$img")
kv_run $name 180 1 "blk khyve.blk=ro" -s 3,virtio-blk,"$img",ro
t_expect_console $name 'KHYVE-GUEST-BLK-DEV size=131072 serial=BHYVE-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{3} ro=1 ' \
    "guest sees a read-only disk with bhyve's default serial"
t_expect_console $name '^KHYVE-GUEST-BLK-RAWWRITE=refused$' "a raw write to /dev/vda is refused"
t_expect_console $name '^KHYVE-GUEST-BLK-RWMOUNT=refused$' "a read-write mount is refused"
t_expect_console $name '^KHYVE-GUEST-BLK-READ=hello from the host$' "a read-only mount reads"
t_expect_rc $name 1
t_expect_clean $name
if [ "$(md5sum < "$img")" = "$sum" ]; then
    t_pass "$name: the image is unchanged"
else
    t_fail "$name: the read-only image changed"
fi

name=blk-kill
mkimage
kv_start $name 1 "blk khyve.blk=kill" -s 3,virtio-blk,"$img"
if kv_wait_for $name '^KHYVE-GUEST-BLK-SYNCED=3 [0-9a-f]{32}' 240; then
    kill -KILL "$KV_PID"
    t_pass "$name: guest synced 3 files; khyve killed while it writes the 4th"
else
    t_fail "$name: the guest never synced 3 files"
    kill -KILL "$KV_PID" 2>/dev/null
fi
kv_wait $name 10
KHYVE_OUT_CONSOLE=$KHYVE_L1_OUT/$name.console
cp "$img" "$work/replayed.img"
e2fsck -fy "$work/replayed.img" > "$KHYVE_L1_OUT/$name.e2fsck-y" 2>&1
if out=$(e2fsck -fn "$work/replayed.img" 2>&1); then
    t_pass "$name: after journal replay e2fsck -fn finds the file system clean"
else
    t_fail "$name: e2fsck -fn after replay: $(echo "$out" | tail -3 | tr '\n' ' ')"
fi
img=$work/replayed.img
bad=0
for i in 1 2 3; do
    want=$(tr -d '\r' < "$KHYVE_OUT_CONSOLE" | sed -n "s/^KHYVE-GUEST-BLK-SYNCED=$i //p")
    got=$(dbg "cat /f$i" | md5sum | cut -d' ' -f1)
    [ -n "$want" ] && [ "$want" = "$got" ] || { bad=1; t_info "$name: /f$i md5 $got, guest synced $want"; }
done
if [ $bad = 0 ]; then
    t_pass "$name: the 3 files synced before the kill are intact"
else
    t_fail "$name: a file synced before the kill is damaged or missing"
fi
rm -rf "$work"
t_finish
