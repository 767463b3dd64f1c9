#!/usr/bin/env bash
# An initrd larger than guest memory (-m 16M, 32 MiB initrd) beside a
# minimal valid bzImage header: refused before the VM exists, naming the initrd.
. "$(dirname "$0")/common.inc"
python3 - "$TMP/bzImage" <<'PY'
import struct, sys
img = bytearray(16384)
img[0x1f1] = 4                                   # setup_sects
struct.pack_into("<H", img, 0x1fe, 0xAA55)       # boot_flag
img[0x200:0x202] = b"\xeb\x6a"                   # jmp: header runs to 0x26c
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020F)       # protocol 2.15
img[0x211] = 0x01                                # loadflags: LOADED_HIGH
struct.pack_into("<I", img, 0x22c, 0x7fffffff)   # initrd_addr_max
struct.pack_into("<I", img, 0x230, 0x200000)     # kernel_alignment
struct.pack_into("<H", img, 0x236, 0x0001)       # xloadflags: XLF_KERNEL_64
struct.pack_into("<I", img, 0x238, 2048)         # cmdline_size
struct.pack_into("<Q", img, 0x258, 0x100000)     # pref_address: 1 MiB
struct.pack_into("<I", img, 0x260, 0x100000)     # init_size: 1 MiB
open(sys.argv[1], "wb").write(img)
PY
truncate -s 32M "$TMP/initrd.img"
expect_error 'initrd' -m 16M -s 0,hostbridge -s 31,lpc -o "boot.kernel=$TMP/bzImage" \
	-o "boot.initrd=$TMP/initrd.img" testvm
pass
