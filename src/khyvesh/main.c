/* khyvesh: a virsh-style command line over libkhyve.
 *   khyvesh [-c URI] [-q] COMMAND [OPTIONS...]
 * Commands and their options follow virsh's names; every failure prints
 * one "error: ..." line and exits 1. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khyvesh/khyvesh.h"

enum opt_kind {
	O_FLAG,			/* --name */
	O_VALUE,		/* --name VALUE */
	O_POS,			/* --name VALUE, or the next bare word */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	bool required;
	const char *help;
};

#define G_SHELL	"Virsh itself", "virsh"
#define G_HOST	"Host and Hypervisor", "host"
#define G_DOM	"Domain Management", "domain"
#define G_MON	"Domain Monitoring", "monitor"

struct cmd_def {
	const char *name;
	int (*fn)(struct sh_ctx *sh, const struct sh_args *a);
	const char *group, *keyword, *help;
	struct opt_def opts[8];
};

static int cmd_help(struct sh_ctx *sh, const struct sh_args *a);

static const struct cmd_def commands[] = {
	{ "define", cmd_define, G_DOM, "define (but don't start) a domain from an XML file",
	  { { "file", O_POS, true, "file containing an XML domain description ('-': stdin)" } } },
	{ "undefine", cmd_undefine, G_DOM, "undefine a domain",
	  { { "domain", O_POS, true, "domain name" } } },
	{ "dumpxml", cmd_dumpxml, G_DOM, "domain information in XML",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "inactive", O_FLAG, false, "the persistent definition (the only one yet)" } } },
	{ "domuuid", cmd_domuuid, G_DOM, "convert a domain name to domain UUID",
	  { { "domain", O_POS, true, "domain name" } } },
	{ "domid", cmd_domid, G_DOM, "convert a domain name to domain id (its khyve's pid)",
	  { { "domain", O_POS, true, "domain name" } } },
	{ "domxml-from-native", cmd_domxml_from_native, G_DOM,
	  "convert native config to domain XML",
	  { { "format", O_POS, true, "source config data format (bhyve-argv)" },
	    { "config", O_POS, true, "config data file to import from ('-': stdin)" } } },
	{ "domxml-to-native", cmd_domxml_to_native, G_DOM,
	  "convert domain XML to the khyve command line",
	  { { "format", O_POS, true, "target config data type format (bhyve-argv)" },
	    { "domain", O_VALUE, false, "domain name or uuid" },
	    { "xml", O_POS, false, "xml data file to export from" } } },
	{ "start", cmd_start, G_DOM, "start a (previously defined) inactive domain",
	  { { "domain", O_POS, true, "name of the inactive domain" },
	    { "console", O_FLAG, false, "attach to console after creation" } } },
	{ "create", cmd_create, G_DOM, "create a (transient) domain from an XML file",
	  { { "file", O_POS, true, "file containing an XML domain description ('-': stdin)" },
	    { "console", O_FLAG, false, "attach to console after creation" } } },
	{ "console", cmd_console, G_DOM, "connect to the guest console",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "devname", O_VALUE, false, "character device name (serial0..serial3, console0)" } } },
	{ "destroy", cmd_destroy, G_DOM, "destroy (stop) a domain",
	  { { "domain", O_POS, true, "domain name or uuid" } } },
	{ "shutdown", cmd_shutdown, G_DOM, "gracefully shutdown a domain (ACPI power button)",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "mode", O_VALUE, false, "shutdown mode: acpi" } } },
	{ "reboot", cmd_reboot, G_DOM, "reboot a domain (ACPI: the guest shuts down and boots again)",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "mode", O_VALUE, false, "shutdown mode: acpi" } } },
	{ "reset", cmd_reset, G_DOM, "reset a domain (as the reset line, no shutdown)",
	  { { "domain", O_POS, true, "domain name or uuid" } } },
	{ "suspend", cmd_suspend, G_DOM, "suspend (pause) a domain",
	  { { "domain", O_POS, true, "domain name or uuid" } } },
	{ "resume", cmd_resume, G_DOM, "resume a suspended domain",
	  { { "domain", O_POS, true, "domain name or uuid" } } },
	{ "autostart", cmd_autostart, G_DOM, "autostart a domain",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "disable", O_FLAG, false, "disable autostarting" } } },
	{ "inject-nmi", cmd_inject_nmi, G_DOM, "inject NMI to the guest",
	  { { "domain", O_POS, true, "domain name or uuid" } } },
	{ "domtime", cmd_domtime, G_DOM, "domain time (the guest's RTC)",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "now", O_FLAG, false, "set to the time of the host running virsh" },
	    { "pretty", O_FLAG, false, "print domain's time in human readable form" },
	    { "sync", O_FLAG, false, "instead of setting given time, synchronize from domain's RTC" },
	    { "time", O_VALUE, false, "time to set" } } },
	{ "dominfo", cmd_dominfo, G_DOM, "domain information",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "vcpuinfo", cmd_vcpuinfo, G_DOM, "detailed domain vcpu information",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "cpu-stats", cmd_cpu_stats, G_DOM, "show domain cpu statistics (per vCPU and total)",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "total", O_FLAG, false, "print only the total" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "cpu-models", cmd_cpu_models, G_HOST, "CPU models (those this host's KVM can run)",
	  { { "arch", O_POS, true, "architecture (x86_64)" },
	    { "all", O_FLAG, false, "also the models this host cannot run" } } },
	{ "maxvcpus", cmd_maxvcpus, G_HOST, "connection vcpu maximum",
	  { { "type", O_VALUE, false, "domain type (kvm)" } } },
	{ "dommemstat", cmd_dommemstat, G_MON, "get memory statistics for a domain",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "domblkstat", cmd_domblkstat, G_MON, "get device block stats for a domain",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "device", O_POS, false, "block device (target or source); all disks without" },
	    { "human", O_FLAG, false, "print a more human readable output" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "domifstat", cmd_domifstat, G_MON, "get network interface stats for a domain",
	  { { "domain", O_POS, true, "domain name or uuid" },
	    { "interface", O_POS, true, "interface device (tap name or MAC address)" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "domstate", cmd_domstate, G_MON, "domain state",
	  { { "domain", O_POS, true, "domain name" } } },
	{ "list", cmd_list, G_MON, "list domains",
	  { { "all", O_FLAG, false, "list inactive & active domains" },
	    { "inactive", O_FLAG, false, "list inactive domains" },
	    { "name", O_FLAG, false, "list domain names only" },
	    { "autostart", O_FLAG, false, "list domains with autostart enabled" },
	    { "no-autostart", O_FLAG, false, "list domains with autostart disabled" },
	    { "json", O_FLAG, false, "JSON output" } } },
	{ "help", cmd_help, G_SHELL, "print help",
	  { { "command", O_POS, false, "a command, or a group keyword (host)" } } },
	{ "version", cmd_version, G_HOST, "show version",
	  { { "json", O_FLAG, false, "JSON output" } } },
	{ "uri", cmd_uri, G_HOST, "print the hypervisor canonical URI", { { 0 } } },
	{ "hostname", cmd_hostname, G_HOST, "print the hypervisor hostname",
	  { { 0 } } },
	{ "nodeinfo", cmd_nodeinfo, G_HOST, "node information",
	  { { "json", O_FLAG, false, "JSON output" } } },
	{ "capabilities", cmd_capabilities, G_HOST, "capabilities",
	  { { 0 } } },
	{ "domcapabilities", cmd_domcapabilities, G_HOST, "domain capabilities",
	  { { "virttype", O_VALUE, false, "virtualization type (kvm)" },
	    { "emulatorbin", O_VALUE, false, "path to emulator binary (ignored)" },
	    { "arch", O_VALUE, false, "domain architecture (x86_64)" },
	    { "machine", O_VALUE, false, "machine type (ignored)" } } },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int sh_error(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return KHYVESH_FAIL;
}

struct khv_conn *sh_conn(struct sh_ctx *sh)
{
	char err[512] = "";
	int rc;

	if (sh->conn)
		return sh->conn;
	rc = khv_connect(sh->uri, &sh->conn, err, sizeof(err));
	if (rc) {
		sh_error("failed to connect to the hypervisor: %s", err[0] ? err : strerror(-rc));
		sh->conn = NULL;
	}
	return sh->conn;
}

const char *sh_opt(const struct sh_args *a, const char *name)
{
	for (unsigned i = 0; i < a->n; i++)
		if (!strcmp(a->opt[i].name, name))
			return a->opt[i].value;
	return NULL;
}

bool sh_flag(const struct sh_args *a, const char *name)
{
	for (unsigned i = 0; i < a->n; i++)
		if (!strcmp(a->opt[i].name, name))
			return true;
	return false;
}

static const struct cmd_def *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static const struct opt_def *find_opt(const struct cmd_def *c, const char *name, size_t len)
{
	for (const struct opt_def *o = c->opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static int add_opt(struct sh_args *a, const char *cmd, const char *name, const char *value)
{
	if (sh_flag(a, name))
		return sh_error("command '%s': option --%s given twice", cmd, name);
	if (a->n == SH_MAX_OPTS)
		return sh_error("command '%s': too many options", cmd);
	a->opt[a->n].name = name;
	a->opt[a->n].value = value;
	a->n++;
	return 0;
}

/* The next positional option not given yet. */
static const struct opt_def *next_pos(const struct cmd_def *c, const struct sh_args *a)
{
	for (const struct opt_def *o = c->opts; o->name; o++)
		if (o->kind == O_POS && !sh_flag(a, o->name))
			return o;
	return NULL;
}

static int parse_one(const struct cmd_def *c, struct sh_args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i], *eq;
	const struct opt_def *o;

	if (strncmp(arg, "--", 2) || !arg[2]) {
		if (!(o = next_pos(c, a)))
			return sh_error("command '%s': unexpected data '%s'", c->name, arg);
		return add_opt(a, c->name, o->name, arg);
	}
	eq = strchr(arg + 2, '=');
	o = find_opt(c, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
	if (!o)
		return sh_error("command '%s' doesn't support option %.*s", c->name,
				eq ? (int)(eq - arg) : (int)strlen(arg), arg);
	if (o->kind == O_FLAG) {
		if (eq)
			return sh_error("command '%s': option --%s takes no value", c->name, o->name);
		return add_opt(a, c->name, o->name, NULL);
	}
	if (eq)
		return add_opt(a, c->name, o->name, eq + 1);
	if (*i + 1 >= argc)
		return sh_error("command '%s': expected syntax: --%s <string>", c->name, o->name);
	return add_opt(a, c->name, o->name, argv[++*i]);
}

static int parse_args(const struct cmd_def *c, struct sh_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++)
		if (parse_one(c, a, argc, argv, &i))
			return KHYVESH_FAIL;
	for (const struct opt_def *o = c->opts; o->name; o++)
		if (o->required && !sh_flag(a, o->name))
			return sh_error("command '%s' requires <%s> option", c->name, o->name);
	return 0;
}

static void usage_of(const struct cmd_def *c)
{
	printf("  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", c->name, c->help, c->name);
	for (const struct opt_def *o = c->opts; o->name; o++)
		printf(o->required ? " <%s>" : o->kind == O_FLAG ? " [--%s]" : " [--%s <string>]",
		       o->name);
	printf("\n");
	if (c->opts[0].name) {
		printf("\n  OPTIONS\n");
		for (const struct opt_def *o = c->opts; o->name; o++)
			printf("    --%-20s %s\n", o->name, o->help);
	}
}

static size_t first_of_group(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(commands[j].keyword, commands[i].keyword))
			return j;
	return i;
}

static int cmd_help(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *name = sh_opt(a, "command"), *group = NULL;
	const struct cmd_def *c;

	(void)sh;
	if (name && (c = find_cmd(name))) {
		usage_of(c);
		return KHYVESH_OK;
	}
	for (size_t i = 0; name && i <= NCOMMANDS; i++)
		if (i == NCOMMANDS)
			return sh_error("command or command group '%s' doesn't exist", name);
		else if (!strcmp(commands[i].keyword, name))
			break;
	/* Each group once, where its first command stands in the table. */
	for (size_t g = 0, shown = 0; g < NCOMMANDS; g++) {
		group = commands[g].keyword;
		if (first_of_group(g) != g || (name && strcmp(group, name)))
			continue;
		printf("%s %s (help keyword '%s'):\n", shown++ ? "\n" : "", commands[g].group, group);
		for (size_t i = g; i < NCOMMANDS; i++)
			if (!strcmp(commands[i].keyword, group))
				printf("    %-20s %s\n", commands[i].name, commands[i].help);
	}
	return KHYVESH_OK;
}

static void usage(FILE *f)
{
	fputs("Usage: khyvesh [-c URI] [-h] [-v] COMMAND [ARG]...\n"
	      "  -c, --connect=URI   khyve:///system (root) or khyve:///session\n"
	      "  -h, --help          this help\n"
	      "  -v, --version       the version\n"
	      "Commands: khyvesh help; one command: khyvesh help COMMAND\n", f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct sh_ctx sh = { 0 };
	const struct cmd_def *c;
	struct sh_args a;
	int o, rc;

	/* "+": options after the command belong to the command. */
	while ((o = getopt_long(argc, argv, "+c:hv", longopts, NULL)) != -1) {
		switch (o) {
		case 'c': sh.uri = optarg; break;
		case 'h': usage(stdout); return KHYVESH_OK;
		case 'v': printf("%d.%d.%d\n", KHV_VERSION_MAJOR, KHV_VERSION_MINOR,
				 KHV_VERSION_MICRO); return KHYVESH_OK;
		default: usage(stderr); return KHYVESH_FAIL;
		}
	}
	/* virsh would start its interactive shell; khyvesh has none yet. */
	if (optind >= argc)
		return sh_error("no command given (khyvesh help lists them; there is no "
				"interactive shell yet)");
	if (!(c = find_cmd(argv[optind])))
		return sh_error("unknown command: '%s'", argv[optind]);
	if (parse_args(c, &a, argc - optind - 1, argv + optind + 1))
		return KHYVESH_FAIL;
	rc = c->fn(&sh, &a);
	khv_conn_close(sh.conn);
	if (fflush(stdout) != 0)
		return sh_error("writing the output: %s", strerror(errno));
	return rc;
}
