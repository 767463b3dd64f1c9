/* The metadata file of a checkpoint (FILE.meta, JSON): what the VM was
 * (name, vCPUs, memory, lifetime flags, devices by slot) and a copy of
 * the state file's section table with the state file's size and CRC32C,
 * so that restore can refuse a state or memory file that does not belong
 * to it before reading either.  doc/snapshot.md describes the fields.
 *
 * The parser takes untrusted bytes: every field is type- and
 * range-checked, unknown fields are refused (a newer khyve's file), and
 * the result is either complete or an error naming the field. */
#ifndef KHYVE_SNAP_META_H
#define KHYVE_SNAP_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/snapfile.h"

#define SNAP_META_FORMAT	"khyve-checkpoint"
#define SNAP_META_VERSION	1
#define SNAP_META_MAX_BYTES	(1u << 20)
#define SNAP_META_NAME_MAX	256	/* with the NUL */
#define SNAP_META_MAX_DEVICES	256
#define SNAP_META_TEXT_MAX	64	/* slot and device strings, with the NUL */

struct snap_meta_device {
	char slot[SNAP_META_TEXT_MAX];		/* "B:S:F" as in the config tree */
	char device[SNAP_META_TEXT_MAX];	/* the emulation: "virtio-blk" */
};

struct snap_meta {
	char vmname[SNAP_META_NAME_MAX];
	uint32_t ncpus;
	uint64_t memsize;			/* bytes: the memory file's size */
	bool destroy_on_close;			/* vmmctl's flag, kept on restore */
	uint64_t saved_at;			/* Unix time, seconds */
	uint64_t state_size;			/* FILE.kern */
	uint32_t state_crc;			/* CRC32C of all of FILE.kern */
	unsigned nsections;
	struct snap_section sections[SNAP_MAX_SECTIONS];	/* data unused */
	unsigned ndevices;
	struct snap_meta_device devices[SNAP_META_MAX_DEVICES];
};

/* Writes m as JSON to fd.  0 or -errno. */
int snap_meta_write(const struct snap_meta *m, int fd);
/* Parses len bytes into m.  0, or -EPROTO with the reason in err. */
int snap_meta_parse(const char *buf, size_t len, struct snap_meta *m, char *err, size_t errlen);
/* Does the state file f (parsed, of size/crc given) carry exactly the
 * sections m lists?  0, or -EPROTO with the reason in err. */
int snap_meta_check_state(const struct snap_meta *m, const struct snap_file *f,
			  uint64_t size, uint32_t crc, char *err, size_t errlen);

#endif
