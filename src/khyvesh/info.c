/* khyvesh commands that report on domains or poke a running one:
 * dominfo, vcpuinfo, cpu-stats, dommemstat, domblkstat, domifstat,
 * domtime, inject-nmi, maxvcpus.  Tables as virsh prints them; --json
 * where scripts read them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/options.h"
#include "khyvesh/khyvesh.h"
#include "virt/dominfo.h"
#include "virt/lifecycle.h"

/* A named counter, for the name/value tables of the *stat commands. */
struct counter {
	const char *name;
	uint64_t value;
};

static void print_counters(const char *prefix, const struct counter *c, unsigned n, bool json)
{
	for (unsigned i = 0; i < n; i++) {
		if (json)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "{", c[i].name, c[i].value);
		else if (prefix && *prefix)
			printf("%s %s %" PRIu64 "\n", prefix, c[i].name, c[i].value);
		else
			printf("%s %" PRIu64 "\n", c[i].name, c[i].value);
	}
	printf(json ? "}\n" : "\n");
}

static double seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

int cmd_dominfo(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_domain *d = NULL;
	struct khv_dom_info info;
	char err[1024] = "", u[37], id[16] = "-";
	pid_t pid;
	bool active, persistent, autostart = false;

	if (sh_domain(sh, a, NULL, &d, &active))
		return KHYVESH_FAIL;
	if (khv_domain_get_info(sh->conn, d, &info, err, sizeof(err))) {
		khv_domain_free(d);
		return sh_error("%s", err);
	}
	if (khv_domain_running(sh->conn, d->name, &pid) == 0)
		snprintf(id, sizeof(id), "%d", (int)pid);
	persistent = khv_domain_is_persistent(sh->conn, d->name);
	khv_domain_get_autostart(sh->conn, d->name, &autostart);
	khv_uuid_format(d->uuid, u);
	if (sh_flag(a, "json")) {
		printf("{\"id\": %s, \"name\": \"%s\", \"uuid\": \"%s\", \"os_type\": \"hvm\", "
		       "\"state\": \"%s\", \"vcpus\": %u, \"cpu_time_ns\": %" PRIu64 ", "
		       "\"max_memory_kib\": %" PRIu64 ", \"used_memory_kib\": %" PRIu64 ", "
		       "\"persistent\": %s, \"autostart\": %s}\n", strcmp(id, "-") ? id : "null",
		       d->name, u, sh_state_name(info.state), info.nr_vcpus, info.cpu_time_ns,
		       info.max_mem_kib, info.memory_kib, persistent ? "true" : "false",
		       autostart ? "true" : "false");
	} else {
		printf("%-15s %s\n%-15s %s\n%-15s %s\n%-15s %s\n%-15s %s\n%-15s %u\n", "Id:", id,
		       "Name:", d->name, "UUID:", u, "OS Type:", "hvm", "State:",
		       sh_state_name(info.state), "CPU(s):", info.nr_vcpus);
		if (info.state != KHV_STATE_SHUTOFF)
			printf("%-15s %.1fs\n", "CPU time:", seconds(info.cpu_time_ns));
		printf("%-15s %" PRIu64 " KiB\n%-15s %" PRIu64 " KiB\n%-15s %s\n%-15s %s\n"
		       "%-15s %s\n%-15s %s\n%-15s %s\n\n", "Max memory:", info.max_mem_kib,
		       "Used memory:", info.memory_kib, "Persistent:", persistent ? "yes" : "no",
		       "Autostart:", autostart ? "enable" : "disable", "Managed save:", "no",
		       "Security model:", "none", "Security DOI:", "0");
	}
	khv_domain_free(d);
	return KHYVESH_OK;
}

static void affinity_text(const cpu_set_t *set, char *buf, size_t len)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	size_t i = 0;

	for (; i < (size_t)(ncpu > 0 ? ncpu : 1) && i + 1 < len && i < CPU_SETSIZE; i++)
		buf[i] = CPU_ISSET(i, set) ? 'y' : '-';
	buf[i] = '\0';
}

int cmd_vcpuinfo(struct sh_ctx *sh, const struct sh_args *a)
{
	static struct khv_vcpu_info v[KHYVE_MAXCPUS];
	char err[1024] = "", name[KHV_NAME_MAX], aff[CPU_SETSIZE + 1];
	enum khv_dom_state st;
	bool json = sh_flag(a, "json");
	int n;

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if ((n = khv_domain_get_vcpus(sh->conn, name, v, KHYVE_MAXCPUS, err, sizeof(err))) < 0)
		return sh_error("%s", err);
	khv_domain_get_state(sh->conn, name, &st);
	if (json)
		printf("[");
	for (int i = 0; i < n; i++) {
		affinity_text(&v[i].affinity, aff, sizeof(aff));
		if (json)
			printf("%s{\"vcpu\": %u, \"cpu\": %d, \"state\": \"%s\", \"cpu_time_ns\": "
			       "%" PRIu64 ", \"affinity\": \"%s\", \"thread\": %d}", i ? ", " : "",
			       v[i].number, v[i].cpu, sh_state_name(st), v[i].cpu_time_ns, aff,
			       (int)v[i].tid);
		else
			printf("%-15s %u\n%-15s %d\n%-15s %s\n%-15s %.1fs\n%-15s %s\n\n", "VCPU:",
			       v[i].number, "CPU:", v[i].cpu, "State:", sh_state_name(st),
			       "CPU time:", seconds(v[i].cpu_time_ns), "CPU Affinity:", aff);
	}
	if (json)
		printf("]\n");
	return KHYVESH_OK;
}

static void print_time(const char *label, uint64_t ns, bool json, bool first)
{
	if (json)
		printf("%s\"%s\": %" PRIu64, first ? "" : ", ", label, ns);
	else
		printf("\t%-12s %9" PRIu64 ".%09" PRIu64 " seconds\n", label, ns / 1000000000u,
		       ns % 1000000000u);
}

/* virsh lists host CPUs here; khyve has no per-host-CPU accounting
 * (that is a cgroup's), so it lists the vCPUs, then the total. */
int cmd_cpu_stats(struct sh_ctx *sh, const struct sh_args *a)
{
	static struct khv_vcpu_info v[KHYVE_MAXCPUS];
	char err[1024] = "", name[KHV_NAME_MAX], label[32];
	bool json = sh_flag(a, "json"), total_only = sh_flag(a, "total");
	struct khv_cpu_stats s;
	int n = 0;

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_get_cpu_stats(sh->conn, name, &s, err, sizeof(err)) ||
	    (!total_only && (n = khv_domain_get_vcpus(sh->conn, name, v, KHYVE_MAXCPUS, err,
						       sizeof(err))) < 0))
		return sh_error("%s", err);
	if (json)
		printf("{\"vcpus\": [");
	for (int i = 0; i < n; i++) {
		if (json) {
			printf("%s{\"vcpu\": %u, ", i ? ", " : "", v[i].number);
			print_time("vcpu_time", v[i].cpu_time_ns, true, true);
			printf("}");
			continue;
		}
		snprintf(label, sizeof(label), "vCPU%u:", v[i].number);
		printf("%s\n", label);
		print_time("vcpu_time", v[i].cpu_time_ns, false, true);
	}
	printf(json ? "], \"total\": {" : "Total:\n");
	print_time("cpu_time", s.cpu_time_ns, json, true);
	print_time("user_time", s.user_time_ns, json, false);
	print_time("system_time", s.system_time_ns, json, false);
	printf(json ? "}}\n" : "\n");
	return KHYVESH_OK;
}

int cmd_dommemstat(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_domain *d = NULL;
	struct khv_mem_stats s;
	char err[1024] = "";
	int rc;

	if (sh_domain(sh, a, NULL, &d, NULL))
		return KHYVESH_FAIL;
	rc = khv_domain_memory_stats(sh->conn, d, &s, err, sizeof(err));
	khv_domain_free(d);
	if (rc)
		return sh_error("%s", err);
	print_counters(NULL, (const struct counter[]){
		{ "major_fault", s.major_faults }, { "minor_fault", s.minor_faults },
		{ "available", s.available_kib }, { "actual", s.actual_kib }, { "rss", s.rss_kib },
	}, 5, sh_flag(a, "json"));
	return KHYVESH_OK;
}

static void print_blk_human(const char *dev, const struct khv_blk_stats *s)
{
	printf("Device: %s\n", dev ? dev : "all disks");
	printf(" %-31s %" PRIu64 "\n %-31s %" PRIu64 "\n %-31s %" PRIu64 "\n %-31s %" PRIu64
	       "\n %-31s %" PRIu64 "\n %-31s %" PRIu64 "\n %-31s %" PRIu64 "\n %-31s %" PRIu64
	       "\n\n", "number of read operations:", s->rd_req, "number of bytes read:",
	       s->rd_bytes, "number of write operations:", s->wr_req,
	       "number of bytes written:", s->wr_bytes, "number of flush operations:",
	       s->flush_req, "total duration of reads (ns):", s->rd_total_ns,
	       "total duration of writes (ns):", s->wr_total_ns,
	       "total duration of flushes (ns):", s->flush_total_ns);
}

int cmd_domblkstat(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *dev = sh_opt(a, "device");
	struct khv_domain *d = NULL;
	struct khv_blk_stats s;
	char err[1024] = "";
	int rc;

	if (sh_domain(sh, a, NULL, &d, NULL))
		return KHYVESH_FAIL;
	rc = khv_domain_block_stats(sh->conn, d, dev, &s, err, sizeof(err));
	khv_domain_free(d);
	if (rc)
		return sh_error("%s", err);
	if (sh_flag(a, "human")) {
		print_blk_human(dev, &s);
		return KHYVESH_OK;
	}
	print_counters(dev, (const struct counter[]){
		{ "rd_req", s.rd_req }, { "rd_bytes", s.rd_bytes }, { "wr_req", s.wr_req },
		{ "wr_bytes", s.wr_bytes }, { "flush_operations", s.flush_req },
		{ "rd_total_times", s.rd_total_ns }, { "wr_total_times", s.wr_total_ns },
		{ "flush_total_times", s.flush_total_ns }, { "errs", s.errs },
	}, 9, sh_flag(a, "json"));
	return KHYVESH_OK;
}

int cmd_domifstat(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *dev = sh_opt(a, "interface");
	struct khv_domain *d = NULL;
	struct khv_if_stats s;
	char err[1024] = "";
	int rc;

	if (sh_domain(sh, a, NULL, &d, NULL))
		return KHYVESH_FAIL;
	rc = khv_domain_interface_stats(sh->conn, d, dev, &s, err, sizeof(err));
	khv_domain_free(d);
	if (rc)
		return sh_error("%s", err);
	print_counters(dev, (const struct counter[]){
		{ "rx_bytes", s.rx_bytes }, { "rx_packets", s.rx_packets },
		{ "rx_errs", s.rx_errs }, { "rx_drop", s.rx_drop }, { "tx_bytes", s.tx_bytes },
		{ "tx_packets", s.tx_packets }, { "tx_errs", s.tx_errs }, { "tx_drop", s.tx_drop },
	}, 8, sh_flag(a, "json"));
	return KHYVESH_OK;
}

static int parse_seconds(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

int cmd_domtime(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *set = sh_opt(a, "time");
	char err[1024] = "", name[KHV_NAME_MAX], text[64];
	bool now = sh_flag(a, "now");
	long long t;
	struct tm tm;
	time_t tt;

	if (sh_flag(a, "sync"))
		return sh_error("--sync needs the guest agent, which khyve does not have yet");
	if (now && set)
		return sh_error("--now and --time are mutually exclusive");
	if (set && parse_seconds(set, &t))
		return sh_error("invalid time '%s': want seconds since the epoch", set);
	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (now || set) {
		if (now)
			t = (long long)time(NULL);
		if (khv_domain_set_time(sh->conn, name, t, err, sizeof(err)))
			return sh_error("failed to set the time of domain '%s': %s", name, err);
		return KHYVESH_OK;
	}
	if (khv_domain_get_time(sh->conn, name, &t, err, sizeof(err)))
		return sh_error("failed to get the time of domain '%s': %s", name, err);
	tt = (time_t)t;
	if (sh_flag(a, "pretty") && gmtime_r(&tt, &tm) &&
	    strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm))
		printf("Time: %s\n", text);
	else
		printf("Time: %lld\n", t);
	return KHYVESH_OK;
}

int cmd_inject_nmi(struct sh_ctx *sh, const struct sh_args *a)
{
	char err[1024] = "", name[KHV_NAME_MAX];

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_inject_nmi(sh->conn, name, err, sizeof(err)))
		return sh_error("failed to inject an NMI into domain '%s': %s", name, err);
	printf("\n");
	return KHYVESH_OK;
}

int cmd_maxvcpus(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *type = sh_opt(a, "type");
	struct khv_conn *c = sh_conn(sh);

	if (!c)
		return KHYVESH_FAIL;
	if (type && strcmp(type, "kvm") && strcmp(type, "khyve"))
		return sh_error("unknown virtualization type '%s' (khyve runs kvm)", type);
	printf("%u\n\n", khv_conn_get_max_vcpus(c));
	return KHYVESH_OK;
}
