/* The checkpoint metadata parser on untrusted bytes (what khyve -r reads
 * first).  Whatever it accepts must be within its documented limits and
 * must write back as JSON that parses to the same metadata. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct snap_meta a, b;

static void check_limits(const struct snap_meta *m)
{
	if (!m->ncpus || !m->memsize || m->memsize % 4096 || !m->nsections ||
	    m->nsections > SNAP_MAX_SECTIONS || m->ndevices > SNAP_META_MAX_DEVICES ||
	    !memchr(m->vmname, '\0', sizeof(m->vmname)) || !m->vmname[0])
		abort();
	for (unsigned i = 0; i < m->nsections; i++)
		if (!memchr(m->sections[i].name, '\0', SNAP_NAME_MAX) ||
		    m->sections[i].size > SNAP_MAX_FILE)
			abort();
}

static void round_trip(void)
{
	int fd = memfd_create("fuzz-meta", MFD_CLOEXEC);
	char err[256], *buf;
	off_t len;

	if (fd < 0 || snap_meta_write(&a, fd))
		abort();
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || !(buf = malloc((size_t)len)))
		abort();
	if (pread(fd, buf, (size_t)len, 0) != len)
		abort();
	if (snap_meta_parse(buf, (size_t)len, &b, err, sizeof(err)))
		abort();
	if (strcmp(a.vmname, b.vmname) || a.ncpus != b.ncpus || a.memsize != b.memsize ||
	    a.destroy_on_close != b.destroy_on_close || a.state_size != b.state_size ||
	    a.state_crc != b.state_crc || a.nsections != b.nsections ||
	    a.ndevices != b.ndevices ||
	    memcmp(a.devices, b.devices, a.ndevices * sizeof(a.devices[0])))
		abort();
	for (unsigned i = 0; i < a.nsections; i++)
		if (strcmp(a.sections[i].name, b.sections[i].name) ||
		    a.sections[i].size != b.sections[i].size ||
		    a.sections[i].crc != b.sections[i].crc)
			abort();
	free(buf);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	if (snap_meta_parse((const char *)data, size, &a, err, sizeof(err)))
		return 0;
	check_limits(&a);
	round_trip();
	return 0;
}
