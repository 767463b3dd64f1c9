/* khyvesh commands about the connection and the host, printed as virsh
 * prints them (so scripts that parse virsh's text keep working), or as
 * JSON with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khyvesh/khyvesh.h"

static void print_version(const char *what, const char *name, unsigned long v)
{
	printf("%s %s %lu.%lu.%lu\n", what, name, v / 1000000, v / 1000 % 1000, v % 1000);
}

int cmd_version(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	unsigned long v;

	if (!c)
		return KHYVESH_FAIL;
	v = khv_conn_get_version(c);
	if (sh_flag(a, "json")) {
		printf("{\"library\": \"%lu.%lu.%lu\", \"hypervisor\": \"%s\", \"version\": %lu}\n",
		       v / 1000000, v / 1000 % 1000, v % 1000, khv_conn_get_type(c), v);
		return KHYVESH_OK;
	}
	print_version("Compiled against library:", "libkhyve", v);
	print_version("Using library:", "libkhyve", v);
	print_version("Using API:", khv_conn_get_type(c), v);
	print_version("Running hypervisor:", khv_conn_get_type(c), v);
	return KHYVESH_OK;
}

int cmd_uri(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);

	(void)a;
	if (!c)
		return KHYVESH_FAIL;
	printf("%s\n", c->uri);
	return KHYVESH_OK;
}

int cmd_hostname(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	char *name;

	(void)a;
	if (!c)
		return KHYVESH_FAIL;
	if (!(name = khv_conn_get_hostname(c)))
		return sh_error("failed to get hostname: %m");
	printf("%s\n", name);
	free(name);
	return KHYVESH_OK;
}

int cmd_nodeinfo(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	struct khv_node_info ni;

	if (!c)
		return KHYVESH_FAIL;
	if (khv_node_get_info(c, &ni) < 0)
		return sh_error("failed to get node information: %m");
	if (sh_flag(a, "json")) {
		printf("{\"model\": \"%s\", \"cpus\": %u, \"mhz\": %u, \"sockets\": %u, "
		       "\"cores\": %u, \"threads\": %u, \"nodes\": %u, \"memory_kib\": %llu}\n",
		       ni.model, ni.cpus, ni.mhz, ni.sockets, ni.cores, ni.threads, ni.nodes,
		       (unsigned long long)ni.memory_kib);
		return KHYVESH_OK;
	}
	printf("%-20s %s\n", "CPU model:", ni.model);
	printf("%-20s %u\n", "CPU(s):", ni.cpus);
	printf("%-20s %u MHz\n", "CPU frequency:", ni.mhz);
	printf("%-20s %u\n", "CPU socket(s):", ni.sockets);
	printf("%-20s %u\n", "Core(s) per socket:", ni.cores);
	printf("%-20s %u\n", "Thread(s) per core:", ni.threads);
	printf("%-20s %u\n", "NUMA cell(s):", ni.nodes);
	printf("%-20s %llu KiB\n", "Memory size:", (unsigned long long)ni.memory_kib);
	return KHYVESH_OK;
}

static int print_xml(char *xml, const char *what)
{
	if (!xml)
		return sh_error("failed to get %s: out of memory", what);
	fputs(xml, stdout);
	free(xml);
	return KHYVESH_OK;
}

int cmd_capabilities(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);

	(void)a;
	return c ? print_xml(khv_conn_get_capabilities(c), "capabilities") : KHYVESH_FAIL;
}

int cmd_domcapabilities(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	const char *virttype = sh_opt(a, "virttype"), *arch = sh_opt(a, "arch");

	if (!c)
		return KHYVESH_FAIL;
	if (virttype && strcmp(virttype, "kvm"))
		return sh_error("unsupported virttype '%s' (khyve's domains are kvm)", virttype);
	if (arch && strcmp(arch, "x86_64"))
		return sh_error("unsupported arch '%s' (khyve runs x86_64)", arch);
	return print_xml(khv_conn_get_domain_capabilities(c), "domain capabilities");
}

int cmd_cpu_models(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *arch = sh_opt(a, "arch"), *names[16];
	struct khv_conn *c = sh_conn(sh);
	bool usable[16], all = sh_flag(a, "all");
	char err[512] = "";
	int n;

	if (!c)
		return KHYVESH_FAIL;
	if (strcmp(arch, "x86_64"))
		return sh_error("arch '%s': khyve runs x86_64 guests", arch);
	if ((n = khv_conn_get_cpu_models(c, names, usable, 16, err, sizeof(err))) < 0)
		return sh_error("%s", err);
	for (int i = 0; i < n; i++)
		if (all || usable[i])
			printf("%s\n", names[i]);
	printf("\n");
	return KHYVESH_OK;
}
