/* libvirt's bhyve-argv format (virt/native.h): every argv2xml input of
 * libvirt's tests either converts to what its .xml says or is refused for
 * a reason the difference table below gives; khyve's own options; the
 * errors; the khyve command line a definition starts with; and text ->
 * definition -> command line -> text round trips.
 *
 * Deliberate differences from libvirt's bhyve driver (each one tested in
 * differences[] or libvirt_cases[]):
 *   - devices khyve cannot run are refused by name (ahci-hd, ahci-cd,
 *     e1000, fbuf, passthru, nvme, ...), where libvirt converts them;
 *     unknown emulations are refused, where libvirt skips them;
 *   - any loader but "bhyveload -m SIZE -d DISK NAME" is refused: khyve
 *     boots kernels directly (libvirt: <bootloader>), and so is
 *     -l bootrom (libvirt ignores it);
 *   - the definition is for <domain type='kvm'> (no type field here);
 *   - an interface without mac= keeps no MAC: khyve derives a stable one
 *     as bhyve does (libvirt generates a random 52:54:00:xx:xx:xx);
 *   - -S is accepted and not kept (no <memoryBacking><locked/> field);
 *   - -c takes khyve's topology form; -m defaults to 256M (libvirt: 0);
 *   - com1 to com4 with stdio, pty, unix=PATH, tcp=, file= or a tty path besides
 *     /dev/nmdm (libvirt: nmdm on com1/com2 only);
 *   - words are split like sh (quotes anywhere in a word, backslash
 *     escapes) rather than libvirt's quote-at-word-start splitter;
 *   - options may be grouped (-AHP) or take attached values (-c2);
 *   - soft errors of libvirt (non-tap backends, NIC options but mac=,
 *     disk options) are hard errors: nothing is dropped silently;
 *   - a PCI address used twice, a second bhyve or loader line, and VM
 *     names khyve cannot register are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domtest.h"
#include "virt/native.h"

#define DATA_DIR "tests/unit/data/libvirt/argv2xml"

static char err[512];

static struct khv_domain *parse_ok(const char *text)
{
	struct khv_domain *d = NULL;
	int rc = khv_domain_from_native(text, strlen(text), &d, err, sizeof(err));

	if (rc)
		print_error("from_native: %s\n  on: %s\n", err, text);
	assert_int_equal(rc, 0);
	assert_non_null(d);
	return d;
}

static void parse_fails(const char *text, const char *expect)
{
	struct khv_domain *d = (struct khv_domain *)1;
	int rc = khv_domain_from_native(text, strlen(text), &d, err, sizeof(err));

	if (rc != -EINVAL || strcmp(err, expect))
		print_error("on: %s\n  got %d \"%s\"\n want \"%s\"\n", text, rc, err, expect);
	assert_int_equal(rc, -EINVAL);
	assert_null(d);
	assert_string_equal(err, expect);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(KHV_NATIVE_MAX_BYTES + 1);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, KHV_NATIVE_MAX_BYTES, f);
	fclose(f);
	return buf;
}

/* ---- libvirt's argv2xml cases ---- */

struct lv_net {
	struct khv_pci_addr addr;
	const char *tap;
	bool has_mac;
	uint8_t mac[6];
};

struct lv_serial {
	unsigned port;
	const char *master, *slave;
};

struct lv_case {
	const char *name;		/* bhyveargv2xml-NAME.args */
	const char *error;		/* NULL: converts to the values below */
	const char *difference;		/* from libvirt's .xml; NULL: none */
	/* from the .xml (all converting cases: name bhyve, 219136 KiB, 1 vCPU,
	 * on_* destroy, no disks) */
	bool acpi, apic, utc;
	unsigned nnets;
	struct lv_net nets[2];
	unsigned nserials;
	struct lv_serial serials[2];
	bool rng;
	struct khv_pci_addr rng_addr;
};

static const struct lv_case libvirt_cases[] = {
	{ .name = "acpiapic", .acpi = true, .apic = true,
	  .difference = "none (-H -P have no XML meaning, in libvirt either)" },
	{ .name = "ahci-hd",
	  .error = "-s 2:0,ahci-hd,/tmp/freebsd.img: khyve has no ahci-hd device",
	  .difference = "libvirt: <disk bus='sata'>; khyve has no AHCI" },
	{ .name = "bhyveload-custom",
	  .error = "/usr/sbin/bhyveload -S: a custom loader: khyve boots kernels directly: "
		   "use -o boot.kernel=PATH",
	  .difference = "libvirt: <bootloader> with <bootloader_args>; khyve runs no loader" },
	{ .name = "cdrom",
	  .error = "-s 2:0,ahci-cd,/tmp/freebsd.iso: khyve has no ahci-cd device",
	  .difference = "libvirt: <disk device='cdrom' bus='sata'>; khyve has no AHCI" },
	{ .name = "console", .nserials = 2,
	  .serials = { { 0, "/dev/nmdm0A", "/dev/nmdm0B" }, { 1, "/dev/nmdm1B", "/dev/nmdm1A" } } },
	{ .name = "e1000",
	  .error = "-s 1:0,e1000,tap0: khyve has no e1000 device",
	  .difference = "libvirt: <interface> with <model type='e1000'>; khyve has virtio-net" },
	{ .name = "extraargs",
	  .error = "bogus: stray argument after the VM name bhyve",
	  .difference = "none (libvirt fails too)" },
	{ .name = "passthru",
	  .error = "-s 7,passthru,3/0/0: khyve has no passthru device",
	  .difference = "libvirt: <hostdev type='pci'>; khyve has no PCI passthrough" },
	{ .name = "virtio-net", .nnets = 2,
	  .nets = { { { 1, 0 }, "tap0", false, { 0 } },
		    { { 1, 1 }, "tap1", true, { 0xfe, 0xed, 0xad, 0xea, 0xdf, 0x15 } } },
	  .difference = "tap0 has no MAC: khyve derives a stable one as bhyve does; libvirt "
			"generates 52:54:00:xx:xx:xx (its test mock: 52:54:00:00:00:00)" },
	{ .name = "virtio-rnd", .rng = true, .rng_addr = { 1, 0 } },
	{ .name = "vnc-password",
	  .error = "-l bootrom,/path/to/test.fd: khyve boots kernels directly: use "
		   "-o boot.kernel=PATH",
	  .difference = "libvirt ignores the bootrom and converts fbuf to <graphics type='vnc'> "
			"and <video>; khyve has neither firmware nor framebuffer" },
	{ .name = "wired",
	  .difference = "-S is accepted, and the definition has no <memoryBacking><locked/>" },
};

static void check_lv_devices(const struct lv_case *c, const struct khv_domain *d)
{
	assert_int_equal(d->nnets, c->nnets);
	for (unsigned i = 0; i < c->nnets; i++) {
		const struct khv_net *n = &d->nets[i];

		assert_int_equal(n->type, KHV_NET_BRIDGE);
		assert_string_equal(n->source, "virbr0");
		assert_string_equal(n->target_dev, c->nets[i].tap);
		assert_int_equal(n->addr.slot, c->nets[i].addr.slot);
		assert_int_equal(n->addr.func, c->nets[i].addr.func);
		assert_int_equal(n->has_mac, c->nets[i].has_mac);
		if (n->has_mac)
			assert_memory_equal(n->mac, c->nets[i].mac, 6);
	}
	assert_int_equal(d->nserials, c->nserials);
	for (unsigned i = 0; i < c->nserials; i++) {
		assert_int_equal(d->serials[i].type, KHV_CHR_NMDM);
		assert_int_equal(d->serials[i].port, c->serials[i].port);
		assert_string_equal(d->serials[i].path, c->serials[i].master);
		assert_string_equal(d->serials[i].path2, c->serials[i].slave);
	}
	assert_int_equal(d->rng, c->rng);
	if (c->rng) {
		assert_int_equal(d->rng_addr.slot, c->rng_addr.slot);
		assert_int_equal(d->rng_addr.func, c->rng_addr.func);
	}
	assert_int_equal(d->ndisks, 0);
	assert_int_equal(d->nchannels, 0);
	assert_false(d->channel_addr_set);
}

static void check_lv_case(const struct lv_case *c, const struct khv_domain *d)
{
	assert_string_equal(d->name, "bhyve");
	assert_true(d->has_uuid);	/* random; libvirt's test mocks it */
	assert_int_equal(d->memory_kib, 219136);
	assert_int_equal(d->current_memory_kib, 219136);
	assert_int_equal(d->vcpus, 1);
	assert_int_equal(d->sockets, 0);
	assert_int_equal(d->acpi, c->acpi);
	assert_int_equal(d->apic, c->apic);
	assert_int_equal(d->clock, c->utc ? KHV_CLOCK_UTC : KHV_CLOCK_LOCALTIME);
	assert_int_equal(d->on_poweroff, KHV_LIFE_DESTROY);
	assert_int_equal(d->on_reboot, KHV_LIFE_DESTROY);
	assert_int_equal(d->on_crash, KHV_LIFE_DESTROY);
	assert_null(d->kernel);
	check_lv_devices(c, d);
}

static void test_libvirt_cases(void **state)
{
	for (size_t i = 0; i < sizeof(libvirt_cases) / sizeof(libvirt_cases[0]); i++) {
		const struct lv_case *c = &libvirt_cases[i];
		struct khv_domain *d = NULL;
		char path[256], *text;
		size_t len;
		int rc;

		snprintf(path, sizeof(path), DATA_DIR "/bhyveargv2xml-%s.args", c->name);
		text = read_all(path, &len);
		rc = khv_domain_from_native(text, len, &d, err, sizeof(err));
		if (c->error) {
			if (rc != -EINVAL || strcmp(err, c->error))
				print_error("%s: got %d \"%s\"\n", c->name, rc, err);
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(err, c->error);
		} else {
			if (rc)
				print_error("%s: %s\n", c->name, err);
			assert_int_equal(rc, 0);
			check_lv_case(c, d);
		}
		khv_domain_free(d);
		free(text);
	}
}

/* A new .args file without a row in the table fails here. */
static void test_every_libvirt_case_has_a_row(void **state)
{
	DIR *dir = opendir(DATA_DIR);
	struct dirent *de;
	unsigned files = 0;

	assert_non_null(dir);
	while ((de = readdir(dir))) {
		const char *stem = de->d_name + strlen("bhyveargv2xml-");
		size_t len = strlen(de->d_name);
		bool found = false;

		if (strncmp(de->d_name, "bhyveargv2xml-", 14) || len < 20 ||
		    strcmp(de->d_name + len - 5, ".args"))
			continue;
		files++;
		for (size_t i = 0; i < sizeof(libvirt_cases) / sizeof(libvirt_cases[0]); i++)
			if (strlen(libvirt_cases[i].name) == len - 19 &&
			    !strncmp(stem, libvirt_cases[i].name, len - 19))
				found = true;
		if (!found)
			print_error("%s has no row in libvirt_cases[]\n", de->d_name);
		assert_true(found);
	}
	closedir(dir);
	assert_int_equal(files, sizeof(libvirt_cases) / sizeof(libvirt_cases[0]));
}

/* ---- deliberate differences on inputs of our own ---- */

struct difference {
	const char *text;
	const char *error;		/* NULL: converts */
	const char *why;
};

static const struct difference differences[] = {
	{ "bhyve -s 2,nvme,/tmp/d.img vm", "-s 2,nvme,/tmp/d.img: khyve has no nvme device",
	  "refused by name: khyve cannot run it" },
	{ "bhyve -s 3,fbuf,tcp=0.0.0.0:5900 vm",
	  "-s 3,fbuf,tcp=0.0.0.0:5900: khyve has no fbuf device", "no framebuffer" },
	{ "bhyve -s 3,frobnicator vm", "-s 3,frobnicator: unknown device \"frobnicator\"",
	  "libvirt skips unknown emulations silently" },
	{ "/usr/local/sbin/grub-bhyve --root hd0 vm\nbhyve vm",
	  "/usr/local/sbin/grub-bhyve: a custom loader: khyve boots kernels directly: use "
	  "-o boot.kernel=PATH", "libvirt: <bootloader>" },
	{ "bhyveload -m 256 vm\nbhyve vm",
	  "bhyveload without -d: a custom loader: khyve boots kernels directly: use "
	  "-o boot.kernel=PATH", "as libvirt: only -m and -d together are implied" },
	{ "bhyve -s 2,virtio-net,slirp vm",
	  "-s 2,virtio-net,slirp: khyve has no slirp network backend (only taps)",
	  "libvirt: logged and the interface dropped" },
	{ "bhyve -s 2,virtio-net,tap0,mtu=9000 vm",
	  "-s 2,virtio-net,tap0,mtu=9000: mtu= has no place in a domain definition",
	  "libvirt: logged and the interface dropped" },
	{ "bhyve -s 2,virtio-blk,/d.img,nocache vm",
	  "-s 2,virtio-blk,/d.img,nocache: virtio-blk option \"nocache\" has no place in a "
	  "domain definition (ro and ser= have)", "libvirt drops every disk option" },
	{ "bhyve -s 2,virtio-rnd -s 2,virtio-blk,/d.img vm",
	  "-s 2,virtio-blk,/d.img: PCI slot 2:0 is already occupied",
	  "libvirt does not check; khyve would refuse the command line" },
	{ "bhyve vm\nbhyve vm", "more than one bhyve command line",
	  "libvirt ignores all but the first" },
	{ "bhyve 'my vm'", "VM name \"my vm\": 1 to 63 letters, digits, '.', '_' or '-', not "
	  "starting with '.' or '-'", "khyve's VM names" },
	{ "bhyve -l com3,stdio -l com4,unix=/tmp/c4 -l com1,/dev/pts/3 -l com2,pty vm", NULL,
	  "libvirt: com1/com2 on /dev/nmdm only" },
	{ "bhyve -c cpus=4,sockets=2,cores=2 vm", NULL, "libvirt reads a bare count only" },
	{ "bhyve vm", NULL, "memory defaults to 256M (libvirt: 0)" },
	{ "bhyve -AIuc2 vm", NULL, "grouped flags and attached values, as getopt" },
	{ "bhyve -s 2,virtio-blk,\"/my disk.img\" vm", NULL,
	  "sh quoting inside a word (libvirt: only at its start)" },
};

static void test_differences(void **state)
{
	for (size_t i = 0; i < sizeof(differences) / sizeof(differences[0]); i++) {
		const struct difference *c = &differences[i];

		if (c->error)
			parse_fails(c->text, c->error);
		else
			khv_domain_free(parse_ok(c->text));
	}
}

/* ---- khyve's own command lines ---- */

static void test_kernel_boot(void **state)
{
	struct khv_domain *d = parse_ok(
		"khyve -M -c 2 -m 1G -s 0,hostbridge -s 31,lpc -l com1,stdio \\\n"
		"    -o boot.kernel=/boot/vmlinuz -o boot.initrd=/boot/initrd.img \\\n"
		"    -o boot.cmdline=\"console=ttyS0 quiet\" linux0\n");

	assert_string_equal(d->name, "linux0");
	assert_int_equal(d->vcpus, 2);
	assert_int_equal(d->memory_kib, 1024 * 1024);
	assert_string_equal(d->kernel, "/boot/vmlinuz");
	assert_string_equal(d->initrd, "/boot/initrd.img");
	assert_string_equal(d->cmdline, "console=ttyS0 quiet");
	assert_int_equal(d->nserials, 1);
	assert_int_equal(d->serials[0].type, KHV_CHR_STDIO);
	assert_int_equal(d->serials[0].port, 0);
	khv_domain_free(d);
}

static void test_channels(void **state)
{
	struct khv_domain *d = parse_ok(
		"bhyve -s 5:2,virtio-console,org.qemu.guest_agent.0=/run/ga.sock,"
		"com.example.log=/tmp/log.sock vm1");

	assert_int_equal(d->nchannels, 2);
	assert_string_equal(d->channels[0].name, "org.qemu.guest_agent.0");
	assert_string_equal(d->channels[0].path, "/run/ga.sock");
	assert_string_equal(d->channels[1].name, "com.example.log");
	assert_string_equal(d->channels[1].path, "/tmp/log.sock");
	assert_true(d->channel_addr_set);
	assert_int_equal(d->channel_addr.slot, 5);
	assert_int_equal(d->channel_addr.func, 2);
	khv_domain_free(d);
}

static void test_topology(void **state)
{
	static const struct {
		const char *c;
		unsigned vcpus, sockets, cores, threads;
	} cases[] = {
		{ "4", 4, 0, 0, 0 },
		{ "cpus=3", 3, 0, 0, 0 },
		{ "cpus=4,sockets=2,cores=2", 4, 2, 2, 1 },
		{ "sockets=2,threads=2", 4, 2, 1, 2 },
		{ "cpus=8,cores=2,threads=2", 8, 2, 2, 2 },
		{ "''", 1, 1, 1, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128];
		struct khv_domain *d;

		snprintf(text, sizeof(text), "bhyve -c %s vm", cases[i].c);
		d = parse_ok(text);
		assert_int_equal(d->vcpus, cases[i].vcpus);
		assert_int_equal(d->sockets, cases[i].sockets);
		assert_int_equal(d->cores, cases[i].cores);
		assert_int_equal(d->threads, cases[i].threads);
		khv_domain_free(d);
	}
	parse_fails("bhyve -c cpus=3,sockets=2 vm", "-c cpus=3,sockets=2: invalid cpu topology: "
		    "sockets x cores x threads must equal cpus");
	parse_fails("bhyve -c 0 vm", "-c 0: invalid cpu topology: each count must be a number "
		    "from 1 to 255 after cpus=, sockets=, cores= or threads=");
}

static void test_serials(void **state)
{
	struct khv_domain *d = parse_ok("bhyve -l com2,unix=/tmp/c.sock -l COM1,pty "
					"-l com3,/dev/ttyS0 vm");

	assert_int_equal(d->nserials, 3);
	assert_int_equal(d->serials[0].type, KHV_CHR_UNIX);
	assert_int_equal(d->serials[0].port, 1);
	assert_string_equal(d->serials[0].path, "/tmp/c.sock");
	assert_int_equal(d->serials[1].type, KHV_CHR_PTY);
	assert_int_equal(d->serials[1].port, 0);
	assert_int_equal(d->serials[2].type, KHV_CHR_DEV);
	assert_string_equal(d->serials[2].path, "/dev/ttyS0");
	khv_domain_free(d);
}

static void test_disks_and_nets(void **state)
{
	struct khv_domain *d = parse_ok(
		"/usr/sbin/bhyve -s 3,virtio-blk,/dev/sdb,ro,ser=DATA1 -s 4,virtio-blk,/img/a.raw "
		"-s 0:6:1,virtio-net,tap=vnet0,mac=52:54:0:a:b:c vm");

	assert_int_equal(d->ndisks, 2);
	assert_true(d->disks[0].block);
	assert_string_equal(d->disks[0].source, "/dev/sdb");
	assert_string_equal(d->disks[0].target, "vda");
	assert_true(d->disks[0].readonly);
	assert_string_equal(d->disks[0].serial, "DATA1");
	assert_int_equal(d->disks[0].addr.slot, 3);
	assert_false(d->disks[1].block);
	assert_string_equal(d->disks[1].target, "vdb");
	assert_false(d->disks[1].readonly);
	assert_null(d->disks[1].serial);
	assert_int_equal(d->nnets, 1);
	assert_string_equal(d->nets[0].target_dev, "vnet0");
	assert_memory_equal(d->nets[0].mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xa, 0xb, 0xc }), 6);
	assert_int_equal(d->nets[0].addr.slot, 6);
	assert_int_equal(d->nets[0].addr.func, 1);
	khv_domain_free(d);
}

/* A loader line that only repeats the VM's name and memory is accepted. */
static void test_bhyveload(void **state)
{
	struct khv_domain *d = parse_ok("/usr/sbin/bhyveload -m 1G -d /img/a.raw vm\n"
					"/usr/sbin/bhyve -m 1024 -s 2,virtio-blk,/img/a.raw vm\n");

	assert_int_equal(d->memory_kib, 1 << 20);
	khv_domain_free(d);
	/* the loader alone gives the memory size */
	d = parse_ok("bhyveload -d /img/a.raw -m512M vm\r\nbhyve vm\r\n");
	assert_int_equal(d->memory_kib, 512 << 10);
	khv_domain_free(d);
}

static void test_defaults_and_uuid(void **state)
{
	struct khv_domain *a = parse_ok("bhyve vm"), *b = parse_ok("bhyve vm");
	struct khv_domain *c = parse_ok("bhyve -U C7A5FDBD-edaf-9455-926a-d65c16db1809 vm");
	static const uint8_t want[16] = { 0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x94, 0x55,
					  0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x09 };

	assert_int_equal(a->vcpus, 1);
	assert_int_equal(a->memory_kib, 256 << 10);
	assert_int_equal(a->clock, KHV_CLOCK_LOCALTIME);
	assert_true(a->has_uuid && b->has_uuid);
	assert_memory_not_equal(a->uuid, b->uuid, 16);	/* random, as libvirt */
	assert_int_equal(a->uuid[6] >> 4, 4);		/* version 4 */
	assert_int_equal(a->uuid[8] >> 6, 2);		/* RFC 4122 variant */
	assert_memory_equal(c->uuid, want, 16);
	khv_domain_free(a);
	khv_domain_free(b);
	khv_domain_free(c);
}

/* Sizes as bhyve reads them, in KiB as libvirt keeps them. */
static void test_memory_sizes(void **state)
{
	static const struct {
		const char *m;
		uint64_t kib;
	} cases[] = {
		{ "214", 214 << 10 },		/* below 1M: MiB */
		{ "1048576", 1024 },		/* from 1M: bytes */
		{ "1048577", 1024 },		/* KiB truncated, as libvirt */
		{ "2G", 2 << 20 },
		{ "1500k", 1500 },
		{ "0x10", 16 << 10 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[64];
		struct khv_domain *d;

		snprintf(text, sizeof(text), "bhyve -m %s vm", cases[i].m);
		d = parse_ok(text);
		assert_int_equal(d->memory_kib, cases[i].kib);
		assert_int_equal(d->current_memory_kib, cases[i].kib);
		khv_domain_free(d);
	}
}

/* ---- errors ---- */

static const struct {
	const char *text, *error;
} errors[] = {
	{ "bhyveload -m 214 -d /d.img other\nbhyve -m 214 vm",
	  "VM name mismatch: the loader boots \"other\", bhyve runs \"vm\"" },
	{ "bhyveload -m 512 -d /d.img vm\nbhyve -m 214 vm",
	  "bhyveload -m 512: memory size mismatch (219136 KiB elsewhere on the command line)" },
	{ "bhyveload -m 12X -d /d.img vm\nbhyve vm",
	  "bhyveload -m 12X: invalid memory size (a number with an optional K, M, G or T "
	  "suffix)" },
	{ "bhyveload -m 214 -d /d.img vm extra\nbhyve -m 214 vm",
	  "extra: stray argument after the VM name vm" },
	{ "bhyve -m 214 -m 215 vm",
	  "-m 215: memory size mismatch (219136 KiB elsewhere on the command line)" },
	{ "bhyve -m 0 vm", "-m 0: invalid memory size (a number with an optional K, M, G or T "
	  "suffix)" },
	{ "bhyve -m 1Q vm", "-m 1Q: invalid memory size (a number with an optional K, M, G or T "
	  "suffix)" },
	{ "bhyve -U c7a5fdbd-edaf-9455-926a-d65c16db180 vm",
	  "-U c7a5fdbd-edaf-9455-926a-d65c16db180: not a UUID "
	  "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" },
	{ "bhyve -U nope vm", "-U nope: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" },
	{ "bhyve -c x vm", "-c x: invalid cpu topology: each count must be a number from 1 to 255 "
	  "after cpus=, sockets=, cores= or threads=" },
	{ "bhyve -c", "option -c needs an argument" },
	{ "bhyve -A", "bhyve: missing the VM name after the options" },
	{ "bhyve -Z vm", "unknown option -Z" },
	{ "bhyve -G 1234 vm", "-G 1234: the GDB stub is not available in khyve yet" },
	{ "bhyve -k vm.conf vm", "-k vm.conf: a config file cannot be converted: give its "
	  "variables as options" },
	{ "bhyve -h vm", "-h: prints the usage, it defines no VM" },
	{ "bhyve -o memory.size=1G vm", "-o memory.size=1G: memory.size has no place in a domain "
	  "definition (boot.*, cpu.model and on_reboot/on_poweroff/on_crash have)" },
	{ "bhyve -o boot.kernel= vm", "-o boot.kernel=: the path is empty" },
	{ "bhyve -o boot.kernel vm", "-o boot.kernel: expected var=value" },
	{ "bhyve -s 32,virtio-rnd vm", "-s 32,virtio-rnd: invalid slot (slot, slot:function or "
	  "0:slot:function in decimal; slot 0-31, function 0-7)" },
	{ "bhyve -s 1:0:0,virtio-rnd vm", "-s 1:0:0,virtio-rnd: invalid slot (slot, "
	  "slot:function or 0:slot:function in decimal; slot 0-31, function 0-7)" },
	{ "bhyve -s 2 vm", "-s 2: expected slot,emulation[,conf]" },
	{ "bhyve -s 2,virtio-blk vm", "-s 2,virtio-blk: virtio-blk needs a path" },
	{ "bhyve -s 2,virtio-blk,/d,ser=01234567890123456789 vm",
	  "-s 2,virtio-blk,/d,ser=01234567890123456789: ser= takes 1 to 19 characters" },
	{ "bhyve -s 2,virtio-net vm", "-s 2,virtio-net: virtio-net needs a tap name" },
	{ "bhyve -s 2,virtio-net,tap0,tap1 vm", "-s 2,virtio-net,tap0,tap1: more than one tap" },
	{ "bhyve -s 2,virtio-net,tap0,mac=01:00:5e:00:00:01 vm",
	  "-s 2,virtio-net,tap0,mac=01:00:5e:00:00:01: invalid MAC address "
	  "\"01:00:5e:00:00:01\" (xx:xx:xx:xx:xx:xx, not multicast, not zero)" },
	{ "bhyve -s 2,virtio-net,a_very_long_tap_name vm",
	  "-s 2,virtio-net,a_very_long_tap_name: tap name \"a_very_long_tap_name\": 1 to 15 "
	  "letters, digits, '.', '_' or '-'" },
	{ "bhyve -s 2,virtio-rnd -s 3,virtio-rnd vm",
	  "-s 3,virtio-rnd: a second virtio-rnd (a definition has one)" },
	{ "bhyve -s 2,virtio-rnd,x vm", "-s 2,virtio-rnd,x: virtio-rnd takes no options" },
	{ "bhyve -s 2,virtio-console vm", "-s 2,virtio-console: virtio-console needs NAME=PATH "
	  "ports" },
	{ "bhyve -s 2,virtio-console,name vm", "-s 2,virtio-console,name: port \"name\": "
	  "expected NAME=PATH" },
	{ "bhyve -s 2,virtio-console,a=/a -s 3,virtio-console,b=/b vm",
	  "-s 3,virtio-console,b=/b: a second virtio-console (a definition has one, shared by "
	  "all channels)" },
	{ "bhyve -s 0,hostbridge,vendor=1 vm", "-s 0,hostbridge,vendor=1: bridge options have no "
	  "place in a domain definition" },
	{ "bhyve -l com5,stdio vm", "-l com5,stdio: unknown LPC device \"com5\" (com1 to com4)" },
	{ "bhyve -l com1 vm", "-l com1: com1 needs a backend: stdio, pty, unix=PATH or a tty "
	  "path" },
	{ "bhyve -l com1,stdio -l com2,stdio vm", "-l com2,stdio: stdio serves one port only" },
	{ "bhyve -l com1,pty -l com1,stdio vm", "-l com1,stdio: com1 is given twice" },
	{ "bhyve -l com1,/dev/nmdm0C vm", "-l com1,/dev/nmdm0C: an nmdm device name ends in A or "
	  "B" },
	{ "bhyve -l com1,tty0 vm", "-l com1,tty0: unknown backend \"tty0\" (stdio, pty, "
	  "unix=PATH, tcp=HOST:PORT, file=PATH or the absolute path of a tty)" },
	{ "bhyve -l com1,file=log vm", "-l com1,file=log: a file needs an absolute path" },
	{ "bhyve -l com1,tcp=4444 vm", "-l com1,tcp=4444: want tcp=HOST:PORT or tcp=[IPv6]:PORT, "
	  "the port 1 to 65535" },
	{ "bhyve -l com1,tcp=[]:::14444 vm", "-l com1,tcp=[]:::14444: want tcp=HOST:PORT or "
	  "tcp=[IPv6]:PORT, the port 1 to 65535" },
	{ "bhyve -l com1,tcp=::1:80 vm", "-l com1,tcp=::1:80: want tcp=HOST:PORT or "
	  "tcp=[IPv6]:PORT, the port 1 to 65535" },
	{ "bhyve -l com1,tcp=h:65536 vm", "-l com1,tcp=h:65536: want tcp=HOST:PORT or "
	  "tcp=[IPv6]:PORT, the port 1 to 65535" },
	{ "bhyve -l com1,unix= vm", "-l com1,unix=: the socket path must be 1 to 107 bytes" },
	{ "bhyve -l tpm,swtpm vm", "-l tpm,swtpm: khyve has no tpm LPC device" },
	{ "bhyve -o 'boot.cmdline=a vm", "unterminated ' quote" },
	{ "bhyve -o \"boot.cmdline=a vm", "unterminated \" quote" },
	{ "", "no bhyve command line (its first word must be bhyve or khyve)" },
	{ "qemu-system-x86_64 -m 1G", "no bhyve command line (its first word must be bhyve or "
	  "khyve)" },
	{ "bhyveload -m 1 -d /a vm\ngrub-bhyve vm\nbhyve vm", "more than one loader command "
	  "line" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		parse_fails(errors[i].text, errors[i].error);
}

/* A control character in an argument shows as '?': one clean line. */
static void test_error_is_one_clean_line(void **state)
{
	parse_fails("bhyve -s 2,virtio-blk,/d,x\033[2J\r vm",
		    "-s 2,virtio-blk,/d,x?[2J: virtio-blk option \"x?[2J\" has no place in a "
		    "domain definition (ro and ser= have)");
	parse_fails("bhyve -s '2,virtio-blk,/d,x\ny' vm",
		    "-s 2,virtio-blk,/d,x?y: virtio-blk option \"x?y\" has no place in a domain "
		    "definition (ro and ser= have)");
}

static void test_limits(void **state)
{
	size_t big = KHV_NATIVE_MAX_BYTES + 1;
	char *text = malloc(big + 1);
	struct khv_domain *d = NULL;
	size_t off;

	assert_non_null(text);
	memset(text, ' ', big);
	memcpy(text, "bhyve vm", 8);
	assert_int_equal(khv_domain_from_native(text, big, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "the command line is longer than 65536 bytes");
	/* exactly the limit is fine */
	assert_int_equal(khv_domain_from_native(text, big - 1, &d, err, sizeof(err)), 0);
	khv_domain_free(d);
	off = (size_t)sprintf(text, "bhyve");
	for (int i = 0; i < KHV_NATIVE_MAX_ARGS; i++)
		off += (size_t)sprintf(text + off, " -A");
	assert_int_equal(khv_domain_from_native(text, off, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "more than 1024 arguments");
	/* the text ends at a NUL byte, whatever len says */
	memcpy(text, "bhyve vm\0garbage", 16);
	assert_int_equal(khv_domain_from_native(text, 16, &d, err, sizeof(err)), 0);
	assert_string_equal(d->name, "vm");
	khv_domain_free(d);
	free(text);
}

/* sh's quoting, which libvirt's splitter does not have. */
static void test_words(void **state)
{
	static const struct {
		const char *word, *value;
	} cases[] = {
		{ "'boot.cmdline=a b'", "a b" },
		{ "boot.cmdline='a b'c", "a bc" },
		{ "boot.cmdline=\"it's \\\"x\\\" \\$HOME \\n\"", "it's \"x\" $HOME \\n" },
		{ "boot.cmdline=a\\ b\\'c", "a b'c" },
		{ "'boot.cmdline=it'\\''s'", "it's" },
		{ "\"boot.cmdline=a\\\nb\"", "ab" },	/* joined, as libvirt and sh */
		{ "'boot.cmdline=a\\\nb'", "a\\\nb" },	/* but not in '...', as sh */
		{ "boot.cmdline=$HOME~*#", "$HOME~*#" },	/* nothing is expanded */
		{ "boot.cmdline=", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[128];
		struct khv_domain *d;

		snprintf(text, sizeof(text), "bhyve -o %s vm", cases[i].word);
		d = parse_ok(text);
		assert_string_equal(d->cmdline, cases[i].value);
		khv_domain_free(d);
	}
	/* a tab ends a word like a space; '\' is literal in '...' */
	parse_fails("bhyve -o boot.cmdline=\t'x\\y' vm",
		    "vm: stray argument after the VM name x\\y");
}

/* ---- to native ---- */

static struct khv_domain *base_def(void)
{
	struct khv_domain *d = khv_domain_new();

	assert_non_null(d);
	strcpy(d->name, "linux0");
	d->vcpus = 1;
	d->memory_kib = 512 << 10;
	d->current_memory_kib = d->memory_kib;
	d->on_reboot = KHV_LIFE_RESTART;	/* as a domain XML without <on_reboot> */
	assert_int_equal(khv_strset(&d->kernel, "/boot/vmlinuz"), 0);
	return d;
}

static void add_serial(struct khv_domain *d, enum khv_chr_type type, unsigned port,
		       const char *path)
{
	struct khv_serial *s = &d->serials[d->nserials++];

	s->type = type;
	s->port = port;
	assert_int_equal(khv_strset(&s->path, path), 0);
}

static void expect_argv(const struct khv_domain *d, const char *const *want)
{
	char **argv = NULL;
	size_t i;
	int rc = khv_domain_to_argv(d, "/usr/bin/khyve", &argv, err, sizeof(err));

	if (rc)
		print_error("to_argv: %s\n", err);
	assert_int_equal(rc, 0);
	for (i = 0; want[i] && argv[i]; i++)
		if (strcmp(argv[i], want[i]))
			break;
	if (want[i] || argv[i])
		print_error("argv[%zu]: got \"%s\", want \"%s\"\n", i, argv[i] ? argv[i] : "(end)",
			    want[i] ? want[i] : "(end)");
	assert_null(want[i]);
	assert_null(argv[i]);
	khv_argv_free(argv);
}

static void full_def_devices(struct khv_domain *d)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	d->ndisks = 2;
	assert_int_equal(khv_strset(&d->disks[0].source, "/var/lib/khyve/root.img"), 0);
	assert_int_equal(khv_strset(&d->disks[1].source, "/dev/sdb"), 0);
	d->disks[1].block = d->disks[1].readonly = true;
	assert_int_equal(khv_strset(&d->disks[1].serial, "DATA1"), 0);
	d->disks[1].addr = (struct khv_pci_addr){ 7, 0 };
	d->nnets = 2;
	memcpy(d->nets[0].mac, mac, 6);
	d->nets[0].has_mac = true;
	assert_int_equal(khv_strset(&d->nets[0].source, "virbr0"), 0);
	assert_int_equal(khv_strset(&d->nets[1].target_dev, "vnet3"), 0);
	assert_int_equal(khv_strset(&d->nets[1].source, "default"), 0);
	d->nets[1].type = KHV_NET_NETWORK;
	d->nchannels = 1;
	assert_int_equal(khv_strset(&d->channels[0].name, "org.qemu.guest_agent.0"), 0);
	assert_int_equal(khv_strset(&d->channels[0].path, "/run/khyve/linux0.agent"), 0);
	d->rng = true;
	add_serial(d, KHV_CHR_STDIO, 0, NULL);
}

static void test_to_argv_full(void **state)
{
	static const char *const want[] = {
		"/usr/bin/khyve", "-M", "-c", "2", "-m", "1024M", "-u",
		"-U", "c7a5fdbd-edaf-9455-926a-d65c16db1809", "-s", "0,hostbridge",
		"-s", "2,virtio-blk,/var/lib/khyve/root.img",
		"-s", "7,virtio-blk,/dev/sdb,ro,ser=DATA1",
		"-s", "3,virtio-net,tap0,mac=52:54:00:12:34:56",
		"-s", "4,virtio-net,vnet3",
		"-s", "5,virtio-console,org.qemu.guest_agent.0=/run/khyve/linux0.agent",
		"-s", "6,virtio-rnd", "-s", "31,lpc", "-l", "com1,stdio",
		"-o", "boot.kernel=/boot/vmlinuz", "-o", "boot.initrd=/boot/initrd.img",
		"-o", "boot.cmdline=console=ttyS0 quiet", "linux0", NULL,
	};
	static const uint8_t uuid[16] = { 0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x94, 0x55,
					  0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x09 };
	struct khv_domain *d = base_def();

	d->vcpus = 2;
	d->memory_kib = 1 << 20;
	d->clock = KHV_CLOCK_UTC;
	d->has_uuid = true;
	memcpy(d->uuid, uuid, 16);
	assert_int_equal(khv_strset(&d->initrd, "/boot/initrd.img"), 0);
	assert_int_equal(khv_strset(&d->cmdline, "console=ttyS0 quiet"), 0);
	full_def_devices(d);
	expect_argv(d, want);
	khv_domain_free(d);
}

static void test_to_argv_addresses(void **state)
{
	static const char *const want[] = {
		"/usr/bin/khyve", "-M", "-c", "cpus=4,sockets=2,cores=2,threads=1", "-m", "1500K",
		"-A", "-I", "-s", "0,hostbridge",
		"-s", "2,virtio-net,tap1", "-s", "3:4,virtio-net,tap0",
		"-s", "30,virtio-console,a=/a.sock,b=/b.sock", "-s", "9:3,virtio-rnd",
		"-s", "31,lpc", "-l", "com2,pty", "-l", "com1,unix=/tmp/c1.sock",
		"-l", "com4,/dev/pts/7", "-o", "boot.kernel=/boot/vmlinuz", "min", NULL,
	};
	struct khv_domain *d = base_def();

	strcpy(d->name, "min");
	d->vcpus = 4;
	d->sockets = 2;
	d->cores = 2;
	d->threads = 1;
	d->memory_kib = 1500;
	d->acpi = d->apic = true;
	d->nnets = 2;	/* the placeholder skips a tap name in use */
	assert_int_equal(khv_strset(&d->nets[1].target_dev, "tap0"), 0);
	d->nets[1].addr = (struct khv_pci_addr){ 3, 4 };
	d->nchannels = 2;
	assert_int_equal(khv_strset(&d->channels[0].name, "a"), 0);
	assert_int_equal(khv_strset(&d->channels[0].path, "/a.sock"), 0);
	assert_int_equal(khv_strset(&d->channels[1].name, "b"), 0);
	assert_int_equal(khv_strset(&d->channels[1].path, "/b.sock"), 0);
	d->channel_addr_set = true;
	d->channel_addr = (struct khv_pci_addr){ 30, 0 };
	d->rng = true;
	d->rng_addr = (struct khv_pci_addr){ 9, 3 };
	add_serial(d, KHV_CHR_PTY, 1, NULL);
	add_serial(d, KHV_CHR_UNIX, 0, "/tmp/c1.sock");
	add_serial(d, KHV_CHR_DEV, 3, "/dev/pts/7");
	expect_argv(d, want);
	khv_domain_free(d);
}

/* What start runs: addresses assigned into the definition (the same ones
 * the command line would pick), taps passed as descriptors. */
static void test_to_argv_started(void **state)
{
	static const char *const want[] = {
		"/usr/bin/khyve", "-M", "-c", "1", "-m", "512M", "-o", "cpu.model=x86-64-v2",
		"-s", "0,hostbridge", "-s", "2,virtio-blk,/d.img", "-s", "4,virtio-net,tapfd=7",
		"-s", "3,virtio-net,tapfd=9,mac=52:54:00:00:00:02", "-s", "5,virtio-rnd",
		"-s", "31,lpc", "-o", "boot.kernel=/boot/vmlinuz", "linux0", NULL,
	};
	struct khv_domain *d = base_def();

	d->ndisks = 1;
	assert_int_equal(khv_strset(&d->disks[0].source, "/d.img"), 0);
	d->nnets = 2;
	d->nets[1].addr = (struct khv_pci_addr){ 3, 0 };
	d->nets[1].has_mac = true;
	memcpy(d->nets[1].mac, (uint8_t[]){ 0x52, 0x54, 0, 0, 0, 2 }, 6);
	d->rng = true;
	assert_int_equal(khv_strset(&d->cpu_model, "x86-64-v2"), 0);
	assert_int_equal(khv_domain_assign_addresses(d, err, sizeof(err)), 0);
	assert_int_equal(d->disks[0].addr.slot, 2);
	assert_int_equal(d->nets[0].addr.slot, 4);
	assert_int_equal(d->nets[1].addr.slot, 3);
	assert_int_equal(d->rng_addr.slot, 5);
	d->nets[0].tap_fd = 7;
	d->nets[1].tap_fd = 9;
	expect_argv(d, want);
	/* Assigned again: nothing moves. */
	assert_int_equal(khv_domain_assign_addresses(d, err, sizeof(err)), 0);
	assert_int_equal(d->nets[0].addr.slot, 4);
	khv_domain_free(d);
}

static void test_cpu_model(void **state)
{
	static const char cmd[] = "khyve -o cpu.model=%s -s 0,hostbridge -o boot.kernel=/k vm";
	struct khv_domain *d = NULL;
	char text[128];

	snprintf(text, sizeof(text), cmd, "x86-64-v4");
	assert_int_equal(khv_domain_from_native(text, strlen(text), &d, err, sizeof(err)), 0);
	assert_string_equal(d->cpu_model, "x86-64-v4");
	khv_domain_free(d);
	snprintf(text, sizeof(text), cmd, "host");
	assert_int_equal(khv_domain_from_native(text, strlen(text), &d, err, sizeof(err)), 0);
	assert_null(d->cpu_model);
	khv_domain_free(d);
	snprintf(text, sizeof(text), cmd, "zen4");
	assert_int_equal(khv_domain_from_native(text, strlen(text), &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "-o cpu.model=zen4: unknown CPU model (khyve has host, x86-64-v1, "
			    "x86-64-v2, x86-64-v3, x86-64-v4)");
}

/* <on_*> as the monitor's policy, both ways; what it cannot do refused. */
static void test_lifecycle(void **state)
{
	static const char *const want[] = {
		"/usr/bin/khyve", "-M", "-c", "1", "-m", "512M", "-o", "on_reboot=destroy",
		"-o", "on_poweroff=restart", "-o", "on_crash=restart", "-s", "0,hostbridge",
		"-s", "31,lpc", "-o", "boot.kernel=/boot/vmlinuz", "linux0", NULL,
	};
	static const char line[] = "khyve -o on_poweroff=restart -s 0,hostbridge -o boot.kernel=/k vm";
	struct khv_domain *d = base_def();
	char **argv = NULL;

	d->on_reboot = KHV_LIFE_DESTROY;
	d->on_poweroff = d->on_crash = KHV_LIFE_RESTART;
	expect_argv(d, want);
	d->on_crash = KHV_LIFE_COREDUMP_DESTROY;
	assert_int_equal(khv_domain_to_argv(d, "khyve", &argv, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "on_crash coredump-destroy: khyve's monitor restarts or destroys "
			    "(no preserved or dumped guests)");
	khv_domain_free(d);
	d = NULL;
	assert_int_equal(khv_domain_from_native(line, strlen(line), &d, err, sizeof(err)), 0);
	assert_int_equal(d->on_poweroff, KHV_LIFE_RESTART);
	assert_int_equal(d->on_reboot, KHV_LIFE_DESTROY);	/* bhyve without -M exits */
	khv_domain_free(d);
	d = NULL;
	assert_int_equal(khv_domain_from_native("khyve -M -s 0,hostbridge -o boot.kernel=/k vm", 45,
						&d, err, sizeof(err)), 0);
	assert_int_equal(d->on_reboot, KHV_LIFE_RESTART);	/* -M's monitor reboots */
	khv_domain_free(d);
	d = NULL;
	assert_int_equal(khv_domain_from_native("khyve -o on_crash=preserve -o boot.kernel=/k vm", 47,
						&d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "-o on_crash=preserve: want restart or destroy");
}

/* file and tcp serials, both ways (IPv6 hosts in brackets). */
static void test_file_tcp_serials(void **state)
{
	static const char *const want[] = {
		"/usr/bin/khyve", "-M", "-c", "1", "-m", "512M", "-s", "0,hostbridge",
		"-s", "31,lpc", "-l", "com1,file=/var/log/c1", "-l", "com2,tcp=0.0.0.0:4444",
		"-l", "com3,tcp=[::1]:4445", "-o", "boot.kernel=/boot/vmlinuz", "linux0", NULL,
	};
	static const char line[] = "khyve -l com1,file=/l -l com2,tcp=[::1]:7 -l com3,tcp=:8 "
				   "-o boot.kernel=/k vm";
	struct khv_domain *d = base_def();

	add_serial(d, KHV_CHR_FILE, 0, "/var/log/c1");
	add_serial(d, KHV_CHR_TCP, 1, NULL);
	assert_int_equal(khv_strset(&d->serials[1].host, "0.0.0.0"), 0);
	assert_int_equal(khv_strset(&d->serials[1].service, "4444"), 0);
	add_serial(d, KHV_CHR_TCP, 2, NULL);
	assert_int_equal(khv_strset(&d->serials[2].host, "::1"), 0);
	assert_int_equal(khv_strset(&d->serials[2].service, "4445"), 0);
	expect_argv(d, want);
	khv_domain_free(d);
	d = NULL;
	assert_int_equal(khv_domain_from_native(line, strlen(line), &d, err, sizeof(err)), 0);
	assert_int_equal(d->nserials, 3);
	assert_int_equal(d->serials[0].type, KHV_CHR_FILE);
	assert_string_equal(d->serials[0].path, "/l");
	assert_string_equal(d->serials[1].host, "::1");
	assert_string_equal(d->serials[1].service, "7");
	assert_string_equal(d->serials[2].host, "");
	assert_string_equal(d->serials[2].service, "8");
	khv_domain_free(d);
}

typedef void mutate_fn(struct khv_domain *d);

static void no_kernel(struct khv_domain *d) { khv_strset(&d->kernel, NULL); }
static void a_filesystem(struct khv_domain *d) { d->nfilesystems = 1; }
static void file_serial(struct khv_domain *d) { add_serial(d, KHV_CHR_FILE, 0, "log"); }
static void tcp_serial(struct khv_domain *d) { add_serial(d, KHV_CHR_TCP, 1, NULL); }
static void nmdm_serial(struct khv_domain *d) { add_serial(d, KHV_CHR_NMDM, 0, "/dev/nmdm0A"); }
static void two_stdio(struct khv_domain *d)
{
	add_serial(d, KHV_CHR_STDIO, 0, NULL);
	add_serial(d, KHV_CHR_STDIO, 1, NULL);
}
static void same_port(struct khv_domain *d)
{
	add_serial(d, KHV_CHR_PTY, 0, NULL);
	add_serial(d, KHV_CHR_PTY, 0, NULL);
}
static void com5(struct khv_domain *d) { add_serial(d, KHV_CHR_PTY, 4, NULL); }
static void one_disk(struct khv_domain *d, int slot, const char *path)
{
	struct khv_disk *k = &d->disks[d->ndisks++];

	assert_int_equal(khv_strset(&k->source, path), 0);
	k->addr = (struct khv_pci_addr){ slot, 0 };
}
static void disk_on_lpc(struct khv_domain *d) { one_disk(d, 31, "/a"); }
static void disk_on_hostbridge(struct khv_domain *d) { one_disk(d, 0, "/a"); }
static void disks_same_slot(struct khv_domain *d)
{
	one_disk(d, 5, "/a");
	one_disk(d, 5, "/b");
}
static void disk_comma(struct khv_domain *d) { one_disk(d, -1, "/a,ro"); }
static void no_vcpus(struct khv_domain *d) { d->vcpus = 0; }
static void bad_topology(struct khv_domain *d)
{
	d->vcpus = 4;
	d->sockets = d->cores = d->threads = 2;
}
static void bad_name(struct khv_domain *d) { strcpy(d->name, "a b"); }
static void no_memory(struct khv_domain *d) { d->memory_kib = 0; }
static void other_arch(struct khv_domain *d) { khv_strset(&d->arch, "aarch64"); }
static void long_tap(struct khv_domain *d)
{
	d->nnets = 1;
	khv_strset(&d->nets[0].target_dev, "a_very_long_tap_name");
}
static void multicast_mac(struct khv_domain *d)
{
	d->nnets = 1;
	d->nets[0].has_mac = true;
	d->nets[0].mac[0] = 1;
}
static void unnamed_channel(struct khv_domain *d)
{
	d->nchannels = 1;
	khv_strset(&d->channels[0].path, "/a.sock");
}

static void test_to_argv_errors(void **state)
{
	static const struct {
		mutate_fn *fn;
		const char *error;
	} cases[] = {
		{ no_kernel, "khyve needs <os><kernel>: it boots kernels directly" },
		{ a_filesystem, "filesystem passthrough needs VirtFS, which khyve does not have yet" },
		{ file_serial, "serial com1: a file needs an absolute path" },
		{ tcp_serial, "serial com2: tcp needs a port number 1 to 65535 as its service" },
		{ nmdm_serial, "serial com1: nmdm is FreeBSD's null-modem device, which Linux has "
			       "not: use a pty" },
		{ two_stdio, "serial com2: stdio serves one port only" },
		{ same_port, "serial com1 is given twice" },
		{ com5, "serial port 4: khyve has com1 to com4" },
		{ disk_on_lpc, "disk 1: PCI slot 31 is the LPC bridge's" },
		{ disk_on_hostbridge, "disk 1: PCI slot 0 is the host bridge's" },
		{ disks_same_slot, "disk 2: PCI slot 5:0 is taken twice" },
		{ disk_comma, "disk 1: khyve's -s needs a path without commas" },
		{ no_vcpus, "0 vCPUs: khyve runs 1 to 255" },
		{ bad_topology, "cpu topology 2x2x2: sockets x cores x threads must equal the 4 "
				"vCPUs" },
		{ bad_name, "VM name \"a b\": 1 to 63 letters, digits, '.', '_' or '-', not "
			    "starting with '.' or '-'" },
		{ no_memory, "memory size 0 KiB: out of range" },
		{ other_arch, "architecture aarch64: khyve runs x86_64 guests" },
		{ long_tap, "interface 1: tap name \"a_very_long_tap_name\": 1 to 15 letters, "
			    "digits, '.', '_' or '-'" },
		{ multicast_mac, "interface 1: the MAC address is multicast or zero" },
		{ unnamed_channel, "channel 1: the target name must be set, without ',' or '='" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct khv_domain *d = base_def();
		char **argv = (char **)1;
		int rc;

		cases[i].fn(d);
		rc = khv_domain_to_argv(d, "khyve", &argv, err, sizeof(err));
		if (rc != -EINVAL || strcmp(err, cases[i].error))
			print_error("case %zu: got %d \"%s\"\n", i, rc, err);
		assert_int_equal(rc, -EINVAL);
		assert_null(argv);
		assert_string_equal(err, cases[i].error);
		khv_domain_free(d);
	}
}

/* ---- round trips ---- */

static void round_trip(const struct khv_domain *a)
{
	struct khv_domain *b = NULL;
	char **argv = NULL, *text;
	const char *diff;

	assert_int_equal(khv_domain_to_argv(a, "khyve", &argv, err, sizeof(err)), 0);
	text = khv_argv_to_text(argv);
	assert_non_null(text);
	if (khv_domain_from_native(text, strlen(text), &b, err, sizeof(err)))
		print_error("from_native: %s\n  on: %s\n", err, text);
	assert_non_null(b);
	diff = domain_diff(a, b);
	if (diff)
		print_error("%s differs after: %s\n", diff, text);
	assert_null(diff);
	khv_domain_free(b);
	khv_argv_free(argv);
	free(text);
}

static const char *const trips[] = {
	"khyve -M -c 2 -m 1G -s 0,hostbridge -s 31,lpc -l com1,stdio "
	"-o boot.kernel=/boot/vmlinuz -o boot.initrd=/boot/initrd.img "
	"-o 'boot.cmdline=console=ttyS0 quiet' linux0",
	"/usr/sbin/bhyve -c 1 -m 214 -A -I -H -P -s 0:0,hostbridge -s 1:0,virtio-rnd "
	"-s 1:1,virtio-net,tap1,mac=FE:ED:AD:EA:DF:15 -s 1:2,virtio-net,tap0 "
	"-o boot.kernel=/k bhyve",
	"bhyve -u -c sockets=2,threads=2 -m 1500K -U c7a5fdbd-edaf-9455-926a-d65c16db1809 "
	"-s 4,virtio-blk,/dev/sdb,ser=X=Y,ro -s 3,virtio-blk,'/my images/a b.img' "
	"-s 9:7,virtio-console,org.qemu.guest_agent.0=/run/ga,x=/tmp/x "
	"-l com4,/dev/pts/3 -l com2,unix=/tmp/s,1 -l com1,pty -o boot.kernel=/k "
	"-o \"boot.cmdline=a 'b' \\\"c\\\" \\\\ \\$x\ttab\rcr\" vm.1_x",
	("bhyveload -m 1048577 -d /a vm\nbhyve -s 2,virtio-blk,/a -c '' -o boot.kernel=/k "
	 "-o boot.cmdline= vm"),
	"bhyve -o boot.kernel=/k -o boot.cmdline=\\'\\\" vm",
};

static void test_round_trips(void **state)
{
	for (size_t i = 0; i < sizeof(trips) / sizeof(trips[0]); i++) {
		struct khv_domain *d = parse_ok(trips[i]);

		round_trip(d);
		khv_domain_free(d);
	}
}

/* A definition that did not come from text: every field to_argv writes. */
static void test_round_trip_built(void **state)
{
	struct khv_domain *d = base_def();

	full_def_devices(d);
	/* what the text gives back for what argv leaves to khyve */
	assert_int_equal(khv_strset(&d->nets[0].target_dev, "tap0"), 0);
	d->nets[1].type = KHV_NET_BRIDGE;
	assert_int_equal(khv_strset(&d->nets[1].source, "virbr0"), 0);
	assert_int_equal(khv_strset(&d->disks[0].target, "vda"), 0);
	assert_int_equal(khv_strset(&d->disks[1].target, "vdb"), 0);
	d->disks[0].addr = (struct khv_pci_addr){ 2, 0 };
	d->nets[0].addr = (struct khv_pci_addr){ 3, 0 };
	d->nets[1].addr = (struct khv_pci_addr){ 4, 0 };
	d->channel_addr_set = true;
	d->channel_addr = (struct khv_pci_addr){ 5, 0 };
	d->rng_addr = (struct khv_pci_addr){ 6, 0 };
	d->has_uuid = true;
	memset(d->uuid, 0xab, 16);
	assert_int_equal(khv_strset(&d->cmdline, "root=/dev/vda1 console=ttyS0,115200n8 it's"), 0);
	round_trip(d);
	khv_domain_free(d);
}

/* ---- text ---- */

static void test_argv_to_text(void **state)
{
	char *const argv[] = {
		"khyve", "-s", "2,virtio-blk,/a/b-c_d.e:f=g@h%i+j", "a b", "it's", "", "$HOME",
		"tab\there", "new\nline", "~", "#", "\"", NULL,
	};
	char *const none[] = { NULL };
	char *text = khv_argv_to_text(argv);

	assert_string_equal(text, "khyve -s 2,virtio-blk,/a/b-c_d.e:f=g@h%i+j 'a b' 'it'\\''s' "
				  "'' '$HOME' 'tab\there' 'new\nline' '~' '#' '\"'");
	free(text);
	text = khv_argv_to_text(none);
	assert_string_equal(text, "");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libvirt_cases),
		cmocka_unit_test(test_every_libvirt_case_has_a_row),
		cmocka_unit_test(test_differences),
		cmocka_unit_test(test_kernel_boot),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_disks_and_nets),
		cmocka_unit_test(test_bhyveload),
		cmocka_unit_test(test_defaults_and_uuid),
		cmocka_unit_test(test_memory_sizes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_is_one_clean_line),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_to_argv_full),
		cmocka_unit_test(test_to_argv_started),
		cmocka_unit_test(test_cpu_model),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_file_tcp_serials),
		cmocka_unit_test(test_to_argv_addresses),
		cmocka_unit_test(test_to_argv_errors),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_round_trip_built),
		cmocka_unit_test(test_argv_to_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
