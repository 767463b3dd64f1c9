/* The memory file of a checkpoint: guest RAM at its own offsets (low
 * memory then high memory, as in the memfd), sparse: a page the guest
 * never touched, or that holds only zeros, is a hole.  Restore maps it
 * MAP_PRIVATE over guest memory, so pages are read only when the guest
 * (or a device) touches them and the file itself is never written. */
#ifndef KHYVE_MEMFILE_H
#define KHYVE_MEMFILE_H

#include <stdint.h>

#define MEMFILE_PAGE	4096u

struct memfile_stats {
	uint64_t pages_written;		/* non-zero pages in the file */
	uint64_t bytes_scanned;		/* of guest memory looked at */
};

/* Writes size bytes of guest memory at mem into out_fd (empty, regular
 * file).  mem_fd, when >= 0, is the memfd behind mem: its holes are the
 * pages the guest never touched and are skipped without reading.
 * 0 or -errno. */
int memfile_save(const uint8_t *mem, uint64_t size, int mem_fd, int out_fd,
		 struct memfile_stats *st);

/* Maps the memory file in_fd privately over [mem, mem + size), which
 * must be a mapping of that size.  The file must be exactly size bytes
 * (a truncated file is refused, not zero-filled).  0 or -errno: -EINVAL
 * for a size mismatch. */
int memfile_map(uint8_t *mem, uint64_t size, int in_fd);

#endif
