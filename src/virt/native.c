/* libvirt's "bhyve-argv" native format <-> struct khv_domain (native.h).
 *
 * Reading follows libvirt's bhyve_parse_command.c: a backslash before a
 * newline (or CR LF) joins lines (not inside '...', as in sh, so that any
 * value survives khv_argv_to_text's quoting); each line is a command; the
 * one whose argv[0] is bhyve or khyve (any directory) is the VM, another
 * one is a loader, which must be a plain "bhyveload -m SIZE -d DISK NAME"
 * because khyve boots kernels directly.  Words are split as a POSIX shell
 * would, without running one: blanks (space, tab, CR) separate words,
 * '...' is literal, "..." honours \$ \` \" \\, a backslash outside quotes
 * takes the next character literally; nothing is expanded ($, ~, globs,
 * # comments are plain characters).  libvirt's own splitter only knows a
 * quote at the start of a word and no escapes, so it cannot read back the
 * '\'' quoting that its (and khv_argv_to_text's) output uses; on the
 * inputs libvirt's tests use both split alike.  tests/unit/test_native.c
 * lists every deliberate difference from libvirt.
 *
 * Writing gives the khyve command line that starts the definition.  Every
 * value is checked against what khyve's own parser would take, so that
 * the text reads back as the same definition (the fuzz target checks). */
#include "virt/native.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "cli/options.h"
#include "lib/hostport.h"
#include "machine/uuid.h"
#include "vmm/cpumodel.h"

#define KIB			1024ULL
#define DEFAULT_MEMORY_KIB	(256ULL << 10)	/* khyve's (and bhyve's) 256M */
#define SOCK_PATH_MAX		107		/* sun_path less its NUL */
#define DISK_SERIAL_MAX		19		/* bhyve's and khyve's ser= */
#define IFNAME_MAX		15		/* Linux IFNAMSIZ less the NUL */
#define PCI_NSLOTS		32
#define PCI_NFUNCS		8
#define SLOT_LPC		31		/* where khyve's LPC bridge goes */
#define SLOT_FIRST_FREE		2		/* as libvirt's bhyve_device.c */
#define LIBVIRT_BRIDGE		"virbr0"	/* libvirt's guess for a tap's bridge */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct errbuf {
	char *s;
	size_t len;
};

/* Writes the one-line reason and returns rc.  The text quotes untrusted
 * input, so control characters become '?' (no escape sequences, no
 * second line reach the user's terminal). */
__attribute__((format(printf, 3, 4)))
static int fail(const struct errbuf *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!e->s || !e->len)
		return rc;
	va_start(ap, fmt);
	vsnprintf(e->s, e->len, fmt, ap);
	va_end(ap);
	for (char *p = e->s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return rc;
}

static int oom(const struct errbuf *e)
{
	return fail(e, -ENOMEM, "out of memory");
}

/* ---- checks shared by both directions ---- */

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool all_word_chars(const char *s)
{
	for (; *s; s++)
		if (!is_word_char(*s))
			return false;
	return true;
}

/* khyve's VM names (vmmctl_name_check), bounded by the definition's field. */
static bool name_ok(const char *s)
{
	size_t len = strnlen(s, KHV_NAME_MAX);

	return len > 0 && len < KHV_NAME_MAX && s[0] != '.' && s[0] != '-' && all_word_chars(s);
}

static const char name_rule[] = "1 to 63 letters, digits, '.', '_' or '-', not starting with "
				"'.' or '-'";

/* A tap name that khyve's virtio-net reads back as a tap: a plain
 * interface name, not one of bhyve's other backends. */
static bool tap_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= IFNAME_MAX && all_word_chars(s) && strcmp(s, "slirp") &&
	       strcmp(s, "netgraph");
}

static const char tap_rule[] = "1 to 15 letters, digits, '.', '_' or '-'";

/* bhyve's other network backends, which khyve refuses. */
static bool foreign_backend(const char *s)
{
	return !strcmp(s, "slirp") || !strcmp(s, "netgraph") || !strncmp(s, "netmap:", 7) ||
	       (!strncmp(s, "vale", 4) && strchr(s, ':'));
}

static bool sock_path_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= SOCK_PATH_MAX;
}

static bool mac_usable(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, sizeof(zero));
}

/* ---- splitting the text into commands and words ---- */

struct command {
	unsigned first, n;		/* its words in words.word[] */
};

struct words {
	char *buf;			/* every word, NUL-terminated */
	char *word[KHV_NATIVE_MAX_ARGS + 1];
	unsigned nwords;
	struct command cmd[KHV_NATIVE_MAX_ARGS];
	unsigned ncmds;
};

struct lexer {
	const char *p, *end;
	char *w;			/* where the next word byte goes */
	struct words *ws;
	bool in_word;
	unsigned cmd_first;
	const struct errbuf *e;
};

static void words_free(struct words *ws)
{
	if (ws)
		free(ws->buf);
	free(ws);
}

/* At a backslash: the length of a line continuation there (\ LF or
 * \ CR LF, as libvirt joins them), 0 if it is not one. */
static size_t continuation(const char *p, const char *end)
{
	if (end - p >= 2 && p[1] == '\n')
		return 2;
	if (end - p >= 3 && p[1] == '\r' && p[2] == '\n')
		return 3;
	return 0;
}

static int word_start(struct lexer *lx)
{
	if (lx->in_word)
		return 0;
	if (lx->ws->nwords >= KHV_NATIVE_MAX_ARGS)
		return fail(lx->e, -EINVAL, "more than %d arguments", KHV_NATIVE_MAX_ARGS);
	lx->ws->word[lx->ws->nwords] = lx->w;
	lx->in_word = true;
	return 0;
}

static void word_end(struct lexer *lx)
{
	if (!lx->in_word)
		return;
	*lx->w++ = '\0';
	lx->ws->nwords++;
	lx->in_word = false;
}

static void command_end(struct lexer *lx)
{
	struct words *ws = lx->ws;

	word_end(lx);
	if (ws->nwords == lx->cmd_first)
		return;		/* a blank line */
	ws->cmd[ws->ncmds].first = lx->cmd_first;
	ws->cmd[ws->ncmds].n = ws->nwords - lx->cmd_first;
	ws->ncmds++;
	lx->cmd_first = ws->nwords;
}

static int lex_single(struct lexer *lx)
{
	const char *start = lx->p + 1;
	const char *q = memchr(start, '\'', (size_t)(lx->end - start));

	if (!q)
		return fail(lx->e, -EINVAL, "unterminated ' quote");
	memcpy(lx->w, start, (size_t)(q - start));
	lx->w += q - start;
	lx->p = q + 1;
	return 0;
}

static int lex_double(struct lexer *lx)
{
	const char *p = lx->p + 1;

	while (p < lx->end && *p != '"') {
		size_t skip = *p == '\\' ? continuation(p, lx->end) : 0;

		if (skip) {
			p += skip;
			continue;
		}
		/* POSIX: inside "..." a backslash quotes only $ ` " \ */
		if (*p == '\\' && p + 1 < lx->end && memchr("$`\"\\", p[1], 4))
			p++;
		*lx->w++ = *p++;
	}
	if (p >= lx->end)
		return fail(lx->e, -EINVAL, "unterminated \" quote");
	lx->p = p + 1;
	return 0;
}

/* One step: a separator, a continuation, or a piece of a word. */
static int lex_step(struct lexer *lx)
{
	char c = *lx->p;
	size_t skip = c == '\\' ? continuation(lx->p, lx->end) : 0;
	int rc;

	if (skip) {
		lx->p += skip;
		return 0;
	}
	if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
		if (c == '\n')
			command_end(lx);
		else
			word_end(lx);
		lx->p++;
		return 0;
	}
	if ((rc = word_start(lx)))
		return rc;
	if (c == '\'')
		return lex_single(lx);
	if (c == '"')
		return lex_double(lx);
	if (c == '\\' && lx->p + 1 < lx->end)
		lx->p++;	/* the next character, literally */
	*lx->w++ = *lx->p++;
	return 0;
}

/* Words never grow: each output byte uses up an input byte, and each
 * word's NUL a separator, or the one byte more at the end. */
static int split_words(const char *text, size_t len, struct words **out, const struct errbuf *e)
{
	struct words *ws = calloc(1, sizeof(*ws));
	struct lexer lx = { .p = text, .end = text + len, .e = e };
	int rc = 0;

	if (!ws || !(ws->buf = malloc(len + 1))) {
		free(ws);
		return oom(e);
	}
	lx.ws = ws;
	lx.w = ws->buf;
	while (!rc && lx.p < lx.end)
		rc = lex_step(&lx);
	if (!rc)
		command_end(&lx);
	if (rc)
		words_free(ws);
	else
		*out = ws;
	return rc;
}

/* ---- the VM command's options ---- */

struct native {
	struct khv_domain *d;
	const struct errbuf *e;
	bool mem_given;
	bool have_stdio;
	uint8_t used[PCI_NSLOTS];	/* functions taken, per slot */
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The comma-separated item at *s; *s moves past it (NULL after the last). */
static const char *next_item(const char **s, size_t *len)
{
	const char *start = *s, *comma = strchr(start, ',');

	*len = comma ? (size_t)(comma - start) : strlen(start);
	*s = comma ? comma + 1 : NULL;
	return start;
}

static bool item_is(const char *item, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(item, word, len);
}

static int dup_item(const struct errbuf *e, char **dst, const char *s, size_t len)
{
	char *copy = strndup(s, len);

	if (!copy)
		return oom(e);
	free(*dst);
	*dst = copy;
	return 0;
}

/* Decimal digits only, at most maxdigits of them. */
static int parse_dec(const char *s, size_t len, size_t maxdigits, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > maxdigits)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static const char *const topo_keys[4] = { "cpus", "sockets", "cores", "threads" };

static int cpu_item(const char *item, size_t len, unsigned long v[4], bool given[4])
{
	const char *eq = memchr(item, '=', len);
	size_t idx = 0;

	if (eq) {
		for (idx = 0; idx < 4; idx++)
			if (item_is(item, (size_t)(eq - item), topo_keys[idx]))
				break;
		if (idx == 4)
			return -EINVAL;
		len -= (size_t)(eq + 1 - item);
		item = eq + 1;
	}
	if (parse_dec(item, len, 9, &v[idx]) || v[idx] < 1 || v[idx] > KHYVE_MAXCPUS)
		return -EINVAL;
	given[idx] = true;
	return 0;
}

/* khyve's -c: a count, or cpus=,sockets=,cores=,threads= (libvirt knows
 * the count only).  Any topology key gives the definition all three. */
static int opt_cpus(struct native *n, const char *arg)
{
	unsigned long v[4] = { 1, 1, 1, 1 };
	bool given[4] = { true, true, true, true };
	const char *why = "each count must be a number from 1 to 255 after cpus=, sockets=, "
			  "cores= or threads=";
	unsigned out[4];

	if (*arg) {		/* khyve: an empty -c is one vCPU in one socket */
		memset(given, 0, sizeof(given));
		for (const char *s = arg; s;) {
			size_t len;
			const char *item = next_item(&s, &len);

			if (cpu_item(item, len, v, given))
				return fail(n->e, -EINVAL, "-c %s: invalid cpu topology: %s", arg, why);
		}
	}
	if (topology_resolve(v, given, out, &why))
		return fail(n->e, -EINVAL, "-c %s: invalid cpu topology: %s", arg, why);
	n->d->vcpus = out[0];
	if (given[1] || given[2] || given[3]) {
		n->d->sockets = out[1];
		n->d->cores = out[2];
		n->d->threads = out[3];
	} else {
		n->d->sockets = n->d->cores = n->d->threads = 0;
	}
	return 0;
}

/* bhyve's memory syntax; KiB truncated as libvirt does.  Every -m, of the
 * VM or of the loader, must give the same size (libvirt's rule). */
static int set_memory(struct native *n, const char *what, const char *arg)
{
	uint64_t bytes, kib;

	if (parse_memsize(arg, &bytes))
		return fail(n->e, -EINVAL, "%s %s: invalid memory size (a number with an "
			    "optional K, M, G or T suffix)", what, arg);
	kib = bytes / KIB;
	if (n->mem_given && n->d->memory_kib != kib)
		return fail(n->e, -EINVAL, "%s %s: memory size mismatch (%llu KiB elsewhere on "
			    "the command line)", what, arg, (unsigned long long)n->d->memory_kib);
	n->d->memory_kib = kib;
	n->mem_given = true;
	return 0;
}

static int opt_uuid(struct native *n, const char *arg)
{
	if (uuid_parse_str(arg, n->d->uuid))
		return fail(n->e, -EINVAL, "-U %s: not a UUID "
			    "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", arg);
	n->d->has_uuid = true;
	return 0;
}

/* -o on_reboot|on_poweroff|on_crash=restart|destroy: 1 if arg is one, 0
 * if not, negative on a bad value. */
static int opt_lifecycle(struct native *n, const char *arg)
{
	static const char *const vars[] = { "on_reboot", "on_poweroff", "on_crash" };
	enum khv_lifecycle *dst[] = { &n->d->on_reboot, &n->d->on_poweroff, &n->d->on_crash };
	const char *eq = strchr(arg, '=');

	for (size_t i = 0; eq && i < NELEM(vars); i++) {
		if (!item_is(arg, (size_t)(eq - arg), vars[i]))
			continue;
		if (strcmp(eq + 1, "restart") && strcmp(eq + 1, "destroy"))
			return fail(n->e, -EINVAL, "-o %s: want restart or destroy", arg);
		*dst[i] = strcmp(eq + 1, "restart") ? KHV_LIFE_DESTROY : KHV_LIFE_RESTART;
		return 1;
	}
	return 0;
}

/* khyve's -o: only the boot, CPU and lifecycle variables have a place in a
 * definition. */
static int opt_assign(struct native *n, const char *arg)
{
	static const char *const keys[] = { "boot.kernel", "boot.initrd", "boot.cmdline",
					    "cpu.model" };
	char **dst[] = { &n->d->kernel, &n->d->initrd, &n->d->cmdline, &n->d->cpu_model };
	const char *eq = strchr(arg, '=');
	size_t idx;

	int rc;

	if (!eq)
		return fail(n->e, -EINVAL, "-o %s: expected var=value", arg);
	if ((rc = opt_lifecycle(n, arg)))
		return rc < 0 ? rc : 0;
	for (idx = 0; idx < NELEM(keys); idx++)
		if (item_is(arg, (size_t)(eq - arg), keys[idx]))
			break;
	if (idx == NELEM(keys))
		return fail(n->e, -EINVAL, "-o %s: %.*s has no place in a domain definition "
			    "(boot.*, cpu.model and on_reboot/on_poweroff/on_crash have)", arg,
			    (int)(eq - arg), arg);
	if (idx < 2 && !eq[1])
		return fail(n->e, -EINVAL, "-o %s: the path is empty", arg);
	if (idx == 3 && !strcmp(eq + 1, "host"))
		return khv_strset(dst[idx], NULL) ? oom(n->e) : 0;	/* the default */
	if (idx == 3 && !cpumodel_find(eq + 1))
		return fail(n->e, -EINVAL, "-o %s: unknown CPU model (khyve has %s)", arg,
			    cpumodel_names());
	return khv_strset(dst[idx], eq + 1) ? oom(n->e) : 0;
}

/* ---- -l comN,BACKEND ---- */

static int com_nmdm(struct native *n, const char *arg, struct khv_serial *s, const char *spec)
{
	size_t last = strlen(spec) - 1;

	/* libvirt: the other end of /dev/nmdmNA is /dev/nmdmNB */
	if (spec[last] != 'A' && spec[last] != 'B')
		return fail(n->e, -EINVAL, "-l %s: an nmdm device name ends in A or B", arg);
	if (khv_strset(&s->path, spec) || khv_strset(&s->path2, spec))
		return oom(n->e);
	s->path2[last] = spec[last] == 'A' ? 'B' : 'A';
	s->type = KHV_CHR_NMDM;
	return 0;
}

/* tcp=HOST:PORT or tcp=[IPv6]:PORT */
static int com_tcp(struct native *n, const char *arg, struct khv_serial *s, const char *spec)
{
	char host[256];
	const char *port;

	if (hostport_split(spec, host, sizeof(host), &port))
		return fail(n->e, -EINVAL, "-l %s: want tcp=HOST:PORT or tcp=[IPv6]:PORT, the "
			    "port 1 to 65535", arg);
	s->type = KHV_CHR_TCP;
	return khv_strset(&s->host, host) || khv_strset(&s->service, port) ? oom(n->e) : 0;
}

static int com_backend(struct native *n, const char *arg, struct khv_serial *s, const char *spec)
{
	if (!strcmp(spec, "stdio")) {
		if (n->have_stdio)
			return fail(n->e, -EINVAL, "-l %s: stdio serves one port only", arg);
		n->have_stdio = true;
		s->type = KHV_CHR_STDIO;
		return 0;
	}
	if (!strcmp(spec, "pty")) {
		s->type = KHV_CHR_PTY;
		return 0;
	}
	if (!strncmp(spec, "unix=", 5)) {
		if (!sock_path_ok(spec + 5))
			return fail(n->e, -EINVAL, "-l %s: the socket path must be 1 to %d bytes",
				    arg, SOCK_PATH_MAX);
		s->type = KHV_CHR_UNIX;
		return khv_strset(&s->path, spec + 5) ? oom(n->e) : 0;
	}
	if (!strncmp(spec, "file=", 5)) {
		if (spec[5] != '/')
			return fail(n->e, -EINVAL, "-l %s: a file needs an absolute path", arg);
		s->type = KHV_CHR_FILE;
		return khv_strset(&s->path, spec + 5) ? oom(n->e) : 0;
	}
	if (!strncmp(spec, "tcp=", 4))
		return com_tcp(n, arg, s, spec + 4);
	if (!strncmp(spec, "/dev/nmdm", 9))
		return com_nmdm(n, arg, s, spec);
	if (spec[0] == '/') {
		s->type = KHV_CHR_DEV;
		return khv_strset(&s->path, spec) ? oom(n->e) : 0;
	}
	return fail(n->e, -EINVAL, "-l %s: unknown backend \"%s\" (stdio, pty, unix=PATH, "
		    "tcp=HOST:PORT, file=PATH or the absolute path of a tty)", arg, spec);
}

static int opt_com(struct native *n, const char *arg, unsigned port, const char *spec)
{
	struct khv_domain *d = n->d;
	int rc;

	if (!spec || !*spec)
		return fail(n->e, -EINVAL, "-l %s: com%u needs a backend: stdio, pty, unix=PATH "
			    "or a tty path", arg, port + 1);
	for (unsigned i = 0; i < d->nserials; i++)
		if (d->serials[i].port == port)
			return fail(n->e, -EINVAL, "-l %s: com%u is given twice", arg, port + 1);
	/* Four distinct ports fit KHV_MAX_SERIALS. */
	rc = com_backend(n, arg, &d->serials[d->nserials], spec);
	if (!rc)
		d->serials[d->nserials++].port = port;
	return rc;
}

static int opt_lpc(struct native *n, const char *arg)
{
	static const char *const others[] = { "fwcfg", "tpm", "pc-testdev" };
	const char *comma = strchr(arg, ',');
	size_t len = comma ? (size_t)(comma - arg) : strlen(arg);

	if (len == 4 && !strncasecmp(arg, "com", 3) && arg[3] >= '1' && arg[3] <= '4')
		return opt_com(n, arg, (unsigned)(arg[3] - '1'), comma ? comma + 1 : NULL);
	if (len == 7 && !strncasecmp(arg, "bootrom", 7))
		return fail(n->e, -EINVAL, "-l %s: khyve boots kernels directly: use "
			    "-o boot.kernel=PATH", arg);
	for (size_t i = 0; i < NELEM(others); i++)
		if (len == strlen(others[i]) && !strncasecmp(arg, others[i], len))
			return fail(n->e, -EINVAL, "-l %s: khyve has no %s LPC device", arg,
				    others[i]);
	return fail(n->e, -EINVAL, "-l %s: unknown LPC device \"%.*s\" (com1 to com4)", arg,
		    (int)len, arg);
}

/* ---- -s slot,emulation[,conf] ---- */

/* "slot", "slot:function" or "bus:slot:function" in decimal, bus 0 (the
 * one khyve builds). */
static int parse_slot(const char *s, size_t len, struct khv_pci_addr *a)
{
	const char *p = s, *end = s + len;
	unsigned long v[3], bus, slot, func;
	size_t n = 0;

	for (;;) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		size_t plen = colon ? (size_t)(colon - p) : (size_t)(end - p);

		if (n == 3 || parse_dec(p, plen, 3, &v[n]))
			return -EINVAL;
		n++;
		if (!colon)
			break;
		p = colon + 1;
	}
	bus = n == 3 ? v[0] : 0;
	slot = n == 3 ? v[1] : v[0];
	func = n == 1 ? 0 : v[n - 1];
	if (bus != 0 || slot >= PCI_NSLOTS || func >= PCI_NFUNCS)
		return -EINVAL;
	a->slot = (int)slot;
	a->func = (int)func;
	return 0;
}

static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	const char *end = s + len;

	for (int i = 0; i < 6; i++) {
		unsigned v = 0, digits = 0;

		for (; digits < 2 && s < end; digits++, s++) {
			char c = *s;

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
				v = v * 16 + (unsigned)((c | 0x20) - 'a' + 10);
			else
				break;
		}
		if (!digits || (i < 5 && (s == end || *s != ':')))
			return -EINVAL;
		if (i < 5)
			s++;
		mac[i] = (uint8_t)v;
	}
	return s == end && mac_usable(mac) ? 0 : -EINVAL;
}

typedef int dev_fn(struct native *n, const char *arg, const struct khv_pci_addr *a,
		   const char *conf);

/* The host bridge and the LPC bridge are implied by every definition. */
static int dev_bridge(struct native *n, const char *arg, const struct khv_pci_addr *a,
		      const char *conf)
{
	if (conf && *conf)
		return fail(n->e, -EINVAL, "-s %s: bridge options have no place in a domain "
			    "definition", arg);
	return 0;
}

static int blk_option(struct native *n, const char *arg, struct khv_disk *disk,
		      const char *item, size_t len)
{
	if (item_is(item, len, "ro")) {
		disk->readonly = true;
		return 0;
	}
	if (len >= 4 && !memcmp(item, "ser=", 4)) {
		if (len == 4 || len - 4 > DISK_SERIAL_MAX)
			return fail(n->e, -EINVAL, "-s %s: ser= takes 1 to %d characters", arg,
				    DISK_SERIAL_MAX);
		return dup_item(n->e, &disk->serial, item + 4, len - 4);
	}
	return fail(n->e, -EINVAL, "-s %s: virtio-blk option \"%.*s\" has no place in a domain "
		    "definition (ro and ser= have)", arg, (int)len, item);
}

/* PATH[,ro][,ser=ID]; targets vda, vdb... in order, as libvirt names them. */
static int dev_blk(struct native *n, const char *arg, const struct khv_pci_addr *a,
		   const char *conf)
{
	struct khv_domain *d = n->d;
	struct khv_disk *disk = &d->disks[d->ndisks];
	const char *s = conf, *item;
	size_t len;
	int rc;

	if (d->ndisks >= KHV_MAX_DISKS)
		return fail(n->e, -EINVAL, "-s %s: more than %d disks", arg, KHV_MAX_DISKS);
	if (!conf || !*conf || *conf == ',')
		return fail(n->e, -EINVAL, "-s %s: virtio-blk needs a path", arg);
	item = next_item(&s, &len);
	if ((rc = dup_item(n->e, &disk->source, item, len)))
		return rc;
	disk->block = !strncmp(disk->source, "/dev/", 5);
	while (s && !rc) {
		item = next_item(&s, &len);
		rc = blk_option(n, arg, disk, item, len);
	}
	if (rc)
		return rc;
	free(disk->target);
	if (asprintf(&disk->target, "vd%c", 'a' + d->ndisks) < 0) {
		disk->target = NULL;
		return oom(n->e);
	}
	disk->addr = *a;
	d->ndisks++;
	return 0;
}

static int net_tap(struct native *n, const char *arg, struct khv_net *net, const char *item,
		   size_t len)
{
	char name[IFNAME_MAX + 1];

	if (net->target_dev)
		return fail(n->e, -EINVAL, "-s %s: more than one tap", arg);
	snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : sizeof(name) - 1),
		 item);
	if (len < sizeof(name) && foreign_backend(name))
		return fail(n->e, -EINVAL, "-s %s: khyve has no %s network backend (only taps)",
			    arg, name);
	if (len >= sizeof(name) || !tap_ok(name))
		return fail(n->e, -EINVAL, "-s %s: tap name \"%.*s\": %s", arg, (int)len, item,
			    tap_rule);
	return khv_strset(&net->target_dev, name) ? oom(n->e) : 0;
}

static int net_item(struct native *n, const char *arg, struct khv_net *net, const char *item,
		    size_t len)
{
	const char *eq = memchr(item, '=', len);
	size_t klen = eq ? (size_t)(eq - item) : len, vlen = eq ? len - klen - 1 : 0;

	if (!eq || item_is(item, klen, "tap"))
		return eq ? net_tap(n, arg, net, eq + 1, vlen) : net_tap(n, arg, net, item, len);
	if (item_is(item, klen, "mac")) {
		if (parse_mac(eq + 1, vlen, net->mac))
			return fail(n->e, -EINVAL, "-s %s: invalid MAC address \"%.*s\" "
				    "(xx:xx:xx:xx:xx:xx, not multicast, not zero)", arg, (int)vlen,
				    eq + 1);
		net->has_mac = true;
		return 0;
	}
	if (item_is(item, klen, "mtu"))
		return fail(n->e, -EINVAL, "-s %s: mtu= has no place in a domain definition", arg);
	return fail(n->e, -EINVAL, "-s %s: unknown virtio-net option \"%.*s\" (TAP, tap=NAME, "
		    "mac=)", arg, (int)len, item);
}

/* TAP|tap=NAME[,mac=MAC]: an interface on libvirt's guessed bridge. */
static int dev_net(struct native *n, const char *arg, const struct khv_pci_addr *a,
		   const char *conf)
{
	struct khv_domain *d = n->d;
	struct khv_net *net = &d->nets[d->nnets];
	int rc = 0;

	if (d->nnets >= KHV_MAX_NETS)
		return fail(n->e, -EINVAL, "-s %s: more than %d interfaces", arg, KHV_MAX_NETS);
	for (const char *s = conf; s && !rc;) {
		size_t len;
		const char *item = next_item(&s, &len);

		rc = len ? net_item(n, arg, net, item, len)
			 : fail(n->e, -EINVAL, "-s %s: an empty virtio-net option", arg);
	}
	if (rc)
		return rc;
	if (!net->target_dev)
		return fail(n->e, -EINVAL, "-s %s: virtio-net needs a tap name", arg);
	net->type = KHV_NET_BRIDGE;
	if (khv_strset(&net->source, LIBVIRT_BRIDGE))
		return oom(n->e);
	net->addr = *a;
	d->nnets++;
	return 0;
}

static int dev_rnd(struct native *n, const char *arg, const struct khv_pci_addr *a,
		   const char *conf)
{
	if (conf && *conf)
		return fail(n->e, -EINVAL, "-s %s: virtio-rnd takes no options", arg);
	if (n->d->rng)
		return fail(n->e, -EINVAL, "-s %s: a second virtio-rnd (a definition has one)", arg);
	n->d->rng = true;
	n->d->rng_addr = *a;
	return 0;
}

static int console_port(struct native *n, const char *arg, const char *item, size_t len)
{
	struct khv_channel *ch = &n->d->channels[n->d->nchannels];
	const char *eq = memchr(item, '=', len);
	size_t plen = eq ? len - (size_t)(eq + 1 - item) : 0;
	int rc;

	if (!eq || eq == item || !plen)
		return fail(n->e, -EINVAL, "-s %s: port \"%.*s\": expected NAME=PATH", arg,
			    (int)len, item);
	if (n->d->nchannels >= KHV_MAX_CHANNELS)
		return fail(n->e, -EINVAL, "-s %s: more than %d ports", arg, KHV_MAX_CHANNELS);
	if (plen > SOCK_PATH_MAX)
		return fail(n->e, -EINVAL, "-s %s: port \"%.*s\": the socket path must be 1 to %d "
			    "bytes", arg, (int)(eq - item), item, SOCK_PATH_MAX);
	rc = dup_item(n->e, &ch->name, item, (size_t)(eq - item));
	if (!rc)
		rc = dup_item(n->e, &ch->path, eq + 1, plen);
	if (!rc)
		n->d->nchannels++;
	return rc;
}

/* NAME=PATH,...: the definition's channels, which share this device. */
static int dev_console(struct native *n, const char *arg, const struct khv_pci_addr *a,
		       const char *conf)
{
	int rc = 0;

	if (n->d->channel_addr_set)
		return fail(n->e, -EINVAL, "-s %s: a second virtio-console (a definition has one, "
			    "shared by all channels)", arg);
	if (!conf || !*conf)
		return fail(n->e, -EINVAL, "-s %s: virtio-console needs NAME=PATH ports", arg);
	for (const char *s = conf; s && !rc;) {
		size_t len;
		const char *item = next_item(&s, &len);

		rc = console_port(n, arg, item, len);
	}
	if (rc)
		return rc;
	n->d->channel_addr_set = true;
	n->d->channel_addr = *a;
	return 0;
}

static const struct {
	const char *name;
	dev_fn *fn;
} devices[] = {
	{ "hostbridge", dev_bridge },
	{ "amd_hostbridge", dev_bridge },
	{ "lpc", dev_bridge },
	{ "virtio-blk", dev_blk },
	{ "virtio-net", dev_net },
	{ "virtio-rnd", dev_rnd },
	{ "virtio-console", dev_console },
};

/* bhyve's (and libvirt's) other emulations: refused, where libvirt would
 * convert some (ahci-hd, ahci-cd, e1000, fbuf, passthru) for a bhyve that
 * khyve is not. */
static const char *const foreign_devices[] = {
	"ahci", "ahci-hd", "ahci-cd", "nvme", "e1000", "fbuf", "passthru", "xhci",
	"virtio-scsi", "virtio-9p", "virtio-input", "uart", "hda",
};

static int slot_device(struct native *n, const char *arg, const char *emul, size_t elen,
		       const struct khv_pci_addr *a, const char *conf)
{
	for (size_t i = 0; i < NELEM(devices); i++)
		if (item_is(emul, elen, devices[i].name))
			return devices[i].fn(n, arg, a, conf);
	for (size_t i = 0; i < NELEM(foreign_devices); i++)
		if (item_is(emul, elen, foreign_devices[i]))
			return fail(n->e, -EINVAL, "-s %s: khyve has no %s device", arg,
				    foreign_devices[i]);
	return fail(n->e, -EINVAL, "-s %s: unknown device \"%.*s\"", arg, (int)elen, emul);
}

static int opt_slot(struct native *n, const char *arg)
{
	const char *c1 = strchr(arg, ','), *emul, *c2;
	struct khv_pci_addr a;
	size_t elen;

	if (!c1 || !c1[1] || c1[1] == ',')
		return fail(n->e, -EINVAL, "-s %s: expected slot,emulation[,conf]", arg);
	emul = c1 + 1;
	c2 = strchr(emul, ',');
	elen = c2 ? (size_t)(c2 - emul) : strlen(emul);
	if (parse_slot(arg, (size_t)(c1 - arg), &a))
		return fail(n->e, -EINVAL, "-s %s: invalid slot (slot, slot:function or "
			    "0:slot:function in decimal; slot 0-31, function 0-7)", arg);
	if (n->used[a.slot] & (1u << a.func))
		return fail(n->e, -EINVAL, "-s %s: PCI slot %d:%d is already occupied", arg,
			    a.slot, a.func);
	n->used[a.slot] |= (uint8_t)(1u << a.func);
	return slot_device(n, arg, emul, elen, &a, c2 ? c2 + 1 : NULL);
}

/* ---- the option loop ---- */

static const char flag_opts[] = "aACDeHhIMPSuWwxY";
static const char arg_opts[] = "cfGgKklmnoprsU";

/* khyve's options that cannot become part of a definition. */
static int refused(struct native *n, char c, const char *arg)
{
	static const struct {
		char opt;
		const char *why;
	} reasons[] = {
		{ 'h', "prints the usage, it defines no VM" },
		{ 'f', "fw_cfg items are not available in khyve yet" },
		{ 'G', "the GDB stub is not available in khyve yet" },
		{ 'K', "keyboard layouts need a framebuffer, which khyve does not have yet" },
		{ 'n', "NUMA domains are not available in khyve yet" },
		{ 'k', "a config file cannot be converted: give its variables as options" },
		{ 'r', "restoring a checkpoint is not a domain definition" },
	};

	for (size_t i = 0; i < NELEM(reasons); i++)
		if (reasons[i].opt == c)
			return fail(n->e, -EINVAL, "-%c%s%s: %s", c, arg ? " " : "",
				    arg ? arg : "", reasons[i].why);
	return fail(n->e, -EINVAL, "unknown option -%c", c);
}

static int vm_option(struct native *n, char c, const char *arg)
{
	switch (c) {
	case 'A':
		n->d->acpi = true;
		return 0;
	case 'I':
		n->d->apic = true;	/* libvirt keeps the obsolete flag as <apic/> */
		return 0;
	case 'u':
		n->d->clock = KHV_CLOCK_UTC;
		return 0;
	case 'c':
		return opt_cpus(n, arg);
	case 'm':
		return set_memory(n, "-m", arg);
	case 'U':
		return opt_uuid(n, arg);
	case 'o':
		return opt_assign(n, arg);
	case 'l':
		return opt_lpc(n, arg);
	case 's':
		return opt_slot(n, arg);
	case 'p':		/* vCPU pinning and the old GDB port: */
	case 'g':		/* libvirt skips them */
	case 'M':		/* bhyve's monitor boots a rebooted guest again */
		n->d->on_reboot = KHV_LIFE_RESTART;
		return 0;
	case 'a': case 'C': case 'D': case 'e': case 'H':
	case 'P': case 'S': case 'W': case 'w': case 'x': case 'Y':
		return 0;	/* no place in the definition; see test_native.c */
	default:
		return refused(n, c, arg);
	}
}

static bool in_set(const char *set, char c)
{
	return c && strchr(set, c);
}

/* One word of options, getopt style: "-AHP", "-c2" or "-c" "2". */
static int option_word(struct native *n, char **argv, unsigned argc, unsigned *i)
{
	const char *w = argv[*i];

	for (size_t j = 1; w[j]; j++) {
		char c = w[j];
		int rc;

		if (!in_set(arg_opts, c)) {
			if (!in_set(flag_opts, c))
				return fail(n->e, -EINVAL, "unknown option -%c", c);
			if ((rc = vm_option(n, c, NULL)))
				return rc;
			continue;
		}
		if (w[j + 1])
			return vm_option(n, c, w + j + 1);
		if (*i + 1 >= argc)
			return fail(n->e, -EINVAL, "option -%c needs an argument", c);
		return vm_option(n, c, argv[++*i]);
	}
	return 0;
}

static int vm_name(struct native *n, char **argv, unsigned argc, unsigned i)
{
	if (i >= argc)
		return fail(n->e, -EINVAL, "%s: missing the VM name after the options", argv[0]);
	/* libvirt: nothing may follow the name */
	if (i + 1 < argc)
		return fail(n->e, -EINVAL, "%s: stray argument after the VM name %s", argv[i + 1],
			    argv[i]);
	if (!name_ok(argv[i]))
		return fail(n->e, -EINVAL, "VM name \"%s\": %s", argv[i], name_rule);
	memcpy(n->d->name, argv[i], strlen(argv[i]) + 1);
	return 0;
}

static int parse_vm(struct native *n, char **argv, unsigned argc)
{
	unsigned i;
	int rc = 0;

	for (i = 1; !rc && i < argc; i++) {
		const char *w = argv[i];

		if (w[0] != '-' || !w[1])
			break;
		if (!strcmp(w, "--")) {
			i++;
			break;
		}
		rc = option_word(n, argv, argc, &i);
	}
	return rc ? rc : vm_name(n, argv, argc, i);
}

/* ---- the loader command ---- */

static int custom_loader(struct native *n, char **argv, const char *what)
{
	return fail(n->e, -EINVAL, "%s%s%s: a custom loader: khyve boots kernels directly: use "
		    "-o boot.kernel=PATH", argv[0], what ? " " : "", what ? what : "");
}

/* libvirt's rule: bhyveload with -m and -d only is implied by the
 * definition (same name, same memory); anything else is a custom loader. */
static int parse_loader(struct native *n, char **argv, unsigned argc)
{
	bool mem = false, disk = false;
	unsigned i;
	int rc;

	if (strcmp(base_name(argv[0]), "bhyveload"))
		return custom_loader(n, argv, NULL);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *w = argv[i], *arg;

		if ((w[1] != 'm' && w[1] != 'd') || !strcmp(w, "--"))
			return custom_loader(n, argv, w);
		arg = w[2] ? w + 2 : (i + 1 < argc ? argv[++i] : NULL);
		if (!arg)
			return fail(n->e, -EINVAL, "%s %s: option needs an argument", argv[0], w);
		if (w[1] == 'd')
			disk = true;
		else if ((rc = set_memory(n, "bhyveload -m", arg)))
			return rc;
		mem |= w[1] == 'm';
	}
	if (!mem || !disk)
		return custom_loader(n, argv, mem ? "without -d" : "without -m");
	if (i >= argc)
		return fail(n->e, -EINVAL, "%s: missing the VM name", argv[0]);
	if (i + 1 < argc)
		return fail(n->e, -EINVAL, "%s: stray argument after the VM name %s", argv[i + 1],
			    argv[i]);
	if (strcmp(argv[i], n->d->name))
		return fail(n->e, -EINVAL, "VM name mismatch: the loader boots \"%s\", bhyve runs "
			    "\"%s\"", argv[i], n->d->name);
	return 0;
}

/* ---- from native ---- */

/* Version 4 (random) UUID, as libvirt's virUUIDGenerate. */
static int random_uuid(uint8_t u[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t r = getrandom(u + got, 16 - got, 0);

		if (r < 0 && errno != EINTR)
			return -errno;
		got += r > 0 ? (size_t)r : 0;
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	return 0;
}

/* Which command is the VM and which the loader (-1: none). */
static int classify(const struct words *ws, int *vm, int *loader, const struct errbuf *e)
{
	*vm = *loader = -1;
	for (unsigned i = 0; i < ws->ncmds; i++) {
		const char *b = base_name(ws->word[ws->cmd[i].first]);
		bool is_vm = !strcmp(b, "bhyve") || !strcmp(b, "khyve");
		int *slot = is_vm ? vm : loader;

		if (*slot >= 0)
			return fail(e, -EINVAL, "more than one %s command line",
				    is_vm ? "bhyve" : "loader");
		*slot = (int)i;
	}
	if (*vm < 0)
		return fail(e, -EINVAL, "no bhyve command line (its first word must be bhyve or "
			    "khyve)");
	return 0;
}

static int convert(struct native *n, struct words *ws, int vm, int loader)
{
	struct khv_domain *d = n->d;
	int rc;

	d->vcpus = 1;
	rc = parse_vm(n, &ws->word[ws->cmd[vm].first], ws->cmd[vm].n);
	if (!rc && loader >= 0)
		rc = parse_loader(n, &ws->word[ws->cmd[loader].first], ws->cmd[loader].n);
	if (rc)
		return rc;
	if (!n->mem_given)
		d->memory_kib = DEFAULT_MEMORY_KIB;
	d->current_memory_kib = d->memory_kib;
	if (!d->has_uuid) {
		if ((rc = random_uuid(d->uuid)))
			return fail(n->e, rc, "cannot make a UUID: %s", strerror(-rc));
		d->has_uuid = true;
	}
	return 0;
}

int khv_domain_from_native(const char *text, size_t len, struct khv_domain **out,
			   char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct native n = { .e = &e };
	struct words *ws = NULL;
	const char *nul;
	int vm, loader, rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!text)
		len = 0;
	/* The text ends at its first NUL, as a C string would. */
	if (len && (nul = memchr(text, '\0', len)))
		len = (size_t)(nul - text);
	if (len > KHV_NATIVE_MAX_BYTES)
		return fail(&e, -EINVAL, "the command line is longer than %u bytes",
			    KHV_NATIVE_MAX_BYTES);
	if ((rc = split_words(text ? text : "", len, &ws, &e)))
		return rc;
	rc = classify(ws, &vm, &loader, &e);
	if (!rc && !(n.d = khv_domain_new()))
		rc = oom(&e);
	if (!rc)
		rc = convert(&n, ws, vm, loader);
	words_free(ws);
	if (rc) {
		khv_domain_free(n.d);
		return rc;
	}
	*out = n.d;
	return 0;
}

/* ---- to native: the argv being built ---- */

struct argv_out {
	char **v;
	size_t n, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void add(struct argv_out *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int len;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0) {
		a->oom = true;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void khv_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* ---- to native: PCI addresses ---- */

struct plan {
	uint8_t used[PCI_NSLOTS];
	struct khv_pci_addr disk[KHV_MAX_DISKS], net[KHV_MAX_NETS], console, rng;
};

static int reserve(struct plan *p, const struct khv_pci_addr *a, const char *what,
		   const struct errbuf *e)
{
	if (a->slot < 0)
		return 0;
	if (a->slot >= PCI_NSLOTS || a->func < 0 || a->func >= PCI_NFUNCS)
		return fail(e, -EINVAL, "%s: PCI address %d:%d is out of range (slot 0-31, "
			    "function 0-7)", what, a->slot, a->func);
	if (a->slot == 0 || a->slot == SLOT_LPC)
		return fail(e, -EINVAL, "%s: PCI slot %d is the %s bridge's", what, a->slot,
			    a->slot ? "LPC" : "host");
	if (p->used[a->slot] & (1u << a->func))
		return fail(e, -EINVAL, "%s: PCI slot %d:%d is taken twice", what, a->slot,
			    a->func);
	p->used[a->slot] |= (uint8_t)(1u << a->func);
	return 0;
}

static int assign(struct plan *p, const struct khv_pci_addr *given, struct khv_pci_addr *out,
		  const char *what, const struct errbuf *e)
{
	if (given->slot >= 0) {
		*out = *given;
		return 0;
	}
	for (int s = SLOT_FIRST_FREE; s < SLOT_LPC; s++)
		if (!p->used[s]) {
			p->used[s] = 1;
			out->slot = s;
			out->func = 0;
			return 0;
		}
	return fail(e, -EINVAL, "%s: no free PCI slot left", what);
}

/* The devices in one list: disks, nets, the console, the rng. */
struct dev_ref {
	const struct khv_pci_addr *given;
	struct khv_pci_addr *out;
	char what[48];
};

static unsigned dev_refs(const struct khv_domain *d, struct plan *p, struct dev_ref *r)
{
	static const struct khv_pci_addr unset = { -1, 0 };
	unsigned n = 0;

	for (unsigned i = 0; i < d->ndisks; i++, n++) {
		r[n] = (struct dev_ref){ &d->disks[i].addr, &p->disk[i], "" };
		snprintf(r[n].what, sizeof(r[n].what), "disk %u", i + 1);
	}
	for (unsigned i = 0; i < d->nnets; i++, n++) {
		r[n] = (struct dev_ref){ &d->nets[i].addr, &p->net[i], "" };
		snprintf(r[n].what, sizeof(r[n].what), "interface %u", i + 1);
	}
	if (d->nchannels)
		r[n++] = (struct dev_ref){ d->channel_addr_set ? &d->channel_addr : &unset,
					   &p->console, "channels" };
	if (d->rng)
		r[n++] = (struct dev_ref){ &d->rng_addr, &p->rng, "rng" };
	return n;
}

/* Explicit addresses first, then the next free slots from 2 in order. */
static int plan_addresses(const struct khv_domain *d, struct plan *p, const struct errbuf *e)
{
	struct dev_ref r[KHV_MAX_DISKS + KHV_MAX_NETS + 2];
	unsigned n;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	n = dev_refs(d, p, r);
	for (unsigned i = 0; i < n && !rc; i++)
		rc = reserve(p, r[i].given, r[i].what, e);
	for (unsigned i = 0; i < n && !rc; i++)
		rc = assign(p, r[i].given, r[i].out, r[i].what, e);
	return rc;
}

static void fmt_addr(char *buf, size_t len, const struct khv_pci_addr *a)
{
	if (a->func)
		snprintf(buf, len, "%d:%d", a->slot, a->func);
	else
		snprintf(buf, len, "%d", a->slot);
}

/* ---- to native: the devices ---- */

static int add_disks(const struct khv_domain *d, const struct plan *p, struct argv_out *a,
		     const struct errbuf *e)
{
	for (unsigned i = 0; i < d->ndisks; i++) {
		const struct khv_disk *k = &d->disks[i];
		const char *ser = k->serial;
		char at[8];

		if (!k->source || !*k->source || strchr(k->source, ','))
			return fail(e, -EINVAL, "disk %u: khyve's -s needs a path without commas",
				    i + 1);
		if (ser && (!*ser || strlen(ser) > DISK_SERIAL_MAX || strchr(ser, ',')))
			return fail(e, -EINVAL, "disk %u: the serial must be 1 to %d characters "
				    "without commas", i + 1, DISK_SERIAL_MAX);
		fmt_addr(at, sizeof(at), &p->disk[i]);
		add(a, "-s");
		add(a, "%s,virtio-blk,%s%s%s%s", at, k->source, k->readonly ? ",ro" : "",
		    ser ? ",ser=" : "", ser ? ser : "");
	}
	return 0;
}

static bool tap_taken(const struct khv_domain *d, const char *name)
{
	for (unsigned i = 0; i < d->nnets; i++)
		if (d->nets[i].target_dev && !strcmp(d->nets[i].target_dev, name))
			return true;
	return false;
}

static int add_net(const struct khv_net *net, unsigned i, const char *tap, const char *at,
		   struct argv_out *a, const struct errbuf *e)
{
	const uint8_t *m = net->mac;
	char backend[IFNAME_MAX + 16];

	if (!tap_ok(tap))
		return fail(e, -EINVAL, "interface %u: tap name \"%s\": %s", i + 1, tap, tap_rule);
	if (net->has_mac && !mac_usable(m))
		return fail(e, -EINVAL, "interface %u: the MAC address is multicast or zero", i + 1);
	add(a, "-s");
	if (net->tap_fd > 0)
		snprintf(backend, sizeof(backend), "tapfd=%d", net->tap_fd);
	else
		snprintf(backend, sizeof(backend), "%s", tap);
	if (net->has_mac)
		add(a, "%s,virtio-net,%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", at, backend, m[0],
		    m[1], m[2], m[3], m[4], m[5]);
	else
		add(a, "%s,virtio-net,%s", at, backend);
	return 0;
}

/* An interface without a tap gets "tapN", the first N no other uses: the
 * manager creates the tap and puts the real name in before starting. */
static int add_nets(const struct khv_domain *d, const struct plan *p, struct argv_out *a,
		    const struct errbuf *e)
{
	unsigned next = 0;
	int rc = 0;

	for (unsigned i = 0; i < d->nnets && !rc; i++) {
		const char *tap = d->nets[i].target_dev;
		char placeholder[IFNAME_MAX + 1], at[8];

		if (!tap) {
			do
				snprintf(placeholder, sizeof(placeholder), "tap%u", next++);
			while (tap_taken(d, placeholder));
			tap = placeholder;
		}
		fmt_addr(at, sizeof(at), &p->net[i]);
		rc = add_net(&d->nets[i], i, tap, at, a, e);
	}
	return rc;
}

static int check_channel(const struct khv_channel *ch, unsigned i, const struct errbuf *e)
{
	if (!ch->name || !*ch->name || strpbrk(ch->name, ",="))
		return fail(e, -EINVAL, "channel %u: the target name must be set, without ',' "
			    "or '='", i + 1);
	if (!ch->path || !sock_path_ok(ch->path) || strchr(ch->path, ','))
		return fail(e, -EINVAL, "channel %u: the socket path must be 1 to %d bytes "
			    "without commas", i + 1, SOCK_PATH_MAX);
	return 0;
}

/* One virtio-console with a port per channel: NAME=PATH,... */
static int add_console(const struct khv_domain *d, const struct plan *p, struct argv_out *a,
		       const struct errbuf *e)
{
	size_t len = 0, off;
	char *conf, at[8];
	int rc;

	if (!d->nchannels)
		return 0;
	if (d->nchannels > KHV_MAX_CHANNELS)
		return fail(e, -EINVAL, "more than %d channels", KHV_MAX_CHANNELS);
	for (unsigned i = 0; i < d->nchannels; i++) {
		if ((rc = check_channel(&d->channels[i], i, e)))
			return rc;
		len += strlen(d->channels[i].name) + strlen(d->channels[i].path) + 2;
	}
	if (!(conf = malloc(len)))
		return oom(e);
	off = 0;
	for (unsigned i = 0; i < d->nchannels; i++)
		off += (size_t)snprintf(conf + off, len - off, "%s%s=%s", i ? "," : "",
					d->channels[i].name, d->channels[i].path);
	fmt_addr(at, sizeof(at), &p->console);
	add(a, "-s");
	add(a, "%s,virtio-console,%s", at, conf);
	free(conf);
	return 0;
}

static void add_rng(const struct khv_domain *d, const struct plan *p, struct argv_out *a)
{
	char at[8];

	if (!d->rng)
		return;
	fmt_addr(at, sizeof(at), &p->rng);
	add(a, "-s");
	add(a, "%s,virtio-rnd", at);
}

/* ---- to native: serial ports ---- */

static int serial_backend(const struct khv_serial *s, bool *stdio, struct argv_out *a,
			  const struct errbuf *e)
{
	unsigned com = s->port + 1;

	switch (s->type) {
	case KHV_CHR_PTY:
		add(a, "com%u,pty", com);
		return 0;
	case KHV_CHR_STDIO:
		if (*stdio)
			return fail(e, -EINVAL, "serial com%u: stdio serves one port only", com);
		*stdio = true;
		add(a, "com%u,stdio", com);
		return 0;
	case KHV_CHR_UNIX:
		if (!s->path || !sock_path_ok(s->path))
			return fail(e, -EINVAL, "serial com%u: the socket path must be 1 to %d "
				    "bytes", com, SOCK_PATH_MAX);
		add(a, "com%u,unix=%s", com, s->path);
		return 0;
	case KHV_CHR_DEV:
		if (!s->path || s->path[0] != '/')
			return fail(e, -EINVAL, "serial com%u: a tty needs an absolute path", com);
		add(a, "com%u,%s", com, s->path);
		return 0;
	case KHV_CHR_FILE:
		if (!s->path || s->path[0] != '/')
			return fail(e, -EINVAL, "serial com%u: a file needs an absolute path", com);
		add(a, "com%u,file=%s", com, s->path);
		return 0;
	case KHV_CHR_TCP:
		if (!s->service || !hostport_port_ok(s->service))
			return fail(e, -EINVAL, "serial com%u: tcp needs a port number 1 to 65535 as "
				    "its service", com);
		if (s->host && strpbrk(s->host, "[],"))
			return fail(e, -EINVAL, "serial com%u: tcp host \"%s\": not an address", com,
				    s->host);
		/* An IPv6 address in brackets, so its colons are not the port's. */
		add(a, strchr(s->host ? s->host : "", ':') ? "com%u,tcp=[%s]:%s" : "com%u,tcp=%s:%s",
		    com, s->host ? s->host : "", s->service);
		return 0;
	case KHV_CHR_NMDM:
		return fail(e, -EINVAL, "serial com%u: nmdm is FreeBSD's null-modem device, "
			    "which Linux has not: use a pty", com);
	}
	return fail(e, -EINVAL, "serial com%u: unknown backend type %d", com, (int)s->type);
}

static int add_serials(const struct khv_domain *d, struct argv_out *a, const struct errbuf *e)
{
	unsigned seen = 0;
	bool stdio = false;
	int rc = 0;

	if (d->nserials > KHV_MAX_SERIALS)
		return fail(e, -EINVAL, "more than %d serial ports", KHV_MAX_SERIALS);
	for (unsigned i = 0; i < d->nserials && !rc; i++) {
		const struct khv_serial *s = &d->serials[i];

		if (s->port >= KHV_MAX_SERIALS)
			return fail(e, -EINVAL, "serial port %u: khyve has com1 to com4", s->port);
		if (seen & (1u << s->port))
			return fail(e, -EINVAL, "serial com%u is given twice", s->port + 1);
		seen |= 1u << s->port;
		add(a, "-l");
		rc = serial_backend(s, &stdio, a, e);
	}
	return rc;
}

/* ---- to native: the VM as a whole ---- */

/* khyve's monitor restarts or ends; it cannot keep a stopped guest or
 * dump one's memory. */
static int check_lifecycle(const char *what, enum khv_lifecycle v, const struct errbuf *e)
{
	if (v == KHV_LIFE_DESTROY || v == KHV_LIFE_RESTART)
		return 0;
	return fail(e, -EINVAL, "%s %s: khyve's monitor restarts or destroys (no preserved or "
		    "dumped guests)", what, khv_lifecycle_name(v));
}

static int check_machine(const struct khv_domain *d, const struct errbuf *e)
{
	int rc;

	if (!name_ok(d->name))
		return fail(e, -EINVAL, "VM name \"%.*s\": %s", KHV_NAME_MAX - 1, d->name,
			    name_rule);
	if (d->arch && strcmp(d->arch, "x86_64"))
		return fail(e, -EINVAL, "architecture %s: khyve runs x86_64 guests", d->arch);
	if (d->vcpus < 1 || d->vcpus > KHYVE_MAXCPUS)
		return fail(e, -EINVAL, "%u vCPUs: khyve runs 1 to %d", d->vcpus, KHYVE_MAXCPUS);
	if ((d->sockets || d->cores || d->threads) &&
	    (!d->sockets || !d->cores || !d->threads ||
	     (uint64_t)d->sockets * d->cores * d->threads != d->vcpus))
		return fail(e, -EINVAL, "cpu topology %ux%ux%u: sockets x cores x threads must "
			    "equal the %u vCPUs", d->sockets, d->cores, d->threads, d->vcpus);
	if (!d->memory_kib || d->memory_kib > UINT64_MAX / KIB)
		return fail(e, -EINVAL, "memory size %llu KiB: out of range",
			    (unsigned long long)d->memory_kib);
	if (!d->kernel || !*d->kernel)
		return fail(e, -EINVAL, "khyve needs <os><kernel>: it boots kernels directly");
	if (d->initrd && !*d->initrd)
		return fail(e, -EINVAL, "the initrd path is empty");
	if ((rc = check_lifecycle("on_poweroff", d->on_poweroff, e)) ||
	    (rc = check_lifecycle("on_reboot", d->on_reboot, e)) ||
	    (rc = check_lifecycle("on_crash", d->on_crash, e)))
		return rc;
	if (d->cpu_model && !cpumodel_find(d->cpu_model))
		return fail(e, -EINVAL, "CPU model %.64s: khyve has %s", d->cpu_model,
			    cpumodel_names());
	if (d->nfilesystems)
		return fail(e, -EINVAL, "filesystem passthrough needs VirtFS, which khyve does "
			    "not have yet");
	if (d->ndisks > KHV_MAX_DISKS || d->nnets > KHV_MAX_NETS)
		return fail(e, -EINVAL, "more than %d disks or %d interfaces", KHV_MAX_DISKS,
			    KHV_MAX_NETS);
	return 0;
}

static void add_head(const struct khv_domain *d, const char *khyve, struct argv_out *a)
{
	const uint8_t *u = d->uuid;

	add(a, "%s", khyve ? khyve : "khyve");
	add(a, "-M");	/* the parent keeps the VM across guest reboots */
	add(a, "-c");
	if (d->sockets)
		add(a, "cpus=%u,sockets=%u,cores=%u,threads=%u", d->vcpus, d->sockets, d->cores,
		    d->threads);
	else
		add(a, "%u", d->vcpus);
	add(a, "-m");
	/* MiB when exact; otherwise KiB, so the size reads back unchanged. */
	if (d->memory_kib % KIB)
		add(a, "%lluK", (unsigned long long)d->memory_kib);
	else
		add(a, "%lluM", (unsigned long long)(d->memory_kib / KIB));
	if (d->acpi)
		add(a, "-A");
	if (d->apic)
		add(a, "-I");
	if (d->clock == KHV_CLOCK_UTC)
		add(a, "-u");
	if (d->has_uuid) {
		add(a, "-U");
		add(a, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		    u[12], u[13], u[14], u[15]);
	}
	if (d->cpu_model) {
		add(a, "-o");
		add(a, "cpu.model=%s", d->cpu_model);
	}
	/* The monitor's defaults: reboot restarts, poweroff and crash end. */
	if (d->on_reboot == KHV_LIFE_DESTROY) {
		add(a, "-o");
		add(a, "on_reboot=destroy");
	}
	if (d->on_poweroff == KHV_LIFE_RESTART) {
		add(a, "-o");
		add(a, "on_poweroff=restart");
	}
	if (d->on_crash == KHV_LIFE_RESTART) {
		add(a, "-o");
		add(a, "on_crash=restart");
	}
	add(a, "-s");
	add(a, "0,hostbridge");
}

static void add_tail(const struct khv_domain *d, struct argv_out *a)
{
	add(a, "-o");
	add(a, "boot.kernel=%s", d->kernel);
	if (d->initrd) {
		add(a, "-o");
		add(a, "boot.initrd=%s", d->initrd);
	}
	if (d->cmdline) {
		add(a, "-o");
		add(a, "boot.cmdline=%s", d->cmdline);
	}
	add(a, "%s", d->name);
}

static int build_argv(const struct khv_domain *d, const char *khyve, struct argv_out *a,
		      const struct errbuf *e)
{
	struct plan p;
	int rc = check_machine(d, e);

	if (!rc)
		rc = plan_addresses(d, &p, e);
	if (rc)
		return rc;
	add_head(d, khyve, a);
	rc = add_disks(d, &p, a, e);
	if (!rc)
		rc = add_nets(d, &p, a, e);
	if (!rc)
		rc = add_console(d, &p, a, e);
	if (rc)
		return rc;
	add_rng(d, &p, a);
	add(a, "-s");
	add(a, "%d,lpc", SLOT_LPC);
	if ((rc = add_serials(d, a, e)))
		return rc;
	add_tail(d, a);
	return 0;
}

int khv_domain_assign_addresses(struct khv_domain *d, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct plan p;
	int rc = plan_addresses(d, &p, &e);

	if (rc)
		return rc;
	for (unsigned i = 0; i < d->ndisks; i++)
		d->disks[i].addr = p.disk[i];
	for (unsigned i = 0; i < d->nnets; i++)
		d->nets[i].addr = p.net[i];
	if (d->nchannels) {
		d->channel_addr = p.console;
		d->channel_addr_set = true;
	}
	if (d->rng)
		d->rng_addr = p.rng;
	return 0;
}

int khv_domain_to_argv(const struct khv_domain *d, const char *khyve, char ***argv_out,
		       char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct argv_out a = { 0 };
	int rc;

	*argv_out = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = build_argv(d, khyve, &a, &e);
	if (!rc && a.oom)
		rc = oom(&e);
	if (rc) {
		khv_argv_free(a.v);
		return rc;
	}
	*argv_out = a.v;
	return 0;
}

/* ---- the argv as text ---- */

static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_word_char(*s) && !strchr("/,:=@%+", *s))
			return false;
	return true;
}

/* The bytes arg takes once quoted: '...' with each ' as '\''. */
static size_t quoted_len(const char *s)
{
	size_t len = 2;

	if (shell_safe(s))
		return strlen(s);
	for (; *s; s++)
		len += *s == '\'' ? 4 : 1;
	return len;
}

static char *put_quoted(char *out, const char *s)
{
	if (shell_safe(s))
		return stpcpy(out, s);
	*out++ = '\'';
	for (; *s; s++) {
		if (*s == '\'')
			out = stpcpy(out, "'\\''");
		else
			*out++ = *s;
	}
	*out++ = '\'';
	return out;
}

char *khv_argv_to_text(char *const *argv)
{
	size_t len = 1;
	char *text, *p;

	for (size_t i = 0; argv[i]; i++)
		len += quoted_len(argv[i]) + 1;
	if (!(text = malloc(len)))
		return NULL;
	p = text;
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			*p++ = ' ';
		p = put_quoted(p, argv[i]);
	}
	*p = '\0';
	return text;
}
