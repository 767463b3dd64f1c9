/* libkhyve connections: URIs to directories, and what a connection tells
 * about the host (type, version, node info, capabilities XML). */
#include "virt/conn.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define URI_SYSTEM	"khyve:///system"
#define URI_SESSION	"khyve:///session"

/* ---- URIs and directories ---- */

static int set_dir(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int set_dir(char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, PATH_MAX, fmt, ap);
	va_end(ap);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* $VAR if set and absolute, else $HOME/fallback. */
static int xdg_dir(char *dst, const char *var, const char *fallback)
{
	const char *v = getenv(var), *home = getenv("HOME");

	if (v && v[0] == '/')
		return set_dir(dst, "%s/khyve", v);
	if (!home || home[0] != '/')
		return -ENOENT;
	return set_dir(dst, "%s/%s/khyve", home, fallback);
}

static int session_dirs(struct khv_conn *c, char *err, size_t errlen)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int rc;

	if (!rt || rt[0] != '/') {
		snprintf(err, errlen, "%s needs XDG_RUNTIME_DIR (a per-user runtime directory, "
			 "as systemd's pam module sets up)", URI_SESSION);
		return -ENOENT;
	}
	rc = set_dir(c->run_dir, "%s/khyve", rt);
	if (!rc)
		rc = xdg_dir(c->config_dir, "XDG_CONFIG_HOME", ".config");
	if (!rc)
		rc = xdg_dir(c->state_dir, "XDG_STATE_HOME", ".local/state");
	if (!rc)
		rc = set_dir(c->log_dir, "%s/log", c->state_dir);
	if (rc)
		snprintf(err, errlen, "%s: no usable home or XDG directories (%s)", URI_SESSION,
			 strerror(-rc));
	return rc;
}

static void system_dirs(struct khv_conn *c)
{
	snprintf(c->config_dir, PATH_MAX, "/etc/khyve");
	snprintf(c->state_dir, PATH_MAX, "/var/lib/khyve");
	snprintf(c->run_dir, PATH_MAX, "/run/khyve");
	snprintf(c->log_dir, PATH_MAX, "/var/log/khyve");
}

static const char *default_uri(void)
{
	const char *env = getenv("KHYVE_DEFAULT_URI");

	if (env && *env)
		return env;
	return geteuid() == 0 ? URI_SYSTEM : URI_SESSION;
}

int khv_connect(const char *uri, struct khv_conn **out, char *err, size_t errlen)
{
	struct khv_conn *c;
	int rc = 0;

	if (!uri)
		uri = default_uri();
	if (strcmp(uri, URI_SYSTEM) && strcmp(uri, URI_SESSION)) {
		snprintf(err, errlen, "unsupported URI '%.200s' (khyve knows %s and %s)", uri,
			 URI_SYSTEM, URI_SESSION);
		return -EINVAL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->system = !strcmp(uri, URI_SYSTEM);
	snprintf(c->uri, sizeof(c->uri), "%s", uri);
	if (c->system && geteuid() != 0) {
		snprintf(err, errlen, "%s is root's; use %s", URI_SYSTEM, URI_SESSION);
		rc = -EPERM;
	} else if (c->system) {
		system_dirs(c);
	} else {
		rc = session_dirs(c, err, errlen);
	}
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void khv_conn_close(struct khv_conn *c)
{
	free(c);
}

/* ---- identity ---- */

const char *khv_conn_get_type(const struct khv_conn *c)
{
	(void)c;
	return "KHYVE";
}

unsigned long khv_conn_get_version(const struct khv_conn *c)
{
	(void)c;
	return KHV_VERSION_MAJOR * 1000000ul + KHV_VERSION_MINOR * 1000ul + KHV_VERSION_MICRO;
}

/* No remote transport: always alive, never encrypted, always secure (as
 * libvirt's in-process drivers answer). */
int khv_conn_is_alive(const struct khv_conn *c) { (void)c; return 1; }
int khv_conn_is_encrypted(const struct khv_conn *c) { (void)c; return 0; }
int khv_conn_is_secure(const struct khv_conn *c) { (void)c; return 1; }

char *khv_conn_get_hostname(const struct khv_conn *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME }, *ai = NULL;
	char name[256];
	char *out;

	(void)c;
	if (gethostname(name, sizeof(name)) < 0)
		return NULL;
	name[sizeof(name) - 1] = '\0';
	/* A short name that resolves gets its canonical (FQDN) form, as
	 * virGetHostname does; otherwise the name as it is. */
	if (!strchr(name, '.') && getaddrinfo(name, NULL, &hints, &ai) == 0 && ai &&
	    ai->ai_canonname && *ai->ai_canonname)
		out = strdup(ai->ai_canonname);
	else
		out = strdup(name);
	if (ai)
		freeaddrinfo(ai);
	return out;
}

const char *khv_conn_khyve_path(const struct khv_conn *c)
{
	static char path[PATH_MAX];
	const char *env = getenv("KHYVE_BIN");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	(void)c;
	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			if (snprintf(path, sizeof(path), "%s/khyve", self) < (int)sizeof(path) &&
			    access(path, X_OK) == 0)
				return path;
		}
	}
	return "khyve";
}

/* ---- node info ---- */

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Entries of dir named prefix<number>. */
static unsigned count_numbered(const char *dir, const char *prefix)
{
	size_t len = strlen(prefix);
	unsigned n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, len) && isdigit((unsigned char)e->d_name[len]))
			n++;
	closedir(d);
	return n;
}

/* Bits set in a sysfs CPU list such as "0-3,8". */
static unsigned cpulist_count(const char *path)
{
	FILE *f = fopen(path, "re");
	unsigned n = 0, a, b;
	int k;

	if (!f)
		return 0;
	while ((k = fscanf(f, "%u-%u", &a, &b)) >= 1) {
		n += k == 2 && b >= a ? b - a + 1 : 1;
		if (fgetc(f) != ',')
			break;
	}
	fclose(f);
	return n;
}

static unsigned distinct_packages(unsigned cpus)
{
	long seen[256];
	unsigned n = 0;
	char path[96];

	for (unsigned i = 0; i < cpus && n < 256; i++) {
		long id;
		unsigned j;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/topology/physical_package_id", i);
		if ((id = read_long(path)) < 0)
			continue;
		for (j = 0; j < n && seen[j] != id; j++)
			;
		if (j == n)
			seen[n++] = id;
	}
	return n ? n : 1;
}

static unsigned cpu_mhz(void)
{
	long khz = read_long("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
	char line[256];
	double mhz = 0;
	FILE *f;

	if (khz > 0)
		return (unsigned)(khz / 1000);
	if (!(f = fopen("/proc/cpuinfo", "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	fclose(f);
	return (unsigned)mhz;
}

static uint64_t mem_total_kib(void)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int khv_node_get_info(const struct khv_conn *c, struct khv_node_info *info)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned per_core, per_node;

	(void)c;
	memset(info, 0, sizeof(*info));
	snprintf(info->model, sizeof(info->model), "x86_64");
	if (online < 1)
		return -errno;
	info->cpus = (unsigned)online;
	info->memory_kib = mem_total_kib();
	info->mhz = cpu_mhz();
	info->nodes = count_numbered("/sys/devices/system/node", "node");
	if (!info->nodes)
		info->nodes = 1;
	info->threads = cpulist_count("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list");
	if (!info->threads)
		info->threads = 1;
	/* libvirt's convention: sockets per NUMA node, cores per socket. */
	info->sockets = distinct_packages(info->cpus) / info->nodes;
	if (!info->sockets)
		info->sockets = 1;
	per_core = info->threads;
	per_node = info->cpus / info->nodes;
	info->cores = per_node / info->sockets / per_core;
	if (!info->cores)
		info->cores = 1;
	return 0;
}
