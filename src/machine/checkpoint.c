/* Checkpoint and restore of the whole machine (doc/snapshot.md): three
 * files side by side, FILE (guest memory, sparse), FILE.kern (the state
 * file: KVM's state, then the platform devices, then each PCI function)
 * and FILE.meta (what the VM was, and the state file's table and CRC).
 *
 * A checkpoint is written under temporary names and renamed into place
 * only when complete, the metadata last, so a checkpoint interrupted
 * halfway leaves no file that restore would take for one. */
#include "machine/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hw/acpi_pm.h"
#include "hw/i8042.h"
#include "hw/rtc.h"
#include "hw/uart8250.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "snapshot/memfile.h"
#include "snapshot/meta.h"
#include "vmmctl/vmmctl.h"

#define ISA_VERSION	1

static const char *const file_suffix[CKPT_FILES] = { "", ".kern", ".meta" };

/* ---- the platform devices ---- */

static void com_section(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "isa.com%u", i + 1);
}

static void save_isa(struct machine *m, struct snap_writer *w)
{
	char name[SNAP_NAME_MAX];

	snap_begin(w, "isa.rtc", ISA_VERSION);
	rtc_save(m->rtc, w);
	snap_end(w);
	snap_begin(w, "isa.i8042", ISA_VERSION);
	i8042_save(m->kbd, w);
	snap_end(w);
	snap_begin(w, "isa.acpi-pm", ISA_VERSION);
	acpi_pm_save(m->pm, w);
	snap_end(w);
	for (unsigned i = 0; i < MACHINE_COMS; i++) {
		if (!m->uart[i])
			continue;
		com_section(name, sizeof(name), i);
		snap_begin(w, name, ISA_VERSION);
		uart8250_save(m->uart[i], w);
		snap_end(w);
	}
}

/* Restores section name through fn, or says why not. */
static int restore_one(const struct snap_file *f, const char *name,
		       int (*fn)(void *dev, struct snap_cursor *c), void *dev,
		       char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, name);
	struct snap_cursor c;

	if (!s) {
		snprintf(err, errlen, "section %s is missing", name);
		return -EPROTO;
	}
	if (s->version != ISA_VERSION) {
		snprintf(err, errlen, "section %s has version %u, this khyve reads %u", name,
			 s->version, ISA_VERSION);
		return -EPROTO;
	}
	snap_cursor_init(&c, s);
	if (fn(dev, &c) || !snap_cursor_done(&c)) {
		snprintf(err, errlen, "section %s holds a state the device cannot have", name);
		return -EPROTO;
	}
	return 0;
}

static int rtc_fn(void *d, struct snap_cursor *c) { return rtc_restore(d, c); }
static int i8042_fn(void *d, struct snap_cursor *c) { return i8042_restore(d, c); }
static int pm_fn(void *d, struct snap_cursor *c) { return acpi_pm_restore(d, c); }
static int uart_fn(void *d, struct snap_cursor *c) { return uart8250_restore(d, c); }

static int restore_isa(struct machine *m, const struct snap_file *f, char *err, size_t errlen)
{
	char name[SNAP_NAME_MAX];
	int rc = restore_one(f, "isa.rtc", rtc_fn, m->rtc, err, errlen);

	if (!rc)
		rc = restore_one(f, "isa.i8042", i8042_fn, m->kbd, err, errlen);
	if (!rc)
		rc = restore_one(f, "isa.acpi-pm", pm_fn, m->pm, err, errlen);
	for (unsigned i = 0; !rc && i < MACHINE_COMS; i++) {
		com_section(name, sizeof(name), i);
		if (m->uart[i])
			rc = restore_one(f, name, uart_fn, m->uart[i], err, errlen);
		else if (snap_find(f, name)) {
			snprintf(err, errlen, "the checkpoint has com%u, the command line does not",
				 i + 1);
			rc = -EPROTO;
		}
	}
	return rc;
}

/* ---- writing a checkpoint ---- */

static void device_list(struct machine *m, struct snap_meta *meta)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			const struct pci_dev *dev = m->pci.dev[s][f];
			struct snap_meta_device *d;

			if (!dev || meta->ndevices == SNAP_META_MAX_DEVICES)
				continue;
			d = &meta->devices[meta->ndevices++];
			snprintf(d->slot, sizeof(d->slot), "0:%u:%u", s, f);
			snprintf(d->device, sizeof(d->device), "%s", dev->emu->name);
		}
}

static void fill_meta(struct machine *m, const struct snap_writer *w, struct snap_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->vmname, sizeof(meta->vmname), "%s", m->name);
	meta->ncpus = m->params.topo.cpus;
	meta->memsize = m->vm.mem_size;
	meta->destroy_on_close = m->vm_flags & VMMCTL_CREATE_DESTROY_ON_CLOSE;
	meta->saved_at = (uint64_t)time(NULL);
	meta->nsections = w->n;
	memcpy(meta->sections, w->sec, w->n * sizeof(w->sec[0]));
	for (unsigned i = 0; i < w->n; i++) {
		/* the writer counts from its data; the file, from its start */
		meta->sections[i].offset += SNAP_HEADER_SIZE + (uint64_t)w->n * SNAP_ENTRY_SIZE;
		meta->sections[i].data = NULL;
	}
	device_list(m, meta);
}

/* What was written to fd: its size and the CRC32C of all of it. */
static int file_crc(int fd, uint64_t *size, uint32_t *crc)
{
	uint8_t buf[65536];
	uint64_t off = 0;
	ssize_t n;

	*crc = 0;
	while ((n = pread(fd, buf, sizeof(buf), (off_t)off)) > 0) {
		*crc = crc32c(*crc, buf, (size_t)n);
		off += (uint64_t)n;
	}
	*size = off;
	return n < 0 ? -errno : 0;
}

struct ckpt_files {
	int dirfd;
	char final[CKPT_FILES][NAME_MAX + 1];
	char tmp[CKPT_FILES][NAME_MAX + 1];
	int fd[CKPT_FILES];
};

static void files_discard(struct ckpt_files *cf)
{
	for (unsigned i = 0; i < CKPT_FILES; i++)
		if (cf->fd[i] >= 0) {
			close(cf->fd[i]);
			unlinkat(cf->dirfd, cf->tmp[i], 0);
			cf->fd[i] = -1;
		}
}

static int files_create(struct ckpt_files *cf, int dirfd, const char *base, bool force,
			char *err, size_t errlen)
{
	struct stat st;

	cf->dirfd = dirfd;
	for (unsigned i = 0; i < CKPT_FILES; i++)
		cf->fd[i] = -1;
	for (unsigned i = 0; i < CKPT_FILES; i++) {
		if (strlen(base) + strlen(file_suffix[i]) + 16 > NAME_MAX) {
			snprintf(err, errlen, "%s: the name is too long", base);
			return -ENAMETOOLONG;
		}
		snprintf(cf->final[i], sizeof(cf->final[i]), "%s%s", base, file_suffix[i]);
		snprintf(cf->tmp[i], sizeof(cf->tmp[i]), ".%s%s.%d.tmp", base, file_suffix[i],
			 (int)getpid());
		if (!force && fstatat(dirfd, cf->final[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			snprintf(err, errlen, "%s exists (--force replaces it)", cf->final[i]);
			return -EEXIST;
		}
	}
	for (unsigned i = 0; i < CKPT_FILES; i++) {
		cf->fd[i] = openat(dirfd, cf->tmp[i], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
				   O_NOFOLLOW, 0600);
		if (cf->fd[i] < 0) {
			int e = errno;

			snprintf(err, errlen, "creating %s: %s", cf->tmp[i], strerror(e));
			files_discard(cf);
			return -e;
		}
	}
	return 0;
}

/* Into place, memory and state first, the metadata last: only a
 * complete checkpoint has a FILE.meta. */
static int files_commit(struct ckpt_files *cf, bool force, char *err, size_t errlen)
{
	for (unsigned i = 0; i < CKPT_FILES; i++)
		if (fsync(cf->fd[i]) < 0) {
			snprintf(err, errlen, "writing %s: %s", cf->final[i], strerror(errno));
			return -errno;
		}
	for (unsigned i = 0; i < CKPT_FILES; i++) {
		int rc = force ? renameat(cf->dirfd, cf->tmp[i], cf->dirfd, cf->final[i])
			       : renameat2(cf->dirfd, cf->tmp[i], cf->dirfd, cf->final[i],
					   RENAME_NOREPLACE);

		if (rc < 0) {
			int e = errno;

			snprintf(err, errlen, "%s: %s", cf->final[i],
				 e == EEXIST ? "exists (--force replaces it)" : strerror(e));
			for (unsigned j = 0; j < i; j++)	/* ours: no partial checkpoint */
				unlinkat(cf->dirfd, cf->final[j], 0);
			return -e;
		}
		snprintf(cf->tmp[i], sizeof(cf->tmp[i]), "%s", cf->final[i]);
	}
	for (unsigned i = 0; i < CKPT_FILES; i++) {
		close(cf->fd[i]);
		cf->fd[i] = -1;
	}
	if (fsync(cf->dirfd) < 0 && errno != EINVAL) {
		snprintf(err, errlen, "syncing the directory: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_state(struct machine *m, struct ckpt_files *cf, struct snap_meta *meta,
		       struct ckpt_result *res, char *err, size_t errlen)
{
	struct snap_writer *w = malloc(sizeof(*w));
	struct memfile_stats ms;
	int rc;

	if (!w)
		return -ENOMEM;
	snap_writer_init(w);
	rc = vm_state_save(&m->vm, w, err, errlen);
	if (!rc) {
		save_isa(m, w);
		pci_bus_save(&m->pci, w);
		fill_meta(m, w, meta);
		rc = snap_write(w, cf->fd[CKPT_STATE]);
		if (rc)
			snprintf(err, errlen, "writing the state file: %s", strerror(-rc));
	}
	snap_writer_free(w);
	free(w);
	if (!rc && (rc = file_crc(cf->fd[CKPT_STATE], &meta->state_size, &meta->state_crc)))
		snprintf(err, errlen, "reading back the state file: %s", strerror(-rc));
	if (!rc && (rc = memfile_save(m->vm.mem, m->vm.mem_size,
				      m->vm.mem_private ? -1 : m->vm.mem_fd,
				      cf->fd[CKPT_MEMORY], &ms)))
		snprintf(err, errlen, "writing guest memory: %s", strerror(-rc));
	if (!rc && (rc = snap_meta_write(meta, cf->fd[CKPT_META])))
		snprintf(err, errlen, "writing the metadata: %s", strerror(-rc));
	if (!rc && res) {
		res->memory_pages = ms.pages_written;
		res->state_bytes = meta->state_size;
	}
	return rc;
}

int machine_checkpoint(struct machine *m, int dirfd, const char *base, bool suspend,
		       bool force, struct ckpt_result *res, char *err, size_t errlen)
{
	const struct pci_dev *dev = pci_bus_unsaveable(&m->pci);
	struct snap_meta *meta;
	struct ckpt_files cf;
	int rc;

	if (dev) {
		snprintf(err, errlen, "%s at slot %u:%u cannot be checkpointed yet", dev->emu->name,
			 dev->slot, dev->func);
		return -ENOTSUP;
	}
	if (!(meta = malloc(sizeof(*meta))))
		return -ENOMEM;
	rc = files_create(&cf, dirfd, base, force, err, errlen);
	if (rc) {
		free(meta);
		return rc;
	}
	rc = machine_pause(m);
	if (rc)
		snprintf(err, errlen, "the VM is stopping");
	else {
		pci_bus_pause(&m->pci);
		rc = write_state(m, &cf, meta, res, err, errlen);
		if (!rc)
			rc = files_commit(&cf, force, err, errlen);
		/* Suspended, neither the guest nor its devices may run on past
		 * what was saved: the devices stay paused until the exit. */
		if (!rc && suspend)
			machine_request_exit(m, VM_EXIT_SUSPEND);
		else
			pci_bus_resume(&m->pci);
		machine_resume(m);
	}
	files_discard(&cf);
	free(meta);
	return rc;
}

/* ---- restoring ---- */

static const struct snap_meta_device *find_slot(const struct snap_meta *m, const char *slot)
{
	for (unsigned i = 0; i < m->ndevices; i++)
		if (!strcmp(m->devices[i].slot, slot))
			return &m->devices[i];
	return NULL;
}

/* Every device of a has the same device in b's slot. */
static int devices_in(const struct snap_meta *a, const struct snap_meta *b, const char *a_is,
		      const char *b_is, char *err, size_t errlen)
{
	for (unsigned i = 0; i < a->ndevices; i++) {
		const struct snap_meta_device *d = &a->devices[i], *e = find_slot(b, d->slot);

		if (!e || strcmp(e->device, d->device)) {
			snprintf(err, errlen, "%s has %s at slot %s, %s %s", a_is, d->device,
				 d->slot, b_is, e ? e->device : "nothing");
			return -EPROTO;
		}
	}
	return 0;
}

/* The command line must describe the machine that was saved. */
static int check_config(struct machine *m, const struct snap_meta *meta, char *err,
			size_t errlen)
{
	struct snap_meta *now = malloc(sizeof(*now));
	int rc = 0;

	if (!now)
		return -ENOMEM;
	memset(now, 0, sizeof(*now));
	device_list(m, now);
	if (m->params.topo.cpus != meta->ncpus) {
		snprintf(err, errlen, "the checkpoint has %u vCPUs, the command line %u",
			 meta->ncpus, m->params.topo.cpus);
		rc = -EPROTO;
	} else if (m->vm.mem_size != meta->memsize) {
		snprintf(err, errlen, "the checkpoint has %llu MiB of memory, the command line %llu",
			 (unsigned long long)(meta->memsize >> 20),
			 (unsigned long long)(m->vm.mem_size >> 20));
		rc = -EPROTO;
	}
	if (!rc)
		rc = devices_in(meta, now, "the checkpoint", "the command line", err, errlen);
	if (!rc)
		rc = devices_in(now, meta, "the command line", "the checkpoint", err, errlen);
	free(now);
	return rc;
}

int machine_restore(struct machine *m, const struct ckpt_image *img, char *err, size_t errlen)
{
	int rc = check_config(m, &img->meta, err, errlen);

	if (rc)
		return rc;
	rc = memfile_map(m->vm.mem, m->vm.mem_size, img->memory_fd);

	if (rc) {
		snprintf(err, errlen, "mapping guest memory: %s",
			 rc == -EINVAL ? "the memory file has the wrong size" : strerror(-rc));
		return rc;
	}
	m->vm.mem_private = true;	/* the memfd no longer shows what was touched */
	rc = vm_state_restore(&m->vm, &img->state, err, errlen);
	if (!rc)
		rc = restore_isa(m, &img->state, err, errlen);
	if (!rc)
		rc = pci_bus_restore(&m->pci, &img->state, err, errlen);
	return rc;
}

/* ---- reading a checkpoint ---- */

/* All of path (a regular file of at most max bytes) into *buf. */
static int slurp(const char *path, size_t max, uint8_t **buf, size_t *len, char *err,
		 size_t errlen)
{
	int rc = file_read_all(path, max, (void **)buf, len);

	if (rc == 0 && *len == 0) {
		free(*buf);
		*buf = NULL;
		rc = -EINVAL;
	}
	if (rc == -EINVAL || rc == -EFBIG) {
		snprintf(err, errlen, "%s: not a regular file of 1 to %zu bytes", path, max);
		return -EPROTO;
	}
	if (rc)
		snprintf(err, errlen, "%s: %s", path, rc == -ENODATA ? "shrank" : strerror(-rc));
	return rc == -ENODATA ? -EIO : rc;
}

static int load_meta(const char *path, struct snap_meta *meta, char *err, size_t errlen)
{
	char file[PATH_MAX + 8], why[256];
	uint8_t *buf;
	size_t len;
	int rc;

	snprintf(file, sizeof(file), "%s.meta", path);
	rc = slurp(file, SNAP_META_MAX_BYTES, &buf, &len, err, errlen);
	if (rc)
		return rc;
	rc = snap_meta_parse((const char *)buf, len, meta, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", file, why);
	free(buf);
	return rc;
}

static int load_state(const char *path, struct ckpt_image *img, char *err, size_t errlen)
{
	char file[PATH_MAX + 8], why[256];
	int rc;

	snprintf(file, sizeof(file), "%s.kern", path);
	rc = slurp(file, SNAP_MAX_FILE, &img->state_buf, &img->state_len, err, errlen);
	if (rc)
		return rc;
	rc = snap_parse(img->state_buf, img->state_len, &img->state, why, sizeof(why));
	if (!rc)
		rc = snap_meta_check_state(&img->meta, &img->state, img->state_len,
					   crc32c(0, img->state_buf, img->state_len), why,
					   sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", file, why);
	return rc;
}

static int open_memory(const char *path, struct ckpt_image *img, char *err, size_t errlen)
{
	struct stat st;

	img->memory_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->memory_fd < 0 || fstat(img->memory_fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != img->meta.memsize) {
		snprintf(err, errlen, "%s: the memory file has %lld bytes, the checkpoint's "
			 "memory %llu", path, (long long)st.st_size,
			 (unsigned long long)img->meta.memsize);
		return -EPROTO;
	}
	return 0;
}

int ckpt_image_load(const char *path, struct ckpt_image *img, char *err, size_t errlen)
{
	int rc;

	memset(img, 0, sizeof(*img));
	img->memory_fd = -1;
	if (strlen(path) >= PATH_MAX) {
		snprintf(err, errlen, "%.64s...: the path is too long", path);
		return -ENAMETOOLONG;
	}
	rc = load_meta(path, &img->meta, err, errlen);
	if (!rc)
		rc = load_state(path, img, err, errlen);
	if (!rc)
		rc = open_memory(path, img, err, errlen);
	if (rc)
		ckpt_image_free(img);
	return rc;
}

void ckpt_image_free(struct ckpt_image *img)
{
	free(img->state_buf);
	img->state_buf = NULL;
	if (img->memory_fd >= 0)
		close(img->memory_fd);
	img->memory_fd = -1;
}
