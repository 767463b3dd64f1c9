/* Whole-buffer writes and whole-file reads, short transfers and EINTR
 * retried, and mkdir -p: what every file writer and reader of khyve needs. */
#ifndef KHYVE_FILEIO_H
#define KHYVE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes at fd's offset: 0, or -errno (-EIO for a write
 * that wrote nothing). */
int fd_write_all(int fd, const void *buf, size_t len);
/* The whole regular file at path, read into a malloc'd buffer with a NUL
 * after its *len bytes: 0, -errno of open/fstat/read, -EINVAL (not a
 * regular file), -EFBIG (more than max bytes), -ENODATA (it shrank while
 * being read), -ENOMEM. */
int file_read_all(const char *path, size_t max, void **buf, size_t *len);

/* mkdir -p: every missing directory of path made with mode: 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

#endif
