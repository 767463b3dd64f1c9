/* FILE.meta: JSON through json-c.  Layout (doc/snapshot.md):
 *   { "format": "khyve-checkpoint", "version": 1,
 *     "vmname": "...", "ncpus": N, "memsize": BYTES, "destroy_on_close": B,
 *     "saved_at": UNIX_SECONDS,
 *     "state": { "size": BYTES, "crc32c": N },
 *     "sections": [ { "name": "...", "version": N, "offset": N, "size": N,
 *                     "crc32c": N }, ... ],
 *     "devices": [ { "slot": "0:2:0", "device": "virtio-blk" }, ... ] } */
#include "snapshot/meta.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/fileio.h"

#define JSON_DEPTH	8

/* ---- writing ---- */

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(struct json_object *o, const char *key, uint64_t v)
{
	return add(o, key, json_object_new_int64((int64_t)v));
}

static int append(struct json_object *a, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *section_json(const struct snap_section *s)
{
	struct json_object *o = json_object_new_object();

	if (o && (add(o, "name", json_object_new_string(s->name)) ||
		  add_int(o, "version", s->version) || add_int(o, "offset", s->offset) ||
		  add_int(o, "size", s->size) || add_int(o, "crc32c", s->crc))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *device_json(const struct snap_meta_device *d)
{
	struct json_object *o = json_object_new_object();

	if (o && (add(o, "slot", json_object_new_string(d->slot)) ||
		  add(o, "device", json_object_new_string(d->device)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int add_lists(struct json_object *root, const struct snap_meta *m)
{
	struct json_object *secs = json_object_new_array(), *devs = json_object_new_array();
	int rc = 0;

	if (!secs || !devs) {
		json_object_put(secs);
		json_object_put(devs);
		return -ENOMEM;
	}
	for (unsigned i = 0; rc == 0 && i < m->nsections; i++)
		rc = append(secs, section_json(&m->sections[i]));
	for (unsigned i = 0; rc == 0 && i < m->ndevices; i++)
		rc = append(devs, device_json(&m->devices[i]));
	if (rc) {
		json_object_put(secs);
		json_object_put(devs);
		return rc;
	}
	rc = add(root, "sections", secs);
	if (rc)
		json_object_put(devs);
	return rc ? rc : add(root, "devices", devs);
}

static struct json_object *meta_json(const struct snap_meta *m)
{
	struct json_object *root = json_object_new_object(), *state = json_object_new_object();

	if (!root || !state)
		goto fail;
	if (add_int(state, "size", m->state_size) || add_int(state, "crc32c", m->state_crc))
		goto fail;
	if (add(root, "format", json_object_new_string(SNAP_META_FORMAT)) ||
	    add_int(root, "version", SNAP_META_VERSION) ||
	    add(root, "vmname", json_object_new_string(m->vmname)) ||
	    add_int(root, "ncpus", m->ncpus) || add_int(root, "memsize", m->memsize) ||
	    add(root, "destroy_on_close", json_object_new_boolean(m->destroy_on_close)) ||
	    add_int(root, "saved_at", m->saved_at))
		goto fail;
	if (add(root, "state", state)) {
		state = NULL;		/* add() released it */
		goto fail;
	}
	state = NULL;
	if (add_lists(root, m))
		goto fail;
	return root;
fail:
	json_object_put(state);
	json_object_put(root);
	return NULL;
}

int snap_meta_write(const struct snap_meta *m, int fd)
{
	struct json_object *root = meta_json(m);
	const char *text;
	int rc;

	if (!root)
		return -ENOMEM;
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = text ? fd_write_all(fd, text, strlen(text)) : -ENOMEM;
	if (rc == 0)
		rc = fd_write_all(fd, "\n", 1);
	json_object_put(root);
	return rc;
}

/* ---- parsing ---- */

struct parse {
	char *err;
	size_t errlen;
	int rc;
};

static void bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return;		/* the first reason is the one reported */
	p->rc = -EPROTO;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

/* Member key of o, of type t, or NULL after bad(). */
static struct json_object *member(struct parse *p, struct json_object *o, const char *where,
				  const char *key, enum json_type t)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		bad(p, "%s: \"%s\" is missing", where, key);
		return NULL;
	}
	if (!json_object_is_type(v, t)) {
		bad(p, "%s: \"%s\" is not %s", where, key, json_type_to_name(t));
		return NULL;
	}
	return v;
}

static uint64_t get_uint(struct parse *p, struct json_object *o, const char *where,
			 const char *key, uint64_t max)
{
	struct json_object *v = member(p, o, where, key, json_type_int);
	int64_t x;

	if (!v)
		return 0;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < 0 || (uint64_t)x > max) {
		bad(p, "%s: \"%s\" is out of range", where, key);
		return 0;
	}
	return (uint64_t)x;
}

/* A string of 1..cap-1 printable bytes into out. */
static void get_text(struct parse *p, struct json_object *o, const char *where,
		     const char *key, char *out, size_t cap)
{
	struct json_object *v = member(p, o, where, key, json_type_string);
	const char *s;
	int len;

	out[0] = '\0';
	if (!v)
		return;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (len <= 0 || (size_t)len >= cap) {
		bad(p, "%s: \"%s\" must have 1 to %zu bytes", where, key, cap - 1);
		return;
	}
	for (int i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			bad(p, "%s: \"%s\" holds a control character", where, key);
			return;
		}
	memcpy(out, s, (size_t)len + 1);
}

/* Every member of o is one of the n keys (a newer format is refused,
 * not half understood). */
static void only_keys(struct parse *p, struct json_object *o, const char *where,
		      const char *const *keys, size_t n)
{
	json_object_object_foreach(o, key, val) {
		size_t i;

		(void)val;
		for (i = 0; i < n && strcmp(key, keys[i]); i++)
			;
		if (i == n) {
			bad(p, "%s: unknown field \"%.40s\"", where, key);
			return;
		}
	}
}

#define ONLY_KEYS(p, o, where, ...) do { \
	static const char *const k_[] = { __VA_ARGS__ }; \
	only_keys(p, o, where, k_, sizeof(k_) / sizeof(k_[0])); \
} while (0)

static void parse_section(struct parse *p, struct json_object *o, unsigned i,
			  struct snap_section *s)
{
	char where[32];

	snprintf(where, sizeof(where), "sections[%u]", i);
	if (!json_object_is_type(o, json_type_object)) {
		bad(p, "%s is not an object", where);
		return;
	}
	ONLY_KEYS(p, o, where, "name", "version", "offset", "size", "crc32c");
	get_text(p, o, where, "name", s->name, sizeof(s->name));
	s->version = (uint32_t)get_uint(p, o, where, "version", UINT32_MAX);
	s->offset = get_uint(p, o, where, "offset", SNAP_MAX_FILE);
	s->size = get_uint(p, o, where, "size", SNAP_MAX_FILE);
	s->crc = (uint32_t)get_uint(p, o, where, "crc32c", UINT32_MAX);
	s->data = NULL;
}

static void parse_device(struct parse *p, struct json_object *o, unsigned i,
			 struct snap_meta_device *d)
{
	char where[32];

	snprintf(where, sizeof(where), "devices[%u]", i);
	if (!json_object_is_type(o, json_type_object)) {
		bad(p, "%s is not an object", where);
		return;
	}
	ONLY_KEYS(p, o, where, "slot", "device");
	get_text(p, o, where, "slot", d->slot, sizeof(d->slot));
	get_text(p, o, where, "device", d->device, sizeof(d->device));
}

static void parse_lists(struct parse *p, struct json_object *root, struct snap_meta *m)
{
	struct json_object *secs = member(p, root, "metadata", "sections", json_type_array);
	struct json_object *devs = member(p, root, "metadata", "devices", json_type_array);
	size_t n;

	if (!secs || !devs)
		return;
	n = json_object_array_length(secs);
	if (n == 0 || n > SNAP_MAX_SECTIONS) {
		bad(p, "metadata: %zu sections (1 to %u)", n, SNAP_MAX_SECTIONS);
		return;
	}
	m->nsections = (unsigned)n;
	for (unsigned i = 0; i < m->nsections && !p->rc; i++)
		parse_section(p, json_object_array_get_idx(secs, i), i, &m->sections[i]);
	n = json_object_array_length(devs);
	if (n > SNAP_META_MAX_DEVICES) {
		bad(p, "metadata: %zu devices (at most %u)", n, SNAP_META_MAX_DEVICES);
		return;
	}
	m->ndevices = (unsigned)n;
	for (unsigned i = 0; i < m->ndevices && !p->rc; i++)
		parse_device(p, json_object_array_get_idx(devs, i), i, &m->devices[i]);
}

static void parse_root(struct parse *p, struct json_object *root, struct snap_meta *m)
{
	struct json_object *v, *state;
	char format[SNAP_META_TEXT_MAX];
	uint64_t version;

	if (!json_object_is_type(root, json_type_object)) {
		bad(p, "metadata is not a JSON object");
		return;
	}
	get_text(p, root, "metadata", "format", format, sizeof(format));
	if (!p->rc && strcmp(format, SNAP_META_FORMAT)) {
		bad(p, "metadata: format \"%s\", not \"%s\"", format, SNAP_META_FORMAT);
		return;
	}
	version = get_uint(p, root, "metadata", "version", UINT32_MAX);
	if (!p->rc && version != SNAP_META_VERSION) {
		bad(p, "metadata: version %llu, this khyve reads %d",
			   (unsigned long long)version, SNAP_META_VERSION);
		return;
	}
	ONLY_KEYS(p, root, "metadata", "format", "version", "vmname", "ncpus", "memsize",
		  "destroy_on_close", "saved_at", "state", "sections", "devices");
	get_text(p, root, "metadata", "vmname", m->vmname, sizeof(m->vmname));
	m->ncpus = (uint32_t)get_uint(p, root, "metadata", "ncpus", 1024);
	if (!p->rc && m->ncpus == 0)
		bad(p, "metadata: \"ncpus\" is 0");
	m->memsize = get_uint(p, root, "metadata", "memsize", UINT64_C(1) << 52);
	if (!p->rc && (m->memsize == 0 || m->memsize % 4096))
		bad(p, "metadata: \"memsize\" is not a positive multiple of 4 KiB");
	if ((v = member(p, root, "metadata", "destroy_on_close", json_type_boolean)))
		m->destroy_on_close = json_object_get_boolean(v);
	m->saved_at = get_uint(p, root, "metadata", "saved_at", INT64_MAX);
	if ((state = member(p, root, "metadata", "state", json_type_object))) {
		ONLY_KEYS(p, state, "state", "size", "crc32c");
		m->state_size = get_uint(p, state, "state", "size", SNAP_MAX_FILE);
		m->state_crc = (uint32_t)get_uint(p, state, "state", "crc32c", UINT32_MAX);
	}
	if (!p->rc)
		parse_lists(p, root, m);
}

/* buf is not NUL-terminated: strspn() would read past its end. */
static bool only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

int snap_meta_parse(const char *buf, size_t len, struct snap_meta *m, char *err, size_t errlen)
{
	struct parse p = { err, errlen, 0 };
	struct json_tokener *tok;
	struct json_object *root;

	memset(m, 0, sizeof(*m));
	if (len == 0 || len > SNAP_META_MAX_BYTES) {
		bad(&p, "metadata has %zu bytes (1 to %u)", len, SNAP_META_MAX_BYTES);
		return p.rc;
	}
	if (memchr(buf, '\0', len)) {
		bad(&p, "metadata holds a NUL byte");
		return p.rc;
	}
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success)
		bad(&p, "metadata is not JSON: %s",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
	else if (!only_space(buf + json_tokener_get_parse_end(tok),
			     len - json_tokener_get_parse_end(tok)))
		bad(&p, "metadata has bytes after its JSON object");
	else
		parse_root(&p, root, m);
	json_object_put(root);
	json_tokener_free(tok);
	if (p.rc)
		memset(m, 0, sizeof(*m));
	return p.rc;
}

int snap_meta_check_state(const struct snap_meta *m, const struct snap_file *f,
			  uint64_t size, uint32_t crc, char *err, size_t errlen)
{
	if (size != m->state_size || crc != m->state_crc) {
		snprintf(err, errlen, "the state file is not the one the metadata describes "
			 "(%llu bytes, CRC32C %08x; want %llu, %08x)", (unsigned long long)size,
			 crc, (unsigned long long)m->state_size, m->state_crc);
		return -EPROTO;
	}
	if (f->n != m->nsections) {
		snprintf(err, errlen, "the state file has %u sections, the metadata lists %u",
			 f->n, m->nsections);
		return -EPROTO;
	}
	for (unsigned i = 0; i < f->n; i++) {
		const struct snap_section *a = &f->sec[i], *b = &m->sections[i];

		if (strcmp(a->name, b->name) || a->version != b->version ||
		    a->offset != b->offset || a->size != b->size || a->crc != b->crc) {
			snprintf(err, errlen, "section %u (%s) differs between the state file "
				 "and the metadata", i, a->name);
			return -EPROTO;
		}
	}
	return 0;
}
