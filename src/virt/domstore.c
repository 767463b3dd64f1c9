/* Persistent domain definitions: files under <config_dir>/domains, one
 * writer at a time (flock on .lock), whole files renamed into place. */
#include "virt/domstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "machine/uuid.h"
#include "virt/domain_xml.h"
#include "vmmctl/vmmctl.h"

#define XML_SUFFIX	".xml"
#define LIVE_DIR	".domains"	/* in the run directory: no VM name starts with '.' */

/* ---- paths and the lock ---- */

static int dom_dir(const struct khv_conn *c, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/domains", c->config_dir) < (int)len ? 0 : -ENAMETOOLONG;
}

static int dom_path(const struct khv_conn *c, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/domains/%s%s", c->config_dir, name, XML_SUFFIX) < (int)len
		? 0 : -ENAMETOOLONG;
}

/* mkdir -p of config_dir/domains: 0700 for a session (a user's VMs are
 * nobody else's business), 0755 for the system tree. */
static int make_dirs(const struct khv_conn *c)
{
	char path[PATH_MAX + 16];

	if (dom_dir(c, path, sizeof(path)))
		return -ENAMETOOLONG;
	return mkdir_p(path, c->system ? 0755 : 0700);
}

/* The store's lock (exclusive to change it, shared to read it): an fd,
 * or a negative errno with err set. */
static int store_lock(const struct khv_conn *c, bool exclusive, char *err, size_t errlen)
{
	char path[PATH_MAX + 16];
	int fd, rc = make_dirs(c);

	if (!rc && snprintf(path, sizeof(path), "%s/domains/.lock", c->config_dir) >= (int)sizeof(path))
		rc = -ENAMETOOLONG;
	if (rc) {
		snprintf(err, errlen, "cannot create %s/domains: %s", c->config_dir, strerror(-rc));
		return rc;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

static void store_unlock(int fd)
{
	close(fd);	/* drops the flock */
}

/* ---- reading ---- */

/* A definition file: 0, -ENOENT (no file, err untouched), or -errno. */
static int load_path(const char *path, struct khv_domain **out, char *err, size_t errlen)
{
	char why[512] = "", *xml = NULL;
	size_t len = 0;
	int rc = file_read_all(path, KHV_XML_MAX_BYTES, (void **)&xml, &len);

	if (rc) {
		if (rc != -ENOENT)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = khv_domain_parse_xml(xml, len, out, why, sizeof(why));
	free(xml);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}

static int load(const struct khv_conn *c, const char *name, struct khv_domain **out, char *err,
		size_t errlen)
{
	char path[PATH_MAX + 80];

	if (dom_path(c, name, path, sizeof(path)))
		return -ENAMETOOLONG;
	return load_path(path, out, err, errlen);
}

/* Names of the stored definitions: count or negative errno. */
static int stored_names(const struct khv_conn *c, char (**names)[KHV_NAME_MAX])
{
	char dir[PATH_MAX + 16];
	struct dirent *e;
	unsigned n = 0, cap = 0;
	DIR *d;

	*names = NULL;
	if (dom_dir(c, dir, sizeof(dir)))
		return -ENAMETOOLONG;
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = strlen(XML_SUFFIX);

		if (e->d_name[0] == '.' || len <= sl || len - sl >= KHV_NAME_MAX ||
		    strcmp(e->d_name + len - sl, XML_SUFFIX))
			continue;
		if (n == cap) {
			void *p = realloc(*names, (cap = cap ? 2 * cap : 16) * KHV_NAME_MAX);

			if (!p) {
				closedir(d);
				free(*names);
				*names = NULL;
				return -ENOMEM;
			}
			*names = p;
		}
		snprintf((*names)[n++], KHV_NAME_MAX, "%.*s", (int)(len - sl), e->d_name);
	}
	closedir(d);
	return (int)n;
}

static int autostart_path(const struct khv_conn *c, const char *name, char *buf, size_t len);

/* ---- define / undefine ---- */

static int write_file(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 96];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		rc = -errno;
	else
		rc = fd_write_all(fd, text, strlen(text));
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	}
	return rc;
}

static bool same_uuid(const struct khv_domain *a, const struct khv_domain *b)
{
	return a->has_uuid && b->has_uuid && !memcmp(a->uuid, b->uuid, 16);
}

/* libvirt's rules: the name keeps its UUID; a UUID belongs to one name. */
static int check_identity(struct khv_conn *c, struct khv_domain *d, char *err, size_t errlen)
{
	char (*names)[KHV_NAME_MAX];
	char u[37];
	int n = stored_names(c, &names), rc = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n && !rc; i++) {
		struct khv_domain *o = NULL;
		char why[8];

		if (load(c, names[i], &o, why, sizeof(why)))
			continue;	/* a damaged file claims nothing */
		if (!strcmp(o->name, d->name) && !d->has_uuid) {
			memcpy(d->uuid, o->uuid, 16);
			d->has_uuid = o->has_uuid;
		}
		khv_uuid_format(o->uuid, u);
		if (!strcmp(o->name, d->name) && d->has_uuid && o->has_uuid && !same_uuid(o, d)) {
			snprintf(err, errlen, "domain '%s' is already defined with uuid %s", o->name, u);
			rc = -EEXIST;
		} else if (strcmp(o->name, d->name) && same_uuid(o, d)) {
			snprintf(err, errlen, "domain '%s' already exists with uuid %s", o->name, u);
			rc = -EEXIST;
		}
		khv_domain_free(o);
	}
	free(names);
	return rc;
}

static int store(struct khv_conn *c, struct khv_domain *d, char *err, size_t errlen)
{
	char path[PATH_MAX + 80], *text = NULL;
	int rc;

	if (!d->has_uuid && (rc = khv_uuid_generate(d)))
		return rc;
	if (dom_path(c, d->name, path, sizeof(path)))
		return -ENAMETOOLONG;
	if ((rc = khv_domain_format_xml(d, &text)))
		return rc;
	rc = write_file(path, text, err, errlen);
	free(text);
	return rc;
}

int khv_domain_define_xml(struct khv_conn *c, const char *xml, size_t len,
			  struct khv_domain **out, char *err, size_t errlen)
{
	struct khv_domain *d = NULL;
	int lock, rc = khv_domain_parse_xml(xml, len, &d, err, errlen);

	if (rc)
		return rc;
	khv_domain_forget_generated(d);
	/* The name must also fit the VM's control socket path. */
	if ((rc = vmmctl_name_check(d->name, vmmctl_name_max(c->run_dir), err, errlen))) {
		khv_domain_free(d);
		return rc;
	}
	if ((lock = store_lock(c, true, err, errlen)) < 0) {
		khv_domain_free(d);
		return lock;
	}
	rc = check_identity(c, d, err, errlen);
	if (!rc)
		rc = store(c, d, err, errlen);
	store_unlock(lock);
	if (!rc && out)
		*out = d;
	else
		khv_domain_free(d);
	return rc;
}

int khv_domain_undefine(struct khv_conn *c, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX + 80];
	int lock, rc;

	if (strlen(name) >= KHV_NAME_MAX || strchr(name, '/') || name[0] == '.' ||
	    dom_path(c, name, path, sizeof(path))) {
		snprintf(err, errlen, "failed to get domain '%s'", name);
		return -ENOENT;
	}
	if ((lock = store_lock(c, true, err, errlen)) < 0)
		return lock;
	rc = unlink(path) < 0 ? -errno : 0;
	if (!rc && !autostart_path(c, name, path, sizeof(path)))
		unlink(path);		/* the flag goes with the definition */
	store_unlock(lock);
	khv_live_prune(c);
	if (rc == -ENOENT)
		snprintf(err, errlen, "failed to get domain '%s'", name);
	else if (rc)
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(-rc));
	return rc;
}

static int lookup_uuid(struct khv_conn *c, const uint8_t uuid[16], struct khv_domain **out,
		       char *err, size_t errlen)
{
	char (*names)[KHV_NAME_MAX];
	int n = stored_names(c, &names), rc = -ENOENT;

	for (int i = 0; i < n && rc == -ENOENT; i++) {
		struct khv_domain *d = NULL;
		char why[8];

		if (load(c, names[i], &d, why, sizeof(why)))
			continue;
		if (d->has_uuid && !memcmp(d->uuid, uuid, 16)) {
			*out = d;
			rc = 0;
		} else {
			khv_domain_free(d);
		}
	}
	free(names);
	return n < 0 ? n : rc;
}

int khv_domain_lookup(struct khv_conn *c, const char *key, struct khv_domain **out, char *err,
		      size_t errlen)
{
	uint8_t uuid[16];
	int lock, rc;

	if ((lock = store_lock(c, false, err, errlen)) < 0)
		return lock;
	if (uuid_parse_str(key, uuid) == 0)
		rc = lookup_uuid(c, uuid, out, err, errlen);
	else if (strlen(key) >= KHV_NAME_MAX || strchr(key, '/') || key[0] == '.')
		rc = -ENOENT;
	else
		rc = load(c, key, out, err, errlen);
	store_unlock(lock);
	if (rc == -ENOENT)
		snprintf(err, errlen, "failed to get domain '%s'", key);
	return rc;
}

/* ---- listing ---- */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct khv_dom_entry *)a)->name,
		      ((const struct khv_dom_entry *)b)->name);
}

static struct khv_dom_entry *find_entry(struct khv_dom_entry *v, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* The registry's live VMs merged into v (which has room for them). */
static int merge_running(struct khv_conn *c, struct khv_dom_entry *v, unsigned *n,
			 const struct vmmctl_entry *vms, int nvms)
{
	for (int i = 0; i < nvms; i++) {
		struct khv_dom_entry *e;

		if (!vms[i].running || strlen(vms[i].name) >= KHV_NAME_MAX)
			continue;
		if (!(e = find_entry(v, *n, vms[i].name))) {
			e = &v[(*n)++];
			memset(e, 0, sizeof(*e));
			memcpy(e->name, vms[i].name, strlen(vms[i].name) + 1);	/* fits: checked */
		}
		e->active = true;
		e->pid = vms[i].pid;
	}
	(void)c;
	return 0;
}

/* The live VMs of the connection's run directory; none if it is absent. */
static int running_vms(struct khv_conn *c, struct vmmctl_entry **vms, char *err, size_t errlen)
{
	struct vmmctl *reg;
	struct stat st;
	int n;

	*vms = NULL;
	if (stat(c->run_dir, &st) < 0 && errno == ENOENT)
		return 0;
	if ((n = vmmctl_open(c->run_dir, 0, &reg, err, errlen)) < 0)
		return n;
	n = vmmctl_list(reg, vms);
	vmmctl_close(reg);
	if (n < 0)
		snprintf(err, errlen, "cannot list the VMs in %s: %s", c->run_dir, strerror(-n));
	return n;
}

int khv_domain_list(struct khv_conn *c, struct khv_dom_entry **out, char *err, size_t errlen)
{
	char (*names)[KHV_NAME_MAX] = NULL;
	struct vmmctl_entry *vms = NULL;
	struct khv_dom_entry *v;
	int n, nvms, lock;
	unsigned count = 0;

	khv_live_prune(c);	/* of VMs that ended on their own */
	if ((lock = store_lock(c, false, err, errlen)) < 0)
		return lock;
	n = stored_names(c, &names);
	store_unlock(lock);
	if (n < 0) {
		snprintf(err, errlen, "cannot read %s/domains: %s", c->config_dir, strerror(-n));
		return n;
	}
	if ((nvms = running_vms(c, &vms, err, errlen)) < 0) {
		free(names);
		return nvms;
	}
	if (!(v = calloc((size_t)n + (size_t)nvms + 1, sizeof(*v)))) {
		free(names);
		free(vms);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		snprintf(v[count].name, sizeof(v[count].name), "%s", names[i]);
		v[count++].persistent = true;
	}
	merge_running(c, v, &count, vms, nvms);
	free(names);
	free(vms);
	qsort(v, count, sizeof(*v), entry_cmp);
	*out = v;
	return (int)count;
}

/* ---- running domains: khyve's registry and the live definitions ---- */

int khv_domain_running(struct khv_conn *c, const char *name, pid_t *pid)
{
	struct vmmctl_entry e;
	struct vmmctl *reg;
	char why[8];
	struct stat st;
	int rc;

	if (stat(c->run_dir, &st) < 0 || vmmctl_open(c->run_dir, 0, &reg, why, sizeof(why)))
		return -ESRCH;
	rc = vmmctl_lookup(reg, name, &e);
	vmmctl_close(reg);
	if (rc || !e.running)
		return -ESRCH;
	if (pid)
		*pid = e.pid;
	return 0;
}

static int live_path(const struct khv_conn *c, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/" LIVE_DIR "/%s%s", c->run_dir, name, XML_SUFFIX) < (int)len
		? 0 : -ENAMETOOLONG;
}

int khv_live_lock(struct khv_conn *c, char *err, size_t errlen)
{
	char path[PATH_MAX + 32];
	int fd;

	if (snprintf(path, sizeof(path), "%s/" LIVE_DIR, c->run_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = mkdir_p(path, 0700)) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-fd));
		return fd;
	}
	strcat(path, "/.lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

void khv_live_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int khv_live_save(struct khv_conn *c, const struct khv_domain *d, char *err, size_t errlen)
{
	char path[PATH_MAX + 96], *text = NULL;
	int rc;

	if (live_path(c, d->name, path, sizeof(path)))
		return -ENAMETOOLONG;
	if ((rc = khv_domain_format_xml(d, &text))) {
		snprintf(err, errlen, "formatting the live definition: %s", strerror(-rc));
		return rc;
	}
	rc = write_file(path, text, err, errlen);
	free(text);
	return rc;
}

void khv_live_remove(struct khv_conn *c, const char *name)
{
	char path[PATH_MAX + 96];

	if (!live_path(c, name, path, sizeof(path)))
		unlink(path);
}

void khv_live_prune(struct khv_conn *c)
{
	char dir[PATH_MAX + 32], why[8];
	struct dirent *de;
	DIR *d;
	int lock;

	if (snprintf(dir, sizeof(dir), "%s/" LIVE_DIR, c->run_dir) >= (int)sizeof(dir) ||
	    access(dir, F_OK) < 0)
		return;
	/* Under the starts' lock: a domain being started is not running yet. */
	if ((lock = khv_live_lock(c, why, sizeof(why))) < 0)
		return;
	if ((d = opendir(dir))) {
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			char name[KHV_NAME_MAX];

			if (de->d_name[0] == '.' || n <= strlen(XML_SUFFIX) ||
			    n - strlen(XML_SUFFIX) >= sizeof(name) ||
			    strcmp(de->d_name + n - strlen(XML_SUFFIX), XML_SUFFIX))
				continue;
			memcpy(name, de->d_name, n - strlen(XML_SUFFIX));
			name[n - strlen(XML_SUFFIX)] = '\0';
			if (khv_domain_running(c, name, NULL))
				unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	khv_live_unlock(lock);
}

/* The live definition of a running name, else -ENOENT. */
static int live_load(struct khv_conn *c, const char *name, struct khv_domain **out,
		     char *err, size_t errlen)
{
	char path[PATH_MAX + 96];

	if (khv_domain_running(c, name, NULL) || live_path(c, name, path, sizeof(path)))
		return -ENOENT;
	return load_path(path, out, err, errlen);
}

int khv_domain_lookup_live(struct khv_conn *c, const char *key, struct khv_domain **out,
			   bool *active, char *err, size_t errlen)
{
	struct khv_domain *d = NULL;
	int rc = khv_domain_lookup(c, key, &d, err, errlen);
	const char *name = rc ? key : d->name;

	if (rc && rc != -ENOENT)
		return rc;
	if (strlen(name) < KHV_NAME_MAX && !strchr(name, '/') && name[0] != '.') {
		struct khv_domain *live = NULL;
		int lrc = live_load(c, name, &live, err, errlen);

		if (lrc == 0) {
			khv_domain_free(d);
			*out = live;
			*active = true;
			return 0;
		}
		if (lrc != -ENOENT) {
			khv_domain_free(d);
			return lrc;
		}
	}
	if (rc)
		return rc;	/* err already says "failed to get domain" */
	*active = khv_domain_running(c, d->name, NULL) == 0;
	*out = d;
	return 0;
}

/* ---- autostart: <config_dir>/autostart/<name>.xml -> ../domains/<name>.xml ---- */

static int autostart_path(const struct khv_conn *c, const char *name, char *buf, size_t len)
{
	if (strlen(name) >= KHV_NAME_MAX || strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	return snprintf(buf, len, "%s/autostart/%s%s", c->config_dir, name, XML_SUFFIX) <
	       (int)len ? 0 : -ENAMETOOLONG;
}

bool khv_domain_is_persistent(struct khv_conn *c, const char *name)
{
	char path[PATH_MAX + 80];

	return strlen(name) < KHV_NAME_MAX && !strchr(name, '/') && name[0] != '.' &&
	       !dom_path(c, name, path, sizeof(path)) && access(path, F_OK) == 0;
}

int khv_domain_get_autostart(struct khv_conn *c, const char *name, bool *on)
{
	char path[PATH_MAX + 96];
	struct stat st;

	*on = false;
	if (autostart_path(c, name, path, sizeof(path)))
		return -EINVAL;
	*on = stat(path, &st) == 0;	/* a link to a definition that is gone counts not */
	return 0;
}

int khv_domain_set_autostart(struct khv_conn *c, const char *name, bool on, char *err,
			     size_t errlen)
{
	char path[PATH_MAX + 96], target[KHV_NAME_MAX + 32];
	int lock, rc = 0;

	if (!khv_domain_is_persistent(c, name) || autostart_path(c, name, path, sizeof(path))) {
		snprintf(err, errlen, "cannot set autostart for transient domain '%s' (or it does "
			 "not exist)", name);
		return -ENOENT;
	}
	if ((lock = store_lock(c, true, err, errlen)) < 0)
		return lock;
	snprintf(target, sizeof(target), "../domains/%s%s", name, XML_SUFFIX);
	if (on) {
		char *slash = strrchr(path, '/');

		*slash = '\0';
		if (mkdir(path, c->system ? 0755 : 0700) < 0 && errno != EEXIST)
			rc = -errno;
		*slash = '/';
		if (!rc && symlink(target, path) < 0 && errno != EEXIST)
			rc = -errno;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
	}
	store_unlock(lock);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}
