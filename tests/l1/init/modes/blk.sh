# khyve.test=blk: the virtio disk /dev/vda, an ext4 image made on the host.
# khyve.blk= picks what to do (sourced by guest-init; fail/load_modules
# come from there):
#   rw    mount, print /hello.txt as KHYVE-GUEST-BLK-READ=..., write
#         /guest.txt and a 4 MiB /random.bin (its md5 as
#         KHYVE-GUEST-BLK-MD5=...), sync, unmount
#   ro    the disk must be read-only: ro flag, a raw write fails, a rw
#         mount fails, a ro mount reads /hello.txt
#   kill  write /fN (1 MiB each), sync after each and print
#         KHYVE-GUEST-BLK-SYNCED=N md5; never stops (the host kills khyve)
# Always: the size, serial and queue limits the guest sees.
blk_what=rw
for w in $(cat /proc/cmdline); do
    case $w in khyve.blk=*) blk_what=${w#khyve.blk=};; esac
done
load_modules
n=50
while [ ! -b /dev/vda ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -b /dev/vda ] || fail "no /dev/vda"
q=/sys/block/vda
echo "KHYVE-GUEST-BLK-DEV size=$(cat $q/size) serial=$(cat $q/serial 2>/dev/null)" \
     "ro=$(cat $q/ro) lbs=$(cat $q/queue/logical_block_size)" \
     "discard=$(cat $q/queue/discard_max_bytes) wz=$(cat $q/queue/write_zeroes_max_bytes)"
mkdir -p /mnt
case $blk_what in
rw)
    mount -t ext4 /dev/vda /mnt || fail "mount /dev/vda"
    echo "KHYVE-GUEST-BLK-READ=$(cat /mnt/hello.txt)"
    echo "written by the guest" > /mnt/guest.txt
    dd if=/dev/urandom of=/mnt/random.bin bs=1M count=4 2>/dev/null
    echo "KHYVE-GUEST-BLK-MD5=$(md5sum < /mnt/random.bin | cut -d' ' -f1)"
    # Read it back past the page cache: the bytes come from the device.
    sync
    echo 3 > /proc/sys/vm/drop_caches
    echo "KHYVE-GUEST-BLK-REREAD=$(md5sum < /mnt/random.bin | cut -d' ' -f1)"
    fstrim /mnt 2>/dev/null && echo "KHYVE-GUEST-BLK-FSTRIM=ok"
    umount /mnt || fail "umount"
    echo "KHYVE-GUEST-BLK-DONE";;
ro)
    if dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null; then
        echo "KHYVE-GUEST-BLK-RAWWRITE=succeeded"
    else
        echo "KHYVE-GUEST-BLK-RAWWRITE=refused"
    fi
    if mount -t ext4 -o rw /dev/vda /mnt 2>/dev/null && touch /mnt/x 2>/dev/null; then
        echo "KHYVE-GUEST-BLK-RWMOUNT=succeeded"
        umount /mnt
    else
        echo "KHYVE-GUEST-BLK-RWMOUNT=refused"
        umount /mnt 2>/dev/null
    fi
    mount -t ext4 -o ro,noload /dev/vda /mnt || fail "ro mount"
    echo "KHYVE-GUEST-BLK-READ=$(cat /mnt/hello.txt)"
    umount /mnt;;
kill)
    mount -t ext4 /dev/vda /mnt || fail "mount /dev/vda"
    i=1
    while :; do
        dd if=/dev/urandom of=/mnt/f$i bs=1M count=1 2>/dev/null
        sync
        echo "KHYVE-GUEST-BLK-SYNCED=$i $(md5sum < /mnt/f$i | cut -d' ' -f1)"
        i=$((i + 1))
    done;;
*)
    fail "unknown khyve.blk=$blk_what";;
esac
