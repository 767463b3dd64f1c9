/* What a domain is doing (virDomainGetInfo, GetVcpus, GetCPUStats,
 * MemoryStats, BlockStats, InterfaceStats): the VM's own
 * counters over its control socket, and the host's view of its processes
 * from /proc.  Errors: a negative errno and one line in err. */
#ifndef KHYVE_VIRT_DOMINFO_H
#define KHYVE_VIRT_DOMINFO_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virt/conn.h"
#include "virt/domain.h"
#include "virt/domstore.h"

struct khv_dom_info {
	enum khv_dom_state state;
	uint64_t max_mem_kib;		/* <memory>: no balloon, so also the used */
	uint64_t memory_kib;
	unsigned nr_vcpus;
	uint64_t cpu_time_ns;		/* the VM's processes, all threads */
};
/* d: the domain's definition (the running one when it runs). */
int khv_domain_get_info(struct khv_conn *c, const struct khv_domain *d,
			struct khv_dom_info *info, char *err, size_t errlen);

struct khv_vcpu_info {
	unsigned number;
	pid_t tid;			/* the vCPU's thread */
	int cpu;			/* host CPU it last ran on */
	uint64_t cpu_time_ns;
	cpu_set_t affinity;
};
/* Fills up to max entries of a running domain: the count, or -errno. */
int khv_domain_get_vcpus(struct khv_conn *c, const char *name, struct khv_vcpu_info *v,
			 unsigned max, char *err, size_t errlen);

/* cpu_time = user + system, of all the VM's threads. */
struct khv_cpu_stats {
	uint64_t cpu_time_ns, user_time_ns, system_time_ns;
};
int khv_domain_get_cpu_stats(struct khv_conn *c, const char *name, struct khv_cpu_stats *s,
			     char *err, size_t errlen);

/* dommemstat: KiB, and page faults of the VM process. */
struct khv_mem_stats {
	uint64_t actual_kib;		/* what the guest has (no balloon) */
	uint64_t available_kib;		/* what it was configured with */
	uint64_t rss_kib;		/* resident on the host */
	uint64_t major_faults, minor_faults;
};
int khv_domain_memory_stats(struct khv_conn *c, const struct khv_domain *d,
			    struct khv_mem_stats *s, char *err, size_t errlen);

/* Counters of one disk (dev: its target "vda" or its source path) or,
 * with dev NULL, of all disks together. */
struct khv_blk_stats {
	uint64_t rd_req, rd_bytes, wr_req, wr_bytes, flush_req, errs;
	uint64_t rd_total_ns, wr_total_ns, flush_total_ns;
};
int khv_domain_block_stats(struct khv_conn *c, const struct khv_domain *d, const char *dev,
			   struct khv_blk_stats *s, char *err, size_t errlen);

/* Counters of one interface (dev: its tap name or its MAC address). */
struct khv_if_stats {
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
};
int khv_domain_interface_stats(struct khv_conn *c, const struct khv_domain *d,
			       const char *dev, struct khv_if_stats *s, char *err,
			       size_t errlen);

#endif
