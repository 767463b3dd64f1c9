/* Named VMs with FreeBSD's /dev/vmmctl semantics, on Linux.
 *
 * FreeBSD creates and destroys named VMs through VMMCTL_VM_CREATE /
 * VMMCTL_VM_DESTROY on an open /dev/vmmctl; a VM created with
 * VMMCTL_CREATE_DESTROY_ON_CLOSE dies when that descriptor's last copy is
 * closed.  Linux has no such device: a KVM VM lives exactly as long as the
 * process holding it.  khyve keeps the names in a registry, the run
 * directory, and gives them the same rules:
 *
 *   <rundir>/<name>.vm   the entry: owner uid, holder pid, flags (0600).
 *                        Its holder keeps an flock() on it, so the entry of
 *                        a VM whose processes all died is seen as stale
 *                        (never a PID file); a destroy-on-close entry is
 *                        tied to the open file description of the handle
 *                        that created it, which fork() shares, exactly like
 *                        the FreeBSD descriptor.  A small reaper process
 *                        removes the entry and socket as soon as that lock
 *                        is released, even after kill -9 of every khyve.
 *   <rundir>/<name>      the VM's control socket (src/ipc).
 *   <rundir>/.registry   flock()ed around every change of the directory.
 *
 * Requests are fixed-size structs like FreeBSD's: reserved words must be
 * zero and unknown flags are refused (EINVAL), so later versions can give
 * them meaning. */
#ifndef KHYVE_VMMCTL_H
#define KHYVE_VMMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config;

#define VMMCTL_NAMELEN			230	/* FreeBSD's VM_MAX_NAMELEN + 1 */
#define VMMCTL_CREATE_DESTROY_ON_CLOSE	0x1u
#define VMMCTL_FLAGS_MASK		VMMCTL_CREATE_DESTROY_ON_CLOSE

struct vmmctl_vm_create {
	char name[VMMCTL_NAMELEN];
	uint32_t flags;
	int32_t reserved[15];
};

struct vmmctl_vm_destroy {
	char name[VMMCTL_NAMELEN];
	int32_t reserved[16];
};

/* What the registry knows about one VM. */
struct vmmctl_entry {
	char name[VMMCTL_NAMELEN];
	uid_t uid;			/* creator */
	pid_t pid;			/* holder (the VM's process), 0 if none */
	uint32_t flags;
	bool running;			/* a live process holds it */
};

/* An open "/dev/vmmctl": the registry of one run directory. */
struct vmmctl;

/* The run directory: config "rundir" (-o rundir=), else /run/khyve for
 * root, else $XDG_RUNTIME_DIR/khyve, else /tmp/khyve-<uid> (which
 * vmmctl_open() refuses unless it is the caller's own).  NULL if it does
 * not fit buf. */
const char *vmmctl_rundir(struct config *cfg, char *buf, size_t len);
/* The longest VM name whose control socket path fits sun_path. */
size_t vmmctl_name_max(const char *rundir);
/* Letters, digits, '.', '_', '-', not starting with '.' or '-', at most
 * max bytes.  -EINVAL / -ENAMETOOLONG with a one-line reason in err. */
int vmmctl_name_check(const char *name, size_t max, char *err, size_t errlen);

/* Opens (creating it 0700 if missing) the registry in rundir, which must
 * belong to the caller and not be writable by others.  maxvms: the
 * per-user VM limit (0: 4 x online CPUs).  On failure a one-line reason. */
int vmmctl_open(const char *rundir, unsigned maxvms, struct vmmctl **out,
		char *err, size_t errlen);
/* Closes the handle: this copy's hold on destroy-on-close VMs goes; when it
 * was the last copy (no fork()ed child holds it) they are destroyed. */
void vmmctl_close(struct vmmctl *c);
/* In a fork()ed process that must not act on the registry (monitor mode's
 * VM process): closes this copy's descriptors and frees the handle
 * without touching any entry; the parent's copy keeps holding. */
void vmmctl_forget(struct vmmctl *c);
const char *vmmctl_dir(const struct vmmctl *c);

/* VMMCTL_VM_CREATE: 0, -EINVAL (reserved word, unknown flag, bad name),
 * -EEXIST, -ENOMEM (per-user limit), -EPERM (a persistent VM asked for by
 * anyone but root).  A destroy-on-close VM is held by this handle. */
int vmmctl_create(struct vmmctl *c, const struct vmmctl_vm_create *req);
/* VMMCTL_VM_DESTROY: 0, -EINVAL (reserved word, bad name, no such VM),
 * -EPERM (not the creator and not root).  A running VM is asked over its
 * control socket to end (its khyve exits 4). */
int vmmctl_destroy(struct vmmctl *c, const struct vmmctl_vm_destroy *req);

/* For the process that runs the VM: take (or give up) the holder's lock on
 * an existing entry and record our pid, so the entry reads "running".
 * -EBUSY when another process runs it. */
int vmmctl_attach(struct vmmctl *c, const char *name);
/* The control socket path of name ("<rundir>/<name>"). */
int vmmctl_socket_path(const struct vmmctl *c, const char *name, char *buf, size_t len);

/* Every live entry (stale ones are removed on the way), sorted by name.
 * Returns the count or a negative errno; *out is malloc()ed. */
int vmmctl_list(struct vmmctl *c, struct vmmctl_entry **out);
/* One entry: 0 or -ENOENT. */
int vmmctl_lookup(struct vmmctl *c, const char *name, struct vmmctl_entry *out);

#endif
