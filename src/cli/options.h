/* bhyve(8)'s command line for khyve: every option becomes bhyve_config(5)
 * variables, exactly as bhyve sets them. */
#ifndef KHYVE_OPTIONS_H
#define KHYVE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config;

/* Most vCPUs one VM may have (bhyve's vcpu ids are 8-bit APIC ids). */
#define KHYVE_MAXCPUS	255

enum options_result {
	OPTIONS_RUN = 0,	/* go on and build the VM */
	OPTIONS_EXIT_OK = 1,	/* -h, -s help, -l help printed to out: exit 0 */
};

/* Parses argv into cfg.  Returns an options_result, or a negative errno
 * after printing one line on stderr through log_error(). */
int options_parse(struct config *cfg, int argc, char *argv[], FILE *out);
/* Checks the VM name against the run directory's limits (options_parse
 * does, but leaves it to the caller with -r and no name). */
int options_check_name(struct config *cfg);

/* bhyve's memory size syntax: number with optional K/M/G/T suffix (case
 * insensitive, powers of 1024); a bare number below 1 MiB means MiB.
 * -EINVAL for garbage, 0 or overflow. */
int parse_memsize(const char *s, uint64_t *bytes);

/* bhyve's calc_topology(), the one place the rule lives.  n[] and given[]
 * are cpus, sockets, cores, threads (each count already 1..255).  Missing
 * cores/threads are 1; missing sockets make the product equal cpus (1 when
 * cpus is missing too); missing cpus is the product.  Fills out[] in the
 * same order, or returns -EINVAL with *why. */
int topology_resolve(const unsigned long n[4], const bool given[4], unsigned out[4],
		     const char **why);

#endif
