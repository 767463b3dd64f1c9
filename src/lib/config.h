/* bhyve_config(5): a tree of string variables addressed by dotted paths
 * ("pci.0.2.0.device").  Values may refer to others as %(path); %% is a
 * literal %.  Booleans: true/on/yes/1 and false/off/no/0. */
#ifndef KHYVE_CONFIG_H
#define KHYVE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct config_node;

struct config *config_new(void);
void config_free(struct config *cfg);

/* Sets path to value, creating intermediate nodes, replacing an old value.
 * -EINVAL: empty path or component; -ENOTDIR: a component is already a
 * value; -EISDIR: path names a node with children. */
int config_set(struct config *cfg, const char *path, const char *value);
/* Sets only if unset (bhyve's set_config_value_if_unset). */
int config_set_default(struct config *cfg, const char *path, const char *value);
bool config_isset(struct config *cfg, const char *path);
int config_unset(struct config *cfg, const char *path);

/* The expanded value, or NULL when unset (or not a value).  Valid until the
 * variable or one it refers to is changed.  Call config_validate() first:
 * after it succeeds expansion cannot fail. */
const char *config_get(struct config *cfg, const char *path);
/* Raw value without expansion. */
const char *config_get_raw(struct config *cfg, const char *path);
/* Expands every value; on failure (unknown %(var), unterminated %(, a
 * reference loop) returns -EINVAL and writes "path: why" into err. */
int config_validate(struct config *cfg, char *err, size_t errlen);

/* Boolean: *out = dflt when unset; -EINVAL if the value is not a boolean. */
int config_get_bool(struct config *cfg, const char *path, bool dflt, bool *out);
/* Integer via strtoll base 0 (bhyve uses strtol): -EINVAL if not a whole
 * number or outside [min, max]. */
int config_get_int(struct config *cfg, const char *path, int64_t dflt,
		   int64_t min, int64_t max, int64_t *out);

/* Nodes, for device code that reads variables relative to its own node. */
struct config_node *config_find_node(struct config *cfg, const char *path);
/* Full dotted path of node (static buffer owned by the node). */
const char *config_node_path(const struct config_node *node);
/* Calls fn for each direct child in insertion order; value is NULL for a
 * child that is itself a node. Stops early when fn returns non-zero and
 * returns that value. */
int config_node_foreach(struct config *cfg, struct config_node *node,
			int (*fn)(void *opaque, const char *name, const char *value,
				  struct config_node *child),
			void *opaque);

/* -k file: lines "path=value", '#' comments, blank lines skipped, no spaces
 * around '='.  On error -errno and "file:line: why" in err. */
int config_parse_file(struct config *cfg, const char *file, char *err, size_t errlen);
/* "path=value" as given to -o; -EINVAL (with err) when there is no '='. */
int config_parse_assignment(struct config *cfg, const char *arg, char *err, size_t errlen);

/* bhyve's pci_parse_legacy_config(): "key=value,key,..." into node.key (a
 * bare key means true; empty items are skipped; "device" is reserved).
 * -EINVAL etc. with "what: why" in err. */
int config_set_legacy(struct config *cfg, const char *node, const char *opts,
		      char *err, size_t errlen);

/* config.dump: every variable as "path=value" (raw), one per line, in
 * insertion order of the tree. */
void config_dump(struct config *cfg, FILE *out);

#endif
