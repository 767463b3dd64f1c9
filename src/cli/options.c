/* bhyve(8)'s command line (amd64, FreeBSD 15), turned into bhyve_config(5)
 * variables exactly as bhyve_optparse() does.  What bhyve only checks when
 * it builds the VM, khyve checks here too where it can, so a typo fails
 * before /dev/kvm is touched; the machine checks the variables again
 * because -o and -k can set them without passing through here. */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/pci.h"
#include "lib/config.h"
#include "lib/log.h"
#include "vmmctl/vmmctl.h"
#include "machine/uuid.h"

#define MIB		(1024ULL * 1024)

/* bhyve's optstring, with -r always present so it can be refused clearly;
 * the leading ':' makes getopt report a missing argument as ':'. */
static const char optstring[] = ":aehuwxACDHIMPSWYk:f:o:p:G:c:s:m:n:l:K:U:r:";

static const char usage_text[] =
	"Usage: khyve [-aACDeHhIMPSuWwxY] [-c [[cpus=]n][,sockets=n][,cores=n][,threads=n]]\n"
	"             [-k config_file] [-l lpcdev[,conf]] [-m memsize[K|M|G|T]]\n"
	"             [-o var=value] [-p vcpu:hostcpu] [-s slot,emulation[,conf]]\n"
	"             [-r file] [-U uuid] vmname\n"
	"       -A: create ACPI tables (obsolete: always done)\n"
	"       -a: local APIC in xAPIC mode (default)\n"
	"       -C: include guest memory in core dumps\n"
	"       -c: number of vCPUs and/or topology\n"
	"       -D: destroy the VM on guest poweroff\n"
	"       -e: exit on unhandled I/O port access\n"
	"       -H: vCPUs exit on HLT (do not spin)\n"
	"       -h: this help\n"
	"       -I: obsolete (the I/O APIC is always present)\n"
	"       -k: read key=value lines from config_file\n"
	"       -l: LPC device (com1..com4; -l help lists them)\n"
	"       -M: monitor mode: a parent keeps the VM across guest reboots\n"
	"       -m: guest memory size (a bare number below 1M is MiB)\n"
	"       -o: set bhyve_config(5) variable var to value\n"
	"       -P: vCPUs exit on PAUSE\n"
	"       -p: pin vCPU to host CPU (repeatable)\n"
	"       -r: restore a checkpoint (khyvectl --checkpoint's file; same -s/-l)\n"
	"       -S: wire guest memory\n"
	"       -s: PCI device in slot (-s help lists emulations)\n"
	"       -U: SMBIOS system UUID\n"
	"       -u: RTC keeps UTC\n"
	"       -W: virtio uses MSI, not MSI-X\n"
	"       -w: ignore unimplemented MSRs\n"
	"       -x: local APIC in x2APIC mode\n"
	"       -Y: no MP table\n"
	"   Booting: -o boot.kernel=PATH [-o boot.initrd=PATH] [-o boot.cmdline=STRING]\n"
	"   Not available in this khyve yet: -f, -G, -K, -n\n";

struct flag_opt {
	char opt;
	const char *var, *value;
};

/* Options that only set a variable (bhyve_optparse()'s simple cases). */
static const struct flag_opt flag_opts[] = {
	{ 'a', "x86.x2apic", "false" },
	{ 'A', "acpi_tables", "true" },
	{ 'C', "memory.guest_in_core", "true" },
	{ 'D', "destroy_on_poweroff", "true" },
	{ 'e', "x86.strictio", "true" },
	{ 'H', "x86.vmexit_on_hlt", "true" },
	{ 'M', "monitor", "true" },
	{ 'P', "x86.vmexit_on_pause", "true" },
	{ 'S', "memory.wired", "true" },
	{ 'u', "rtc.use_localtime", "false" },
	{ 'W', "virtio_msix", "false" },
	{ 'w', "x86.strictmsr", "false" },
	{ 'x', "x86.x2apic", "true" },
	{ 'Y', "x86.mptable", "false" },
};

struct later_opt {
	char opt;
	const char *what;
};

/* bhyve options whose feature khyve does not have yet. */
static const struct later_opt later_opts[] = {
	{ 'f', "fw_cfg items are not available in this khyve yet" },
	{ 'G', "the GDB stub is not available in this khyve yet" },
	{ 'K', "keyboard layouts need a framebuffer, which is not available in this khyve yet" },
	{ 'n', "NUMA domains are not available in this khyve yet" },
};

/* bhyve's emulations that khyve will have but does not yet. */
static const char *const later_devices[] = {
	"virtio-9p",
	"virtio-scsi", "virtio-input", "ahci", "ahci-hd", "ahci-cd", "nvme",
	"e1000", "passthru", "uart", "fbuf", "xhci", "hda",
};

/* bhyve's LPC devices other than the COM ports. */
static const char *const later_lpc[] = { "bootrom", "fwcfg", "tpm", "pc-testdev" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Sets a variable, reporting a failure as "-o arg: why". */
static int set_var(struct config *cfg, char opt, const char *arg, const char *var,
		   const char *value)
{
	int rc = config_set(cfg, var, value);

	if (rc == -ENOTDIR || rc == -EISDIR)
		log_error("-%c %s: %s conflicts with variables already set under or above it",
			  opt, arg ? arg : "", var);
	else if (rc)
		log_error("-%c %s: %s: %s", opt, arg ? arg : "", var, strerror(-rc));
	return rc;
}

/* bhyve accepts any prefix of "help" ("-s h"). */
static bool is_help(const char *arg)
{
	return arg[0] && !strncmp(arg, "help", strlen(arg));
}

/* A decimal number of at most 9 digits (no sign, no blanks). */
static int parse_dec(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 9)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_dec_str(const char *s, unsigned long *out)
{
	return parse_dec(s, strlen(s), out);
}

/* ---- -c ---- */

struct topology {
	unsigned long n[4];	/* cpus, sockets, cores, threads */
	bool given[4];
};

static const char *const topo_vars[4] = { "cpus", "sockets", "cores", "threads" };

static int topo_token(struct topology *t, const char *tok, const char **why)
{
	const char *eq = strchr(tok, '=');
	size_t idx = 0;

	if (eq) {
		for (idx = 0; idx < 4; idx++)
			if (strlen(topo_vars[idx]) == (size_t)(eq - tok) &&
			    !strncmp(tok, topo_vars[idx], (size_t)(eq - tok)))
				break;
		if (idx == 4) {
			*why = "unknown key (cpus=, sockets=, cores=, threads=)";
			return -EINVAL;
		}
		tok = eq + 1;
	}
	if (parse_dec_str(tok, &t->n[idx]) || t->n[idx] < 1 || t->n[idx] > KHYVE_MAXCPUS) {
		*why = "each count must be a number from 1 to 255";
		return -EINVAL;
	}
	t->given[idx] = true;
	return 0;
}

int topology_resolve(const unsigned long n[4], const bool given[4], unsigned out[4],
		     const char **why)
{
	unsigned long cores = given[2] ? n[2] : 1, threads = given[3] ? n[3] : 1;
	unsigned long per_socket = cores * threads, sockets, cpus;

	if (given[1])
		sockets = n[1];
	else
		sockets = given[0] ? n[0] / per_socket : 1;
	cpus = given[0] ? n[0] : sockets * per_socket;
	if (sockets == 0 || sockets * per_socket != cpus) {
		*why = "sockets x cores x threads must equal cpus";
		return -EINVAL;
	}
	if (cpus > KHYVE_MAXCPUS) {
		*why = "sockets x cores x threads is more than 255 vCPUs";
		return -EINVAL;
	}
	out[0] = (unsigned)cpus;
	out[1] = (unsigned)sockets;
	out[2] = (unsigned)cores;
	out[3] = (unsigned)threads;
	return 0;
}

static int topo_parse(const char *arg, struct topology *t, const char **why)
{
	char *copy = strdup(arg);
	int rc = 0;

	if (!copy) {
		*why = "out of memory";
		return -ENOMEM;
	}
	/* strtok_r would merge ",," which bhyve reads as an empty cpus. */
	for (char *tok = copy, *next; !rc && tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		rc = topo_token(t, tok, why);
	}
	free(copy);
	if (!rc) {
		unsigned resolved[4];

		rc = topology_resolve(t->n, t->given, resolved, why);
	}
	return rc;
}

static int opt_cpus(struct config *cfg, const char *arg)
{
	struct topology t = { { 0 }, { false } };
	const char *why = NULL;
	char num[16];
	int rc;

	if (!*arg) {
		/* bhyve: an empty -c means one vCPU in one socket. */
		for (size_t i = 0; i < 4; i++) {
			t.n[i] = 1;
			t.given[i] = true;
		}
	} else if ((rc = topo_parse(arg, &t, &why))) {
		log_error("-c %s: invalid cpu topology: %s", arg, why);
		return rc;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!t.given[i])
			continue;
		snprintf(num, sizeof(num), "%lu", t.n[i]);
		rc = set_var(cfg, 'c', arg, topo_vars[i], num);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- -m ---- */

static int suffix_shift(char c, unsigned *shift)
{
	static const char units[] = "kmgt";
	const char *u = strchr(units, tolower((unsigned char)c));

	if (!c || !u)
		return -EINVAL;
	*shift = 10 * (unsigned)(u - units + 1);
	return 0;
}

int parse_memsize(const char *s, uint64_t *bytes)
{
	const char *p = s;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	unsigned shift = 0;
	uint64_t v = 0;

	if (hex)
		p += 2;
	if (!isxdigit((unsigned char)*p))
		return -EINVAL;
	for (; *p && (hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)); p++) {
		unsigned d = isdigit((unsigned char)*p) ? (unsigned)(*p - '0')
			     : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);

		if (v > (UINT64_MAX - d) / (hex ? 16 : 10))
			return -EINVAL;
		v = v * (hex ? 16 : 10) + d;
	}
	if (p == s || (hex && p == s + 2))
		return -EINVAL;
	if (*p) {
		/* expand_number(3): one unit letter, powers of 1024. */
		if (p[1] || suffix_shift(*p, &shift) || v > (UINT64_MAX >> shift))
			return -EINVAL;
		v <<= shift;
	} else if (v < MIB) {
		/* vm_parse_memsize(): old command lines gave megabytes. */
		v *= MIB;
	}
	if (v == 0)
		return -EINVAL;
	*bytes = v;
	return 0;
}

static int opt_memory(struct config *cfg, const char *arg)
{
	uint64_t bytes;

	if (parse_memsize(arg, &bytes)) {
		log_error("-m %s: invalid memory size (a number with an optional K, M, G or T "
			  "suffix, e.g. 512M or 2G)", arg);
		return -EINVAL;
	}
	/* bhyve stores what was typed; the machine parses it again. */
	return set_var(cfg, 'm', arg, "memory.size", arg);
}

/* ---- -p ---- */

static int opt_pin(struct config *cfg, const char *arg)
{
	const char *colon = strchr(arg, ':'), *old;
	unsigned long vcpu, host;
	char var[32], *val;
	int rc;

	if (!colon || parse_dec(arg, (size_t)(colon - arg), &vcpu) ||
	    parse_dec_str(colon + 1, &host)) {
		log_error("-p %s: expected vcpu:hostcpu (two decimal numbers)", arg);
		return -EINVAL;
	}
	if (vcpu >= KHYVE_MAXCPUS || host >= CPU_SETSIZE) {
		log_error("-p %s: vcpu must be 0-%d and hostcpu 0-%d", arg, KHYVE_MAXCPUS - 1,
			  CPU_SETSIZE - 1);
		return -EINVAL;
	}
	/* Repeated -p for one vCPU accumulates a cpuset, as in bhyve. */
	snprintf(var, sizeof(var), "vcpu.%lu.cpuset", vcpu);
	old = config_get_raw(cfg, var);
	if (asprintf(&val, "%s%s%lu", old ? old : "", old ? "," : "", host) < 0) {
		log_error("-p %s: out of memory", arg);
		return -ENOMEM;
	}
	rc = set_var(cfg, 'p', arg, var, val);
	free(val);
	return rc;
}

/* ---- -s ---- */

static bool in_list(const char *const *list, size_t n, const char *name, bool nocase)
{
	for (size_t i = 0; i < n; i++)
		if (nocase ? !strcasecmp(list[i], name) : !strcmp(list[i], name))
			return true;
	return false;
}

/* "slot", "slot:func" or "bus:slot:func", decimal. */
static int parse_pci_addr(const char *s, unsigned long v[3], char *why, size_t whylen)
{
	static const char *const what[3] = { "bus", "slot", "function" };
	static const unsigned long max[3] = { 255, PCI_SLOTS - 1, PCI_FUNCS - 1 };
	const char *part[3] = { NULL };
	size_t len[3] = { 0 }, n = 0, first;

	for (const char *p = s; n < 3; n++) {
		const char *c = strchr(p, ':');

		part[n] = p;
		len[n] = c ? (size_t)(c - p) : strlen(p);
		if (!c)
			break;
		p = c + 1;
	}
	if (n == 3) {
		snprintf(why, whylen, "invalid slot \"%s\": use slot, slot:function or "
			 "bus:slot:function", s);
		return -EINVAL;
	}
	/* Shift the parts so that v[] is always bus, slot, function. */
	first = n == 2 ? 0 : 1;
	v[0] = v[2] = 0;
	for (size_t i = 0; i <= n; i++) {
		size_t k = first + i;

		if (parse_dec(part[i], len[i], &v[k])) {
			snprintf(why, whylen, "invalid slot \"%s\": use slot, slot:function or "
				 "bus:slot:function, in decimal", s);
			return -EINVAL;
		}
		if (v[k] > max[k]) {
			snprintf(why, whylen, "%s %.*s is out of range (0-%lu)", what[k],
				 (int)len[i], part[i], max[k]);
			return -EINVAL;
		}
	}
	return 0;
}

/* pci_parse_legacy_config(): "key=value,key,..." where a bare key is true. */
static int generic_config(struct config *cfg, const char *arg, const char *node, char *conf)
{
	char err[512] = "";
	int rc = config_set_legacy(cfg, node, conf, err, sizeof(err));

	if (rc)
		log_error("-s %s: %s", arg, err[0] ? err : strerror(-rc));
	return rc;
}

static int slot_device(struct config *cfg, const char *arg, const unsigned long a[3],
		       const char *emul, char *conf)
{
	const struct pci_devemu *pde = pci_emul_find(emul);
	char node[32], var[48], err[512] = "";
	int rc;

	if (!pde) {
		if (in_list(later_devices, NELEM(later_devices), emul, false))
			log_error("-s %s: device \"%s\" is not available in this khyve yet",
				  arg, emul);
		else
			log_error("-s %s: unknown device \"%s\" (khyve -s help lists devices)",
				  arg, emul);
		return -ENOENT;
	}
	snprintf(node, sizeof(node), "pci.%lu.%lu.%lu", a[0], a[1], a[2]);
	if (config_find_node(cfg, node) || config_isset(cfg, node)) {
		log_error("-s %s: pci slot %lu:%lu:%lu already occupied", arg, a[0], a[1], a[2]);
		return -EEXIST;
	}
	snprintf(var, sizeof(var), "%s.device", node);
	rc = set_var(cfg, 's', arg, var, emul);
	if (rc || !pde->legacy_config)
		return rc ? rc : generic_config(cfg, arg, node, conf);
	rc = pde->legacy_config(cfg, node, conf, err, sizeof(err));
	if (rc)
		log_error("-s %s: %s", arg, err[0] ? err : strerror(rc < 0 ? -rc : rc));
	return rc < 0 ? rc : (rc ? -EINVAL : 0);
}

static int opt_slot(struct config *cfg, const char *arg, FILE *out)
{
	char *copy, *emul, *conf = NULL, why[256];
	unsigned long a[3];
	int rc;

	if (is_help(arg)) {
		pci_emul_list(out);
		return OPTIONS_EXIT_OK;
	}
	copy = strdup(arg);
	if (!copy) {
		log_error("-s %s: out of memory", arg);
		return -ENOMEM;
	}
	emul = strchr(copy, ',');
	if (emul) {
		*emul++ = '\0';
		conf = strchr(emul, ',');
		if (conf)
			*conf++ = '\0';
	}
	if (!emul || !*emul) {
		log_error("-s %s: expected slot,emulation[,conf] (khyve -s help lists devices)", arg);
		rc = -EINVAL;
	} else if ((rc = parse_pci_addr(copy, a, why, sizeof(why)))) {
		log_error("-s %s: %s", arg, why);
	} else {
		rc = slot_device(cfg, arg, a, emul, conf);
	}
	free(copy);
	return rc;
}

/* ---- -l ---- */

static void lpc_help(FILE *out)
{
	fprintf(out, "LPC devices (-l DEVICE,BACKEND; need -s 31,lpc):\n"
		     "  com1        serial port at 0x3f8, IRQ 4\n"
		     "  com2        serial port at 0x2f8, IRQ 3\n"
		     "  com3        serial port at 0x3e8, IRQ 4\n"
		     "  com4        serial port at 0x2e8, IRQ 3\n");
	chardev_list_backends(out);
	fprintf(out, "Not available in this khyve yet: bootrom, fwcfg, tpm, pc-testdev\n");
}

static int opt_lpc(struct config *cfg, const char *arg, FILE *out)
{
	const char *comma = strchr(arg, ',');
	size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
	char dev[16], var[32];

	if (is_help(arg)) {
		lpc_help(out);
		return OPTIONS_EXIT_OK;
	}
	snprintf(dev, sizeof(dev), "%.*s", (int)(len < sizeof(dev) ? len : sizeof(dev) - 1), arg);
	if (len < sizeof(dev) && len == 4 && !strncasecmp(dev, "com", 3) && dev[3] >= '1' &&
	    dev[3] <= '4') {
		if (!comma || !comma[1]) {
			log_error("-l %s: %s needs a backend: stdio, pty, unix=PATH or a tty path "
				  "(khyve -l help)", arg, dev);
			return -EINVAL;
		}
		/* bhyve stores the rest of the argument unparsed; the machine
		 * opens (and validates) the backend. */
		snprintf(var, sizeof(var), "lpc.com%c.path", dev[3]);
		return set_var(cfg, 'l', arg, var, comma + 1);
	}
	if (len < sizeof(dev) && in_list(later_lpc, NELEM(later_lpc), dev, true)) {
		log_error("-l %s: %s is not available in khyve yet%s", arg, dev,
			  strcasecmp(dev, "bootrom") ? "" :
			  " (boot a kernel with -o boot.kernel=PATH)");
		return -ENOTSUP;
	}
	log_error("-l %s: unknown LPC device \"%.*s\" (khyve -l help lists them)", arg,
		  (int)len, arg);
	return -ENOENT;
}

/* ---- -U, -k, -o ---- */

static int opt_uuid(struct config *cfg, const char *arg)
{
	uint8_t bytes[16];

	if (uuid_parse_str(arg, bytes)) {
		log_error("-U %s: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", arg);
		return -EINVAL;
	}
	return set_var(cfg, 'U', arg, "uuid", arg);
}

static int opt_file(struct config *cfg, const char *arg)
{
	char err[512];
	int rc = config_parse_file(cfg, arg, err, sizeof(err));

	if (rc)
		log_error("-k %s", err);
	return rc;
}

static int opt_assign(struct config *cfg, const char *arg)
{
	char err[512];
	int rc = config_parse_assignment(cfg, arg, err, sizeof(err));

	if (rc)
		log_error("-o %s: %s", arg, err);
	return rc;
}

/* ---- the VM name ---- */

static int check_name(struct config *cfg, int nargs, char *const args[])
{
	const char *name;
	int rc;

	if (nargs > 1) {
		log_error("%s: one VM name expected after the options, got %d names "
			  "(usage: khyve [options] vmname)", args[1], nargs);
		return -EINVAL;
	}
	/* bhyve: the positional name wins; without one, -o/-k name= will do. */
	if (nargs == 1 && (rc = config_set(cfg, "name", args[0]))) {
		log_error("%s: cannot set the VM name: %s", args[0], strerror(-rc));
		return rc;
	}
	name = config_get(cfg, "name");
	if (!name && config_isset(cfg, "restore"))
		return 0;	/* -r: the checkpoint's name, checked once read */
	return options_check_name(cfg);
}

int options_check_name(struct config *cfg)
{
	char dir[4096], err[512];
	const char *name = config_get(cfg, "name"), *rundir;
	int rc;

	if (!name) {
		log_error("missing the VM name (usage: khyve [options] vmname)");
		return -EINVAL;
	}
	rundir = vmmctl_rundir(cfg, dir, sizeof(dir));
	if (!rundir) {
		log_error("rundir: the run directory path is too long");
		return -ENAMETOOLONG;
	}
	rc = vmmctl_name_check(name, vmmctl_name_max(rundir), err, sizeof(err));
	if (rc)
		log_error("%s (run directory %s)", err, rundir);
	return rc;
}

/* ---- the option loop ---- */

static int opt_simple(struct config *cfg, int c, const char *arg)
{
	for (size_t i = 0; i < NELEM(flag_opts); i++)
		if (flag_opts[i].opt == c)
			return set_var(cfg, (char)c, NULL, flag_opts[i].var, flag_opts[i].value);
	for (size_t i = 0; i < NELEM(later_opts); i++)
		if (later_opts[i].opt == c) {
			log_error("-%c%s%s: %s", c, arg ? " " : "", arg ? arg : "",
				  later_opts[i].what);
			return -ENOTSUP;
		}
	if (c == 'I')
		return 0;	/* obsolete: the I/O APIC is always there */
	if (c == ':')
		log_error("option -%c needs an argument (khyve -h)", optopt);
	else if (isprint(optopt))
		log_error("unknown option -%c (khyve -h)", optopt);
	else
		log_error("unknown option (khyve -h)");
	return -EINVAL;
}

static int one_option(struct config *cfg, int c, const char *arg, FILE *out)
{
	switch (c) {
	case 'c':
		return opt_cpus(cfg, arg);
	case 'h':
		fputs(usage_text, out);
		return OPTIONS_EXIT_OK;
	case 'k':
		return opt_file(cfg, arg);
	case 'l':
		return opt_lpc(cfg, arg, out);
	case 'm':
		return opt_memory(cfg, arg);
	case 'o':
		return opt_assign(cfg, arg);
	case 'p':
		return opt_pin(cfg, arg);
	case 'r':
		return set_var(cfg, 'r', arg, "restore", arg);
	case 's':
		return opt_slot(cfg, arg, out);
	case 'U':
		return opt_uuid(cfg, arg);
	default:
		return opt_simple(cfg, c, arg);
	}
}

int options_parse(struct config *cfg, int argc, char *argv[], FILE *out)
{
	int c, rc = 0;

	/* glibc: optind 0 restarts getopt from scratch, so tests (and the
	 * fuzzer) can parse many command lines in one process. */
	optind = 0;
	opterr = 0;
	while (rc == 0 && (c = getopt(argc, argv, optstring)) != -1)
		rc = one_option(cfg, c, optarg, out);
	if (rc)
		return rc;
	return check_name(cfg, argc - optind, argv + optind);
}
