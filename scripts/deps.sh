#!/usr/bin/env bash
# Installs the Debian packages khyve needs, only those missing.
#   scripts/deps.sh build   compiler and libraries for `make`
#   scripts/deps.sh demo    + what `make demo` boots with (QEMU for the L1 machine)
#   scripts/deps.sh test    + what `make check` needs (cmocka, clang/libFuzzer, iasl,
#                           xmllint and libvirt0's domain.rng schemas...)
#   scripts/deps.sh bench   + what bench/blk and bench/net copy into their guest (fio, iperf3)
set -uo pipefail
BUILD=(build-essential libmd-dev liburing-dev libseccomp-dev libjson-c-dev libxml2-dev
       libnl-3-dev libnl-route-3-dev pkg-config)
DEMO=(qemu-system-x86 busybox-static cpio)
TEST=(clang lld libcmocka-dev libclang-rt-14-dev qemu-utils e2fsprogs acpica-tools python3
      libxml2-utils libvirt0)
BENCH=(fio iperf3 libvirt-daemon-system libvirt-clients)

case ${1:-build} in
	build) pkgs=("${BUILD[@]}") ;;
	demo) pkgs=("${BUILD[@]}" "${DEMO[@]}") ;;
	test) pkgs=("${BUILD[@]}" "${DEMO[@]}" "${TEST[@]}") ;;
	bench) pkgs=("${BUILD[@]}" "${DEMO[@]}" "${TEST[@]}" "${BENCH[@]}") ;;
	*) echo "usage: scripts/deps.sh build|demo|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "deps: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
	sudo="sudo -n"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if $sudo apt-get -qq update >"$log" 2>&1 &&
   $sudo apt-get -qq -y -o Dpkg::Use-Pty=0 --no-install-recommends install "${missing[@]}" >>"$log" 2>&1; then
	rm -f "$log"
	exit 0
fi
echo "deps: apt-get failed:" >&2
tail -30 "$log" >&2
rm -f "$log"
exit 1
