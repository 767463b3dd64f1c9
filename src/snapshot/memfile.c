/* Guest RAM to and from the checkpoint's sparse memory file. */
#include "snapshot/memfile.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (unsigned i = 0; i < MEMFILE_PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

static int pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Writes the non-zero pages of [start, end) in runs, one pwrite each. */
static int save_range(const uint8_t *mem, uint64_t start, uint64_t end, int out_fd,
		      struct memfile_stats *st)
{
	uint64_t run = start, off;
	int rc;

	st->bytes_scanned += end - start;
	for (off = start; off < end; off += MEMFILE_PAGE) {
		if (!page_is_zero(mem + off)) {
			st->pages_written++;
			continue;
		}
		if (off > run && (rc = pwrite_all(out_fd, mem + run, off - run, run)) < 0)
			return rc;
		run = off + MEMFILE_PAGE;
	}
	return off > run ? pwrite_all(out_fd, mem + run, off - run, run) : 0;
}

/* The next [*start, *end) the memfd has pages in, from off; false at
 * the end.  Without SEEK_DATA (or without a memfd) all of it. */
static bool next_data(int mem_fd, uint64_t size, uint64_t off, uint64_t *start, uint64_t *end)
{
	off_t d, h;

	if (off >= size)
		return false;
	if (mem_fd < 0 || (d = lseek(mem_fd, (off_t)off, SEEK_DATA)) < 0) {
		if (mem_fd >= 0 && errno == ENXIO)
			return false;		/* nothing but holes after off */
		*start = off;
		*end = size;
		return true;
	}
	h = lseek(mem_fd, d, SEEK_HOLE);
	*start = (uint64_t)d & ~(uint64_t)(MEMFILE_PAGE - 1);
	*end = h < 0 || (uint64_t)h > size ? size : ((uint64_t)h + MEMFILE_PAGE - 1) &
						    ~(uint64_t)(MEMFILE_PAGE - 1);
	if (*end > size)
		*end = size;
	return *start < size;
}

int memfile_save(const uint8_t *mem, uint64_t size, int mem_fd, int out_fd,
		 struct memfile_stats *st)
{
	struct memfile_stats local;
	uint64_t start, end, off = 0;
	int rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (size % MEMFILE_PAGE)
		return -EINVAL;
	if (ftruncate(out_fd, (off_t)size) < 0)	/* the holes */
		return -errno;
	while (next_data(mem_fd, size, off, &start, &end)) {
		if ((rc = save_range(mem, start, end, out_fd, st)) < 0)
			return rc;
		off = end;
	}
	return fdatasync(out_fd) < 0 ? -errno : 0;
}

int memfile_map(uint8_t *mem, uint64_t size, int in_fd)
{
	struct stat sb;

	if (fstat(in_fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != size)
		return -EINVAL;
	if (mmap(mem, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
		 in_fd, 0) == MAP_FAILED)
		return -errno;
	return 0;
}
