/* The checkpoint metadata (meta.h): what is written parses back, damaged
 * or foreign JSON is refused with a reason naming the field, and a state
 * file that is not the one described is caught. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot/meta.h"

static void sample(struct snap_meta *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->vmname, "web-1");
	m->ncpus = 2;
	m->memsize = 512ull << 20;
	m->destroy_on_close = true;
	m->saved_at = 1796000000;
	m->state_size = 4096 + 64;
	m->state_crc = 0xdeadbeef;
	m->nsections = 2;
	strcpy(m->sections[0].name, "vm.pit");
	m->sections[0] = (struct snap_section){ .name = "vm.pit", .version = 1, .crc = 7,
						.offset = 160, .size = 112 };
	m->sections[1] = (struct snap_section){ .name = "cpu.0", .version = 1,
						.crc = 0xffffffffu, .offset = 272, .size = 9000 };
	m->ndevices = 2;
	strcpy(m->devices[0].slot, "0:0:0");
	strcpy(m->devices[0].device, "hostbridge");
	strcpy(m->devices[1].slot, "0:2:0");
	strcpy(m->devices[1].device, "virtio-blk");
}

/* m as JSON text (malloc'ed, NUL-terminated). */
static char *json_of(const struct snap_meta *m)
{
	int fd = memfd_create("meta", MFD_CLOEXEC);
	off_t end;
	char *buf;

	assert_true(fd >= 0);
	assert_int_equal(snap_meta_write(m, fd), 0);
	end = lseek(fd, 0, SEEK_END);
	assert_true(end > 0);
	buf = calloc(1, (size_t)end + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
	close(fd);
	return buf;
}

static void test_round_trip(void **state)
{
	struct snap_meta *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char err[256] = "";
	char *text;

	(void)state;
	sample(a);
	text = json_of(a);
	assert_int_equal(snap_meta_parse(text, strlen(text), b, err, sizeof(err)), 0);
	assert_string_equal(b->vmname, "web-1");
	assert_int_equal(b->ncpus, 2);
	assert_int_equal(b->memsize, 512ull << 20);
	assert_true(b->destroy_on_close);
	assert_int_equal(b->saved_at, 1796000000);
	assert_int_equal(b->state_size, 4160);
	assert_int_equal(b->state_crc, 0xdeadbeef);
	assert_int_equal(b->nsections, 2);
	assert_string_equal(b->sections[1].name, "cpu.0");
	assert_int_equal(b->sections[1].crc, 0xffffffffu);
	assert_int_equal(b->sections[1].size, 9000);
	assert_int_equal(b->ndevices, 2);
	assert_string_equal(b->devices[1].slot, "0:2:0");
	assert_string_equal(b->devices[1].device, "virtio-blk");
	free(text);
	free(a);
	free(b);
}

/* text with the first `from` replaced by `to`: refused, reason has `why`. */
static void refused(const char *from, const char *to, const char *why)
{
	struct snap_meta *m = malloc(sizeof(*m));
	char err[256] = "", *text, *at, *edited;

	sample(m);
	text = json_of(m);
	at = strstr(text, from);
	if (!at)
		fail_msg("\"%s\" not in %s", from, text);
	edited = calloc(1, strlen(text) + strlen(to) + 1);
	assert_non_null(edited);
	memcpy(edited, text, (size_t)(at - text));
	strcat(edited, to);
	strcat(edited, at + strlen(from));
	if (snap_meta_parse(edited, strlen(edited), m, err, sizeof(err)) != -EPROTO)
		fail_msg("%s -> %s: accepted", from, to);
	if (!strstr(err, why))
		fail_msg("%s -> %s: reason \"%s\" lacks \"%s\"", from, to, err, why);
	assert_int_equal(m->ncpus, 0);		/* nothing half-filled */
	free(edited);
	free(text);
	free(m);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("khyve-checkpoint", "bhyve", "format");
	refused("\"version\": 1,", "\"version\": 2,", "version 2");
	refused("\"ncpus\": 2", "\"ncpus\": 0", "ncpus");
	refused("\"ncpus\": 2", "\"ncpus\": \"2\"", "\"ncpus\" is not int");
	refused("\"ncpus\": 2", "\"ncpus\": -1", "ncpus");
	refused("\"ncpus\": 2", "\"ncpus\": 99999999999999999999", "ncpus");
	refused("\"memsize\": 536870912", "\"memsize\": 536870913", "memsize");
	refused("\"vmname\": \"web-1\"", "\"vmname\": \"\"", "vmname");
	refused("\"vmname\": \"web-1\"", "\"vmname\": \"a\\nb\"", "control character");
	refused("\"vmname\": \"web-1\"", "\"vmname\": \"a\\u0000b\"", "vmname");
	refused("\"destroy_on_close\": true", "\"destroy_on_close\": 1", "destroy_on_close");
	refused("\"saved_at\"", "\"surprise\": 1, \"saved_at\"", "unknown field \"surprise\"");
	refused("\"crc32c\": 7", "\"crc32c\": 7, \"extra\": 0", "sections[0]: unknown field");
	refused("\"size\": 112", "\"size\": 999999999999", "sections[0]: \"size\"");
	refused("\"name\": \"cpu.0\"", "\"name\": \"cpu.0.this-name-is-far-too-long\"", "name");
	refused("\"device\": \"virtio-blk\"", "\"device\": [ ]", "devices[1]");
	refused("\"devices\": [", "\"devices\": 3, \"x\": [", "unknown field \"x\"");
	refused("\"state\": {", "\"state\": [], \"y\": {", "unknown field \"y\"");
	refused("{", "[", "");
	refused("\"vmname\"", "\"vmname\": {\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{}}}}}}}}, \"x\"",
		"not JSON");
}

static void test_garbage(void **state)
{
	static const char *const inputs[] = { "", "   ", "{", "null", "[1,2]", "{}x",
					      "{\"format\":\"khyve-checkpoint\"} {}" };
	struct snap_meta *m = malloc(sizeof(*m));
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		err[0] = '\0';
		assert_int_equal(snap_meta_parse(inputs[i], strlen(inputs[i]), m, err, sizeof(err)),
				 -EPROTO);
		assert_true(err[0] != '\0');
	}
	free(m);
}

/* The parser gets the file's bytes, not a C string: trailing whitespace at
 * the very end of an unterminated buffer must not be read past (ASan). */
static void test_unterminated(void **state)
{
	struct snap_meta *m = malloc(sizeof(*m));
	char err[256] = "", *text, *exact;
	size_t len;

	(void)state;
	sample(m);
	text = json_of(m);
	len = strlen(text);
	exact = malloc(len + 2);
	assert_non_null(exact);
	memcpy(exact, text, len);
	memcpy(exact + len, " \n", 2);
	assert_int_equal(snap_meta_parse(exact, len + 2, m, err, sizeof(err)), 0);
	exact[len + 1] = 'x';
	assert_int_equal(snap_meta_parse(exact, len + 2, m, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "after its JSON object"));
	free(exact);
	free(text);
	free(m);
}

static void test_check_state(void **state)
{
	struct snap_meta *m = malloc(sizeof(*m));
	struct snap_file *f = calloc(1, sizeof(*f));
	char err[256];

	(void)state;
	sample(m);
	f->n = 2;
	f->sec[0] = m->sections[0];
	f->sec[1] = m->sections[1];
	assert_int_equal(snap_meta_check_state(m, f, 4160, 0xdeadbeef, err, sizeof(err)), 0);
	assert_int_equal(snap_meta_check_state(m, f, 4161, 0xdeadbeef, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "not the one"));
	assert_int_equal(snap_meta_check_state(m, f, 4160, 0xdeadbeee, err, sizeof(err)), -EPROTO);
	f->sec[1].crc ^= 1;
	assert_int_equal(snap_meta_check_state(m, f, 4160, 0xdeadbeef, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "cpu.0"));
	f->sec[1].crc ^= 1;
	f->n = 1;
	assert_int_equal(snap_meta_check_state(m, f, 4160, 0xdeadbeef, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "1 sections"));
	free(f);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_check_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
