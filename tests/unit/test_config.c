/* bhyve_config(5) tree: what -o, -k and config.dump users see. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/config.h"

static int setup(void **state)
{
	*state = config_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	config_free(*state);
	return 0;
}

/* Writes text to a fresh temporary file; returns its path (static). */
static const char *tmpfile_with(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/khyve-test-config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	return path;
}

/* config_dump() output as a string (caller frees). */
static char *dump_string(struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_dump(cfg, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_set_get_overwrite(void **state)
{
	struct config *cfg = *state;

	assert_null(config_get(cfg, "memory.size"));
	assert_false(config_isset(cfg, "memory.size"));
	assert_int_equal(config_set(cfg, "memory.size", "256M"), 0);
	assert_string_equal(config_get(cfg, "memory.size"), "256M");
	assert_true(config_isset(cfg, "memory.size"));
	assert_int_equal(config_set(cfg, "memory.size", "1G"), 0);
	assert_string_equal(config_get(cfg, "memory.size"), "1G");
	assert_int_equal(config_set(cfg, "name", "vm0"), 0);
	assert_string_equal(config_get(cfg, "name"), "vm0");
	assert_int_equal(config_set(cfg, "empty", ""), 0);
	assert_string_equal(config_get(cfg, "empty"), "");
}

static void test_set_default(void **state)
{
	struct config *cfg = *state;

	assert_int_equal(config_set_default(cfg, "x86.strictmsr", "true"), 0);
	assert_string_equal(config_get(cfg, "x86.strictmsr"), "true");
	assert_int_equal(config_set_default(cfg, "x86.strictmsr", "false"), 0);
	assert_string_equal(config_get(cfg, "x86.strictmsr"), "true");
}

static void test_bad_paths(void **state)
{
	struct config *cfg = *state;

	assert_int_equal(config_set(cfg, "", "x"), -EINVAL);
	assert_int_equal(config_set(cfg, "a..b", "x"), -EINVAL);
	assert_int_equal(config_set(cfg, ".a", "x"), -EINVAL);
	assert_int_equal(config_set(cfg, "a.", "x"), -EINVAL);
	assert_null(config_get(cfg, "a..b"));
	/* Nothing was created by the failures. */
	assert_null(config_find_node(cfg, "a"));
}

static void test_node_value_conflicts(void **state)
{
	struct config *cfg = *state;

	assert_int_equal(config_set(cfg, "pci.0.3.0.device", "hostbridge"), 0);
	/* A node cannot become a value, nor a value a node. */
	assert_int_equal(config_set(cfg, "pci.0.3", "x"), -EISDIR);
	assert_int_equal(config_set(cfg, "pci.0.3.0.device.x", "y"), -ENOTDIR);
	assert_null(config_get(cfg, "pci.0.3"));
	assert_null(config_get_raw(cfg, "pci.0.3"));
	assert_false(config_isset(cfg, "pci.0.3"));
	assert_non_null(config_find_node(cfg, "pci.0.3"));
	assert_null(config_find_node(cfg, "pci.0.3.0.device"));
	assert_string_equal(config_node_path(config_find_node(cfg, "pci.0.3.0")), "pci.0.3.0");
	assert_string_equal(config_get(cfg, "pci.0.3.0.device"), "hostbridge");
}

static void test_unset_prunes(void **state)
{
	struct config *cfg = *state;

	assert_int_equal(config_set(cfg, "a.b.c", "1"), 0);
	assert_int_equal(config_unset(cfg, "a.b"), -EISDIR);
	assert_int_equal(config_unset(cfg, "a.b.c"), 0);
	assert_int_equal(config_unset(cfg, "a.b.c"), -ENOENT);
	assert_null(config_find_node(cfg, "a"));
	/* With the node gone, the path can be a value now. */
	assert_int_equal(config_set(cfg, "a", "2"), 0);
	assert_string_equal(config_get(cfg, "a"), "2");
}

static void test_expansion(void **state)
{
	struct config *cfg = *state;
	char err[256];

	assert_int_equal(config_set(cfg, "name", "vm1"), 0);
	assert_int_equal(config_set(cfg, "pci.0.2.0.path", "/dev/zvol/p/%(name)"), 0);
	assert_int_equal(config_set(cfg, "pct", "100%% of %(name)%"), 0);
	assert_int_equal(config_set(cfg, "chain", "[%(pci.0.2.0.path)]"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "pci.0.2.0.path"), "/dev/zvol/p/vm1");
	assert_string_equal(config_get_raw(cfg, "pci.0.2.0.path"), "/dev/zvol/p/%(name)");
	assert_string_equal(config_get(cfg, "pct"), "100% of vm1%");
	assert_string_equal(config_get(cfg, "chain"), "[/dev/zvol/p/vm1]");
	/* A change to a referenced variable shows in the expansion. */
	assert_int_equal(config_set(cfg, "name", "vm2"), 0);
	assert_string_equal(config_get(cfg, "chain"), "[/dev/zvol/p/vm2]");
}

static void test_expansion_pointer_stable(void **state)
{
	struct config *cfg = *state;
	const char *p;

	assert_int_equal(config_set(cfg, "name", "vm"), 0);
	assert_int_equal(config_set(cfg, "path", "/d/%(name)"), 0);
	p = config_get(cfg, "path");
	/* An unrelated change leaves the old expansion valid. */
	assert_int_equal(config_set(cfg, "other", "x"), 0);
	assert_ptr_equal(config_get(cfg, "path"), p);
	assert_string_equal(p, "/d/vm");
}

static void test_expansion_errors(void **state)
{
	struct config *cfg = *state;
	char err[256];

	assert_int_equal(config_set(cfg, "a", "x%(nope)"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a:"));
	assert_non_null(strstr(err, "nope"));
	assert_null(config_get(cfg, "a"));
	assert_int_equal(config_set(cfg, "a", "x%(name"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unterminated"));
	assert_int_equal(config_set(cfg, "a", "%()"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	/* A reference to a node is not a value. */
	assert_int_equal(config_set(cfg, "n.v", "1"), 0);
	assert_int_equal(config_set(cfg, "a", "%(n)"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node"));
	assert_int_equal(config_set(cfg, "a", "fine"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
}

static void test_loops(void **state)
{
	struct config *cfg = *state;
	char err[256];

	assert_int_equal(config_set(cfg, "self", "%(self)"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "loop"));
	assert_null(config_get(cfg, "self"));
	assert_int_equal(config_unset(cfg, "self"), 0);
	assert_int_equal(config_set(cfg, "a", "%(b)"), 0);
	assert_int_equal(config_set(cfg, "b", "x%(c)"), 0);
	assert_int_equal(config_set(cfg, "c", "%(a)"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "loop"));
	assert_null(config_get(cfg, "b"));
	/* Breaking the loop makes all three fine. */
	assert_int_equal(config_set(cfg, "c", "end"), 0);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "a"), "xend");
}

static void test_expansion_blowup(void **state)
{
	struct config *cfg = *state;
	char name[16], val[64], err[256];

	/* Each level doubles the previous one: refused, not 2^40 bytes. */
	assert_int_equal(config_set(cfg, "v0", "0123456789"), 0);
	for (int i = 1; i <= 40; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		snprintf(val, sizeof(val), "%%(v%d)%%(v%d)", i - 1, i - 1);
		assert_int_equal(config_set(cfg, name, val), 0);
	}
	assert_int_equal(config_validate(cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bytes"));
	assert_string_equal(config_get(cfg, "v1"), "01234567890123456789");
}

static void test_deep_chain(void **state)
{
	struct config *cfg = *state;
	char name[16], val[32], err[256];

	assert_int_equal(config_set(cfg, "d0", "end"), 0);
	for (int i = 1; i <= 200; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		snprintf(val, sizeof(val), "%%(d%d)", i - 1);
		assert_int_equal(config_set(cfg, name, val), 0);
	}
	/* Expanding in insertion order caches each level, so a long chain
	 * validates; a cold deep lookup is refused, not a stack overflow. */
	assert_int_equal(config_set(cfg, "d1", "%(d0)"), 0);
	assert_null(config_get(cfg, "d200"));
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "d200"), "end");
}

static void test_bool(void **state)
{
	struct config *cfg = *state;
	static const char *const yes[] = { "true", "TRUE", "on", "On", "yes", "YES", "1" };
	static const char *const no[] = { "false", "False", "off", "OFF", "no", "No", "0" };
	static const char *const bad[] = { "", "2", "truee", "y", "n", "01", " true" };
	bool b;

	assert_int_equal(config_get_bool(cfg, "x", true, &b), 0);
	assert_true(b);
	assert_int_equal(config_get_bool(cfg, "x", false, &b), 0);
	assert_false(b);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(config_set(cfg, "x", yes[i]), 0);
		assert_int_equal(config_get_bool(cfg, "x", false, &b), 0);
		assert_true(b);
		assert_int_equal(config_set(cfg, "x", no[i]), 0);
		assert_int_equal(config_get_bool(cfg, "x", true, &b), 0);
		assert_false(b);
		assert_int_equal(config_set(cfg, "x", bad[i]), 0);
		assert_int_equal(config_get_bool(cfg, "x", true, &b), -EINVAL);
	}
	assert_int_equal(config_set(cfg, "t", "on"), 0);
	assert_int_equal(config_set(cfg, "x", "%(t)"), 0);
	assert_int_equal(config_get_bool(cfg, "x", false, &b), 0);
	assert_true(b);
	assert_int_equal(config_set(cfg, "x", "%(missing)"), 0);
	assert_int_equal(config_get_bool(cfg, "x", false, &b), -EINVAL);
}

static void test_int(void **state)
{
	struct config *cfg = *state;
	int64_t v;

	assert_int_equal(config_get_int(cfg, "cpus", 7, 1, 255, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(config_set(cfg, "cpus", "4"), 0);
	assert_int_equal(config_get_int(cfg, "cpus", 1, 1, 255, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(config_set(cfg, "vendor", "0x1234"), 0);
	assert_int_equal(config_get_int(cfg, "vendor", 0, 0, 0xffff, &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(config_set(cfg, "cpus", "256"), 0);
	assert_int_equal(config_get_int(cfg, "cpus", 1, 1, 255, &v), -EINVAL);
	assert_int_equal(config_set(cfg, "cpus", "0"), 0);
	assert_int_equal(config_get_int(cfg, "cpus", 1, 1, 255, &v), -EINVAL);
	assert_int_equal(config_set(cfg, "cpus", "-3"), 0);
	assert_int_equal(config_get_int(cfg, "cpus", 1, -5, 5, &v), 0);
	assert_int_equal(v, -3);
	static const char *const bad[] = { "", "4x", " 4", "4 ", "x", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(config_set(cfg, "cpus", bad[i]), 0);
		assert_int_equal(config_get_int(cfg, "cpus", 1, INT64_MIN, INT64_MAX, &v), -EINVAL);
	}
}

static void test_dump_order(void **state)
{
	struct config *cfg = *state;
	char *out;

	assert_int_equal(config_set(cfg, "name", "vm"), 0);
	assert_int_equal(config_set(cfg, "pci.0.31.0.device", "lpc"), 0);
	assert_int_equal(config_set(cfg, "memory.size", "64M"), 0);
	assert_int_equal(config_set(cfg, "pci.0.0.0.device", "hostbridge"), 0);
	assert_int_equal(config_set(cfg, "pci.0.31.0.x", "%(name)"), 0);
	assert_int_equal(config_set(cfg, "name", "vm2"), 0);	/* keeps its place */
	out = dump_string(cfg);
	assert_string_equal(out, "name=vm2\n"
				 "pci.0.31.0.device=lpc\n"
				 "pci.0.31.0.x=%(name)\n"
				 "pci.0.0.0.device=hostbridge\n"
				 "memory.size=64M\n");
	free(out);
}

struct visit {
	char names[8][16];
	bool node[8];
	char values[8][16];
	int n;
};

static int visit_fn(void *opaque, const char *name, const char *value, struct config_node *child)
{
	struct visit *v = opaque;

	snprintf(v->names[v->n], sizeof(v->names[0]), "%s", name);
	snprintf(v->values[v->n], sizeof(v->values[0]), "%s", value ? value : "");
	v->node[v->n] = child != NULL;
	assert_true((value == NULL) == (child != NULL));
	return ++v->n == 3 ? 42 : 0;
}

static void test_foreach(void **state)
{
	struct config *cfg = *state;
	struct visit v = { .n = 0 };

	assert_int_equal(config_set(cfg, "dev.b", "2"), 0);
	assert_int_equal(config_set(cfg, "dev.a.x", "1"), 0);
	assert_int_equal(config_set(cfg, "name", "n"), 0);
	assert_int_equal(config_set(cfg, "dev.c", "%(name)"), 0);
	assert_int_equal(config_set(cfg, "dev.d", "4"), 0);
	assert_int_equal(config_node_foreach(cfg, config_find_node(cfg, "dev"), visit_fn, &v), 42);
	assert_int_equal(v.n, 3);
	assert_string_equal(v.names[0], "b");
	assert_false(v.node[0]);
	assert_string_equal(v.names[1], "a");
	assert_true(v.node[1]);
	assert_string_equal(v.names[2], "c");
	assert_string_equal(v.values[2], "n");	/* expanded */
	v.n = 0;
	assert_int_equal(config_node_foreach(cfg, NULL, visit_fn, &v), 0);
	assert_int_equal(v.n, 2);
}

static void test_assignment(void **state)
{
	struct config *cfg = *state;
	char err[256];

	assert_int_equal(config_parse_assignment(cfg, "boot.cmdline=console=ttyS0 quiet", err,
						 sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "boot.cmdline"), "console=ttyS0 quiet");
	assert_int_equal(config_parse_assignment(cfg, "x=", err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "x"), "");
	assert_int_equal(config_parse_assignment(cfg, "novalue", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "novalue"));
	assert_int_equal(config_parse_assignment(cfg, "=v", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_parse_assignment(cfg, "a = b", err, sizeof(err)), -EINVAL);
	assert_int_equal(config_parse_assignment(cfg, "boot=x", err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "boot"));
	assert_int_equal(config_parse_assignment(cfg, "x.y=1", err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "x is a variable"));
}

static void test_file(void **state)
{
	struct config *cfg = *state;
	const char *path = tmpfile_with("# a comment\n"
					"\n"
					"name=filevm\n"
					"   \n"
					"  # indented comment\n"
					"memory.size=1G\r\n"
					"pci.0.2.0.path=/img/%(name).raw\n"
					"boot.cmdline=a=b c\n"
					"last=no-newline");
	char err[256];

	assert_int_equal(config_parse_file(cfg, path, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(config_validate(cfg, err, sizeof(err)), 0);
	assert_string_equal(config_get(cfg, "name"), "filevm");
	assert_string_equal(config_get(cfg, "memory.size"), "1G");
	assert_string_equal(config_get(cfg, "pci.0.2.0.path"), "/img/filevm.raw");
	assert_string_equal(config_get(cfg, "boot.cmdline"), "a=b c");
	assert_string_equal(config_get(cfg, "last"), "no-newline");
}

static void test_file_errors(void **state)
{
	struct config *cfg = *state;
	const char *path;
	char err[256], want[128];

	path = tmpfile_with("name=vm\n# ok\nnot an assignment\nx=1\n");
	assert_int_equal(config_parse_file(cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:", path);
	assert_non_null(strstr(err, want));
	unlink(path);

	path = tmpfile_with("a.b=1\na=2\n");
	assert_int_equal(config_parse_file(cfg, path, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s:2:", path);
	assert_non_null(strstr(err, want));
	unlink(path);

	path = tmpfile_with("a =1\n");
	assert_int_equal(config_parse_file(cfg, path, err, sizeof(err)), -EINVAL);
	unlink(path);

	path = tmpfile_with("ok=1\nnul=a\0b\n");
	/* tmpfile_with stops at the NUL; write the NUL by hand. */
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fwrite("ok=1\nnul=a\0b\n", 1, 13, f), 13);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(config_parse_file(cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:", path);
	assert_non_null(strstr(err, want));
	unlink(path);

	/* A line without end (think "-k /dev/zero") is refused, not slurped. */
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_int_equal(fputs("p=1\nq=", f) >= 0, 1);
		for (int i = 0; i < 70000; i++)
			assert_int_equal(fputc('x', f), 'x');
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(config_parse_file(cfg, path, err, sizeof(err)), -E2BIG);
	snprintf(want, sizeof(want), "%s:2: line longer than", path);
	assert_non_null(strstr(err, want));
	unlink(path);

	assert_int_equal(config_parse_file(cfg, "/nonexistent/khyve.conf", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/khyve.conf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_value_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unset_prunes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansion_pointer_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansion_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expansion_blowup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_int, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
