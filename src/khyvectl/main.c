/* khyvectl(8): bhyvectl(8) for khyve.  Creates and destroys named VMs in
 * the run directory (src/vmmctl) and controls a running one over its
 * control socket (src/ipc): getters, setters, NMI, pause, reset, poweroff,
 * checkpoint.  Several actions in one invocation run in a fixed order
 * (see run_socket_actions()); the first failure stops the rest.
 * Exit status: 0 success, 1 failure, 2 bad command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipc/client.h"
#include "ipc/ipc.h"
#include "khyvectl/khyvectl.h"
#include "lib/log.h"
#include "vmmctl/vmmctl.h"

#define MAX_SETS	64		/* --set-<reg> options in one invocation */

enum opt_id {
	OPT_HELP = 'h',
	OPT_VM = 256, OPT_RUNDIR, OPT_JSON, OPT_LIST, OPT_TIMEOUT, OPT_CPU,
	OPT_CREATE, OPT_DESTROY, OPT_FORCE_RESET, OPT_FORCE_POWEROFF, OPT_ACPI_SHUTDOWN,
	OPT_INJECT_NMI, OPT_GET_STATS, OPT_GET_VM_PID, OPT_PAUSE, OPT_RESUME,
	OPT_GET_RTC, OPT_SET_RTC, OPT_GET_ALL, OPT_READ_MEM, OPT_CHECKPOINT, OPT_SUSPEND,
	OPT_FORCE,
	OPT_GET_REG = 1024,		/* + enum ipc_reg */
	OPT_SET_REG = 2048,		/* + enum ipc_reg */
};

static const struct option fixed_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "vm", required_argument, NULL, OPT_VM },
	{ "rundir", required_argument, NULL, OPT_RUNDIR },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "create", no_argument, NULL, OPT_CREATE },
	{ "destroy", no_argument, NULL, OPT_DESTROY },
	{ "force-reset", no_argument, NULL, OPT_FORCE_RESET },
	{ "force-poweroff", no_argument, NULL, OPT_FORCE_POWEROFF },
	{ "acpi-shutdown", no_argument, NULL, OPT_ACPI_SHUTDOWN },
	{ "inject-nmi", no_argument, NULL, OPT_INJECT_NMI },
	{ "get-stats", no_argument, NULL, OPT_GET_STATS },
	{ "get-vm-pid", no_argument, NULL, OPT_GET_VM_PID },
	{ "pause", no_argument, NULL, OPT_PAUSE },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "get-rtc-time", no_argument, NULL, OPT_GET_RTC },
	{ "set-rtc-time", required_argument, NULL, OPT_SET_RTC },
	{ "get-all", no_argument, NULL, OPT_GET_ALL },
	{ "read-mem", required_argument, NULL, OPT_READ_MEM },
	{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
	{ "suspend", required_argument, NULL, OPT_SUSPEND },
	{ "force", no_argument, NULL, OPT_FORCE },
};

/* bhyvectl's names for the registers khyve spells differently: its
 * --get-desc-X prints a segment's base (with limit and access rights,
 * which the protocol does not carry). */
static const struct {
	const char *name;
	enum ipc_reg reg;
} reg_aliases[] = {
	{ "desc-fs", IPC_REG_FS_BASE }, { "desc-gs", IPC_REG_GS_BASE },
	{ "desc-gdtr", IPC_REG_GDTR_BASE }, { "desc-idtr", IPC_REG_IDTR_BASE },
};

#define NFIXED	(sizeof(fixed_opts) / sizeof(fixed_opts[0]))
#define NALIAS	(sizeof(reg_aliases) / sizeof(reg_aliases[0]))
/* Per register: get/set with its name, get/set with '-' for '_'. */
#define NOPTS	(NFIXED + 4 * IPC_REG_END + NALIAS + 1)

static struct option all_opts[NOPTS];
static char reg_opt_names[4 * IPC_REG_END + NALIAS][32];

/* What one invocation asks for. */
struct cmd {
	const char *vm, *rundir;
	bool json, list, create, destroy, force_reset, force_poweroff, acpi_shutdown;
	bool inject_nmi, get_stats, get_vm_pid, pause, resume, get_rtc, set_rtc, read_mem;
	bool force, cpu_given, timeout_given;
	bool get_reg[IPC_REG_END];
	struct {
		enum ipc_reg reg;
		uint64_t value;
	} set[MAX_SETS];
	unsigned nset;
	uint32_t cpu, mem_len;
	uint64_t gpa;
	int64_t rtc;
	int timeout_ms;
	const char *ckpt_file;		/* --checkpoint / --suspend */
	bool suspend;
	char ckpt_dir[PATH_MAX], ckpt_base[IPC_FILE_NAME];
};

static void build_options(void)
{
	unsigned n = 0, k = 0;

	memcpy(all_opts, fixed_opts, sizeof(fixed_opts));
	n = NFIXED;
	for (int r = 0; r < IPC_REG_END; r++) {
		const char *name = ipc_reg_name((enum ipc_reg)r);
		bool underscore = strchr(name, '_') != NULL;

		for (int dash = 0; dash <= (underscore ? 1 : 0); dash++)
			for (int set = 0; set <= 1; set++) {
				char *o = reg_opt_names[k++];

				snprintf(o, sizeof(reg_opt_names[0]), "%s-%s", set ? "set" : "get", name);
				if (dash)
					for (char *p = o; *p; p++)
						if (*p == '_')
							*p = '-';
				all_opts[n++] = (struct option){ o, set ? required_argument : no_argument,
								 NULL, (set ? OPT_SET_REG : OPT_GET_REG) + r };
			}
	}
	for (unsigned i = 0; i < NALIAS; i++) {
		char *o = reg_opt_names[k++];

		snprintf(o, sizeof(reg_opt_names[0]), "get-%s", reg_aliases[i].name);
		all_opts[n++] = (struct option){ o, no_argument, NULL,
						 OPT_GET_REG + (int)reg_aliases[i].reg };
	}
	all_opts[n] = (struct option){ 0 };
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: khyvectl --vm=NAME [--rundir=DIR] [--json] [--timeout=SECONDS] ACTION...\n"
"       khyvectl --list [--rundir=DIR] [--json] [--timeout=SECONDS]\n"
"Registry:   --create  --destroy\n"
"Lifecycle:  --pause  --resume  --acpi-shutdown  --force-reset  --force-poweroff\n"
"            --checkpoint=FILE  --suspend=FILE  [--force]\n"
"Queries:    --get-vm-pid  --get-stats  --get-rtc-time  --get-all [--cpu=N]\n"
"            --read-mem=GPA[,LEN]   (LEN 1 to %d, default 16)\n"
"Setting:    --set-rtc-time=SECONDS  --inject-nmi [--cpu=N]\n"
"Registers:  --get-REG / --set-REG=VALUE [--cpu=N], REG one of:\n"
"           ", IPC_MAX_MEM_READ);
	for (int r = 0, col = 11; r < IPC_REG_END; r++) {
		const char *name = ipc_reg_name((enum ipc_reg)r);

		if (col + strlen(name) + 1 > 78) {
			fputs("\n           ", f);
			col = 11;
		}
		col += fprintf(f, " %s", name);
	}
	fprintf(f, "\n"
"            (also fs-base ...; bhyvectl's --get-desc-fs/gs/gdtr/idtr)\n"
"Values are decimal or 0x hex.  Without --rundir: root's /run/khyve, else\n"
"$XDG_RUNTIME_DIR/khyve.  Exit status: 0 ok, 1 failure, 2 bad usage.\n"
"See khyvectl(8).\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verror(fmt, ap);
	va_end(ap);
	return KHYVECTL_EXIT_USAGE;
}

/* ---- values: decimal or 0x hex ---- */

static bool parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	*out = v;
	return true;
}

static bool parse_s64(const char *s, int64_t *out)
{
	bool neg = s[0] == '-';
	uint64_t v;

	if (!parse_u64(s + neg, &v) || v > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static int bad_value(const char *opt, const char *arg, const char *want)
{
	return usage_error("--%s=%s: %s", opt, arg, want);
}

/* --checkpoint=FILE / --suspend=FILE: the directory and the base name. */
static int split_file(struct cmd *c, const char *opt, const char *file)
{
	const char *slash = strrchr(file, '/'), *base = slash ? slash + 1 : file;
	size_t dlen = slash ? (size_t)(slash - file) : 0;

	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return bad_value(opt, file, "want a file name, not a directory");
	if (strlen(base) >= IPC_FILE_NAME)
		return bad_value(opt, file, "the file name is too long");
	if (dlen >= sizeof(c->ckpt_dir))
		return bad_value(opt, file, "the directory name is too long");
	if (!slash)
		snprintf(c->ckpt_dir, sizeof(c->ckpt_dir), ".");
	else if (dlen == 0)
		snprintf(c->ckpt_dir, sizeof(c->ckpt_dir), "/");
	else
		snprintf(c->ckpt_dir, sizeof(c->ckpt_dir), "%.*s", (int)dlen, file);
	snprintf(c->ckpt_base, sizeof(c->ckpt_base), "%s", base);
	c->ckpt_file = file;
	return 0;
}

static int parse_read_mem(struct cmd *c, const char *arg)
{
	char gpa[64];
	const char *comma = strchr(arg, ',');
	size_t glen = comma ? (size_t)(comma - arg) : strlen(arg);
	uint64_t len = 16;

	if (glen >= sizeof(gpa))
		return bad_value("read-mem", arg, "want GPA[,LEN], decimal or 0x hex");
	memcpy(gpa, arg, glen);
	gpa[glen] = '\0';
	if (!parse_u64(gpa, &c->gpa) || (comma && !parse_u64(comma + 1, &len)))
		return bad_value("read-mem", arg, "want GPA[,LEN], decimal or 0x hex");
	if (len == 0 || len > IPC_MAX_MEM_READ) {
		usage_error("--read-mem=%s: LEN must be 1 to %d bytes", arg, IPC_MAX_MEM_READ);
		return KHYVECTL_EXIT_USAGE;
	}
	if (len - 1 > UINT64_MAX - c->gpa)
		return bad_value("read-mem", arg, "GPA+LEN is past the end of the address space");
	c->mem_len = (uint32_t)len;
	c->read_mem = true;
	return 0;
}

static int parse_option(struct cmd *c, int id, const char *arg)
{
	uint64_t v;

	if (id >= OPT_SET_REG && id < OPT_SET_REG + IPC_REG_END) {
		enum ipc_reg r = (enum ipc_reg)(id - OPT_SET_REG);
		char opt[40];

		snprintf(opt, sizeof(opt), "set-%s", ipc_reg_name(r));
		if (!parse_u64(arg, &v))
			return bad_value(opt, arg, "not a number (decimal or 0x hex)");
		if (r >= IPC_REG_CS && r <= IPC_REG_LDTR && v > 0xffff)
			return bad_value(opt, arg, "a segment selector is 16 bits");
		if (c->nset == MAX_SETS)
			return usage_error("more than %d register settings", MAX_SETS);
		c->set[c->nset].reg = r;
		c->set[c->nset++].value = v;
		return 0;
	}
	if (id >= OPT_GET_REG && id < OPT_GET_REG + IPC_REG_END) {
		c->get_reg[id - OPT_GET_REG] = true;
		return 0;
	}
	switch (id) {
	case OPT_VM: c->vm = arg; break;
	case OPT_RUNDIR:
		if (!*arg)
			return bad_value("rundir", arg, "want a directory");
		c->rundir = arg;
		break;
	case OPT_JSON: c->json = true; break;
	case OPT_LIST: c->list = true; break;
	case OPT_TIMEOUT:
		if (!parse_u64(arg, &v) || v == 0 || v > 3600)
			return bad_value("timeout", arg, "want seconds, 1 to 3600");
		c->timeout_ms = (int)v * 1000;
		c->timeout_given = true;
		break;
	case OPT_CPU:
		if (!parse_u64(arg, &v) || v > UINT32_MAX)
			return bad_value("cpu", arg, "want a vCPU number (decimal or 0x hex)");
		c->cpu = (uint32_t)v;
		c->cpu_given = true;
		break;
	case OPT_CREATE: c->create = true; break;
	case OPT_DESTROY: c->destroy = true; break;
	case OPT_FORCE_RESET: c->force_reset = true; break;
	case OPT_FORCE_POWEROFF: c->force_poweroff = true; break;
	case OPT_ACPI_SHUTDOWN: c->acpi_shutdown = true; break;
	case OPT_INJECT_NMI: c->inject_nmi = true; break;
	case OPT_GET_STATS: c->get_stats = true; break;
	case OPT_GET_VM_PID: c->get_vm_pid = true; break;
	case OPT_PAUSE: c->pause = true; break;
	case OPT_RESUME: c->resume = true; break;
	case OPT_GET_RTC: c->get_rtc = true; break;
	case OPT_SET_RTC:
		if (!parse_s64(arg, &c->rtc))
			return bad_value("set-rtc-time", arg,
					 "want seconds since the epoch (decimal or 0x hex)");
		c->set_rtc = true;
		break;
	case OPT_GET_ALL:
		for (int r = 0; r < IPC_REG_END; r++)
			c->get_reg[r] = true;
		break;
	case OPT_READ_MEM: return parse_read_mem(c, arg);
	case OPT_CHECKPOINT:
	case OPT_SUSPEND:
		if (c->ckpt_file)
			return usage_error("give one --checkpoint or --suspend");
		c->suspend = id == OPT_SUSPEND;
		return split_file(c, id == OPT_SUSPEND ? "suspend" : "checkpoint", arg);
	case OPT_FORCE: c->force = true; break;
	default:
		return KHYVECTL_EXIT_USAGE;
	}
	return 0;
}

static bool any_get_reg(const struct cmd *c)
{
	for (int r = 0; r < IPC_REG_END; r++)
		if (c->get_reg[r])
			return true;
	return false;
}

/* Actions that need the VM's control socket. */
static bool needs_socket(const struct cmd *c)
{
	return c->force_reset || c->force_poweroff || c->acpi_shutdown || c->inject_nmi ||
	       c->get_stats || c->get_vm_pid || c->pause || c->resume || c->get_rtc ||
	       c->set_rtc || c->read_mem || c->ckpt_file || c->nset || any_get_reg(c);
}

static int check_combination(const struct cmd *c)
{
	int ends = c->force_reset + c->force_poweroff + c->acpi_shutdown + c->destroy +
		   (c->ckpt_file && c->suspend);

	if (c->list) {
		if (c->vm || c->create || c->destroy || needs_socket(c))
			return usage_error("--list takes no --vm and no other action");
		return 0;
	}
	if (!c->vm)
		return usage_error("--vm=NAME is required (khyvectl --help lists the options)");
	if (ends > 1)
		return usage_error("give at most one of --acpi-shutdown, --force-reset, "
				   "--force-poweroff, --suspend and --destroy");
	if (c->force && !c->ckpt_file)
		return usage_error("--force goes with --checkpoint or --suspend");
	return 0;
}

static int parse_args(struct cmd *c, int argc, char *argv[])
{
	int id, rc;

	build_options();
	opterr = 0;
	optind = 1;
	while ((id = getopt_long(argc, argv, ":h", all_opts, NULL)) != -1) {
		const char *bad = argv[optind - 1];

		switch (id) {
		case OPT_HELP:
			usage(stdout);
			exit(fflush(stdout) ? KHYVECTL_EXIT_FAIL : KHYVECTL_EXIT_OK);
		case ':':
			return usage_error("%s needs a value (%s=VALUE)", bad, bad);
		case '?':
			/* optopt: 0 for an unknown long option, the option's id
			 * for a long one given a value it does not take (-h is
			 * the only valid short one: '?' for it is --help=x). */
			if (optopt > 0 && optopt < 256 && optopt != OPT_HELP)
				return usage_error("unknown option -%c (khyvectl --help lists them)",
						   optopt);
			if (optopt)
				return usage_error("%s: this option takes no value", bad);
			return usage_error("unknown or ambiguous option %s (khyvectl --help lists "
					   "them)", bad);
		default:
			rc = parse_option(c, id, optarg);
			if (rc)
				return rc;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\" (options are --name=value)",
				   argv[optind]);
	return check_combination(c);
}

/* ---- actions on a running VM ---- */

struct run {
	const struct cmd *cmd;
	struct ipc_client *cl;
	FILE *json;			/* the members of the --json object */
	bool json_any;
	bool refused;			/* the VM answered the last failure */
};

/* A request and its successful reply, or one line on stderr and -1. */
static int call(struct run *r, const char *what, struct ipc_request *q, struct ipc_reply *rep)
{
	char why[IPC_MAX_TEXT];
	int rc = ipc_client_call(r->cl, q, rep);

	r->refused = false;
	if (rc) {
		log_error("%s: %s", what, ipc_client_strerror(rc, ipc_client_timeout_ms(r->cl), why,
							     sizeof(why)));
		return -1;
	}
	if (rep->status) {
		r->refused = true;
		log_error("%s: %s", what, rep->text[0] ? out_clean(rep->text, why, sizeof(why)) :
			  strerror(rep->status));
		return -1;
	}
	return 0;
}

static int simple(struct run *r, const char *what, enum ipc_type type)
{
	struct ipc_request q = { .type = type, .fd = -1 };
	struct ipc_reply rep;

	return call(r, what, &q, &rep);
}

/* A member of the --json object, after "vm". */
static FILE *member(struct run *r, const char *key)
{
	r->json_any = true;
	fprintf(r->json, ",\"%s\":", key);
	return r->json;
}

static int set_registers(struct run *r)
{
	const struct cmd *c = r->cmd;

	for (unsigned i = 0; i < c->nset; i++) {
		struct ipc_request q = { .type = IPC_SET_REG, .cpu = c->cpu, .reg = c->set[i].reg,
					 .value = c->set[i].value, .fd = -1 };
		struct ipc_reply rep;
		char what[40];

		snprintf(what, sizeof(what), "set-%s", ipc_reg_name(c->set[i].reg));
		if (call(r, what, &q, &rep))
			return -1;
	}
	return 0;
}

static int get_registers(struct run *r)
{
	const struct cmd *c = r->cmd;
	bool first = true;

	for (int reg = 0; reg < IPC_REG_END; reg++) {
		struct ipc_request q = { .type = IPC_GET_REG, .cpu = c->cpu, .reg = (uint32_t)reg,
					 .fd = -1 };
		const char *name = ipc_reg_name((enum ipc_reg)reg);
		struct ipc_reply rep;
		char what[40];

		if (!c->get_reg[reg])
			continue;
		snprintf(what, sizeof(what), "get-%s", name);
		if (call(r, what, &q, &rep))
			return -1;
		if (r->json) {
			if (first) {
				fprintf(member(r, "cpu"), "%" PRIu32, c->cpu);
				member(r, "registers");
				fputc('{', r->json);
			}
			fprintf(r->json, "%s\"%s\":%" PRIu64, first ? "" : ",", name, rep.value);
		} else if (reg >= IPC_REG_CS && reg <= IPC_REG_LDTR) {
			printf("%s[%" PRIu32 "]\t\t0x%04" PRIx64 "\n", name, c->cpu, rep.value);
		} else {
			printf("%s[%" PRIu32 "]\t\t0x%016" PRIx64 "\n", name, c->cpu, rep.value);
		}
		first = false;
	}
	if (r->json && !first)
		fputc('}', r->json);
	return 0;
}

/* "vcpuN." names belong to vCPU N: --cpu shows only its own. */
static bool other_vcpu(const char *name, uint32_t cpu)
{
	char *end;
	unsigned long n;

	if (strncmp(name, "vcpu", 4) || name[4] < '0' || name[4] > '9')
		return false;
	n = strtoul(name + 4, &end, 10);
	return *end == '.' && n != cpu;
}

static int get_stats(struct run *r)
{
	struct ipc_request q = { .type = IPC_GET_STATS, .fd = -1 };
	struct ipc_reply rep;
	bool first = true;

	if (call(r, "get-stats", &q, &rep))
		return -1;
	if (r->json) {
		member(r, "stats");
		fputc('{', r->json);
	}
	for (unsigned i = 0; i < rep.nstats; i++) {
		char name[IPC_STAT_NAME];

		if (r->cmd->cpu_given && other_vcpu(rep.stats[i].name, r->cmd->cpu))
			continue;
		if (r->json) {
			fputs(first ? "" : ",", r->json);
			out_json_string(r->json, rep.stats[i].name);
			fprintf(r->json, ":%" PRIu64, rep.stats[i].value);
		} else {
			/* One word per name, whatever the VM sent. */
			out_clean(rep.stats[i].name, name, sizeof(name));
			for (char *p = name; *p; p++)
				if (*p == ' ')
					*p = '_';
			printf("%-40s\t%" PRIu64 "\n", name, rep.stats[i].value);
		}
		first = false;
	}
	if (r->json)
		fputc('}', r->json);
	return 0;
}

static int get_vm_pid(struct run *r)
{
	struct ipc_request q = { .type = IPC_GET_VM_PID, .fd = -1 };
	struct ipc_reply rep;

	if (call(r, "get-vm-pid", &q, &rep))
		return -1;
	if (r->json) {
		fprintf(member(r, "pid"), "%" PRIu32, rep.pid);
		if (rep.monitor_pid)
			fprintf(member(r, "monitor_pid"), "%" PRIu32, rep.monitor_pid);
		else
			fputs("null", member(r, "monitor_pid"));
	} else {
		printf("%" PRIu32 "\n", rep.pid);
	}
	return 0;
}

static int get_rtc(struct run *r)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct ipc_request q = { .type = IPC_GET_RTC, .fd = -1 };
	struct ipc_reply rep;
	time_t t;
	struct tm tm;

	if (call(r, "get-rtc-time", &q, &rep))
		return -1;
	if (r->json) {
		fprintf(member(r, "rtc_time"), "%" PRId64, rep.seconds);
		return 0;
	}
	t = (time_t)rep.seconds;
	/* bhyvectl's line: the seconds, then the UTC date. */
	if (gmtime_r(&t, &tm) && tm.tm_wday >= 0 && tm.tm_wday < 7 && tm.tm_mon >= 0 &&
	    tm.tm_mon < 12)
		printf("rtc time %#" PRIx64 ": %s %s %02d %02d:%02d:%02d %lld\n",
		       (uint64_t)rep.seconds, wday[tm.tm_wday], mon[tm.tm_mon], tm.tm_mday,
		       tm.tm_hour, tm.tm_min, tm.tm_sec, 1900LL + tm.tm_year);
	else
		printf("rtc time %#" PRIx64 "\n", (uint64_t)rep.seconds);
	return 0;
}

static int set_rtc(struct run *r)
{
	struct ipc_request q = { .type = IPC_SET_RTC, .seconds = r->cmd->rtc, .fd = -1 };
	struct ipc_reply rep;

	return call(r, "set-rtc-time", &q, &rep);
}

static int read_mem(struct run *r)
{
	const struct cmd *c = r->cmd;
	struct ipc_request q = { .type = IPC_READ_MEM, .gpa = c->gpa, .len = c->mem_len, .fd = -1 };
	struct ipc_reply rep;

	if (call(r, "read-mem", &q, &rep))
		return -1;
	if (rep.len != c->mem_len) {
		log_error("read-mem: malformed reply: %" PRIu32 " bytes for %" PRIu32 " asked",
			  rep.len, c->mem_len);
		return -1;
	}
	if (r->json) {
		fprintf(member(r, "memory"), "{\"gpa\":%" PRIu64 ",\"length\":%" PRIu32 ",\"data\":\"",
			c->gpa, rep.len);
		for (uint32_t i = 0; i < rep.len; i++)
			fprintf(r->json, "%02x", rep.data[i]);
		fputs("\"}", r->json);
	} else {
		out_hexdump(stdout, c->gpa, rep.data, rep.len);
	}
	return 0;
}

static int inject_nmi(struct run *r)
{
	struct ipc_request q = { .type = IPC_INJECT_NMI, .cpu = r->cmd->cpu, .fd = -1 };
	struct ipc_reply rep;

	return call(r, "inject-nmi", &q, &rep);
}

/* The VM process cannot open paths itself: it gets the directory. */
static int checkpoint(struct run *r)
{
	const struct cmd *c = r->cmd;
	const char *what = c->suspend ? "suspend" : "checkpoint";
	struct ipc_request q = { .type = IPC_CHECKPOINT, .fd = -1 };
	struct ipc_reply rep;
	int rc;

	q.flags = (c->suspend ? IPC_CHECKPOINT_SUSPEND : 0) | (c->force ? IPC_CHECKPOINT_FORCE : 0);
	snprintf(q.file, sizeof(q.file), "%s", c->ckpt_base);
	q.fd = open(c->ckpt_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q.fd < 0) {
		log_error("%s: %s: %s", what, c->ckpt_dir, strerror(errno));
		return -1;
	}
	rc = call(r, what, &q, &rep);
	close(q.fd);
	return rc;
}

static int before_resume(struct run *r)
{
	const struct cmd *c = r->cmd;

	if (c->set_rtc && set_rtc(r))
		return -1;
	if (set_registers(r))
		return -1;
	if (c->get_vm_pid && get_vm_pid(r))
		return -1;
	if (c->get_rtc && get_rtc(r))
		return -1;
	if (get_registers(r))
		return -1;
	if (c->get_stats && get_stats(r))
		return -1;
	if (c->read_mem && read_mem(r))
		return -1;
	if (c->inject_nmi && inject_nmi(r))
		return -1;
	if (c->ckpt_file && !c->suspend && checkpoint(r))
		return -1;
	return 0;
}

/* In bhyvectl's spirit: change first, then look, then act; what ends
 * the VM comes last.  The first failure stops the rest, except that a
 * --resume still runs when the VM refused an earlier step (a VM that
 * does not answer is not waited for twice). */
static int run_socket_actions(struct run *r)
{
	const struct cmd *c = r->cmd;

	if (c->pause && simple(r, "pause", IPC_PAUSE))
		return -1;
	if (before_resume(r)) {
		if (c->resume && r->refused)
			simple(r, "resume", IPC_RESUME);
		return -1;
	}
	if (c->resume && simple(r, "resume", IPC_RESUME))
		return -1;
	if (c->acpi_shutdown && simple(r, "acpi-shutdown", IPC_ACPI_SHUTDOWN))
		return -1;
	if (c->force_reset && simple(r, "force-reset", IPC_FORCE_RESET))
		return -1;
	if (c->force_poweroff && simple(r, "force-poweroff", IPC_FORCE_POWEROFF))
		return -1;
	if (c->ckpt_file && c->suspend && checkpoint(r))
		return -1;
	return 0;
}

/* Connects and runs the socket actions; prints the --json object. */
static int control(const struct cmd *c, const char *sock)
{
	struct run r = { .cmd = c };
	char *json = NULL, why[128];
	size_t json_len = 0;
	int rc = ipc_client_connect(sock, c->timeout_ms, &r.cl);

	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		log_error("is not running");
		return -1;
	}
	if (rc == -ETIMEDOUT) {
		log_error("control socket %s: the VM does not accept connections", sock);
		return -1;
	}
	if (rc) {
		log_error("control socket %s: %s", sock,
			  ipc_client_strerror(rc, c->timeout_ms, why, sizeof(why)));
		return -1;
	}
	if (c->json) {
		r.json = open_memstream(&json, &json_len);
		if (!r.json) {
			log_error("%s", strerror(errno));
			ipc_client_close(r.cl);
			return -1;
		}
		fputs("\"vm\":", r.json);
		out_json_string(r.json, c->vm);
	}
	rc = run_socket_actions(&r);
	ipc_client_close(r.cl);
	if (r.json) {
		fclose(r.json);
		if (!rc && r.json_any)
			printf("{%s}\n", json);
		free(json);
	}
	return rc;
}

/* ---- the registry ---- */

static int create_vm(struct vmmctl *ctl, const struct cmd *c)
{
	struct vmmctl_vm_create req = { .flags = 0 };
	int rc;

	snprintf(req.name, sizeof(req.name), "%s", c->vm);
	rc = vmmctl_create(ctl, &req);
	switch (rc) {
	case 0:
		return 0;
	case -EPERM:
		log_error("create: only root can create a persistent VM; an unprivileged user "
			  "runs VMs with khyve -M");
		break;
	case -EEXIST:
		log_error("create: a VM of this name already exists in %s", vmmctl_dir(ctl));
		break;
	case -ENOMEM:
		log_error("create: you already have the most VMs allowed in %s", vmmctl_dir(ctl));
		break;
	default:
		log_error("create: %s", strerror(-rc));
		break;
	}
	return -1;
}

static int destroy_vm(struct vmmctl *ctl, const struct cmd *c)
{
	struct vmmctl_vm_destroy req = { 0 };
	int rc;

	snprintf(req.name, sizeof(req.name), "%s", c->vm);
	rc = vmmctl_destroy(ctl, &req);
	switch (rc) {
	case 0:
		return 0;
	case -EINVAL:
		log_error("no such VM in %s", vmmctl_dir(ctl));
		break;
	case -EPERM:
		log_error("destroy: only its creator or root may destroy this VM");
		break;
	case -EAGAIN:
	case -ETIMEDOUT:
		log_error("destroy: the VM did not answer within %d s", 5);
		break;
	default:
		log_error("destroy: %s", strerror(-rc));
		break;
	}
	return -1;
}

static int run_vm(const struct cmd *c, const char *rundir)
{
	char err[512] = "", sock[PATH_MAX];
	struct vmmctl *ctl = NULL;
	struct vmmctl_entry e;
	struct stat st;
	int rc;

	/* Only --create makes the run directory; a query leaves no trace. */
	if (!c->create && stat(rundir, &st) < 0 && errno == ENOENT) {
		log_error("no such VM in %s", rundir);
		return KHYVECTL_EXIT_FAIL;
	}
	rc = vmmctl_open(rundir, 0, &ctl, err, sizeof(err));
	if (rc) {
		log_error("%s", err[0] ? err : strerror(-rc));
		return KHYVECTL_EXIT_FAIL;
	}
	rc = c->create ? create_vm(ctl, c) : 0;
	if (!rc && vmmctl_lookup(ctl, c->vm, &e)) {
		log_error("no such VM in %s", rundir);
		rc = -1;
	}
	if (!rc && needs_socket(c)) {
		if (!e.running) {
			log_error("is not running");
			rc = -1;
		} else if (vmmctl_socket_path(ctl, c->vm, sock, sizeof(sock))) {
			log_error("the control socket path is too long");
			rc = -1;
		} else {
			rc = control(c, sock);
		}
	}
	if (!rc && c->destroy)
		rc = destroy_vm(ctl, c);
	vmmctl_close(ctl);
	return rc ? KHYVECTL_EXIT_FAIL : KHYVECTL_EXIT_OK;
}

int main(int argc, char *argv[])
{
	static struct cmd c;
	char dirbuf[PATH_MAX], err[256];
	const char *rundir;
	int rc;

	log_set_prog("khyvectl");
	rc = parse_args(&c, argc, argv);
	if (rc)
		return rc;
	rundir = c.rundir ? c.rundir : vmmctl_rundir(NULL, dirbuf, sizeof(dirbuf));
	if (!rundir) {
		log_error("the run directory path is too long");
		return KHYVECTL_EXIT_FAIL;
	}
	if (c.list) {
		rc = khyvectl_list(rundir, c.json,
				   c.timeout_given ? c.timeout_ms : KHYVECTL_LIST_TIMEOUT_MS);
	} else {
		if (vmmctl_name_check(c.vm, vmmctl_name_max(rundir), err, sizeof(err)))
			return usage_error("%s", err);
		log_set_vm(c.vm);
		if (!c.timeout_given)
			c.timeout_ms = IPC_CLIENT_TIMEOUT_MS;
		rc = run_vm(&c, rundir);
	}
	if (fflush(stdout) || ferror(stdout)) {
		log_set_vm(NULL);
		log_error("writing the output: %s", strerror(errno ? errno : EIO));
		rc = KHYVECTL_EXIT_FAIL;
	}
	return rc;
}
