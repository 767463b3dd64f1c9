/* For device checkpoint tests: what a device's save wrote into a writer
 * (begun with snap_begin), as the one section restore would be given.
 * Include after cmocka.h. */
#ifndef KHYVE_SNAPTEST_H
#define KHYVE_SNAPTEST_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/pci.h"
#include "snapshot/snapfile.h"

static inline struct snap_section snaptest_section(struct snap_writer *w)
{
	struct snap_section s = { .data = w->buf, .size = w->len };

	snap_end(w);
	assert_int_equal(w->err, 0);
	return s;
}

/* A checkpoint of every function on `from` restored onto `to`, as the
 * machine does it: devices paused around the save, guest RAM copied
 * while they are, the state file written and parsed back.  `from` goes
 * on afterwards.  Returns pci_bus_restore's result, err its reason. */
static inline int snaptest_pci_move(struct pci_bus *from, void *from_ram, struct pci_bus *to,
				    void *to_ram, size_t ram_len, char *err, size_t errlen)
{
	struct snap_writer *w = malloc(sizeof(*w));
	struct snap_file *f = malloc(sizeof(*f));
	int fd = memfd_create("snaptest", MFD_CLOEXEC), rc;
	uint8_t *buf;
	off_t len;

	assert_non_null(w);
	assert_non_null(f);
	assert_true(fd >= 0);
	snap_writer_init(w);
	pci_bus_pause(from);
	pci_bus_save(from, w);
	memcpy(to_ram, from_ram, ram_len);
	pci_bus_resume(from);
	assert_int_equal(snap_write(w, fd), 0);
	snap_writer_free(w);
	len = lseek(fd, 0, SEEK_END);
	assert_true(len > 0);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)len, 0), len);
	assert_int_equal(snap_parse(buf, (size_t)len, f, err, errlen), 0);
	rc = pci_bus_restore(to, f, err, errlen);
	free(buf);
	free(f);
	free(w);
	close(fd);
	return rc;
}

#endif
