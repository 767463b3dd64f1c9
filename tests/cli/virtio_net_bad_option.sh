#!/usr/bin/env bash
# Options virtio-net does not know, a second backend, no backend, or a bhyve
# backend khyve does not have: one line naming the problem, exit 4.
. "$(dirname "$0")/common.inc"
expect_error 'virtio-net: unknown option "foo"' -s 0,hostbridge -s 3,virtio-net,tap0,foo=1 testvm
expect_error 'virtio-net: unknown option "promisc"' -s 0,hostbridge -s 3,virtio-net,tap0,promisc testvm
expect_error 'virtio-net: more than one backend' -s 0,hostbridge -s 3,virtio-net,tap0,tap=tap1 testvm
expect_error 'virtio-net: no backend' -s 0,hostbridge -s 3,virtio-net testvm
expect_error 'virtio-net: backend "slirp" is not available' -s 0,hostbridge -s 3,virtio-net,slirp testvm
pass
