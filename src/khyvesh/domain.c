/* khyvesh commands on domain definitions: define, undefine, dumpxml,
 * list, domuuid, domid, domstate, domxml-from-native, domxml-to-native. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khyvesh/khyvesh.h"
#include "virt/domain_xml.h"
#include "virt/domstore.h"
#include "virt/lifecycle.h"
#include "virt/native.h"

#define NATIVE_FORMAT	"bhyve-argv"

int sh_read_input(const char *path, size_t max, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t cap = 4096, n = 0;
	char *b = NULL, *nb;
	int rc = 0;

	if (!f)
		return sh_error("failed to open '%s': %s", path, strerror(errno));
	for (;;) {
		if (n == 0 || n == cap) {
			if (n)
				cap *= 2;
			if (!(nb = realloc(b, cap + 1))) {
				rc = sh_error("out of memory");
				break;
			}
			b = nb;
		}
		size_t got = fread(b + n, 1, cap - n, f);

		n += got;
		if (n > max) {
			rc = sh_error("'%s' is larger than %zu bytes", path, max);
			break;
		}
		if (got == 0)
			break;
	}
	if (!rc && ferror(f))
		rc = sh_error("failed to read '%s'", path);
	if (f != stdin)
		fclose(f);
	if (rc) {
		free(b);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int cmd_define(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	const char *file = sh_opt(a, "file");
	struct khv_domain *d = NULL;
	char err[1024] = "", *xml;
	size_t len;

	if (!c || sh_read_input(file, KHV_XML_MAX_BYTES, &xml, &len))
		return KHYVESH_FAIL;
	if (khv_domain_define_xml(c, xml, len, &d, err, sizeof(err))) {
		free(xml);
		return sh_error("failed to define domain from %s: %s", file, err);
	}
	free(xml);
	printf("Domain '%s' defined from %s\n\n", d->name, file);
	khv_domain_free(d);
	return KHYVESH_OK;
}

int cmd_undefine(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	const char *name = sh_opt(a, "domain");
	char err[1024] = "";

	if (!c)
		return KHYVESH_FAIL;
	if (khv_domain_undefine(c, name, err, sizeof(err)))
		return sh_error("%s", err);
	printf("Domain '%s' has been undefined\n\n", name);
	return KHYVESH_OK;
}

int sh_domain(struct sh_ctx *sh, const struct sh_args *a, char *name, struct khv_domain **out,
	      bool *active)
{
	struct khv_conn *c = sh_conn(sh);
	struct khv_domain *d = NULL;
	char err[1024] = "";
	bool on = false;

	if (!c)
		return KHYVESH_FAIL;
	if (khv_domain_lookup_live(c, sh_opt(a, "domain"), &d, &on, err, sizeof(err)))
		return sh_error("%s", err);
	if (name)
		snprintf(name, KHV_NAME_MAX, "%s", d->name);
	if (active)
		*active = on;
	if (out)
		*out = d;
	else
		khv_domain_free(d);
	return KHYVESH_OK;
}

/* The running definition, or with --inactive the persistent one. */
static struct khv_domain *lookup(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	struct khv_domain *d = NULL;
	char err[1024] = "";

	if (!c)
		return NULL;
	if (!sh_flag(a, "inactive"))
		return sh_domain(sh, a, NULL, &d, NULL) ? NULL : d;
	if (khv_domain_lookup(c, sh_opt(a, "domain"), &d, err, sizeof(err))) {
		sh_error("%s", err);
		return NULL;
	}
	return d;
}

int cmd_dumpxml(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_domain *d = lookup(sh, a);
	char *xml = NULL;

	if (!d)
		return KHYVESH_FAIL;
	if (khv_domain_format_xml(d, &xml)) {
		khv_domain_free(d);
		return sh_error("out of memory");
	}
	fputs(xml, stdout);
	free(xml);
	khv_domain_free(d);
	return KHYVESH_OK;
}

int cmd_domuuid(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_domain *d = lookup(sh, a);
	char u[37];

	if (!d)
		return KHYVESH_FAIL;
	khv_uuid_format(d->uuid, u);
	printf("%s\n\n", u);
	khv_domain_free(d);
	return KHYVESH_OK;
}

/* Every domain of the connection: the count, or -1 after the error. */
static int list_domains(struct sh_ctx *sh, struct khv_dom_entry **v)
{
	struct khv_conn *c = sh_conn(sh);
	char err[1024] = "";
	int n;

	*v = NULL;
	if (!c)
		return -1;
	if ((n = khv_domain_list(c, v, err, sizeof(err))) < 0) {
		sh_error("%s", err);
		return -1;
	}
	return n;
}

const char *sh_state_name(enum khv_dom_state st)
{
	return st == KHV_STATE_RUNNING ? "running" : st == KHV_STATE_PAUSED ? "paused" : "shut off";
}

int cmd_domstate(struct sh_ctx *sh, const struct sh_args *a)
{
	char name[KHV_NAME_MAX];
	enum khv_dom_state st;

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	khv_domain_get_state(sh->conn, name, &st);
	printf("%s\n\n", sh_state_name(st));
	return KHYVESH_OK;
}

int cmd_domid(struct sh_ctx *sh, const struct sh_args *a)
{
	char name[KHV_NAME_MAX];
	pid_t pid;

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_running(sh->conn, name, &pid) == 0)
		printf("%d\n\n", (int)pid);
	else
		printf("-\n\n");
	return KHYVESH_OK;
}

static bool listed(struct sh_ctx *sh, const struct sh_args *a, const struct khv_dom_entry *e)
{
	bool all = sh_flag(a, "all"), inactive = sh_flag(a, "inactive"), on = false;

	if (sh_flag(a, "autostart") || sh_flag(a, "no-autostart")) {
		khv_domain_get_autostart(sh->conn, e->name, &on);
		if (on != sh_flag(a, "autostart"))
			return false;
	}
	return all || (inactive ? !e->active : e->active);
}

/* One row of list: the id text and the state, for the table's widths. */
struct list_row {
	const struct khv_dom_entry *e;
	char id[16];
	enum khv_dom_state st;
};

static void print_table(const struct list_row *r, unsigned n)
{
	int wid = 2, wname = 4;

	/* Columns as wide as their widest cell, 3 spaces apart (virsh's table). */
	for (unsigned i = 0; i < n; i++) {
		wid = (int)strlen(r[i].id) > wid ? (int)strlen(r[i].id) : wid;
		wname = (int)strlen(r[i].e->name) > wname ? (int)strlen(r[i].e->name) : wname;
	}
	printf(" %-*s   %-*s   %s\n", wid, "Id", wname, "Name", "State");
	for (int i = 0; i < wid + wname + 16; i++)
		putchar('-');
	putchar('\n');
	for (unsigned i = 0; i < n; i++)
		printf(" %-*s   %-*s   %s\n", wid, r[i].id, wname, r[i].e->name,
		       sh_state_name(r[i].st));
}

int cmd_list(struct sh_ctx *sh, const struct sh_args *a)
{
	bool json = sh_flag(a, "json"), names_only = sh_flag(a, "name");
	struct khv_dom_entry *v;
	struct list_row *rows;
	int n = list_domains(sh, &v);
	unsigned k = 0;

	if (n < 0)
		return KHYVESH_FAIL;
	if (!(rows = calloc((size_t)n + 1, sizeof(*rows)))) {
		free(v);
		return sh_error("out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct list_row *r = &rows[k];

		if (!listed(sh, a, &v[i]))
			continue;
		r->e = &v[i];
		snprintf(r->id, sizeof(r->id), v[i].active ? "%d" : "-", (int)v[i].pid);
		r->st = KHV_STATE_SHUTOFF;
		if (v[i].active && !names_only)
			khv_domain_get_state(sh->conn, v[i].name, &r->st);
		k++;
	}
	if (json) {
		printf("[");
		for (unsigned i = 0; i < k; i++)
			printf("%s{\"id\": %s, \"name\": \"%s\", \"state\": \"%s\", \"persistent\": %s}",
			       i ? ", " : "", rows[i].e->active ? rows[i].id : "null", rows[i].e->name,
			       sh_state_name(rows[i].st), rows[i].e->persistent ? "true" : "false");
		printf("]\n");
	} else if (names_only) {
		for (unsigned i = 0; i < k; i++)
			printf("%s\n", rows[i].e->name);
		printf("\n");
	} else {
		print_table(rows, k);
		printf("\n");
	}
	free(rows);
	free(v);
	return KHYVESH_OK;
}

int cmd_domxml_from_native(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *format = sh_opt(a, "format"), *file = sh_opt(a, "config");
	struct khv_domain *d = NULL;
	char err[1024] = "", *text, *xml = NULL;
	size_t len;
	int rc;

	(void)sh;
	if (strcmp(format, NATIVE_FORMAT))
		return sh_error("unsupported config type %s (khyve reads %s)", format, NATIVE_FORMAT);
	if (sh_read_input(file, KHV_NATIVE_MAX_BYTES, &text, &len))
		return KHYVESH_FAIL;
	rc = khv_domain_from_native(text, len, &d, err, sizeof(err));
	free(text);
	if (rc)
		return sh_error("%s", err);
	rc = khv_domain_format_xml(d, &xml);
	khv_domain_free(d);
	if (rc)
		return sh_error("out of memory");
	fputs(xml, stdout);
	free(xml);
	return KHYVESH_OK;
}

/* The definition domxml-to-native converts: --xml FILE or --domain. */
static struct khv_domain *to_native_def(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *file = sh_opt(a, "xml");
	struct khv_domain *d = NULL;
	char err[1024] = "", *xml;
	size_t len;

	if (sh_opt(a, "domain"))
		return lookup(sh, a);
	if (!file) {
		sh_error("command 'domxml-to-native' needs --xml FILE or --domain NAME");
		return NULL;
	}
	if (sh_read_input(file, KHV_XML_MAX_BYTES, &xml, &len))
		return NULL;
	if (khv_domain_parse_xml(xml, len, &d, err, sizeof(err)))
		sh_error("%s: %s", file, err);
	free(xml);
	return d;
}

int cmd_domxml_to_native(struct sh_ctx *sh, const struct sh_args *a)
{
	const char *format = sh_opt(a, "format");
	struct khv_domain *d;
	char err[1024] = "", **argv = NULL, *text;
	int rc;

	if (strcmp(format, NATIVE_FORMAT))
		return sh_error("unsupported config type %s (khyve writes %s)", format, NATIVE_FORMAT);
	if (!(d = to_native_def(sh, a)))
		return KHYVESH_FAIL;
	rc = khv_domain_to_argv(d, "khyve", &argv, err, sizeof(err));
	khv_domain_free(d);
	if (rc)
		return sh_error("%s", err);
	text = khv_argv_to_text(argv);
	khv_argv_free(argv);
	if (!text)
		return sh_error("out of memory");
	printf("%s\n", text);
	free(text);
	return KHYVESH_OK;
}
