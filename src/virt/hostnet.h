/* Host side of a domain's bridged interfaces: the tap, made when the
 * domain starts and put on its bridge with netlink (libnl-route).
 *
 * The tap is created without TUNSETPERSIST, so it exists exactly as long
 * as a descriptor to it is open: khyve inherits the descriptor (tapfd=N),
 * and when the VM's last process ends — whatever ends it, kill -9
 * included — the kernel removes the tap and takes it off the bridge.
 * Nothing is left to clean up and no daemon has to watch the VM. */
#ifndef KHYVE_VIRT_HOSTNET_H
#define KHYVE_VIRT_HOSTNET_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

/* Opens the tap `name` (NULL: a new "khvN"), with a virtio net header
 * when the kernel has them, and puts it, up, on `bridge` with the
 * bridge's MTU; a guest MAC (NULL: none given) makes the tap's own MAC
 * that MAC with the first byte 0xfe, as libvirt does, so the bridge never
 * takes the guest's address as its own.  An existing persistent tap the
 * caller may use is attached instead; one already on that bridge is left
 * as it is (how an unprivileged user gets a tap an administrator made).
 * Returns the close-on-exec descriptor (name_out holds the tap's name) or
 * a negative errno with one line in err. */
int khv_tap_open(const char *name, const char *bridge, const uint8_t *guest_mac,
		 char name_out[IFNAMSIZ], char *err, size_t errlen);

#endif
