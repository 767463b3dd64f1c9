/* bhyve(8)'s command line: the variables each option sets, and the one
 * line a user sees when an option is wrong. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/options.h"
#include "vmmctl/vmmctl.h"
#include "lib/config.h"

#define MAX_ARGS 32

struct run {
	struct config *cfg;
	int rc;
	char out[8192];		/* what went to the out stream */
	char err[4096];		/* what went to stderr */
};

static int setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct run *r = *state;

	config_free(r->cfg);
	free(r);
	return 0;
}

static void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
}

/* Parses a NULL-terminated argument list into a fresh config, capturing
 * stdout-for-help and stderr. */
static int parse_v(struct run *r, const char *first, va_list ap)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0, saved = dup(STDERR_FILENO);
	FILE *out = tmpfile(), *errf = tmpfile();

	assert_true(saved >= 0);
	assert_non_null(out);
	assert_non_null(errf);
	argv[argc++] = (char *)"khyve";
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc <= MAX_ARGS);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	config_free(r->cfg);
	r->cfg = config_new();
	assert_non_null(r->cfg);
	fflush(stderr);
	assert_true(dup2(fileno(errf), STDERR_FILENO) >= 0);
	r->rc = options_parse(r->cfg, argc, argv, out);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	slurp(out, r->out, sizeof(r->out));
	slurp(errf, r->err, sizeof(r->err));
	fclose(out);
	fclose(errf);
	return r->rc;
}

static int parse(struct run *r, const char *first, ...)
{
	va_list ap;
	int rc;

	va_start(ap, first);
	rc = parse_v(r, first, ap);
	va_end(ap);
	return rc;
}

/* An accepted command line: OPTIONS_RUN and nothing on stderr. */
static void ok(struct run *r, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	parse_v(r, first, ap);
	va_end(ap);
	if (r->rc != OPTIONS_RUN || r->err[0])
		fail_msg("rc %d, stderr: %s", r->rc, r->err);
}

/* A refused one: negative errno and exactly one "khyve: " line that
 * contains each of the given words. */
static void refused(struct run *r, const char *words, const char *first, ...)
{
	va_list ap;
	char *copy, *save = NULL, missing[128] = "";
	char *nl;

	va_start(ap, first);
	parse_v(r, first, ap);
	va_end(ap);
	if (r->rc >= 0)
		fail_msg("accepted (rc %d), wanted an error with \"%s\"", r->rc, words);
	assert_int_equal(strncmp(r->err, "khyve: ", 7), 0);
	nl = strchr(r->err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
	copy = strdup(words);
	assert_non_null(copy);
	for (char *w = strtok_r(copy, "|", &save); w && !missing[0]; w = strtok_r(NULL, "|", &save))
		if (!strstr(r->err, w))
			snprintf(missing, sizeof(missing), "%s", w);
	free(copy);
	if (missing[0])
		fail_msg("stderr \"%s\" lacks \"%s\"", r->err, missing);
}

static void expect_var(struct run *r, const char *var, const char *value)
{
	const char *v = config_get_raw(r->cfg, var);

	if (!v || strcmp(v, value))
		fail_msg("%s is \"%s\", expected \"%s\"", var, v ? v : "(unset)", value);
}

static void test_flags(void **state)
{
	static const struct { const char *opt, *var, *value; } flags[] = {
		{ "-a", "x86.x2apic", "false" },
		{ "-A", "acpi_tables", "true" },
		{ "-C", "memory.guest_in_core", "true" },
		{ "-D", "destroy_on_poweroff", "true" },
		{ "-e", "x86.strictio", "true" },
		{ "-H", "x86.vmexit_on_hlt", "true" },
		{ "-P", "x86.vmexit_on_pause", "true" },
		{ "-S", "memory.wired", "true" },
		{ "-u", "rtc.use_localtime", "false" },
		{ "-W", "virtio_msix", "false" },
		{ "-w", "x86.strictmsr", "false" },
		{ "-x", "x86.x2apic", "true" },
		{ "-Y", "x86.mptable", "false" },
	};
	struct run *r = *state;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		ok(r, flags[i].opt, "vm", NULL);
		expect_var(r, flags[i].var, flags[i].value);
		expect_var(r, "name", "vm");
	}
	/* -I is an obsolete no-op: only the name is set. */
	ok(r, "-I", "vm", NULL);
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		config_dump(r->cfg, f);
		assert_int_equal(fclose(f), 0);
		assert_string_equal(buf, "name=vm\n");
		free(buf);
	}
	/* Bundled flags, and the last -a/-x wins. */
	ok(r, "-HPx", "-a", "vm", NULL);
	expect_var(r, "x86.vmexit_on_hlt", "true");
	expect_var(r, "x86.vmexit_on_pause", "true");
	expect_var(r, "x86.x2apic", "false");
}

static void test_cpus(void **state)
{
	struct run *r = *state;

	ok(r, "-c", "4", "vm", NULL);
	expect_var(r, "cpus", "4");
	assert_false(config_isset(r->cfg, "sockets"));
	ok(r, "-c", "cpus=4", "vm", NULL);
	expect_var(r, "cpus", "4");
	ok(r, "-c", "cpus=4,sockets=2,cores=2,threads=1", "vm", NULL);
	expect_var(r, "cpus", "4");
	expect_var(r, "sockets", "2");
	expect_var(r, "cores", "2");
	expect_var(r, "threads", "1");
	ok(r, "-c", "8,cores=2,threads=2", "vm", NULL);
	expect_var(r, "cores", "2");
	ok(r, "-c", "sockets=2,cores=2", "vm", NULL);
	assert_false(config_isset(r->cfg, "cpus"));
	ok(r, "-c", "", "vm", NULL);
	expect_var(r, "cpus", "1");
	expect_var(r, "sockets", "1");
	ok(r, "-c", "255", "vm", NULL);

	refused(r, "-c cpus=4,sockets=3|equal cpus", "-c", "cpus=4,sockets=3", "vm", NULL);
	refused(r, "-c 6,cores=4|equal", "-c", "6,cores=4", "vm", NULL);
	refused(r, "-c 0", "-c", "0", "vm", NULL);
	refused(r, "-c 256|255", "-c", "256", "vm", NULL);
	refused(r, "-c four", "-c", "four", "vm", NULL);
	refused(r, "-c maxcpus=4|unknown key", "-c", "maxcpus=4", "vm", NULL);
	refused(r, "-c 4,,", "-c", "4,,", "vm", NULL);
	refused(r, "-c sockets=16,cores=16|255", "-c", "sockets=16,cores=16", "vm", NULL);
	refused(r, "-c -1", "-c", "-1", "vm", NULL);
}

static void test_memsize(void **state)
{
	static const struct { const char *s; uint64_t bytes; } good[] = {
		{ "256M", 256ULL << 20 }, { "256m", 256ULL << 20 }, { "1G", 1ULL << 30 },
		{ "1g", 1ULL << 30 }, { "2T", 2ULL << 40 }, { "4096K", 4ULL << 20 },
		{ "512", 512ULL << 20 }, { "1048575", 1048575ULL << 20 },
		{ "2097152", 2097152 }, { "1048576", 1048576 }, { "0x100", 256ULL << 20 },
		{ "0x200000", 2ULL << 20 }, { "010", 10ULL << 20 },
	};
	static const char *const bad[] = {
		"", "0", "0M", "garbage", "12Q", "1.5G", "-1", " 1G", "1G ", "1GB", "M", "0x",
		"99999999999999999999", "18446744073709551615K", "17179869184G", "16777216T",
	};
	uint64_t b;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_memsize(good[i].s, &b))
			fail_msg("%s refused", good[i].s);
		assert_int_equal(b, good[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!parse_memsize(bad[i], &b))
			fail_msg("%s accepted", bad[i]);
	assert_int_equal(parse_memsize("16777215T", &b), 0);
	assert_int_equal(b, 16777215ULL << 40);
	(void)state;
}

static void test_memory_option(void **state)
{
	struct run *r = *state;

	ok(r, "-m", "64M", "vm", NULL);
	expect_var(r, "memory.size", "64M");	/* as typed, like bhyve */
	ok(r, "-m", "512", "vm", NULL);
	expect_var(r, "memory.size", "512");
	refused(r, "-m 12Q|memory size", "-m", "12Q", "vm", NULL);
	refused(r, "-m 0|memory size", "-m", "0", "vm", NULL);
}

static void test_pin(void **state)
{
	struct run *r = *state;

	ok(r, "-p", "0:2", "-p", "1:3", "-p", "0:5", "vm", NULL);
	expect_var(r, "vcpu.0.cpuset", "2,5");
	expect_var(r, "vcpu.1.cpuset", "3");
	refused(r, "-p 0", "-p", "0", "vm", NULL);
	refused(r, "-p a:1", "-p", "a:1", "vm", NULL);
	refused(r, "-p 0:-1", "-p", "0:-1", "vm", NULL);
	refused(r, "-p 255:0", "-p", "255:0", "vm", NULL);
	refused(r, "-p 0:1024", "-p", "0:1024", "vm", NULL);
	refused(r, "-p 0:1:2", "-p", "0:1:2", "vm", NULL);
}

static void test_slot_forms(void **state)
{
	struct run *r = *state;

	ok(r, "-s", "0,hostbridge", "-s", "31,lpc", "-s", "3:1,hostbridge",
	   "-s", "1:4:7,amd_hostbridge", "-s", "05,hostbridge", "vm", NULL);
	expect_var(r, "pci.0.0.0.device", "hostbridge");
	expect_var(r, "pci.0.31.0.device", "lpc");
	expect_var(r, "pci.0.3.1.device", "hostbridge");
	expect_var(r, "pci.1.4.7.device", "amd_hostbridge");
	expect_var(r, "pci.0.5.0.device", "hostbridge");
	ok(r, "-s", "255:31:7,hostbridge", "vm", NULL);

	refused(r, "-s 99,hostbridge|slot 99|0-31", "-s", "99,hostbridge", "vm", NULL);
	refused(r, "-s x,lpc|slot", "-s", "x,lpc", "vm", NULL);
	refused(r, "-s 3:8,hostbridge|function 8|0-7", "-s", "3:8,hostbridge", "vm", NULL);
	refused(r, "-s 256:0:0,hostbridge|bus 256", "-s", "256:0:0,hostbridge", "vm", NULL);
	refused(r, "-s 1:2:3:4,hostbridge|slot", "-s", "1:2:3:4,hostbridge", "vm", NULL);
	refused(r, "-s :3,hostbridge", "-s", ":3,hostbridge", "vm", NULL);
	refused(r, "-s 3 ,hostbridge|invalid slot", "-s", "3 ,hostbridge", "vm", NULL);
	refused(r, "-s 3|slot,emulation", "-s", "3", "vm", NULL);
	refused(r, "-s 3,|slot,emulation", "-s", "3,", "vm", NULL);
	refused(r, "-s 9999999999,lpc|slot", "-s", "9999999999,lpc", "vm", NULL);
}

static void test_slot_duplicates(void **state)
{
	struct run *r = *state;

	refused(r, "-s 0,lpc|pci slot 0:0:0 already occupied", "-s", "0,hostbridge",
		"-s", "0,lpc", "vm", NULL);
	refused(r, "pci slot 0:3:0 already occupied", "-s", "3,hostbridge", "-s", "0:3:0,lpc",
		"vm", NULL);
	/* A node made with -o occupies the slot too, as in bhyve. */
	refused(r, "already occupied", "-o", "pci.0.4.0.device=lpc", "-s", "4,hostbridge",
		"vm", NULL);
	/* Other functions of one slot are distinct. */
	ok(r, "-s", "3:0,hostbridge", "-s", "3:1,hostbridge", "vm", NULL);
}

static void test_slot_devices(void **state)
{
	static const char *const later[] = {
		"virtio-9p", "virtio-scsi",
		"virtio-input", "ahci", "ahci-hd", "ahci-cd", "nvme", "e1000",
		"passthru", "uart", "fbuf", "xhci", "hda",
	};
	struct run *r = *state;
	char arg[64], words[128];

	refused(r, "-s 2,foo|unknown device \"foo\"|-s help", "-s", "2,foo", "vm", NULL);
	/* bhyve's block syntax: the first item is the path. */
	ok(r, "-s", "3,virtio-blk,/tmp/disk.img,ro,sectorsize=4096", "vm", NULL);
	assert_string_equal(config_get(r->cfg, "pci.0.3.0.path"), "/tmp/disk.img");
	assert_string_equal(config_get(r->cfg, "pci.0.3.0.ro"), "true");
	assert_string_equal(config_get(r->cfg, "pci.0.3.0.sectorsize"), "4096");
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		snprintf(arg, sizeof(arg), "3,%s,/tmp/disk.img", later[i]);
		snprintf(words, sizeof(words), "\"%s\"|not available in this khyve yet", later[i]);
		refused(r, words, "-s", arg, "vm", NULL);
		assert_null(strstr(r->err, "unknown"));
	}
	/* Emulation names are case-sensitive, as in bhyve. */
	refused(r, "unknown device", "-s", "0,HOSTBRIDGE", "vm", NULL);
	/* Built devices are accepted. */
	ok(r, "-s", "4,virtio-rnd", "vm", NULL);
}

static void test_slot_generic_config(void **state)
{
	struct run *r = *state;

	ok(r, "-s", "3,hostbridge,vendor=0x1234,devid=0x5678,flag,,x=a=b", "vm", NULL);
	expect_var(r, "pci.0.3.0.device", "hostbridge");
	expect_var(r, "pci.0.3.0.vendor", "0x1234");
	expect_var(r, "pci.0.3.0.devid", "0x5678");
	expect_var(r, "pci.0.3.0.flag", "true");
	expect_var(r, "pci.0.3.0.x", "a=b");
	refused(r, "-s 3,hostbridge,device=lpc", "-s", "3,hostbridge,device=lpc", "vm", NULL);
	refused(r, "-s 3,hostbridge,=1", "-s", "3,hostbridge,=1", "vm", NULL);
	refused(r, "-s 3,hostbridge,a=1,a.b=2|conflicts", "-s", "3,hostbridge,a=1,a.b=2", "vm",
		NULL);
}

static void test_lpc(void **state)
{
	struct run *r = *state;

	ok(r, "-l", "com1,stdio", "-l", "COM2,/dev/pts/3", "-l", "com3,unix=/tmp/a,b",
	   "-l", "com4,pty", "vm", NULL);
	expect_var(r, "lpc.com1.path", "stdio");
	expect_var(r, "lpc.com2.path", "/dev/pts/3");
	expect_var(r, "lpc.com3.path", "unix=/tmp/a,b");
	expect_var(r, "lpc.com4.path", "pty");
	/* The backend is the machine's to check. */
	ok(r, "-l", "com1,whatever", "vm", NULL);
	expect_var(r, "lpc.com1.path", "whatever");

	refused(r, "-l com1|backend", "-l", "com1", "vm", NULL);
	refused(r, "-l com1,|backend", "-l", "com1,", "vm", NULL);
	refused(r, "-l com5,stdio|unknown LPC device \"com5\"", "-l", "com5,stdio", "vm", NULL);
	refused(r, "-l foo|unknown LPC device", "-l", "foo", "vm", NULL);
	refused(r, "bootrom is not available in khyve yet|boot.kernel", "-l",
		"bootrom,/usr/share/uefi/BHYVE_UEFI.fd", "vm", NULL);
	refused(r, "fwcfg is not available", "-l", "fwcfg,qemu", "vm", NULL);
	refused(r, "tpm is not available", "-l", "tpm,passthru,/dev/tpm0", "vm", NULL);
	refused(r, "pc-testdev is not available", "-l", "pc-testdev", "vm", NULL);
}

static void test_help(void **state)
{
	struct run *r = *state;

	assert_int_equal(parse(r, "-s", "help", NULL), OPTIONS_EXIT_OK);
	assert_non_null(strstr(r->out, "hostbridge"));
	assert_non_null(strstr(r->out, "amd_hostbridge"));
	assert_non_null(strstr(r->out, "lpc"));
	assert_string_equal(r->err, "");
	/* bhyve takes any prefix of "help". */
	assert_int_equal(parse(r, "-s", "he", NULL), OPTIONS_EXIT_OK);
	assert_non_null(strstr(r->out, "hostbridge"));

	assert_int_equal(parse(r, "-l", "help", NULL), OPTIONS_EXIT_OK);
	for (int i = 1; i <= 4; i++) {
		char com[16];

		snprintf(com, sizeof(com), "com%d", i);
		assert_non_null(strstr(r->out, com));
	}
	assert_non_null(strstr(r->out, "stdio"));
	assert_non_null(strstr(r->out, "pty"));
	assert_non_null(strstr(r->out, "unix="));
	assert_non_null(strstr(r->out, "/dev/pts"));

	assert_int_equal(parse(r, "-h", NULL), OPTIONS_EXIT_OK);
	assert_non_null(strstr(r->out, "Usage"));
	assert_non_null(strstr(r->out, "-s "));
	assert_non_null(strstr(r->out, "boot.kernel"));
	assert_string_equal(r->err, "");
	/* Help wins over a missing name, and stops at once. */
	assert_int_equal(parse(r, "-c", "2", "-h", "-Z", NULL), OPTIONS_EXIT_OK);
}

static void test_uuid(void **state)
{
	struct run *r = *state;

	ok(r, "-U", "0e5e5a0e-6b2f-4f0a-9e3b-5c1f0e2d7a91", "vm", NULL);
	expect_var(r, "uuid", "0e5e5a0e-6b2f-4f0a-9e3b-5c1f0e2d7a91");
	ok(r, "-U", "0E5E5A0E-6B2F-4F0A-9E3B-5C1F0E2D7A91", "vm", NULL);
	refused(r, "-U nope|UUID", "-U", "nope", "vm", NULL);
	refused(r, "UUID", "-U", "0e5e5a0e-6b2f-4f0a-9e3b-5c1f0e2d7a9", "vm", NULL);
	refused(r, "UUID", "-U", "0e5e5a0e-6b2f-4f0a-9e3b-5c1f0e2d7a912", "vm", NULL);
	refused(r, "UUID", "-U", "0e5e5a0e6b2f-4f0a-9e3b-5c1f0e2d7a91-", "vm", NULL);
	refused(r, "UUID", "-U", "0e5e5a0e-6b2f-4f0a-9e3b-5c1f0e2d7a9g", "vm", NULL);
}

static void test_config_options(void **state)
{
	struct run *r = *state;
	char path[] = "/tmp/khyve-test-options.XXXXXX";
	static const char text[] = "# vm\nmemory.size=1G\nname=fromfile\nx86.x2apic=true\n";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	assert_int_equal(close(fd), 0);
	/* Options apply in order: -k then -m, and the positional name wins. */
	ok(r, "-k", path, "-m", "2G", "vm", NULL);
	expect_var(r, "memory.size", "2G");
	expect_var(r, "x86.x2apic", "true");
	expect_var(r, "name", "vm");
	/* bhyve: without a positional name, name= from -k or -o is used. */
	ok(r, "-k", path, NULL);
	expect_var(r, "name", "fromfile");
	ok(r, "-o", "name=other", NULL);
	expect_var(r, "name", "other");
	refused(r, "-o memory.size.x=1|memory.size is a variable", "-k", path, "-o", "x=1",
		"-k", "/dev/null", "-o", "memory.size.x=1", "vm", NULL);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ok=1\nnot an assignment\n", 24), 24);
	assert_int_equal(close(fd), 0);
	refused(r, "-k |:2:|expected path=value", "-k", path, "vm", NULL);
	unlink(path);
	refused(r, "-k|No such file", "-k", path, "vm", NULL);

	ok(r, "-o", "boot.kernel=/boot/vmlinuz", "-o", "boot.initrd=/boot/initrd.img",
	   "-o", "boot.cmdline=console=ttyS0 root=/dev/vda", "-o", "anything.at.all=%(name)",
	   "vm", NULL);
	expect_var(r, "boot.kernel", "/boot/vmlinuz");
	expect_var(r, "boot.initrd", "/boot/initrd.img");
	expect_var(r, "boot.cmdline", "console=ttyS0 root=/dev/vda");
	expect_var(r, "anything.at.all", "%(name)");
	refused(r, "-o|novalue", "-o", "novalue", "vm", NULL);
	refused(r, "-o", "-o", "a.b=1", "-o", "a=2", "vm", NULL);
}

static void test_later_options(void **state)
{
	struct run *r = *state;

	/* -r: the name may come from the checkpoint, read later */
	ok(r, "-r", "/tmp/x.ckp", NULL);
	assert_string_equal(config_get(r->cfg, "restore"), "/tmp/x.ckp");
	assert_null(config_get(r->cfg, "name"));
	refused(r, "-G 1234|GDB", "-G", "1234", "vm", NULL);
	ok(r, "-M", "vm", NULL);
	assert_string_equal(config_get(r->cfg, "monitor"), "true");
	refused(r, "-f name,string=x|fw_cfg", "-f", "name,string=x", "vm", NULL);
	refused(r, "-K us|framebuffer", "-K", "us", "vm", NULL);
	refused(r, "-n id=0,size=1G|NUMA", "-n", "id=0,size=1G", "vm", NULL);
}

static void test_bad_usage(void **state)
{
	struct run *r = *state;

	refused(r, "unknown option -Z", "-Z", "-s", "0,hostbridge", "vm", NULL);
	refused(r, "unknown option -d", "-d", "vm", NULL);
	refused(r, "option -s needs an argument", "vm", "-s", NULL);
	refused(r, "option -m needs an argument", "-m", NULL);
	refused(r, "name", "-m", "32M", "-s", "0,hostbridge", NULL);
	refused(r, "one VM name", "vm1", "vm2", NULL);
	/* glibc's getopt takes options after the name, as khyve documents. */
	ok(r, "vm", "-m", "1G", NULL);
	expect_var(r, "memory.size", "1G");
	/* "--" ends the options. */
	ok(r, "--", "vm", NULL);
	/* Repeated parses in one process start afresh. */
	ok(r, "-c", "2", "vm", NULL);
	ok(r, "-c", "2", "vm", NULL);
}

static void test_names(void **state)
{
	struct run *r = *state;
	char longname[200], rundir[128], opt[160];

	ok(r, "my-vm_1.test", NULL);
	ok(r, "A", NULL);
	refused(r, "name", ".hidden", NULL);
	refused(r, "name", "-o", "name=-dash", NULL);
	refused(r, "name", "a/b", NULL);
	refused(r, "name", "a b", NULL);
	refused(r, "name", "", NULL);
	refused(r, "name", "v\xc3\xa9", NULL);
	memset(longname, 'v', 120);
	longname[120] = '\0';
	refused(r, "name|too long", longname, NULL);

	/* The limit follows the run directory, given after the name too. */
	memset(rundir, 'd', sizeof(rundir));
	memcpy(rundir, "/tmp/", 5);
	rundir[90] = '\0';
	snprintf(opt, sizeof(opt), "rundir=%s", rundir);
	memset(longname, 'n', 16);
	longname[16] = '\0';	/* 90 + 1 + 16 + 1 = 108: fits exactly */
	ok(r, longname, "-o", opt, NULL);
	longname[16] = 'n';
	longname[17] = '\0';
	refused(r, "too long|at most 16|run directory /tmp/ddd", longname, "-o", opt, NULL);
}

static void test_name_helpers(void **state)
{
	char err[256], buf[256];
	struct config *cfg = config_new();

	assert_non_null(cfg);
	assert_int_equal(vmmctl_name_max("/run/khyve"), 108 - 10 - 2);
	assert_int_equal(vmmctl_name_max(""), 106);
	memset(buf, 'x', 200);
	buf[200] = '\0';
	assert_int_equal(vmmctl_name_max(buf), 0);
	assert_int_equal(vmmctl_name_max(NULL), 0);
	assert_int_equal(vmmctl_name_check("abc", 3, err, sizeof(err)), 0);
	assert_int_equal(vmmctl_name_check("abcd", 3, err, sizeof(err)), -ENAMETOOLONG);
	assert_int_equal(vmmctl_name_check("", 3, err, sizeof(err)), -EINVAL);
	assert_int_equal(vmmctl_name_check("a:b", 9, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(cfg, "rundir", "/srv/vms"), 0);
	assert_string_equal(vmmctl_rundir(cfg, buf, sizeof(buf)), "/srv/vms");
	assert_null(vmmctl_rundir(cfg, buf, 4));
	assert_int_equal(config_unset(cfg, "rundir"), 0);
	assert_non_null(vmmctl_rundir(cfg, buf, sizeof(buf)));
	assert_true(!strcmp(buf, "/run/khyve") || strstr(buf, "khyve") != NULL);
	config_free(cfg);
	(void)state;
}

/* One rule for -c and for cpus/sockets/cores/threads set any other way. */
static void test_topology_resolve(void **state)
{
	unsigned out[4];
	const char *why = NULL;
	const struct {
		unsigned long n[4];
		bool given[4];
		int rc;
		unsigned out[4];
	} cases[] = {
		{ { 0, 0, 0, 0 }, { false, false, false, false }, 0, { 1, 1, 1, 1 } },
		{ { 4, 0, 0, 0 }, { true, false, false, false }, 0, { 4, 4, 1, 1 } },
		{ { 0, 0, 2, 0 }, { false, false, true, false }, 0, { 2, 1, 2, 1 } },
		{ { 0, 2, 2, 0 }, { false, true, true, false }, 0, { 4, 2, 2, 1 } },
		{ { 4, 0, 2, 0 }, { true, false, true, false }, 0, { 4, 2, 2, 1 } },
		{ { 3, 0, 2, 0 }, { true, false, true, false }, -EINVAL, { 0 } },
		{ { 1, 0, 2, 0 }, { true, false, true, false }, -EINVAL, { 0 } },
		{ { 0, 16, 16, 1 }, { false, true, true, true }, -EINVAL, { 0 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(topology_resolve(cases[i].n, cases[i].given, out, &why),
				 cases[i].rc);
		if (cases[i].rc == 0)
			assert_memory_equal(out, cases[i].out, sizeof(out));
		else
			assert_non_null(why);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_flags), T(test_cpus), T(test_memsize), T(test_memory_option), T(test_pin),
		T(test_slot_forms), T(test_slot_duplicates), T(test_slot_devices),
		T(test_slot_generic_config), T(test_lpc), T(test_help), T(test_uuid),
		T(test_config_options), T(test_later_options), T(test_bad_usage), T(test_names),
		T(test_name_helpers),
		cmocka_unit_test(test_topology_resolve),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
