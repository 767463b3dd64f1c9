/* bhyve_config(5): a tree of string variables.  Modelled on FreeBSD's
 * usr.sbin/bhyve/config.c, but with errors returned instead of errx(),
 * insertion order kept (dump, foreach) and reference loops detected. */
#include "lib/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nesting of %(var) references; deeper chains are refused.  With the
 * per-variable cache below each variable is expanded once, so this only
 * bounds recursion depth, not work. */
#define CONFIG_MAX_DEPTH	64
/* An expanded value longer than this is refused: "a=%(b)%(b)" chains
 * would otherwise double at every level. */
#define CONFIG_MAX_EXPANDED	(64 * 1024)
/* Longest line of a -k file, without its newline. */
#define CONFIG_MAX_LINE		(64 * 1024)

struct config_node {
	char *name;
	char *path;			/* full dotted path, "" for the root */
	struct config_node *parent;
	struct config_node *first, *last, *next;	/* children in insertion order */
	bool is_value;
	char *value;			/* raw, for is_value */
	char *expanded;			/* cached expansion (only if value has '%') */
	uint64_t gen;			/* cfg->gen when expanded was made */
	bool busy;			/* being expanded: a reference loop if seen again */
};

struct config {
	struct config_node root;
	uint64_t gen;			/* bumped on every change, invalidates caches */
};

struct config *config_new(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->root.name = strdup("");
	cfg->root.path = strdup("");
	if (!cfg->root.name || !cfg->root.path) {
		free(cfg->root.name);
		free(cfg->root.path);
		free(cfg);
		return NULL;
	}
	cfg->gen = 1;
	return cfg;
}

static void node_free(struct config_node *n)
{
	struct config_node *c = n->first;

	while (c) {
		struct config_node *next = c->next;

		node_free(c);
		c = next;
	}
	free(n->name);
	free(n->path);
	free(n->value);
	free(n->expanded);
	free(n);
}

void config_free(struct config *cfg)
{
	struct config_node *c;

	if (!cfg)
		return;
	c = cfg->root.first;
	while (c) {
		struct config_node *next = c->next;

		node_free(c);
		c = next;
	}
	free(cfg->root.name);
	free(cfg->root.path);
	free(cfg);
}

static struct config_node *child_find(const struct config_node *n, const char *name, size_t len)
{
	for (struct config_node *c = n->first; c; c = c->next)
		if (strlen(c->name) == len && !memcmp(c->name, name, len))
			return c;
	return NULL;
}

static struct config_node *child_add(struct config_node *parent, const char *name, size_t len)
{
	struct config_node *c = calloc(1, sizeof(*c));
	size_t plen = strlen(parent->path);

	if (!c)
		return NULL;
	c->name = strndup(name, len);
	c->path = malloc(plen + len + 2);
	if (!c->name || !c->path) {
		free(c->name);
		free(c->path);
		free(c);
		return NULL;
	}
	/* The root's children have no leading dot. */
	if (plen)
		snprintf(c->path, plen + len + 2, "%s.%.*s", parent->path, (int)len, name);
	else
		snprintf(c->path, len + 1, "%.*s", (int)len, name);
	c->parent = parent;
	if (parent->last)
		parent->last->next = c;
	else
		parent->first = c;
	parent->last = c;
	return c;
}

static void child_remove(struct config_node *c)
{
	struct config_node *p = c->parent, **link = &p->first, *prev = NULL;

	while (*link != c) {
		prev = *link;
		link = &(*link)->next;
	}
	*link = c->next;
	if (p->last == c)
		p->last = prev;
	c->next = NULL;
	node_free(c);
}

/* Nodes exist only to hold variables: drop those left empty. */
static void prune_empty(struct config_node *n)
{
	while (n && n->parent && !n->is_value && !n->first) {
		struct config_node *p = n->parent;

		child_remove(n);
		n = p;
	}
}

static bool path_valid(const char *path)
{
	const char *p = path;

	if (!path || !*path)
		return false;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len == 0)
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

/* Walks path; returns the entry it names (node or value) or NULL. */
static struct config_node *lookup(struct config *cfg, const char *path)
{
	struct config_node *n = &cfg->root;
	const char *p = path;

	if (!path_valid(path))
		return NULL;
	while (n) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		n = child_find(n, p, len);
		if (!dot || !n)
			return n;
		if (n->is_value)
			return NULL;
		p = dot + 1;
	}
	return NULL;
}

static struct config_node *lookup_value(struct config *cfg, const char *path)
{
	struct config_node *n = lookup(cfg, path);

	return n && n->is_value ? n : NULL;
}

/* Finds or creates the node holding path's last component; *badlen gets
 * the length of the prefix that is in the way on -ENOTDIR. */
static int parent_for(struct config *cfg, const char *path, struct config_node **out,
		      const char **last, size_t *badlen)
{
	struct config_node *n = &cfg->root;
	const char *p = path;

	for (;;) {
		const char *dot = strchr(p, '.');
		struct config_node *c;
		size_t len;

		if (!dot)
			break;
		len = (size_t)(dot - p);
		c = child_find(n, p, len);
		if (c && c->is_value) {
			*badlen = (size_t)(dot - path);
			return -ENOTDIR;
		}
		if (!c)
			c = child_add(n, p, len);
		if (!c) {
			prune_empty(n);
			return -ENOMEM;
		}
		n = c;
		p = dot + 1;
	}
	*out = n;
	*last = p;
	return 0;
}

static int set_value(struct config *cfg, const char *path, const char *value, size_t *badlen)
{
	struct config_node *parent, *c;
	const char *last;
	char *copy;
	int rc;

	if (!path_valid(path) || !value)
		return -EINVAL;
	rc = parent_for(cfg, path, &parent, &last, badlen);
	if (rc)
		return rc;
	c = child_find(parent, last, strlen(last));
	if (c && !c->is_value)
		return -EISDIR;
	copy = strdup(value);
	if (!copy || (!c && !(c = child_add(parent, last, strlen(last))))) {
		free(copy);
		prune_empty(parent);
		return -ENOMEM;
	}
	c->is_value = true;
	free(c->value);
	c->value = copy;
	free(c->expanded);
	c->expanded = NULL;
	cfg->gen++;
	return 0;
}

int config_set(struct config *cfg, const char *path, const char *value)
{
	size_t badlen;

	return set_value(cfg, path, value, &badlen);
}

int config_set_default(struct config *cfg, const char *path, const char *value)
{
	if (config_isset(cfg, path))
		return 0;
	return config_set(cfg, path, value);
}

bool config_isset(struct config *cfg, const char *path)
{
	return lookup_value(cfg, path) != NULL;
}

int config_unset(struct config *cfg, const char *path)
{
	struct config_node *n = lookup(cfg, path), *parent;

	if (!n)
		return -ENOENT;
	if (!n->is_value)
		return -EISDIR;
	parent = n->parent;
	child_remove(n);
	prune_empty(parent);
	cfg->gen++;
	return 0;
}

const char *config_get_raw(struct config *cfg, const char *path)
{
	struct config_node *n = lookup_value(cfg, path);

	return n ? n->value : NULL;
}

/* A growing string for expansions. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n > CONFIG_MAX_EXPANDED)
		return -E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static const char *expand(struct config *cfg, struct config_node *v, unsigned depth,
			  char *err, size_t errlen);

static int grow_error(const struct config_node *v, int rc, char *err, size_t errlen)
{
	if (rc == -E2BIG)
		snprintf(err, errlen, "%s: expands to more than %d bytes", v->path,
			 CONFIG_MAX_EXPANDED);
	else
		snprintf(err, errlen, "%s: out of memory", v->path);
	return rc;
}

/* One "%(path)" at *pp (just past "%("); appends its expansion. */
static int expand_ref(struct config *cfg, struct config_node *v, const char **pp,
		      unsigned depth, struct sbuf *b, char *err, size_t errlen)
{
	const char *start = *pp, *end = strchr(start, ')');
	struct config_node *ref;
	const char *sub;
	char *name;
	int rc;

	if (!end) {
		snprintf(err, errlen, "%s: unterminated %%( in \"%s\"", v->path, v->value);
		return -EINVAL;
	}
	name = strndup(start, (size_t)(end - start));
	if (!name)
		return grow_error(v, -ENOMEM, err, errlen);
	ref = lookup(cfg, name);
	if (!ref || !ref->is_value || ref->busy) {
		snprintf(err, errlen, "%s: %%(%s) %s", v->path, name,
			 !ref ? "refers to an unset variable" :
			 !ref->is_value ? "is a node, not a variable" : "makes a reference loop");
		free(name);
		return -EINVAL;
	}
	free(name);
	sub = expand(cfg, ref, depth + 1, err, errlen);
	if (!sub)
		return -EINVAL;
	*pp = end + 1;
	rc = sbuf_add(b, sub, strlen(sub));
	return rc ? grow_error(v, rc, err, errlen) : 0;
}

/* %% is a literal %, %(path) another variable; any other % stays as is
 * (bhyve keeps it too, with a warning). */
static int expand_into(struct config *cfg, struct config_node *v, unsigned depth,
		       struct sbuf *b, char *err, size_t errlen)
{
	const char *p = v->value;
	int rc = sbuf_add(b, "", 0);

	while (!rc && *p) {
		const char *pct = strchr(p, '%');
		size_t n = pct ? (size_t)(pct - p) : strlen(p);

		rc = sbuf_add(b, p, n);
		p += n;
		if (rc || !pct)
			break;
		if (pct[1] == '(') {
			p = pct + 2;
			rc = expand_ref(cfg, v, &p, depth, b, err, errlen);
			if (rc)
				return rc;	/* message already written */
		} else {
			rc = sbuf_add(b, "%", 1);
			p = pct + (pct[1] == '%' ? 2 : 1);
		}
	}
	return rc ? grow_error(v, rc, err, errlen) : 0;
}

/* The expansion of value v, cached until the next change to the tree; an
 * unchanged result keeps its old pointer so callers' copies stay valid. */
static const char *expand(struct config *cfg, struct config_node *v, unsigned depth,
			  char *err, size_t errlen)
{
	struct sbuf b = { 0 };
	int rc;

	if (!strchr(v->value, '%'))
		return v->value;
	if (v->expanded && v->gen == cfg->gen)
		return v->expanded;
	if (depth >= CONFIG_MAX_DEPTH) {
		snprintf(err, errlen, "%s: references nested more than %d deep", v->path,
			 CONFIG_MAX_DEPTH);
		return NULL;
	}
	v->busy = true;
	rc = expand_into(cfg, v, depth, &b, err, errlen);
	v->busy = false;
	if (rc) {
		free(b.p);
		return NULL;
	}
	if (v->expanded && !strcmp(v->expanded, b.p)) {
		free(b.p);
	} else {
		free(v->expanded);
		v->expanded = b.p;
	}
	v->gen = cfg->gen;
	return v->expanded;
}

const char *config_get(struct config *cfg, const char *path)
{
	struct config_node *v = lookup_value(cfg, path);
	char err[256] = "";

	return v ? expand(cfg, v, 0, err, sizeof(err)) : NULL;
}

static int validate_node(struct config *cfg, struct config_node *n, char *err, size_t errlen)
{
	for (struct config_node *c = n->first; c; c = c->next) {
		int rc = c->is_value ? (expand(cfg, c, 0, err, errlen) ? 0 : -EINVAL)
				     : validate_node(cfg, c, err, errlen);

		if (rc)
			return rc;
	}
	return 0;
}

int config_validate(struct config *cfg, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	return validate_node(cfg, &cfg->root, err, errlen);
}

/* bhyve's _bool_value(): words in any case, digits exactly. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "on", "yes" }, *const no[] = { "false", "off", "no" };

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	if (!strcmp(s, "1") || !strcmp(s, "0")) {
		*out = s[0] == '1';
		return 0;
	}
	return -EINVAL;
}

int config_get_bool(struct config *cfg, const char *path, bool dflt, bool *out)
{
	const char *s;

	if (!config_isset(cfg, path)) {
		*out = dflt;
		return 0;
	}
	s = config_get(cfg, path);
	return s ? parse_bool(s, out) : -EINVAL;
}

int config_get_int(struct config *cfg, const char *path, int64_t dflt,
		   int64_t min, int64_t max, int64_t *out)
{
	const char *s;
	char *end;
	long long v;

	if (!config_isset(cfg, path)) {
		*out = dflt;
		return 0;
	}
	s = config_get(cfg, path);
	/* strtoll would skip leading blanks; a value with them is a typo. */
	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

struct config_node *config_find_node(struct config *cfg, const char *path)
{
	struct config_node *n;

	if (!path || !*path)
		return &cfg->root;
	n = lookup(cfg, path);
	return n && !n->is_value ? n : NULL;
}

const char *config_node_path(const struct config_node *node)
{
	return node->path;
}

int config_node_foreach(struct config *cfg, struct config_node *node,
			int (*fn)(void *opaque, const char *name, const char *value,
				  struct config_node *child),
			void *opaque)
{
	struct config_node *c = node ? node->first : cfg->root.first;

	while (c) {
		/* Taken first so fn may unset the child it is given. */
		struct config_node *next = c->next;
		const char *value = NULL;
		char err[256];
		int rc;

		if (c->is_value) {
			value = expand(cfg, c, 0, err, sizeof(err));
			if (!value)
				value = c->value;	/* config_validate() reports it */
		}
		rc = fn(opaque, c->name, value, c->is_value ? NULL : c);
		if (rc)
			return rc;
		c = next;
	}
	return 0;
}

static int set_error(const char *path, int rc, size_t badlen, char *err, size_t errlen)
{
	switch (rc) {
	case -EINVAL:
		snprintf(err, errlen, "\"%s\" is not a variable path (empty component)", path);
		break;
	case -ENOTDIR:
		snprintf(err, errlen, "%s: %.*s is a variable, it cannot have variables under it",
			 path, (int)badlen, path);
		break;
	case -EISDIR:
		snprintf(err, errlen, "%s is a node with variables under it, not a variable", path);
		break;
	default:
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	return rc;
}

/* "path=value"; spaces around '=' would silently make an unused variable,
 * so they are refused. */
static int assign(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	size_t badlen = 0;
	char *path;
	int rc;

	if (!eq || eq == arg) {
		snprintf(err, errlen, "\"%s\": expected path=value", arg);
		return -EINVAL;
	}
	if (isspace((unsigned char)eq[-1]) || isspace((unsigned char)eq[1]) ||
	    isspace((unsigned char)arg[0])) {
		snprintf(err, errlen, "\"%s\": no spaces allowed around the path or '='", arg);
		return -EINVAL;
	}
	path = strndup(arg, (size_t)(eq - arg));
	if (!path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = set_value(cfg, path, eq + 1, &badlen);
	if (rc)
		set_error(path, rc, badlen, err, errlen);
	free(path);
	return rc;
}

int config_parse_assignment(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	return assign(cfg, arg, err, errlen);
}

static bool line_skipped(const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	return *line == '\0' || *line == '#';
}

/* Reads one line (with its '\n') into buf; 0 at EOF, 1 for a line,
 * -E2BIG when it does not fit: unlike getline() this cannot be made to
 * eat all memory by "-k /dev/zero". */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c = EOF;

	while (n + 1 < cap && (c = getc(f)) != EOF) {
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	*len = n;
	if (n + 1 == cap && c != '\n')
		return -E2BIG;
	return n ? 1 : 0;
}

static int parse_line(struct config *cfg, const char *file, unsigned lineno, char *line,
		      size_t len, char *err, size_t errlen)
{
	char why[384];
	int rc;

	if (len != strlen(line)) {
		snprintf(err, errlen, "%s:%u: NUL byte in line", file, lineno);
		return -EINVAL;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (line_skipped(line))
		return 0;
	rc = assign(cfg, line, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s:%u: %s", file, lineno, why);
	return rc;
}

int config_parse_file(struct config *cfg, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "re");
	char *line;
	unsigned lineno = 0;
	size_t len;
	int rc = f ? 0 : -errno, more;

	line = f ? malloc(CONFIG_MAX_LINE + 2) : NULL;
	if (f && !line)
		rc = -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "%s: %s", file, strerror(-rc));
		if (f)
			fclose(f);
		return rc;
	}
	while (!rc && (more = read_line(f, line, CONFIG_MAX_LINE + 2, &len)) != 0) {
		lineno++;
		if (more < 0) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", file, lineno,
				 CONFIG_MAX_LINE);
			rc = -E2BIG;
		} else {
			rc = parse_line(cfg, file, lineno, line, len, err, errlen);
		}
	}
	if (!rc && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", file);
	}
	free(line);
	fclose(f);
	return rc;
}

static void dump_node(const struct config_node *n, FILE *out)
{
	for (const struct config_node *c = n->first; c; c = c->next) {
		if (c->is_value)
			fprintf(out, "%s=%s\n", c->path, c->value);
		else
			dump_node(c, out);
	}
}

void config_dump(struct config *cfg, FILE *out)
{
	dump_node(&cfg->root, out);
}

static int set_legacy_item(struct config *cfg, const char *node, char *tok, char *err,
			   size_t errlen)
{
	char *eq = strchr(tok, '='), var[512];
	int rc;

	if (eq)
		*eq = '\0';
	if (!*tok || !strcmp(tok, "device")) {
		snprintf(err, errlen, "invalid device option \"%s%s%s\"", tok, eq ? "=" : "",
			 eq ? eq + 1 : "");
		return -EINVAL;
	}
	if ((size_t)snprintf(var, sizeof(var), "%s.%s", node, tok) >= sizeof(var)) {
		snprintf(err, errlen, "device option \"%.64s...\" is too long", tok);
		return -EINVAL;
	}
	rc = config_set(cfg, var, eq ? eq + 1 : "true");
	if (rc == -ENOTDIR || rc == -EISDIR)
		snprintf(err, errlen, "%s conflicts with variables already set under or above it",
			 var);
	else if (rc)
		snprintf(err, errlen, "%s: %s", var, strerror(-rc));
	return rc;
}

int config_set_legacy(struct config *cfg, const char *node, const char *opts,
		      char *err, size_t errlen)
{
	char *copy = strdup(opts ? opts : ""), *next;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (char *tok = copy; tok && !rc; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (*tok)		/* "a,,b" or a trailing comma */
			rc = set_legacy_item(cfg, node, tok, err, errlen);
	}
	free(copy);
	return rc;
}
