/* libvirt domain XML <-> struct khv_domain (domain_xml.h).
 *
 * Parsing: libxml2 builds the tree without network access, DTD loading
 * or entity substitution, and a document that declares a DOCTYPE is
 * stopped at the declaration, so no entity is ever defined.  The walk
 * then visits only elements it knows: each container's children go
 * through a table of handlers (which also lists each child's attributes),
 * anything else is refused with its name, and with a reason for the ones
 * users are likely to try.  libvirt's defaults for a domain XML (clock
 * utc, on_reboot restart, one vCPU) are set before the walk; rules that
 * span elements (topology = vcpus, the console mirror, PCI addresses) are
 * checked after it.
 *
 * Formatting writes libvirt's element order and quoting (single quotes,
 * two-space indent) so that parse(format(d)) == d for every d parsing
 * produces. */
#include "virt/domain_xml.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "cli/options.h"	/* KHYVE_MAXCPUS: khyve -c's limit */
#include "vmm/cpumodel.h"

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
#define VIRTIO_BLK_ID_BYTES 20	/* what a virtio-blk serial can hold */
#define LPC_SLOT	31	/* domain.h: khyve's LPC bridge */

/* ==== parsing ==== */

struct pctx {
	struct khv_domain *d;
	char *err;
	size_t errlen;
	int rc;				/* the first failure; 0 while none */
	bool doctype;			/* the document declared one */
	char xmlerr[200];		/* libxml2's first error, if the parse fails */
	xmlChar *text;			/* the last text_of() result */
	int maxport;			/* highest serial port so far, -1: none */
	xmlNode *console;		/* merged with serial port 0 at the end */
	bool have_memory, have_current, have_os, have_isa, have_vserial;
};

/* Messages quote document text: keep them on one line. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

__attribute__((format(printf, 2, 3)))
static int fail(struct pctx *p, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return p->rc;
	p->rc = -EINVAL;
	if (p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
		one_line(p->err);
	}
	return p->rc;
}

static int nomem(struct pctx *p)
{
	if (!p->rc) {
		p->rc = -ENOMEM;
		if (p->errlen)
			snprintf(p->err, p->errlen, "out of memory");
	}
	return p->rc;
}

static int set_str(struct pctx *p, char **dst, const char *s)
{
	return khv_strset(dst, s) ? nomem(p) : 0;
}

static const char *ename(const xmlNode *n)
{
	return (const char *)n->name;
}

static const char *pname(const xmlNode *n)
{
	return n->parent && n->parent->type == XML_ELEMENT_NODE ? ename(n->parent) : "document";
}

/* "prefix:" of a namespaced name, for messages. */
static const char *nsp(const xmlNs *ns)
{
	return ns && ns->prefix ? (const char *)ns->prefix : "";
}

static const char *nsc(const xmlNs *ns)
{
	return ns && ns->prefix ? ":" : "";
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static int pick(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(s, list[i]))
			return i;
	return -1;
}

/* An attribute's value.  check_attrs() has made sure the value is one
 * text node: without a DTD no entity reference can be left in it. */
static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next)
		if (!a->ns && !strcmp((const char *)a->name, name))
			return a->children ? (const char *)a->children->content : "";
	return NULL;
}

static int check_attrs(struct pctx *p, const xmlNode *n, const char *const *allowed)
{
	bool root = !n->parent || n->parent->type != XML_ELEMENT_NODE;

	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (a->ns || !in_list((const char *)a->name, allowed))
			return fail(p, "unsupported attribute '%s%s%s' of <%s>%s%s%s", nsp(a->ns),
				    nsc(a->ns), (const char *)a->name, ename(n),
				    root ? "" : " in <", root ? "" : pname(n), root ? "" : ">");
		if (a->children && (a->children->next || a->children->type != XML_TEXT_NODE))
			return fail(p, "attribute '%s' of <%s> is not plain text",
				    (const char *)a->name, ename(n));
	}
	return 0;
}

#define A(...)	((const char *const[]){ __VA_ARGS__, NULL })
#define A0	((const char *const[]){ NULL })
#define ATTRS(p, n, ...) check_attrs((p), (n), A(__VA_ARGS__))

typedef int (*handler_fn)(struct pctx *p, xmlNode *n, void *obj);

struct handler {
	const char *name;
	handler_fn fn;
	const char *const *attrs;	/* allowed attributes; NULL: fn checks them */
	bool repeat;			/* may appear more than once */
};

/* Elements users are likely to try, with why khyve has none. */
static const struct {
	const char *name, *why;
} reasons[] = {
	{ "bootloader", "khyve boots kernels directly (<os><kernel>)" },
	{ "bootloader_args", "khyve boots kernels directly (<os><kernel>)" },
	{ "loader", "khyve boots kernels directly (<os><kernel>)" },
	{ "nvram", "khyve boots kernels directly (<os><kernel>)" },
	{ "boot", "khyve boots kernels directly (<os><kernel>)" },
	{ "hostdev", "khyve has no PCI passthrough" },
	{ "graphics", "khyve has no display" },
	{ "video", "khyve has no display" },
	{ "sound", "khyve has no sound" },
	{ "audio", "khyve has no sound" },
	{ "input", "khyve has no input devices" },
	{ "emulator", "khyve is its own device model" },
};

static int refuse(struct pctx *p, const xmlNode *n)
{
	const char *why = NULL;

	for (size_t i = 0; !n->ns && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(ename(n), reasons[i].name))
			why = reasons[i].why;
	return fail(p, "unsupported element <%s%s%s> in <%s>%s%s", nsp(n->ns), nsc(n->ns),
		    ename(n), pname(n), why ? ": " : "", why ? why : "");
}

/* Runs the handler of each element child of parent; an element without
 * one is refused, and so is a second one of an element that may appear
 * once.  Text and comments between elements mean nothing. */
static int children(struct pctx *p, xmlNode *parent, const struct handler *h, size_t nh,
		    void *obj)
{
	uint32_t seen = 0;

	for (xmlNode *c = parent->children; c; c = c->next) {
		size_t i = 0;
		int rc;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		while (i < nh && (c->ns || strcmp(ename(c), h[i].name)))
			i++;
		if (i == nh)
			return refuse(p, c);
		if (!h[i].repeat && (seen & (1u << i)))
			return fail(p, "more than one <%s> in <%s>", ename(c), ename(parent));
		seen |= 1u << i;
		if (h[i].attrs && (rc = check_attrs(p, c, h[i].attrs)))
			return rc;
		if ((rc = h[i].fn(p, c, obj)))
			return rc;
	}
	return 0;
}

#define CHILDREN(p, n, table, obj) \
	children((p), (n), (table), sizeof(table) / sizeof((table)[0]), (obj))
#define NO_CHILDREN(p, n) children((p), (n), NULL, 0, NULL)

/* The text of an element that holds only text; valid until the next
 * call.  NULL after recording the error. */
static char *text_of(struct pctx *p, xmlNode *n)
{
	if (NO_CHILDREN(p, n))
		return NULL;
	xmlFree(p->text);
	p->text = xmlNodeGetContent(n);
	if (!p->text)
		nomem(p);
	return (char *)p->text;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* s as an unsigned number in base (0: C's prefixes, as libvirt reads PCI
 * addresses); no sign, no space, nothing after it. */
static bool to_u64(const char *s, int base, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* Attribute name of n as a number in [min, max]; *v is left alone when
 * the attribute is absent. */
static int attr_num(struct pctx *p, const xmlNode *n, const char *name, uint64_t min,
		    uint64_t max, unsigned *v)
{
	const char *s = attr(n, name);
	uint64_t x;

	if (!s)
		return 0;
	if ((!to_u64(s, 10, &x) || x < min || x > max) && min == max)
		return fail(p, "invalid %s='%s' in <%s> (khyve has only %" PRIu64 ")", name, s,
			    ename(n), min);
	if (!to_u64(s, 10, &x) || x < min || x > max)
		return fail(p, "invalid %s='%s' in <%s> (%" PRIu64 " to %" PRIu64 ")", name, s,
			    ename(n), min, max);
	*v = (unsigned)x;
	return 0;
}

/* ---- identity ---- */

/* khyve's VM names (the run directory's, bhyve's /dev/vmm names). */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= KHV_NAME_MAX || *s == '.' || *s == '-')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int do_name(struct pctx *p, xmlNode *n, void *obj)
{
	char *t = text_of(p, n);

	if (!t)
		return p->rc;
	if (!valid_name(t))
		return fail(p, "invalid <name> '%s' (1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -)",
			    t, KHV_NAME_MAX - 1);
	strcpy(p->d->name, t);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 8-4-4-4-12 hex digits, or the 32 digits alone (libvirt takes both). */
static bool parse_uuid(const char *s, uint8_t out[16])
{
	size_t n = strlen(s), j = 0;
	bool dashes = n == 36;

	if (n != 32 && n != 36)
		return false;
	for (size_t i = 0; i < n;) {
		int hi, lo;

		if (dashes && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i++] != '-')
				return false;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return j == 16;
}

static int do_uuid(struct pctx *p, xmlNode *n, void *obj)
{
	char *t = text_of(p, n);

	if (!t)
		return p->rc;
	t = trim(t);
	if (!parse_uuid(t, p->d->uuid))
		return fail(p, "invalid <uuid> '%s' (8-4-4-4-12 hex digits)", t);
	p->d->has_uuid = true;
	return 0;
}

static char **str_field(struct khv_domain *d, const char *name)
{
	if (!strcmp(name, "title"))
		return &d->title;
	if (!strcmp(name, "description"))
		return &d->description;
	if (!strcmp(name, "kernel"))
		return &d->kernel;
	if (!strcmp(name, "initrd"))
		return &d->initrd;
	return &d->cmdline;
}

/* <title>, <description>, <kernel>, <initrd>, <cmdline>: empty is absent,
 * as in libvirt. */
static int do_str(struct pctx *p, xmlNode *n, void *obj)
{
	char *t = text_of(p, n);

	if (!t)
		return p->rc;
	if (!strcmp(ename(n), "title") && strpbrk(t, "\r\n"))
		return fail(p, "<title> must be one line");
	return set_str(p, str_field(p->d, ename(n)), *t ? t : NULL);
}

/* ---- memory and vCPUs ---- */

/* libvirt's virScaleInteger: b/byte/bytes; k, KiB, M, MiB... powers of
 * 1024; KB, MB... powers of 1000; case-insensitive; none: KiB. */
static int unit_scale(const char *u, uint64_t *scale)
{
	static const char order[] = "kmgtpe";
	const char *pos;
	uint64_t base;

	if (!u || !*u) {
		*scale = 1024;
		return 0;
	}
	if (!strcasecmp(u, "b") || !strcasecmp(u, "byte") || !strcasecmp(u, "bytes")) {
		*scale = 1;
		return 0;
	}
	if (!u[1] || !strcasecmp(u + 1, "iB"))
		base = 1024;
	else if (tolower((unsigned char)u[1]) == 'b' && !u[2])
		base = 1000;
	else
		return -1;
	pos = strchr(order, tolower((unsigned char)u[0]));
	if (!pos)
		return -1;
	*scale = 1;
	for (const char *c = order; c <= pos; c++)
		*scale *= base;
	return 0;
}

/* <memory> and <currentMemory>: rounded up to KiB as libvirt does, and
 * then at most INT64_MAX bytes (libvirt's bound), so that the KiB value
 * written back reads again. */
static int do_memory(struct pctx *p, xmlNode *n, void *obj)
{
	bool cur = !strcmp(ename(n), "currentMemory");
	const char *unit = attr(n, "unit");
	uint64_t v, scale;
	char *t = text_of(p, n);

	if (!t)
		return p->rc;
	t = trim(t);
	if (!to_u64(t, 10, &v))
		return fail(p, "invalid <%s> '%s' (a number; unit= gives its unit)", ename(n), t);
	if (unit_scale(unit, &scale))
		return fail(p, "unknown unit '%s' of <%s> (b, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T, TiB...)",
			    unit, ename(n));
	if (v > INT64_MAX / scale || (v * scale + 1023) / 1024 > INT64_MAX / 1024)
		return fail(p, "<%s> %s %s is too large", ename(n), t, unit ? unit : "KiB");
	v = (v * scale + 1023) / 1024;
	if (!v)
		return fail(p, "<%s> must be more than 0", ename(n));
	if (cur)
		p->d->current_memory_kib = v;
	else
		p->d->memory_kib = v;
	*(cur ? &p->have_current : &p->have_memory) = true;
	return 0;
}

static int do_vcpu(struct pctx *p, xmlNode *n, void *obj)
{
	const char *placement = attr(n, "placement"), *current = attr(n, "current");
	uint64_t v, c;
	char *t;

	if (placement && strcmp(placement, "static"))
		return fail(p, "unsupported vcpu placement '%s' (khyve places vCPUs statically)", placement);
	if (!(t = text_of(p, n)))
		return p->rc;
	t = trim(t);
	if (!to_u64(t, 10, &v) || !v || v > KHYVE_MAXCPUS)
		return fail(p, "invalid <vcpu> '%s' (1 to %d)", t, KHYVE_MAXCPUS);
	if (current && (!to_u64(current, 10, &c) || c != v))
		return fail(p, "vcpu current='%s' differs from <vcpu> %" PRIu64
			    " (khyve has no vCPU hot-plug)", current, v);
	p->d->vcpus = (unsigned)v;
	return 0;
}

static int do_topology(struct pctx *p, xmlNode *n, void *obj)
{
	static const char *const names[] = { "sockets", "cores", "threads" };
	unsigned v[3] = { 0 }, dies = 1, clusters = 1;
	int rc;

	for (int i = 0; i < 3; i++) {
		if (!attr(n, names[i]))
			return fail(p, "<topology> needs sockets=, cores= and threads=");
		if ((rc = attr_num(p, n, names[i], 1, KHYVE_MAXCPUS, &v[i])))
			return rc;
	}
	if ((rc = attr_num(p, n, "dies", 1, KHYVE_MAXCPUS, &dies)) ||
	    (rc = attr_num(p, n, "clusters", 1, KHYVE_MAXCPUS, &clusters)))
		return rc;
	if (dies != 1 || clusters != 1)
		return fail(p, "topology dies='%u' clusters='%u' (khyve has one of each per socket)",
			    dies, clusters);
	p->d->sockets = v[0];
	p->d->cores = v[1];
	p->d->threads = v[2];
	return NO_CHILDREN(p, n);
}

static int do_cpu_model(struct pctx *p, xmlNode *n, void *obj)
{
	const char *fallback = attr(n, "fallback");
	char *t;

	if (fallback && strcmp(fallback, "forbid") && strcmp(fallback, "allow"))
		return fail(p, "invalid cpu model fallback '%s'", fallback);
	if (!(t = text_of(p, n)))
		return -EINVAL;
	t = trim(t);
	if (!cpumodel_find(t) || !strcmp(t, "host"))
		return fail(p, "unsupported CPU model '%s' (khyve has x86-64-v1 to x86-64-v4; the "
			    "host's is mode='host-passthrough')", t);
	return set_str(p, &p->d->cpu_model, t);
}

static const struct handler cpu_children[] = {
	{ "model", do_cpu_model, A("fallback"), false },
	{ "topology", do_topology, A("sockets", "dies", "clusters", "cores", "threads"), false },
};

/* <cpu mode='host-passthrough'> is khyve's CPU (the host's, as KVM
 * offers it); mode='custom' (libvirt's default) names a model. */
static int do_cpu(struct pctx *p, xmlNode *n, void *obj)
{
	const char *mode = attr(n, "mode"), *match = attr(n, "match"), *check = attr(n, "check");
	int rc;

	if (mode && strcmp(mode, "host-passthrough") && strcmp(mode, "custom"))
		return fail(p, "unsupported cpu mode '%s' (khyve has host-passthrough and custom)",
			    mode);
	if (match && strcmp(match, "exact"))
		return fail(p, "unsupported cpu match '%s' (khyve's models are exact)", match);
	if (check && strcmp(check, "none") && strcmp(check, "partial") && strcmp(check, "full"))
		return fail(p, "invalid cpu check '%s'", check);
	if ((rc = check_attrs(p, n, A("mode", "match", "check"))) ||
	    (rc = CHILDREN(p, n, cpu_children, NULL)))
		return rc;
	if (mode && !strcmp(mode, "host-passthrough") && p->d->cpu_model)
		return fail(p, "<cpu mode='host-passthrough'> takes no <model>");
	if (mode && !strcmp(mode, "custom") && !p->d->cpu_model)
		return fail(p, "<cpu mode='custom'> needs a <model>");
	return 0;
}

/* ---- os, features, clock, lifecycle ---- */

static int do_ostype(struct pctx *p, xmlNode *n, void *obj)
{
	const char *arch = attr(n, "arch"), *machine = attr(n, "machine");
	char *t;

	if (arch && strcmp(arch, "x86_64"))
		return fail(p, "unsupported os arch '%s' (khyve runs x86_64 guests)", arch);
	if (machine)
		return fail(p, "unsupported os machine '%s' (khyve has one machine type: leave machine= out)",
			    machine);
	if (!(t = text_of(p, n)))
		return p->rc;
	if (strcmp(t, "hvm"))
		return fail(p, "unsupported os type '%s' (khyve runs hvm guests)", t);
	*(bool *)obj = true;
	return 0;
}

static const struct handler os_children[] = {
	{ "type", do_ostype, A("arch", "machine"), false },
	{ "kernel", do_str, A0, false },
	{ "initrd", do_str, A0, false },
	{ "cmdline", do_str, A0, false },
};

static int do_os(struct pctx *p, xmlNode *n, void *obj)
{
	bool type = false;
	int rc = CHILDREN(p, n, os_children, &type);

	if (!rc && !type)
		return fail(p, "<os> without <type>hvm</type>");
	p->have_os = true;
	/* libvirt fills in the host's arch when none is given. */
	return rc ? rc : set_str(p, &p->d->arch, "x86_64");
}

static int do_feature(struct pctx *p, xmlNode *n, void *obj)
{
	*(strcmp(ename(n), "acpi") ? &p->d->apic : &p->d->acpi) = true;
	return NO_CHILDREN(p, n);
}

static const struct handler features_children[] = {
	{ "acpi", do_feature, A0, false },
	{ "apic", do_feature, A0, false },
};

static int do_features(struct pctx *p, xmlNode *n, void *obj)
{
	return CHILDREN(p, n, features_children, NULL);
}

static int do_clock(struct pctx *p, xmlNode *n, void *obj)
{
	const char *offset = attr(n, "offset");

	if (!offset || !strcmp(offset, "utc"))
		p->d->clock = KHV_CLOCK_UTC;
	else if (!strcmp(offset, "localtime"))
		p->d->clock = KHV_CLOCK_LOCALTIME;
	else
		return fail(p, "unsupported clock offset '%s' (khyve has utc and localtime)", offset);
	return NO_CHILDREN(p, n);
}

static int do_lifecycle(struct pctx *p, xmlNode *n, void *obj)
{
	bool crash = !strcmp(ename(n), "on_crash");
	char *t = text_of(p, n);
	int v;

	if (!t)
		return p->rc;
	v = pick(t, khv_lifecycle_names);
	if (v < 0 || (!crash && v >= KHV_LIFE_COREDUMP_DESTROY))
		return fail(p, "invalid <%s> '%s' (destroy, restart, preserve, rename-restart%s)",
			    ename(n), t, crash ? ", coredump-destroy, coredump-restart" : "");
	if (crash)
		p->d->on_crash = v;
	else if (!strcmp(ename(n), "on_reboot"))
		p->d->on_reboot = v;
	else
		p->d->on_poweroff = v;
	return 0;
}

/* ---- PCI addresses ---- */

static int pci_addr(struct pctx *p, xmlNode *n, struct khv_pci_addr *a)
{
	static const char *const names[] = { "domain", "bus", "slot", "function" };
	const char *type = attr(n, "type"), *mf = attr(n, "multifunction");
	uint64_t v[4] = { 0 };
	int rc;

	if (!type || strcmp(type, "pci"))
		return fail(p, "unsupported address type '%s' of <%s> (khyve's devices are on PCI)",
			    type ? type : "", pname(n));
	if ((rc = ATTRS(p, n, "type", "domain", "bus", "slot", "function", "multifunction")))
		return rc;
	for (int i = 0; i < 4; i++) {
		const char *s = attr(n, names[i]);

		if (s && !to_u64(s, 0, &v[i]))
			return fail(p, "invalid PCI %s '%s' of <%s>", names[i], s, pname(n));
	}
	if (v[0] || v[1])
		return fail(p, "PCI domain 0x%" PRIx64 " bus 0x%" PRIx64 " of <%s> (khyve has one bus, 0000:00)",
			    v[0], v[1], pname(n));
	if (v[2] > 31 || v[3] > 7)
		return fail(p, "PCI slot 0x%" PRIx64 " function 0x%" PRIx64 " of <%s> (slots 0 to 31, functions 0 to 7)",
			    v[2], v[3], pname(n));
	/* khyve's PCI code sets the header's multifunction bit itself. */
	if (mf && strcmp(mf, "on") && strcmp(mf, "off"))
		return fail(p, "invalid multifunction '%s' of <%s> (on or off)", mf, pname(n));
	if ((rc = NO_CHILDREN(p, n)))
		return rc;
	a->slot = -1;
	a->func = 0;
	if (!v[2] && !v[3])		/* libvirt: an all-zero address is one to assign */
		return 0;
	if (!v[2] || v[2] == LPC_SLOT)
		return fail(p, "PCI slot %" PRIu64 " of <%s> is khyve's %s", v[2], pname(n),
			    v[2] ? "LPC bridge" : "host bridge");
	a->slot = (int)v[2];
	a->func = (int)v[3];
	return 0;
}

/* ---- disks ---- */

static int disk_driver(struct pctx *p, xmlNode *n, void *obj)
{
	const char *type = attr(n, "type");

	/* name= is the hypervisor's backend (qemu's "qemu", bhyve's "file");
	 * khyve has one. */
	if (type && strcmp(type, "raw"))
		return fail(p, "unsupported disk format '%s' (khyve has raw images)", type);
	return NO_CHILDREN(p, n);
}

static int disk_source(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_disk *k = obj;
	const char *key = k->block ? "dev" : "file", *s = attr(n, key);
	int rc;

	if ((rc = check_attrs(p, n, A(key))) || (rc = NO_CHILDREN(p, n)))
		return rc;
	if (!s || !*s)
		return fail(p, "<disk type='%s'> needs <source %s=>", k->block ? "block" : "file", key);
	return set_str(p, &k->source, s);
}

/* vda, vdb, ... vdzz: what libvirt's virtio disks are called. */
static bool virtio_disk_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= 6 && !strncmp(s, "vd", 2) &&
	       strspn(s + 2, "abcdefghijklmnopqrstuvwxyz") == n - 2;
}

static int disk_target(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_disk *k = obj;
	const char *bus = attr(n, "bus"), *dev = attr(n, "dev");

	if (bus && strcmp(bus, "virtio"))
		return fail(p, "unsupported disk bus '%s' (khyve has virtio disks only)", bus);
	if (!dev)
		return fail(p, "<target> of <disk> without dev=");
	if (!virtio_disk_name(dev))
		return fail(p, "disk target '%s' is not a virtio disk name (vda, vdb, ...)", dev);
	for (unsigned i = 0; i < p->d->ndisks; i++)
		if (!strcmp(p->d->disks[i].target, dev))
			return fail(p, "two disks with target '%s'", dev);
	return NO_CHILDREN(p, n) ? p->rc : set_str(p, &k->target, dev);
}

static int disk_readonly(struct pctx *p, xmlNode *n, void *obj)
{
	((struct khv_disk *)obj)->readonly = true;
	return NO_CHILDREN(p, n);
}

static int disk_serial(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_disk *k = obj;
	char *t = text_of(p, n);
	size_t len;

	if (!t)
		return p->rc;
	len = strlen(t);
	/* libvirt's schema for <serial>, and what virtio-blk's ID holds */
	if (len > VIRTIO_BLK_ID_BYTES ||
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+- ") != len)
		return fail(p, "invalid disk serial '%s' (up to %d of A-Z a-z 0-9 _ . + - space)", t,
			    VIRTIO_BLK_ID_BYTES);
	return set_str(p, &k->serial, len ? t : NULL);
}

static int disk_address(struct pctx *p, xmlNode *n, void *obj)
{
	return pci_addr(p, n, &((struct khv_disk *)obj)->addr);
}

static const struct handler disk_children[] = {
	{ "driver", disk_driver, A("name", "type"), false },
	{ "source", disk_source, NULL, false },
	{ "target", disk_target, A("dev", "bus"), false },
	{ "readonly", disk_readonly, A0, false },
	{ "serial", disk_serial, A0, false },
	{ "address", disk_address, NULL, false },
};

static int do_disk(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_domain *d = p->d;
	const char *type = attr(n, "type"), *device = attr(n, "device");
	struct khv_disk *k;
	int rc;

	if (d->ndisks == KHV_MAX_DISKS)
		return fail(p, "more than %d disks (KHV_MAX_DISKS)", KHV_MAX_DISKS);
	if (type && strcmp(type, "file") && strcmp(type, "block"))
		return fail(p, "unsupported disk type '%s' (khyve has file and block disks)", type);
	if (device && strcmp(device, "disk"))
		return fail(p, "unsupported disk device '%s' (khyve has virtio disks only)", device);
	k = &d->disks[d->ndisks];
	k->block = type && !strcmp(type, "block");
	if ((rc = CHILDREN(p, n, disk_children, k)))
		return rc;
	if (!k->source)
		return fail(p, "<disk type='%s'> needs <source %s=>", k->block ? "block" : "file",
			    k->block ? "dev" : "file");
	if (!k->target)
		return fail(p, "<disk> without <target dev=>");
	d->ndisks++;
	return 0;
}

/* ---- interfaces ---- */

static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		int n = 0;

		while (n < 2 && isxdigit((unsigned char)*s)) {
			v = v << 4 | (unsigned)hexval(*s++);
			n++;
		}
		if (!n || (i < 5 && *s++ != ':'))
			return false;
		mac[i] = (uint8_t)v;
	}
	return *s == '\0';
}

static int net_mac(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_net *k = obj;
	const char *s = attr(n, "address");

	if (!s || !parse_mac(s, k->mac))
		return fail(p, "invalid interface mac address '%s'", s ? s : "");
	if (k->mac[0] & 1)
		return fail(p, "interface mac address '%s' is a multicast address", s);
	k->has_mac = true;
	return NO_CHILDREN(p, n);
}

/* Bridge and tap names are network interface names. */
static int ifname(struct pctx *p, const char *what, const char *s)
{
	if (!s || !*s || strlen(s) >= IFNAMSIZ || strchr(s, '/'))
		return fail(p, "invalid %s '%s' (an interface name of 1 to %d characters)", what,
			    s ? s : "", IFNAMSIZ - 1);
	return 0;
}

static int net_source(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_net *k = obj;
	const char *key = k->type == KHV_NET_BRIDGE ? "bridge" : "network", *s = attr(n, key);
	int rc;

	if ((rc = check_attrs(p, n, A(key))) || (rc = NO_CHILDREN(p, n)))
		return rc;
	if (k->type == KHV_NET_BRIDGE && (rc = ifname(p, "interface source bridge", s)))
		return rc;
	if (!s || !*s)
		return fail(p, "<interface type='network'> needs <source network=>");
	return set_str(p, &k->source, s);
}

static int net_target(struct pctx *p, xmlNode *n, void *obj)
{
	const char *dev = attr(n, "dev");
	int rc;

	if ((rc = ifname(p, "interface target dev", dev)) || (rc = NO_CHILDREN(p, n)))
		return rc;
	for (unsigned i = 0; i < p->d->nnets; i++)
		if (p->d->nets[i].target_dev && !strcmp(p->d->nets[i].target_dev, dev))
			return fail(p, "two interfaces with target dev '%s'", dev);
	return set_str(p, &((struct khv_net *)obj)->target_dev, dev);
}

static int net_model(struct pctx *p, xmlNode *n, void *obj)
{
	const char *type = attr(n, "type");

	if (!type || strcmp(type, "virtio"))
		return fail(p, "unsupported interface model '%s' (khyve has virtio-net only)", type ? type : "");
	return NO_CHILDREN(p, n);
}

static int net_address(struct pctx *p, xmlNode *n, void *obj)
{
	return pci_addr(p, n, &((struct khv_net *)obj)->addr);
}

static const struct handler net_children[] = {
	{ "mac", net_mac, A("address"), false },
	{ "source", net_source, NULL, false },
	{ "target", net_target, A("dev"), false },
	{ "model", net_model, A("type"), false },
	{ "address", net_address, NULL, false },
};

static int do_interface(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_domain *d = p->d;
	const char *type = attr(n, "type");
	struct khv_net *k;
	int rc;

	if (!type || (strcmp(type, "bridge") && strcmp(type, "network")))
		return fail(p, "unsupported interface type '%s' (khyve has bridge and network)", type ? type : "");
	if (d->nnets == KHV_MAX_NETS)
		return fail(p, "more than %d interfaces (KHV_MAX_NETS)", KHV_MAX_NETS);
	k = &d->nets[d->nnets];
	k->type = strcmp(type, "bridge") ? KHV_NET_NETWORK : KHV_NET_BRIDGE;
	if ((rc = CHILDREN(p, n, net_children, k)))
		return rc;
	if (!k->source)
		return fail(p, "<interface type='%s'> needs <source %s=>", type, type);
	d->nnets++;
	return 0;
}

/* ---- serial ports and the console ---- */

/* A <serial> or <console> being read. */
struct chr_ctx {
	struct khv_serial *s;
	bool console;
	bool has_port;
};

/* In enum khv_chr_type's order; the XML parser takes the first four. */
static const char *const chr_names[] = { "pty", "file", "unix", "tcp", "nmdm", "stdio", NULL };

static int need_bind(struct pctx *p, const xmlNode *n, const char *type)
{
	const char *mode = attr(n, "mode");

	if (!mode || strcmp(mode, "bind"))
		return fail(p, "unsupported %s type '%s' source mode '%s' (khyve listens: mode='bind')", pname(n),
			    type, mode ? mode : "connect");
	return 0;
}

static int need_path(struct pctx *p, const xmlNode *n, const char *type, const char *path,
		     size_t max)
{
	if (!path || !*path)
		return fail(p, "%s type '%s' needs <source path=>", pname(n), type);
	if (strlen(path) >= max)
		return fail(p, "%s source path is longer than %zu bytes (a UNIX socket's limit)",
			    pname(n), max - 1);
	return 0;
}

static int chr_tcp_source(struct pctx *p, xmlNode *n, struct khv_serial *s)
{
	const char *host = attr(n, "host"), *service = attr(n, "service");
	uint64_t port;
	int rc;

	if ((rc = ATTRS(p, n, "mode", "host", "service")) || (rc = need_bind(p, n, "tcp")))
		return rc;
	if (!host || !*host || !service)
		return fail(p, "%s type 'tcp' needs <source host= service=>", pname(n));
	if (!to_u64(service, 10, &port) || !port || port > 65535)
		return fail(p, "%s tcp service '%s' is not a port number (1 to 65535)", pname(n),
			    service);
	if ((rc = set_str(p, &s->host, host)))
		return rc;
	return set_str(p, &s->service, service);
}

static int chr_source(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_serial *s = ((struct chr_ctx *)obj)->s;
	const char *path = attr(n, "path");
	int rc;

	if ((rc = NO_CHILDREN(p, n)))
		return rc;
	switch (s->type) {
	case KHV_CHR_PTY:
		/* A running guest's pty (virsh dumpxml): state, which start
		 * replaces and the command line never uses. */
		if ((rc = ATTRS(p, n, "path")) || !path)
			return rc;
		return set_str(p, &s->path, path);
	case KHV_CHR_FILE:
		if ((rc = ATTRS(p, n, "path")) || (rc = need_path(p, n, "file", path, SIZE_MAX)))
			return rc;
		return set_str(p, &s->path, path);
	case KHV_CHR_UNIX:
		if ((rc = ATTRS(p, n, "mode", "path")) || (rc = need_bind(p, n, "unix")) ||
		    (rc = need_path(p, n, "unix", path, SUN_PATH_MAX)))
			return rc;
		return set_str(p, &s->path, path);
	default:
		return chr_tcp_source(p, n, s);
	}
}

static int chr_protocol(struct pctx *p, xmlNode *n, void *obj)
{
	const char *type = attr(n, "type");

	if (((struct chr_ctx *)obj)->s->type != KHV_CHR_TCP)
		return refuse(p, n);
	if (type && strcmp(type, "raw"))
		return fail(p, "unsupported %s tcp protocol '%s' (khyve's tcp ports are raw)", pname(n), type);
	return NO_CHILDREN(p, n);
}

static int serial_model(struct pctx *p, xmlNode *n, void *obj)
{
	const char *name = attr(n, "name");

	if (!name || strcmp(name, "isa-serial"))
		return fail(p, "unsupported serial target model '%s' (khyve's serial ports are isa-serial)",
			    name ? name : "");
	return NO_CHILDREN(p, n);
}

static const struct handler serial_target_children[] = {
	{ "model", serial_model, A("name"), false },
};

static int chr_target(struct pctx *p, xmlNode *n, void *obj)
{
	struct chr_ctx *c = obj;
	const char *type = attr(n, "type"), *want = c->console ? "serial" : "isa-serial";
	int rc;

	if (type && strcmp(type, want))
		return fail(p, "unsupported %s target type '%s' (%s)", pname(n), type,
			    c->console ? "khyve's console is serial port 0; use a <channel> for virtio"
				       : "khyve's serial ports are isa-serial");
	c->has_port = attr(n, "port") != NULL;
	if ((rc = attr_num(p, n, "port", 0, UINT32_MAX, &c->s->port)))
		return rc;
	if (c->console && c->s->port)
		return fail(p, "console port %u (khyve's console is serial port 0)", c->s->port);
	if (c->console)
		return NO_CHILDREN(p, n);
	return CHILDREN(p, n, serial_target_children, NULL);
}

static const struct handler chr_children[] = {
	{ "source", chr_source, NULL, false },
	{ "protocol", chr_protocol, A("type"), false },
	{ "target", chr_target, A("type", "port"), false },
};

static int parse_chr(struct pctx *p, xmlNode *n, struct chr_ctx *c)
{
	const char *type = attr(n, "type");
	int t = type ? pick(type, chr_names) : KHV_CHR_PTY;	/* libvirt's default */
	int rc;

	if (t < 0 || t > KHV_CHR_TCP)
		return fail(p, "unsupported %s type '%s' (%skhyve has pty, file, unix and tcp)", ename(n), type,
			    t == KHV_CHR_NMDM ? "bhyve's null-modem device; " : "");
	c->s->type = t;
	if ((rc = CHILDREN(p, n, chr_children, c)))
		return rc;
	if (t == KHV_CHR_FILE || t == KHV_CHR_UNIX) {
		if (!c->s->path)
			return fail(p, "%s type '%s' needs <source path=>", ename(n), type);
	} else if (t == KHV_CHR_TCP && !c->s->host) {
		return fail(p, "%s type 'tcp' needs <source host= service=>", ename(n));
	}
	return 0;
}

static struct khv_serial *serial_port(struct khv_domain *d, unsigned port)
{
	for (unsigned i = 0; i < d->nserials; i++)
		if (d->serials[i].port == port)
			return &d->serials[i];
	return NULL;
}

static int do_serial(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_domain *d = p->d;
	struct chr_ctx c = { .s = &d->serials[d->nserials] };
	int rc;

	if (d->nserials == KHV_MAX_SERIALS)
		return fail(p, "more than %d serial ports (KHV_MAX_SERIALS)", KHV_MAX_SERIALS);
	if ((rc = parse_chr(p, n, &c)))
		return rc;
	/* libvirt numbers a port without one after the highest so far. */
	if (!c.has_port)
		c.s->port = (unsigned)(p->maxport + 1);
	if (c.s->port >= KHV_MAX_SERIALS)
		return fail(p, "serial port %u (khyve has com1 to com4: ports 0 to %d)", c.s->port,
			    KHV_MAX_SERIALS - 1);
	if (serial_port(d, c.s->port))
		return fail(p, "two serial ports with port %u", c.s->port);
	if ((int)c.s->port > p->maxport)
		p->maxport = (int)c.s->port;
	d->nserials++;
	return 0;
}

static int do_console(struct pctx *p, xmlNode *n, void *obj)
{
	p->console = n;		/* read once every <serial> is known */
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool chr_eq(const struct khv_serial *a, const struct khv_serial *b)
{
	return a->type == b->type && str_eq(a->path, b->path) && str_eq(a->host, b->host) &&
	       str_eq(a->service, b->service);
}

static void chr_clear(struct khv_serial *s)
{
	free(s->path);
	free(s->path2);
	free(s->host);
	free(s->service);
	memset(s, 0, sizeof(*s));
}

/* libvirt writes serial port 0 again as <console>; alone, a <console>
 * is serial port 0 (libvirt makes one from it). */
static int merge_console(struct pctx *p)
{
	struct khv_domain *d = p->d;
	struct khv_serial tmp = { 0 }, *s0;
	struct chr_ctx c = { .s = &tmp, .console = true };
	int rc = parse_chr(p, p->console, &c);

	if (!rc && (s0 = serial_port(d, 0))) {
		if (!chr_eq(s0, &tmp))
			rc = fail(p, "<console> differs from serial port 0 (khyve's console is serial port 0)");
	} else if (!rc && d->nserials == KHV_MAX_SERIALS) {
		rc = fail(p, "more than %d serial ports (KHV_MAX_SERIALS)", KHV_MAX_SERIALS);
	} else if (!rc) {
		d->serials[d->nserials++] = tmp;
		memset(&tmp, 0, sizeof(tmp));
	}
	chr_clear(&tmp);
	return rc;
}

/* ---- channels ---- */

static int channel_source(struct pctx *p, xmlNode *n, void *obj)
{
	const char *path = attr(n, "path");
	int rc;

	if ((rc = need_bind(p, n, "unix")) || (rc = need_path(p, n, "unix", path, SUN_PATH_MAX)) ||
	    (rc = NO_CHILDREN(p, n)))
		return rc;
	return set_str(p, &((struct khv_channel *)obj)->path, path);
}

static bool port_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < 128 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int channel_target(struct pctx *p, xmlNode *n, void *obj)
{
	const char *type = attr(n, "type"), *name = attr(n, "name");
	int rc;

	if (!type || strcmp(type, "virtio"))
		return fail(p, "unsupported channel target type '%s' (khyve's channels are virtio-console ports)",
			    type ? type : "");
	if (!name)
		return fail(p, "<channel> needs <target type='virtio' name=>");
	if (!port_name(name))
		return fail(p, "invalid channel target name '%s' (1 to 127 of A-Z a-z 0-9 . _ -)",
			    name);
	for (unsigned i = 0; i < p->d->nchannels; i++)
		if (!strcmp(p->d->channels[i].name, name))
			return fail(p, "two channels named '%s'", name);
	if ((rc = NO_CHILDREN(p, n)))
		return rc;
	return set_str(p, &((struct khv_channel *)obj)->name, name);
}

/* libvirt gives each channel a port of a virtio-serial controller; khyve
 * has one virtio-console and numbers its ports in document order. */
static int channel_address(struct pctx *p, xmlNode *n, void *obj)
{
	const char *type = attr(n, "type");
	unsigned controller = 0, bus = 0, port = 0;
	int rc;

	if (!type || strcmp(type, "virtio-serial"))
		return fail(p, "unsupported address type '%s' of <channel> (khyve's channels are virtio-serial ports)",
			    type ? type : "");
	if ((rc = ATTRS(p, n, "type", "controller", "bus", "port")) ||
	    (rc = attr_num(p, n, "controller", 0, 0, &controller)) ||
	    (rc = attr_num(p, n, "bus", 0, 0, &bus)) ||
	    (rc = attr_num(p, n, "port", 0, UINT32_MAX, &port)))
		return rc;
	return NO_CHILDREN(p, n);
}

static const struct handler channel_children[] = {
	{ "source", channel_source, A("mode", "path"), false },
	{ "target", channel_target, A("type", "name"), false },
	{ "address", channel_address, NULL, false },
};

static int do_channel(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_domain *d = p->d;
	const char *type = attr(n, "type");
	struct khv_channel *ch;
	int rc;

	if (!type || strcmp(type, "unix"))
		return fail(p, "unsupported channel type '%s' (khyve's channels are unix sockets)",
			    type ? type : "pty");
	if (d->nchannels == KHV_MAX_CHANNELS)
		return fail(p, "more than %d channels (KHV_MAX_CHANNELS)", KHV_MAX_CHANNELS);
	ch = &d->channels[d->nchannels];
	if ((rc = CHILDREN(p, n, channel_children, ch)))
		return rc;
	if (!ch->path)
		return fail(p, "<channel type='unix'> needs <source mode='bind' path=>");
	if (!ch->name)
		return fail(p, "<channel> needs <target type='virtio' name=>");
	d->nchannels++;
	return 0;
}

/* ---- rng, filesystems, controllers, balloon ---- */

static int rng_backend(struct pctx *p, xmlNode *n, void *obj)
{
	const char *model = attr(n, "model");
	char *t;

	if (!model || strcmp(model, "random"))
		return fail(p, "unsupported rng backend model '%s' (khyve's virtio-rnd reads getrandom())",
			    model ? model : "");
	if (!(t = text_of(p, n)))
		return p->rc;
	if (*t && strcmp(t, "/dev/random") && strcmp(t, "/dev/urandom"))
		return fail(p, "unsupported rng backend '%s' (khyve reads getrandom(): /dev/random or /dev/urandom)",
			    t);
	*(bool *)obj = true;
	return 0;
}

static int rng_address(struct pctx *p, xmlNode *n, void *obj)
{
	return pci_addr(p, n, &p->d->rng_addr);
}

static const struct handler rng_children[] = {
	{ "backend", rng_backend, A("model"), false },
	{ "address", rng_address, NULL, false },
};

static int do_rng(struct pctx *p, xmlNode *n, void *obj)
{
	const char *model = attr(n, "model");
	bool backend = false;
	int rc;

	if (!model || strcmp(model, "virtio"))
		return fail(p, "unsupported rng model '%s' (khyve has virtio)", model ? model : "");
	if (p->d->rng)
		return fail(p, "more than one <rng> (khyve has one virtio-rnd)");
	if ((rc = CHILDREN(p, n, rng_children, &backend)))
		return rc;
	if (!backend)
		return fail(p, "<rng> needs <backend model='random'>");
	p->d->rng = true;
	return 0;
}

static int fs_dir(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_filesystem *f = obj;
	const char *dir = attr(n, "dir");
	int rc;

	if (!dir || !*dir)
		return fail(p, "<%s> of <filesystem> needs dir=", ename(n));
	if ((rc = NO_CHILDREN(p, n)))
		return rc;
	return set_str(p, strcmp(ename(n), "source") ? &f->target : &f->source, dir);
}

static int fs_readonly(struct pctx *p, xmlNode *n, void *obj)
{
	((struct khv_filesystem *)obj)->readonly = true;
	return NO_CHILDREN(p, n);
}

static const struct handler fs_children[] = {
	{ "source", fs_dir, A("dir"), false },
	{ "target", fs_dir, A("dir"), false },
	{ "readonly", fs_readonly, A0, false },
};

static int do_filesystem(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_domain *d = p->d;
	const char *type = attr(n, "type"), *mode = attr(n, "accessmode");
	struct khv_filesystem *f;
	int rc;

	if (type && strcmp(type, "mount"))
		return fail(p, "unsupported filesystem type '%s' (khyve has type='mount')", type);
	if (mode && strcmp(mode, "passthrough"))
		return fail(p, "unsupported filesystem accessmode '%s' (khyve has passthrough)", mode);
	if (d->nfilesystems == KHV_MAX_FILESYSTEMS)
		return fail(p, "more than %d filesystems (KHV_MAX_FILESYSTEMS)", KHV_MAX_FILESYSTEMS);
	f = &d->filesystems[d->nfilesystems];
	if ((rc = CHILDREN(p, n, fs_children, f)))
		return rc;
	if (!f->source || !f->target)
		return fail(p, "<filesystem> needs <source dir=> and <target dir=>");
	d->nfilesystems++;
	return 0;
}

/* The ISA bridge's address is validated and dropped: khyve's LPC bridge
 * is at slot 31. */
static int isa_address(struct pctx *p, xmlNode *n, void *obj)
{
	struct khv_pci_addr a;

	return pci_addr(p, n, &a);
}

static int vserial_address(struct pctx *p, xmlNode *n, void *obj)
{
	int rc = pci_addr(p, n, &p->d->channel_addr);

	p->d->channel_addr_set = !rc && p->d->channel_addr.slot >= 0;
	return rc;
}

static const struct handler isa_children[] = { { "address", isa_address, NULL, false } };
static const struct handler vserial_children[] = { { "address", vserial_address, NULL, false } };

static int controller_kind(struct pctx *p, xmlNode *n, const char *type, const char *model)
{
	bool *once = !strcmp(type, "isa") ? &p->have_isa : &p->have_vserial;

	if (model)
		return fail(p, "unsupported controller type '%s' model '%s' (leave model= out)", type, model);
	if (*once)
		return fail(p, "more than one <controller type='%s'>%s", type,
			    once == &p->have_vserial ? " (khyve's channels share one virtio-console)" : "");
	*once = true;
	if (once == &p->have_isa)
		return CHILDREN(p, n, isa_children, NULL);
	return CHILDREN(p, n, vserial_children, NULL);
}

static int do_controller(struct pctx *p, xmlNode *n, void *obj)
{
	const char *type = attr(n, "type"), *model = attr(n, "model");
	unsigned index = 0;
	int rc;

	if (!type)
		return fail(p, "<controller> without type=");
	if ((rc = attr_num(p, n, "index", 0, 0, &index)))
		return rc;
	if (!strcmp(type, "pci")) {
		if (!model || strcmp(model, "pci-root"))
			return fail(p, "unsupported controller model '%s' (khyve's PCI bus is a pci-root)",
				    model ? model : "");
		return NO_CHILDREN(p, n);
	}
	if (!strcmp(type, "usb")) {
		if (!model || strcmp(model, "none"))
			return fail(p, "unsupported controller type 'usb' model '%s' (khyve has no USB: model='none')",
				    model ? model : "");
		return NO_CHILDREN(p, n);
	}
	if (!strcmp(type, "isa") || !strcmp(type, "virtio-serial"))
		return controller_kind(p, n, type, model);
	if (!strcmp(type, "sata") || !strcmp(type, "scsi") || !strcmp(type, "ide") ||
	    !strcmp(type, "fdc"))
		return fail(p, "unsupported controller type '%s' (khyve has virtio disks only)", type);
	return fail(p, "unsupported controller type '%s' (khyve has pci, isa and virtio-serial)", type);
}

static int do_memballoon(struct pctx *p, xmlNode *n, void *obj)
{
	const char *model = attr(n, "model");

	if (!model || strcmp(model, "none"))
		return fail(p, "unsupported memballoon model '%s' (khyve has no balloon: model='none')",
			    model ? model : "");
	return NO_CHILDREN(p, n);
}

static const struct handler devices_children[] = {
	{ "disk", do_disk, A("type", "device"), true },
	{ "controller", do_controller, A("type", "index", "model"), true },
	{ "filesystem", do_filesystem, A("type", "accessmode"), true },
	{ "interface", do_interface, A("type"), true },
	{ "serial", do_serial, A("type"), true },
	{ "console", do_console, A("type"), false },
	{ "channel", do_channel, A("type"), true },
	{ "memballoon", do_memballoon, A("model"), false },
	{ "rng", do_rng, A("model"), true },
};

static int do_devices(struct pctx *p, xmlNode *n, void *obj)
{
	return CHILDREN(p, n, devices_children, NULL);
}

/* ---- the document ---- */

static const struct handler domain_children[] = {
	{ "name", do_name, A0, false },
	{ "uuid", do_uuid, A0, false },
	{ "title", do_str, A0, false },
	{ "description", do_str, A0, false },
	{ "memory", do_memory, A("unit"), false },
	{ "currentMemory", do_memory, A("unit"), false },
	{ "vcpu", do_vcpu, A("placement", "current"), false },
	{ "os", do_os, A0, false },
	{ "features", do_features, A0, false },
	{ "cpu", do_cpu, NULL, false },
	{ "clock", do_clock, A("offset"), false },
	{ "on_poweroff", do_lifecycle, A0, false },
	{ "on_reboot", do_lifecycle, A0, false },
	{ "on_crash", do_lifecycle, A0, false },
	{ "devices", do_devices, A0, false },
};

static int check_pci_unique(struct pctx *p)
{
	const struct khv_domain *d = p->d;
	struct khv_pci_addr a[KHV_MAX_DISKS + KHV_MAX_NETS + 2];
	unsigned n = 0;

	for (unsigned i = 0; i < d->ndisks; i++)
		a[n++] = d->disks[i].addr;
	for (unsigned i = 0; i < d->nnets; i++)
		a[n++] = d->nets[i].addr;
	if (d->rng)
		a[n++] = d->rng_addr;
	if (d->channel_addr_set)
		a[n++] = d->channel_addr;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; a[i].slot >= 0 && j < n; j++)
			if (a[i].slot == a[j].slot && a[i].func == a[j].func)
				return fail(p, "two devices at PCI address 0000:00:%02x.%x", a[i].slot,
					    a[i].func);
	return 0;
}

/* What needs the whole document. */
static int finish(struct pctx *p)
{
	struct khv_domain *d = p->d;
	uint64_t topo = (uint64_t)d->sockets * d->cores * d->threads;
	int rc;

	if (!d->name[0])
		return fail(p, "missing <name>");
	if (!p->have_memory)
		return fail(p, "missing <memory>");
	if (!p->have_current)
		d->current_memory_kib = d->memory_kib;
	else if (d->current_memory_kib > d->memory_kib)
		return fail(p, "<currentMemory> %" PRIu64 " KiB is more than <memory> %" PRIu64 " KiB",
			    d->current_memory_kib, d->memory_kib);
	if (!p->have_os)
		return fail(p, "missing <os>");
	if (d->sockets && topo != d->vcpus)
		return fail(p, "topology sockets*cores*threads is %" PRIu64 " but <vcpu> is %u", topo,
			    d->vcpus);
	if (p->console && (rc = merge_console(p)))
		return rc;
	return check_pci_unique(p);
}

static int do_root(struct pctx *p, xmlNode *root)
{
	const char *type;
	int rc;

	if (!root)
		return fail(p, "no root element");
	if (root->ns || strcmp(ename(root), "domain"))
		return fail(p, "the root element is <%s%s%s>, not <domain>", nsp(root->ns),
			    nsc(root->ns), ename(root));
	/* id= is a running domain's number (virsh dumpxml): state, not
	 * configuration. */
	if ((rc = ATTRS(p, root, "type", "id")))
		return rc;
	type = attr(root, "type");
	if (!type || (strcmp(type, "kvm") && strcmp(type, "bhyve")))
		return fail(p, "unsupported domain type '%s' (khyve takes 'kvm', or 'bhyve' for libvirt's bhyve driver)",
			    type ? type : "");
	if ((rc = CHILDREN(p, root, domain_children, NULL)))
		return rc;
	return finish(p);
}

/* libvirt's defaults for what a domain XML leaves out. */
static void xml_defaults(struct khv_domain *d)
{
	d->vcpus = 1;
	d->clock = KHV_CLOCK_UTC;
	d->on_poweroff = KHV_LIFE_DESTROY;
	d->on_reboot = KHV_LIFE_RESTART;
	d->on_crash = KHV_LIFE_DESTROY;
}

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_arg;
#else
typedef xmlErrorPtr xml_error_arg;
#endif

/* libxml2 errors: the first one is kept for the message. */
static void on_xml_error(void *data, xml_error_arg e)
{
	struct pctx *p = data;

	if (p->xmlerr[0] || e->level < XML_ERR_ERROR)
		return;
	snprintf(p->xmlerr, sizeof(p->xmlerr), "line %d: %s", e->line,
		 e->message ? e->message : "error");
	p->xmlerr[strcspn(p->xmlerr, "\n")] = '\0';
}

/* A DOCTYPE is where entities would be declared: stop right there. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;

	((struct pctx *)ctxt->_private)->doctype = true;
	xmlStopParser(ctxt);
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static xmlDocPtr read_doc(struct pctx *p, const char *xml, size_t len)
{
	/* Errors go to this call's handler, and to nowhere else: libxml2's
	 * handler is per thread, saved and put back. */
	xmlStructuredErrorFunc saved = xmlStructuredError;
	void *saved_ctx = xmlStructuredErrorContext;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;

	pthread_once(&xml_once, xmlInitParser);
	if (!(ctxt = xmlNewParserCtxt())) {
		nomem(p);
		return NULL;
	}
	ctxt->_private = p;
	ctxt->sax->internalSubset = on_doctype;
	xmlSetStructuredErrorFunc(p, on_xml_error);
	/* No XML_PARSE_NOENT, DTDLOAD, DTDATTR or XINCLUDE: nothing is
	 * substituted or fetched; no XML_PARSE_HUGE: libxml2's depth limit. */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(saved_ctx, saved);
	if (p->doctype)
		fail(p, "the document has a DOCTYPE (DTDs and entities are not accepted)");
	else if (!doc)
		fail(p, "not well-formed XML: %s", p->xmlerr[0] ? p->xmlerr : "parse error");
	if (p->rc && doc) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

int khv_domain_parse_xml(const char *xml, size_t len, struct khv_domain **out,
			 char *err, size_t errlen)
{
	struct pctx p = { .err = err, .errlen = errlen, .maxport = -1 };
	xmlDocPtr doc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!xml || !len)
		return fail(&p, "empty document");
	if (len > KHV_XML_MAX_BYTES)
		return fail(&p, "the document is %zu bytes, more than %u (KHV_XML_MAX_BYTES)", len,
			    KHV_XML_MAX_BYTES);
	if (!(p.d = khv_domain_new()))
		return nomem(&p);
	xml_defaults(p.d);
	if ((doc = read_doc(&p, xml, len)))
		do_root(&p, xmlDocGetRootElement(doc));
	xmlFree(p.text);
	xmlFreeDoc(doc);
	if (p.rc) {
		khv_domain_free(p.d);
		return p.rc;
	}
	*out = p.d;
	return 0;
}

/* ==== formatting ==== */

struct out {
	char *s;
	size_t len, cap;
	bool oom;
};

static bool reserve(struct out *o, size_t n)
{
	char *s;
	size_t cap = o->cap;

	if (o->oom)
		return false;
	if (o->len + n < o->cap)
		return true;
	while (o->len + n >= cap)
		cap *= 2;
	if (!(s = realloc(o->s, cap))) {
		o->oom = true;
		return false;
	}
	o->s = s;
	o->cap = cap;
	return true;
}

static void putn(struct out *o, const char *s, size_t n)
{
	if (!reserve(o, n))
		return;
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		o->oom = true;		/* only short fixed texts are put() */
		return;
	}
	putn(o, small, (size_t)n);
}

/* Length of the UTF-8 sequence at c if it is an XML 1.0 character, else 0. */
static size_t xml_char_len(const unsigned char *c)
{
	uint32_t cp;
	size_t n;

	if (c[0] < 0x80)
		return c[0] >= 0x20 || c[0] == '\t' || c[0] == '\n' || c[0] == '\r';
	if (c[0] >= 0xc2 && c[0] <= 0xdf)
		n = 2, cp = c[0] & 0x1f;
	else if (c[0] >= 0xe0 && c[0] <= 0xef)
		n = 3, cp = c[0] & 0x0f;
	else if (c[0] >= 0xf0 && c[0] <= 0xf4)
		n = 4, cp = c[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((c[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (c[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

/* s as character data.  In attributes, whitespace that attribute value
 * normalisation would fold becomes a reference, and \r does everywhere
 * (line-end normalisation).  Bytes that are no XML character (a
 * definition from a command line may hold them) become U+FFFD, so the
 * output always parses. */
static void esc(struct out *o, const char *s, bool in_attr)
{
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		size_t n = xml_char_len(c);
		const char *r = NULL;

		switch (n ? *c : 0) {
		case '<': r = "&lt;"; break;
		case '>': r = "&gt;"; break;
		case '&': r = "&amp;"; break;
		case '\'': r = in_attr ? "&apos;" : NULL; break;
		case '\r': r = "&#13;"; break;
		case '\n': r = in_attr ? "&#10;" : NULL; break;
		case '\t': r = in_attr ? "&#9;" : NULL; break;
		case 0: r = "\xef\xbf\xbd"; n = 1; break;
		}
		if (r)
			putn(o, r, strlen(r));
		else
			putn(o, (const char *)c, n);
		c += n;
	}
}

static void tag(struct out *o, int depth, const char *name)
{
	put(o, "%*s<%s", depth * 2, "", name);
}

static void at(struct out *o, const char *name, const char *value)
{
	put(o, " %s='", name);
	esc(o, value ? value : "", true);
	putn(o, "'", 1);
}

static void gt(struct out *o, bool empty)
{
	putn(o, empty ? "/>\n" : ">\n", empty ? 3 : 2);
}

static void end(struct out *o, int depth, const char *name)
{
	put(o, "%*s</%s>\n", depth * 2, "", name);
}

static void leaf(struct out *o, int depth, const char *name, const char *text)
{
	if (!text)
		return;
	put(o, "%*s<%s>", depth * 2, "", name);
	esc(o, text, false);
	put(o, "</%s>\n", name);
}

static void fmt_addr(struct out *o, int depth, const struct khv_pci_addr *a)
{
	if (a->slot < 0)
		return;
	put(o, "%*s<address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' function='0x%x'/>\n",
	    depth * 2, "", (unsigned)a->slot, (unsigned)a->func);
}

static void fmt_identity(struct out *o, const struct khv_domain *d)
{
	const uint8_t *u = d->uuid;

	leaf(o, 1, "name", d->name);
	if (d->has_uuid)
		put(o, "  <uuid>%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		       "%02x%02x%02x%02x%02x%02x</uuid>\n", u[0], u[1], u[2], u[3], u[4], u[5],
		    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	leaf(o, 1, "title", d->title);
	leaf(o, 1, "description", d->description);
	put(o, "  <memory unit='KiB'>%" PRIu64 "</memory>\n", d->memory_kib);
	put(o, "  <currentMemory unit='KiB'>%" PRIu64 "</currentMemory>\n",
	    d->current_memory_kib ? d->current_memory_kib : d->memory_kib);
	put(o, "  <vcpu placement='static'>%u</vcpu>\n", d->vcpus);
}

static void fmt_os(struct out *o, const struct khv_domain *d)
{
	put(o, "  <os>\n    <type arch='x86_64'>hvm</type>\n");
	leaf(o, 2, "kernel", d->kernel);
	leaf(o, 2, "initrd", d->initrd);
	leaf(o, 2, "cmdline", d->cmdline);
	put(o, "  </os>\n");
	if (d->acpi || d->apic)
		put(o, "  <features>\n%s%s  </features>\n", d->acpi ? "    <acpi/>\n" : "",
		    d->apic ? "    <apic/>\n" : "");
	if (!d->sockets && !d->cpu_model)
		return;
	if (d->cpu_model)
		put(o, "  <cpu mode='custom' match='exact' check='none'>\n"
		       "    <model fallback='forbid'>%s</model>\n", d->cpu_model);
	else
		put(o, "  <cpu>\n");
	if (d->sockets)
		put(o, "    <topology sockets='%u' dies='1' cores='%u' threads='%u'/>\n",
		    d->sockets, d->cores, d->threads);
	put(o, "  </cpu>\n");
}

static void fmt_events(struct out *o, const struct khv_domain *d)
{
	put(o, "  <clock offset='%s'/>\n", d->clock == KHV_CLOCK_UTC ? "utc" : "localtime");
	put(o, "  <on_poweroff>%s</on_poweroff>\n", khv_lifecycle_name(d->on_poweroff));
	put(o, "  <on_reboot>%s</on_reboot>\n", khv_lifecycle_name(d->on_reboot));
	put(o, "  <on_crash>%s</on_crash>\n", khv_lifecycle_name(d->on_crash));
}

static void fmt_disk(struct out *o, const struct khv_disk *k, unsigned i)
{
	char name[8];

	/* A disk from the command line may have no name yet: libvirt's
	 * schema needs one, and vda, vdb... is what libvirt would give. */
	snprintf(name, sizeof(name), "vd%c", 'a' + (int)(i % 26));
	tag(o, 2, "disk");
	at(o, "type", k->block ? "block" : "file");
	at(o, "device", "disk");
	gt(o, false);
	put(o, "      <driver type='raw'/>\n");
	tag(o, 3, "source");
	at(o, k->block ? "dev" : "file", k->source);
	gt(o, true);
	tag(o, 3, "target");
	at(o, "dev", k->target ? k->target : name);
	at(o, "bus", "virtio");
	gt(o, true);
	if (k->readonly)
		put(o, "      <readonly/>\n");
	leaf(o, 3, "serial", k->serial);
	fmt_addr(o, 3, &k->addr);
	end(o, 2, "disk");
}

static void fmt_controllers(struct out *o, const struct khv_domain *d)
{
	put(o, "    <controller type='pci' index='0' model='pci-root'/>\n");
	if (!d->nchannels && !d->channel_addr_set)
		return;
	put(o, "    <controller type='virtio-serial' index='0'%s\n",
	    d->channel_addr_set ? ">" : "/>");
	if (!d->channel_addr_set)
		return;
	fmt_addr(o, 3, &d->channel_addr);
	end(o, 2, "controller");
}

static void fmt_fs(struct out *o, const struct khv_filesystem *f)
{
	put(o, "    <filesystem type='mount' accessmode='passthrough'>\n");
	tag(o, 3, "source");
	at(o, "dir", f->source);
	gt(o, true);
	tag(o, 3, "target");
	at(o, "dir", f->target);
	gt(o, true);
	if (f->readonly)
		put(o, "      <readonly/>\n");
	end(o, 2, "filesystem");
}

static void fmt_net(struct out *o, const struct khv_net *k)
{
	const uint8_t *m = k->mac;
	bool bridge = k->type == KHV_NET_BRIDGE;

	tag(o, 2, "interface");
	at(o, "type", bridge ? "bridge" : "network");
	gt(o, false);
	if (k->has_mac)
		put(o, "      <mac address='%02x:%02x:%02x:%02x:%02x:%02x'/>\n", m[0], m[1], m[2],
		    m[3], m[4], m[5]);
	tag(o, 3, "source");
	at(o, bridge ? "bridge" : "network", k->source);
	gt(o, true);
	if (k->target_dev) {
		tag(o, 3, "target");
		at(o, "dev", k->target_dev);
		gt(o, true);
	}
	put(o, "      <model type='virtio'/>\n");
	fmt_addr(o, 3, &k->addr);
	end(o, 2, "interface");
}

static void fmt_chr_source(struct out *o, const struct khv_serial *s)
{
	switch (s->type) {
	case KHV_CHR_PTY:
		if (!s->path)
			return;
		__attribute__((fallthrough));	/* a running domain's pty */
	case KHV_CHR_FILE:
		tag(o, 3, "source");
		at(o, "path", s->path);
		break;
	case KHV_CHR_UNIX:
		tag(o, 3, "source");
		at(o, "mode", "bind");
		at(o, "path", s->path);
		break;
	case KHV_CHR_TCP:
		tag(o, 3, "source");
		at(o, "mode", "bind");
		at(o, "host", s->host);
		at(o, "service", s->service);
		gt(o, true);
		put(o, "      <protocol type='raw'/>\n");
		return;
	case KHV_CHR_NMDM:	/* as libvirt's bhyve driver writes it */
		tag(o, 3, "source");
		at(o, "master", s->path);
		at(o, "slave", s->path2);
		break;
	default:
		return;
	}
	gt(o, true);
}

/* kind is "serial", or "console" for libvirt's mirror of serial port 0. */
static void fmt_chr(struct out *o, const struct khv_serial *s, const char *kind)
{
	unsigned t = s->type <= KHV_CHR_STDIO ? (unsigned)s->type : KHV_CHR_PTY;

	put(o, "    <%s type='%s'>\n", kind, chr_names[t]);
	fmt_chr_source(o, s);
	if (!strcmp(kind, "console"))
		put(o, "      <target type='serial' port='0'/>\n");
	else
		put(o, "      <target type='isa-serial' port='%u'>\n"
		       "        <model name='isa-serial'/>\n      </target>\n", s->port);
	end(o, 2, kind);
}

static void fmt_channel(struct out *o, const struct khv_channel *c)
{
	put(o, "    <channel type='unix'>\n");
	tag(o, 3, "source");
	at(o, "mode", "bind");
	at(o, "path", c->path);
	gt(o, true);
	tag(o, 3, "target");
	at(o, "type", "virtio");
	at(o, "name", c->name);
	gt(o, true);
	end(o, 2, "channel");
}

/* libvirt's order: disks, controllers, filesystems, interfaces, serials,
 * consoles, channels, memballoon, rngs. */
static void fmt_devices(struct out *o, const struct khv_domain *d)
{
	const struct khv_serial *s0 = NULL;

	put(o, "  <devices>\n");
	for (unsigned i = 0; i < d->ndisks; i++)
		fmt_disk(o, &d->disks[i], i);
	fmt_controllers(o, d);
	for (unsigned i = 0; i < d->nfilesystems; i++)
		fmt_fs(o, &d->filesystems[i]);
	for (unsigned i = 0; i < d->nnets; i++)
		fmt_net(o, &d->nets[i]);
	for (unsigned i = 0; i < d->nserials; i++) {
		fmt_chr(o, &d->serials[i], "serial");
		if (d->serials[i].port == 0)
			s0 = &d->serials[i];
	}
	if (s0)
		fmt_chr(o, s0, "console");
	for (unsigned i = 0; i < d->nchannels; i++)
		fmt_channel(o, &d->channels[i]);
	/* Said outright: libvirt would otherwise assume a virtio balloon. */
	put(o, "    <memballoon model='none'/>\n");
	if (d->rng) {
		put(o, "    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n");
		fmt_addr(o, 3, &d->rng_addr);
		end(o, 2, "rng");
	}
	put(o, "  </devices>\n");
}

int khv_domain_format_xml(const struct khv_domain *d, char **out)
{
	struct out o = { .s = malloc(4096), .cap = 4096 };

	*out = NULL;
	if (!o.s)
		return -ENOMEM;
	o.s[0] = '\0';
	put(&o, "<domain type='kvm'>\n");
	fmt_identity(&o, d);
	fmt_os(&o, d);
	fmt_events(&o, d);
	fmt_devices(&o, d);
	put(&o, "</domain>\n");
	if (o.oom) {
		free(o.s);
		return -ENOMEM;
	}
	*out = o.s;
	return 0;
}
