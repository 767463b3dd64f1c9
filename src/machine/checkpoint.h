/* Checkpoint (khyvectl --checkpoint/--suspend) and restore (khyve -r)
 * of a machine; the files are described in doc/snapshot.md. */
#ifndef KHYVE_CHECKPOINT_H
#define KHYVE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/machine.h"
#include "snapshot/meta.h"
#include "snapshot/snapfile.h"

enum { CKPT_MEMORY, CKPT_STATE, CKPT_META, CKPT_FILES };

struct ckpt_result {
	uint64_t memory_pages;		/* non-zero pages written */
	uint64_t state_bytes;
};

/* Saves the machine as base, base.kern and base.meta in dirfd (created
 * 0600; an existing checkpoint is replaced only with force).  The VM is
 * paused meanwhile and, with suspend, stops afterwards with exit status 5
 * instead of running on.  On failure nothing is left in dirfd and err
 * says why.  Runs on the machine's loop thread. */
int machine_checkpoint(struct machine *m, int dirfd, const char *base, bool suspend,
		       bool force, struct ckpt_result *res, char *err, size_t errlen);

/* A checkpoint read and checked for restore. */
struct ckpt_image {
	struct snap_meta meta;
	uint8_t *state_buf;		/* all of FILE.kern */
	size_t state_len;
	struct snap_file state;		/* sections point into state_buf */
	int memory_fd;			/* FILE, read-only */
};

/* Reads path.meta and path.kern, opens path, and checks that they belong
 * together (sizes, CRC32Cs, the section table).  0, or -errno with one
 * line in err naming the file and the reason; nothing is left open. */
int ckpt_image_load(const char *path, struct ckpt_image *img, char *err, size_t errlen);
void ckpt_image_free(struct ckpt_image *img);

/* Restores a built machine (machine_build with m->restoring) from img:
 * guest memory mapped privately from the memory file, then KVM's state,
 * the platform devices and every PCI function.  0, or -errno with err. */
int machine_restore(struct machine *m, const struct ckpt_image *img, char *err, size_t errlen);

#endif
