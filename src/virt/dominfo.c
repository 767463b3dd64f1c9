/* Domain information (see dominfo.h). */
#include "virt/dominfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virt/lifecycle.h"

/* /proc/<pid>/stat fields (1-based, as proc(5) numbers them). */
#define STAT_MINFLT	10
#define STAT_MAJFLT	12
#define STAT_UTIME	14
#define STAT_STIME	15
#define STAT_PROCESSOR	39
#define STAT_FIELDS	39

/* Reads the numeric fields of a /proc stat file; the command name
 * (field 2) may hold anything, so parsing starts after its last ')'. */
static int proc_stat(const char *path, uint64_t f[STAT_FIELDS + 1])
{
	char buf[1024], *p, *end;
	FILE *fp = fopen(path, "re");
	size_t n;

	if (!fp)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return -EPROTO;
	p += 2;		/* ") " */
	memset(f, 0, (STAT_FIELDS + 1) * sizeof(*f));
	for (int i = 3; i <= STAT_FIELDS && *p; i++) {
		if (i == 3) {		/* the state letter */
			p += 1;
		} else {
			f[i] = strtoull(p, &end, 10);
			p = end;
		}
		while (*p == ' ')
			p++;
	}
	return 0;
}

static uint64_t ticks_ns(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);

	return ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

/* The VM process (the monitor's child, which changes on every guest
 * reboot): its pid from the VM. */
static int vm_pid(struct khv_conn *c, const char *name, pid_t *pid, char *err, size_t errlen)
{
	struct ipc_request req = { .type = IPC_GET_VM_PID, .fd = -1 };
	struct ipc_reply rep;
	int rc = khv_domctl_request(c, name, &req, &rep, err, errlen);

	if (!rc)
		*pid = (pid_t)rep.pid;
	return rc;
}

static int process_stat(struct khv_conn *c, const char *name, uint64_t f[STAT_FIELDS + 1],
			pid_t *pid_out, char *err, size_t errlen)
{
	char path[64];
	pid_t pid;
	int rc = vm_pid(c, name, &pid, err, errlen);

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((rc = proc_stat(path, f)))
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	if (pid_out)
		*pid_out = pid;
	return rc;
}

int khv_domain_get_info(struct khv_conn *c, const struct khv_domain *d,
			struct khv_dom_info *info, char *err, size_t errlen)
{
	uint64_t f[STAT_FIELDS + 1];

	memset(info, 0, sizeof(*info));
	info->max_mem_kib = d->memory_kib;
	info->memory_kib = d->current_memory_kib ? d->current_memory_kib : d->memory_kib;
	info->nr_vcpus = d->vcpus;
	khv_domain_get_state(c, d->name, &info->state);
	if (info->state == KHV_STATE_SHUTOFF)
		return 0;
	if (process_stat(c, d->name, f, NULL, err, errlen) == 0)
		info->cpu_time_ns = ticks_ns(f[STAT_UTIME] + f[STAT_STIME]);
	return 0;
}

int khv_domain_get_cpu_stats(struct khv_conn *c, const char *name, struct khv_cpu_stats *s,
			     char *err, size_t errlen)
{
	uint64_t f[STAT_FIELDS + 1];
	int rc = process_stat(c, name, f, NULL, err, errlen);

	if (rc)
		return rc;
	s->user_time_ns = ticks_ns(f[STAT_UTIME]);
	s->system_time_ns = ticks_ns(f[STAT_STIME]);
	s->cpu_time_ns = s->user_time_ns + s->system_time_ns;
	return 0;
}

int khv_domain_memory_stats(struct khv_conn *c, const struct khv_domain *d,
			    struct khv_mem_stats *s, char *err, size_t errlen)
{
	uint64_t f[STAT_FIELDS + 1];
	char path[64], line[256];
	pid_t pid;
	FILE *fp;
	int rc = process_stat(c, d->name, f, &pid, err, errlen);

	if (rc)
		return rc;
	memset(s, 0, sizeof(*s));
	s->available_kib = d->memory_kib;
	s->actual_kib = d->current_memory_kib ? d->current_memory_kib : d->memory_kib;
	s->minor_faults = f[STAT_MINFLT];
	s->major_faults = f[STAT_MAJFLT];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(fp = fopen(path, "re"))) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %" SCNu64, &s->rss_kib) == 1)
			break;
	fclose(fp);
	return 0;
}

/* ---- the VM's counters ---- */

/* The VM's statistics: *rep->stats valid until khv_domctl_close(*d). */
static int get_stats(struct khv_conn *c, const char *name, struct khv_domctl **d,
		     struct ipc_reply *rep, char *err, size_t errlen)
{
	struct ipc_request req = { .type = IPC_GET_STATS, .fd = -1 };
	int rc = khv_domctl_open(c, name, d, err, errlen);

	if (rc)
		return rc;
	if ((rc = khv_domctl_call(*d, &req, rep, err, errlen))) {
		khv_domctl_close(*d);
		*d = NULL;
	}
	return rc;
}

static bool stat_value(const struct ipc_reply *rep, const char *name, uint64_t *v)
{
	for (unsigned i = 0; i < rep->nstats; i++)
		if (!strcmp(rep->stats[i].name, name)) {
			*v = rep->stats[i].value;
			return true;
		}
	return false;
}

/* A device counter "<kind>.<slot>.<func>.<name>", 0 when absent. */
static uint64_t dev_stat(const struct ipc_reply *rep, const char *kind,
			 const struct khv_pci_addr *a, const char *name)
{
	char key[IPC_STAT_NAME];
	uint64_t v = 0;

	snprintf(key, sizeof(key), "%s.%d.%d.%s", kind, a->slot, a->func, name);
	stat_value(rep, key, &v);
	return v;
}

static void vcpu_host_view(pid_t tid, struct khv_vcpu_info *v)
{
	uint64_t f[STAT_FIELDS + 1];
	char path[64];

	v->cpu = -1;
	/* /proc/<tid> is every thread's, of whichever process. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (proc_stat(path, f) == 0)
		v->cpu = (int)f[STAT_PROCESSOR];
	CPU_ZERO(&v->affinity);
	if (sched_getaffinity(tid, sizeof(v->affinity), &v->affinity) < 0)
		CPU_ZERO(&v->affinity);
}

int khv_domain_get_vcpus(struct khv_conn *c, const char *name, struct khv_vcpu_info *v,
			 unsigned max, char *err, size_t errlen)
{
	struct khv_domctl *d = NULL;
	struct ipc_reply rep;
	uint64_t n = 0;
	unsigned count = 0;
	int rc = get_stats(c, name, &d, &rep, err, errlen);

	if (rc)
		return rc;
	stat_value(&rep, "vcpus", &n);
	for (unsigned i = 0; i < n && count < max; i++) {
		char key[IPC_STAT_NAME];
		uint64_t tid = 0, ns = 0;

		snprintf(key, sizeof(key), "vcpu%u.tid", i);
		if (!stat_value(&rep, key, &tid) || tid == 0 || tid > INT32_MAX)
			continue;	/* not started yet */
		snprintf(key, sizeof(key), "vcpu%u.cpu_time_ns", i);
		stat_value(&rep, key, &ns);
		v[count] = (struct khv_vcpu_info){ .number = i, .tid = (pid_t)tid,
						   .cpu_time_ns = ns };
		vcpu_host_view((pid_t)tid, &v[count++]);
	}
	khv_domctl_close(d);
	return (int)count;
}

static const char *disk_name(const struct khv_domain *d, unsigned i, char buf[8])
{
	if (d->disks[i].target)
		return d->disks[i].target;
	snprintf(buf, 8, "vd%c", 'a' + (int)(i % 26));
	return buf;
}

static void add_disk(const struct ipc_reply *rep, const struct khv_pci_addr *a,
		     struct khv_blk_stats *s)
{
	s->rd_req += dev_stat(rep, "blk", a, "rd_reqs");
	s->rd_bytes += dev_stat(rep, "blk", a, "rd_bytes");
	s->rd_total_ns += dev_stat(rep, "blk", a, "rd_total_ns");
	s->wr_req += dev_stat(rep, "blk", a, "wr_reqs");
	s->wr_bytes += dev_stat(rep, "blk", a, "wr_bytes");
	s->wr_total_ns += dev_stat(rep, "blk", a, "wr_total_ns");
	s->flush_req += dev_stat(rep, "blk", a, "flush_reqs");
	s->flush_total_ns += dev_stat(rep, "blk", a, "flush_total_ns");
	s->errs += dev_stat(rep, "blk", a, "errors");
}

int khv_domain_block_stats(struct khv_conn *c, const struct khv_domain *d, const char *dev,
			   struct khv_blk_stats *s, char *err, size_t errlen)
{
	struct khv_domctl *ctl = NULL;
	struct ipc_reply rep;
	bool found = !dev;
	int rc = get_stats(c, d->name, &ctl, &rep, err, errlen);

	if (rc)
		return rc;
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < d->ndisks; i++) {
		char buf[8];

		if (dev && strcmp(dev, disk_name(d, i, buf)) &&
		    (!d->disks[i].source || strcmp(dev, d->disks[i].source)))
			continue;
		found = true;
		add_disk(&rep, &d->disks[i].addr, s);
	}
	khv_domctl_close(ctl);
	if (!found) {
		snprintf(err, errlen, "invalid path: %s (not a disk of domain '%s')", dev, d->name);
		return -ENOENT;
	}
	return 0;
}

static bool mac_matches(const struct khv_net *n, const char *text)
{
	unsigned m[6];
	char end;

	if (!n->has_mac || sscanf(text, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3],
				  &m[4], &m[5], &end) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		if (m[i] != n->mac[i])
			return false;
	return true;
}

int khv_domain_interface_stats(struct khv_conn *c, const struct khv_domain *d,
			       const char *dev, struct khv_if_stats *s, char *err,
			       size_t errlen)
{
	const struct khv_net *n = NULL;
	struct khv_domctl *ctl = NULL;
	struct ipc_reply rep;
	int rc;

	for (unsigned i = 0; i < d->nnets && !n; i++)
		if ((d->nets[i].target_dev && !strcmp(dev, d->nets[i].target_dev)) ||
		    mac_matches(&d->nets[i], dev))
			n = &d->nets[i];
	if (!n) {
		snprintf(err, errlen, "invalid interface: %s (not an interface of domain '%s')",
			 dev, d->name);
		return -ENOENT;
	}
	if ((rc = get_stats(c, d->name, &ctl, &rep, err, errlen)))
		return rc;
	/* The guest's view, as libvirt reports a bridged tap: rx is what the
	 * guest received. */
	*s = (struct khv_if_stats){
		.rx_bytes = dev_stat(&rep, "net", &n->addr, "rx_bytes"),
		.rx_packets = dev_stat(&rep, "net", &n->addr, "rx_packets"),
		.rx_errs = dev_stat(&rep, "net", &n->addr, "rx_errors"),
		.rx_drop = dev_stat(&rep, "net", &n->addr, "rx_dropped"),
		.tx_bytes = dev_stat(&rep, "net", &n->addr, "tx_bytes"),
		.tx_packets = dev_stat(&rep, "net", &n->addr, "tx_packets"),
		.tx_errs = dev_stat(&rep, "net", &n->addr, "tx_errors"),
		.tx_drop = dev_stat(&rep, "net", &n->addr, "tx_dropped"),
	};
	khv_domctl_close(ctl);
	return 0;
}
