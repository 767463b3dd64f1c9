/* libvirt domain XML (virt/domain_xml.h): what khyve supports reads into
 * the definition and writes back to the same definition, in XML that
 * libvirt's own schema accepts; everything else is refused with a message
 * naming what was refused; hostile documents (entities, depth, size) are
 * refused without printing anything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "domtest.h"
#include "virt/domain_xml.h"

/* ---- helpers ---- */

static int parse(const char *xml, struct khv_domain **d, char *err, size_t errlen)
{
	return khv_domain_parse_xml(xml, strlen(xml), d, err, errlen);
}

static struct khv_domain *parse_ok(const char *xml)
{
	struct khv_domain *d = NULL;
	char err[256] = "";

	if (parse(xml, &d, err, sizeof(err))) {
		print_error("refused: %s\nin:\n%s\n", err, xml);
		fail();
	}
	assert_string_equal(err, "");
	return d;
}

/* A minimal domain with top-level elements (after <os>) and devices. */
static char *doc(const char *top, const char *devices)
{
	char *s;

	assert_true(asprintf(&s, "<domain type='kvm'><name>t</name><memory>1024</memory>"
			     "<os><type>hvm</type></os>%s<devices>%s</devices></domain>",
			     top, devices) > 0);
	return s;
}

/* format(d) parses back to d, and formats to the same text again. */
static char *round_trip(const struct khv_domain *d)
{
	struct khv_domain *again;
	char why[64] = "", *xml, *xml2;

	assert_int_equal(khv_domain_format_xml(d, &xml), 0);
	again = parse_ok(xml);
	if (!domt_equal(d, again, why, sizeof(why))) {
		print_error("round trip changed %s:\n%s\n", why, xml);
		fail();
	}
	assert_int_equal(khv_domain_format_xml(again, &xml2), 0);
	assert_string_equal(xml, xml2);
	free(xml2);
	khv_domain_free(again);
	return xml;
}

static const char full_xml[] =
	"<domain type='kvm' id='7'>\n"
	"  <name>web-1</name>\n"
	"  <uuid>C7A5FDBD-EDAF-9455-926A-D65C16DB1809</uuid>\n"
	"  <title>Web &amp; \"mail\" server</title>\n"
	"  <description>line one\nline two &lt;ok&gt;</description>\n"
	"  <memory unit='GiB'>2</memory>\n"
	"  <currentMemory unit='MiB'>1024</currentMemory>\n"
	"  <vcpu placement='static' current='4'>4</vcpu>\n"
	"  <cpu><topology sockets='1' dies='1' cores='2' threads='2'/></cpu>\n"
	"  <os>\n"
	"    <type arch='x86_64'>hvm</type>\n"
	"    <kernel>/boot/vmlinuz</kernel>\n"
	"    <initrd>/boot/initrd.img</initrd>\n"
	"    <cmdline>console=ttyS0 root=/dev/vda1 quiet</cmdline>\n"
	"  </os>\n"
	"  <features><acpi/><apic/></features>\n"
	"  <clock offset='localtime'/>\n"
	"  <on_poweroff>preserve</on_poweroff>\n"
	"  <on_reboot>destroy</on_reboot>\n"
	"  <on_crash>coredump-restart</on_crash>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='raw'/>\n"
	"      <source file='/var/lib/khyve/web-1.img'/>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"      <serial>WEB1-ROOT</serial>\n"
	"      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n"
	"    </disk>\n"
	"    <disk type='block'>\n"
	"      <source dev='/dev/vg0/data'/>\n"
	"      <target dev='vdb'/>\n"
	"      <readonly/>\n"
	"    </disk>\n"
	"    <controller type='pci' index='0' model='pci-root'/>\n"
	"    <controller type='isa' index='0'><address type='pci' slot='1'/></controller>\n"
	"    <controller type='virtio-serial' index='0'>\n"
	"      <address type='pci' domain='0' bus='0' slot='6' function='0'/>\n"
	"    </controller>\n"
	"    <controller type='usb' index='0' model='none'/>\n"
	"    <interface type='bridge'>\n"
	"      <mac address='52:54:00:AB:cd:ef'/>\n"
	"      <source bridge='br0'/>\n"
	"      <target dev='tap-web1'/>\n"
	"      <model type='virtio'/>\n"
	"      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x1' multifunction='on'/>\n"
	"    </interface>\n"
	"    <interface type='network'><source network='default'/></interface>\n"
	"    <serial type='pty'>\n"
	"      <target type='isa-serial' port='0'><model name='isa-serial'/></target>\n"
	"    </serial>\n"
	"    <serial type='file'><source path='/var/log/web-1.com2'/></serial>\n"
	"    <serial type='unix'><source mode='bind' path='/run/khyve/web-1.com3'/></serial>\n"
	"    <serial type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/>"
	"<protocol type='raw'/></serial>\n"
	"    <console type='pty'><target type='serial' port='0'/></console>\n"
	"    <channel type='unix'>\n"
	"      <source mode='bind' path='/run/khyve/web-1.agent'/>\n"
	"      <target type='virtio' name='org.qemu.guest_agent.0'/>\n"
	"      <address type='virtio-serial' controller='0' bus='0' port='1'/>\n"
	"    </channel>\n"
	"    <rng model='virtio'><backend model='random'>/dev/urandom</backend>\n"
	"      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></rng>\n"
	"    <filesystem type='mount' accessmode='passthrough'>\n"
	"      <source dir='/srv/share'/><target dir='share'/><readonly/>\n"
	"    </filesystem>\n"
	"    <memballoon model='none'/>\n"
	"  </devices>\n"
	"</domain>\n";

/* ---- what is read ---- */

static void check_full_head(const struct khv_domain *d)
{
	static const uint8_t uuid[16] = { 0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x94, 0x55,
					  0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x09 };

	assert_string_equal(d->name, "web-1");
	assert_true(d->has_uuid);
	assert_memory_equal(d->uuid, uuid, 16);
	assert_string_equal(d->title, "Web & \"mail\" server");
	assert_string_equal(d->description, "line one\nline two <ok>");
	assert_int_equal(d->memory_kib, 2u << 20);
	assert_int_equal(d->current_memory_kib, 1u << 20);
	assert_int_equal(d->vcpus, 4);
	assert_int_equal(d->sockets, 1);
	assert_int_equal(d->cores, 2);
	assert_int_equal(d->threads, 2);
	assert_string_equal(d->arch, "x86_64");
	assert_string_equal(d->kernel, "/boot/vmlinuz");
	assert_string_equal(d->initrd, "/boot/initrd.img");
	assert_string_equal(d->cmdline, "console=ttyS0 root=/dev/vda1 quiet");
	assert_true(d->acpi && d->apic);
	assert_int_equal(d->clock, KHV_CLOCK_LOCALTIME);
	assert_int_equal(d->on_poweroff, KHV_LIFE_PRESERVE);
	assert_int_equal(d->on_reboot, KHV_LIFE_DESTROY);
	assert_int_equal(d->on_crash, KHV_LIFE_COREDUMP_RESTART);
}

static void check_full_storage(const struct khv_domain *d)
{
	assert_int_equal(d->ndisks, 2);
	assert_false(d->disks[0].block);
	assert_string_equal(d->disks[0].source, "/var/lib/khyve/web-1.img");
	assert_string_equal(d->disks[0].target, "vda");
	assert_string_equal(d->disks[0].serial, "WEB1-ROOT");
	assert_false(d->disks[0].readonly);
	assert_int_equal(d->disks[0].addr.slot, 4);
	assert_true(d->disks[1].block);
	assert_string_equal(d->disks[1].source, "/dev/vg0/data");
	assert_true(d->disks[1].readonly);
	assert_int_equal(d->disks[1].addr.slot, -1);
	assert_int_equal(d->nfilesystems, 1);
	assert_string_equal(d->filesystems[0].source, "/srv/share");
	assert_string_equal(d->filesystems[0].target, "share");
	assert_true(d->filesystems[0].readonly);
}

static void check_full_nets(const struct khv_domain *d)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

	assert_int_equal(d->nnets, 2);
	assert_int_equal(d->nets[0].type, KHV_NET_BRIDGE);
	assert_string_equal(d->nets[0].source, "br0");
	assert_string_equal(d->nets[0].target_dev, "tap-web1");
	assert_true(d->nets[0].has_mac);
	assert_memory_equal(d->nets[0].mac, mac, 6);
	assert_int_equal(d->nets[0].addr.slot, 3);
	assert_int_equal(d->nets[0].addr.func, 1);
	assert_int_equal(d->nets[1].type, KHV_NET_NETWORK);
	assert_string_equal(d->nets[1].source, "default");
	assert_null(d->nets[1].target_dev);
	assert_false(d->nets[1].has_mac);
}

static void check_full_chr(const struct khv_domain *d)
{
	/* The console mirrors serial 0: merged, not a fifth port. */
	assert_int_equal(d->nserials, 4);
	assert_int_equal(d->serials[0].type, KHV_CHR_PTY);
	assert_int_equal(d->serials[0].port, 0);
	assert_int_equal(d->serials[1].type, KHV_CHR_FILE);
	assert_int_equal(d->serials[1].port, 1);
	assert_string_equal(d->serials[1].path, "/var/log/web-1.com2");
	assert_int_equal(d->serials[2].type, KHV_CHR_UNIX);
	assert_int_equal(d->serials[2].port, 2);
	assert_int_equal(d->serials[3].type, KHV_CHR_TCP);
	assert_int_equal(d->serials[3].port, 3);
	assert_string_equal(d->serials[3].host, "127.0.0.1");
	assert_string_equal(d->serials[3].service, "4555");
	assert_int_equal(d->nchannels, 1);
	assert_string_equal(d->channels[0].path, "/run/khyve/web-1.agent");
	assert_string_equal(d->channels[0].name, "org.qemu.guest_agent.0");
	assert_true(d->channel_addr_set);
	assert_int_equal(d->channel_addr.slot, 6);
	assert_true(d->rng);
	assert_int_equal(d->rng_addr.slot, 7);
}

static void test_full_domain(void **state)
{
	struct khv_domain *d = parse_ok(full_xml);
	char *xml;

	check_full_head(d);
	check_full_storage(d);
	check_full_nets(d);
	check_full_chr(d);
	xml = round_trip(d);
	/* What libvirt's tools expect to find. */
	assert_non_null(strstr(xml, "<domain type='kvm'>\n  <name>web-1</name>\n"
				    "  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n"));
	assert_non_null(strstr(xml, "  <memory unit='KiB'>2097152</memory>\n"
				    "  <currentMemory unit='KiB'>1048576</currentMemory>\n"
				    "  <vcpu placement='static'>4</vcpu>\n"));
	assert_non_null(strstr(xml, "<topology sockets='1' dies='1' cores='2' threads='2'/>"));
	assert_non_null(strstr(xml, "    <console type='pty'>\n"
				    "      <target type='serial' port='0'/>\n    </console>\n"));
	assert_non_null(strstr(xml, "slot='0x03' function='0x1'/>"));
	assert_non_null(strstr(xml, "<mac address='52:54:00:ab:cd:ef'/>"));
	assert_null(strstr(xml, "multifunction"));
	assert_int_equal(xml[strlen(xml) - 1], '\n');
	free(xml);
	khv_domain_free(d);
}

/* What a domain XML leaves out means what it means to libvirt. */
static void test_defaults(void **state)
{
	char *x = doc("", "");
	struct khv_domain *d = parse_ok(x);

	assert_int_equal(d->vcpus, 1);
	assert_int_equal(d->memory_kib, 1024);
	assert_int_equal(d->current_memory_kib, 1024);
	assert_int_equal(d->clock, KHV_CLOCK_UTC);
	assert_int_equal(d->on_poweroff, KHV_LIFE_DESTROY);
	assert_int_equal(d->on_reboot, KHV_LIFE_RESTART);
	assert_int_equal(d->on_crash, KHV_LIFE_DESTROY);
	assert_string_equal(d->arch, "x86_64");
	assert_false(d->has_uuid);
	assert_false(d->acpi || d->apic || d->rng);
	assert_null(d->title);
	assert_int_equal(d->ndisks + d->nnets + d->nserials + d->nchannels + d->nfilesystems, 0);
	free(round_trip(d));
	khv_domain_free(d);
	free(x);
}

/* libvirt's virScaleInteger units; the value is rounded up to KiB. */
static void test_memory_units(void **state)
{
	static const struct {
		const char *value, *unit;
		uint64_t kib;
	} t[] = {
		{ "1024", NULL, 1024 },		{ "1024", "", 1024 },
		{ "2048", "b", 2 },		{ "2048", "bytes", 2 },
		{ "1025", "byte", 2 },		{ "1", "B", 1 },
		{ "1000", "KB", 977 },		{ "512", "k", 512 },
		{ "512", "KiB", 512 },		{ "1", "MB", 977 },
		{ "1", "M", 1024 },		{ "3", "MiB", 3072 },
		{ "1", "GB", 976563 },		{ "1", "G", 1048576 },
		{ "2", "GiB", 2097152 },	{ "1", "TB", 976562500 },
		{ "1", "T", 1073741824 },	{ "1", "TiB", 1073741824 },
		{ "1", "mib", 1024 },		{ "1", "gb", 976563 },
		{ "1", "PiB", 1ull << 40 },	{ " 64 ", "MiB", 65536 },
		{ "9007199254740991", "KiB", 9007199254740991ull },
		{ "9223372036854774784", "b", 9007199254740991ull },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char xml[300];
		struct khv_domain *d;

		snprintf(xml, sizeof(xml), "<domain type='kvm'><name>t</name><memory%s%s%s>%s</memory>"
			 "<os><type>hvm</type></os></domain>", t[i].unit ? " unit='" : "",
			 t[i].unit ? t[i].unit : "", t[i].unit ? "'" : "", t[i].value);
		d = parse_ok(xml);
		if (d->memory_kib != t[i].kib) {
			print_error("%s %s: %llu KiB, expected %llu\n", t[i].value,
				    t[i].unit ? t[i].unit : "(none)",
				    (unsigned long long)d->memory_kib, (unsigned long long)t[i].kib);
			fail();
		}
		khv_domain_free(d);
	}
}

/* libvirt numbers serial ports without port= after the highest so far; a
 * <console> alone becomes serial port 0. */
static void test_serial_ports(void **state)
{
	char *x = doc("", "<serial type='pty'><target port='2'/></serial>"
			  "<serial type='file'><source path='/l'/></serial>"
			  "<console type='file'><source path='/c'/></console>");
	struct khv_domain *d = parse_ok(x);

	assert_int_equal(d->nserials, 3);
	assert_int_equal(d->serials[0].port, 2);
	assert_int_equal(d->serials[1].port, 3);
	assert_int_equal(d->serials[2].port, 0);
	assert_int_equal(d->serials[2].type, KHV_CHR_FILE);
	assert_string_equal(d->serials[2].path, "/c");
	free(round_trip(d));
	khv_domain_free(d);
	free(x);
	/* Serial port 0 given twice, as libvirt writes it, with a tcp source. */
	x = doc("", "<serial type='tcp'><source mode='bind' host='::1' service='9000'/></serial>"
		    "<console type='tcp'><source mode='bind' host='::1' service='9000'/>"
		    "<protocol type='raw'/><target type='serial'/></console>");
	d = parse_ok(x);
	assert_int_equal(d->nserials, 1);
	assert_string_equal(d->serials[0].host, "::1");
	free(round_trip(d));
	khv_domain_free(d);
	free(x);
}

/* An all-zero PCI address is libvirt's "assign one"; numbers are read
 * with C prefixes, as libvirt does. */
static void test_pci_addresses(void **state)
{
	char *x = doc("", "<disk><source file='/a'/><target dev='vda'/>"
			  "<address type='pci' domain='0x0000' bus='0x00' slot='0x00' function='0x0'/></disk>"
			  "<disk><source file='/b'/><target dev='vdb'/>"
			  "<address type='pci' slot='10' function='7'/></disk>"
			  "<disk><source file='/c'/><target dev='vdc'/>"
			  "<address type='pci' slot='0x0a' function='0'/></disk>"
			  "<disk><source file='/d'/><target dev='vdd'/><address type='pci'/></disk>");
	struct khv_domain *d = parse_ok(x);

	assert_int_equal(d->disks[0].addr.slot, -1);
	assert_int_equal(d->disks[1].addr.slot, 10);
	assert_int_equal(d->disks[1].addr.func, 7);
	assert_int_equal(d->disks[2].addr.slot, 10);
	assert_int_equal(d->disks[2].addr.func, 0);
	assert_int_equal(d->disks[3].addr.slot, -1);
	free(round_trip(d));
	khv_domain_free(d);
	free(x);
}

/* Strings keep every character through a round trip, including those
 * XML would normalise away if written literally. */
static void test_text_escaping(void **state)
{
	char *x = doc("", "<disk><source file='/a b&apos;c&quot;&lt;&amp;&gt;&#9;x&#10;y&#13;z'/>"
			  "<target dev='vda'/></disk>");
	struct khv_domain *d = parse_ok(x);

	assert_string_equal(d->disks[0].source, "/a b'c\"<&>\tx\ny\rz");
	assert_int_equal(khv_strset(&d->cmdline, "a\r\nb\tc ]]> <x> & é"), 0);
	assert_int_equal(khv_strset(&d->description, "  leading and trailing  \n"), 0);
	free(round_trip(d));
	khv_domain_free(d);
	free(x);
}

/* ---- refusals ---- */

struct refusal {
	const char *top, *devices;	/* for doc() */
	const char *want;		/* the whole message */
};

static void check_refusals(const struct refusal *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *x = doc(t[i].top ? t[i].top : "", t[i].devices ? t[i].devices : "");
		struct khv_domain *d = (struct khv_domain *)1;
		char err[256] = "";
		int rc = parse(x, &d, err, sizeof(err));

		if (rc != -EINVAL || d || strcmp(err, t[i].want)) {
			print_error("case %zu: rc %d\n  got:  %s\n  want: %s\n  in: %s\n", i, rc, err,
				    t[i].want, x);
			fail();
		}
		free(x);
	}
}

#define CHECK_REFUSALS(t) check_refusals((t), sizeof(t) / sizeof((t)[0]))

static void test_refused_domain(void **state)
{
	static const struct refusal t[] = {
		{ "<bootloader>/usr/sbin/bhyveload</bootloader>", NULL,
		  "unsupported element <bootloader> in <domain>: khyve boots kernels directly (<os><kernel>)" },
		{ "<bootloader_args>-m 214</bootloader_args>", NULL,
		  "unsupported element <bootloader_args> in <domain>: khyve boots kernels directly (<os><kernel>)" },
		{ "<memoryBacking><locked/></memoryBacking>", NULL,
		  "unsupported element <memoryBacking> in <domain>" },
		{ "<metadata/>", NULL, "unsupported element <metadata> in <domain>" },
		{ "<cputune/>", NULL, "unsupported element <cputune> in <domain>" },
		{ "<sysinfo type='smbios'/>", NULL, "unsupported element <sysinfo> in <domain>" },
		{ "<bhyve:commandline xmlns:bhyve='http://libvirt.org/schemas/domain/bhyve/1.0'/>", NULL,
		  "unsupported element <bhyve:commandline> in <domain>" },
		{ "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd'/>", NULL,
		  "unsupported element <xi:include> in <domain>" },
		{ "<name>u</name>", NULL, "more than one <name> in <domain>" },
		{ "<devices/>", NULL, "more than one <devices> in <domain>" },
		{ "<uuid>c7a5fdbd-edaf-9455-926a</uuid>", NULL,
		  "invalid <uuid> 'c7a5fdbd-edaf-9455-926a' (8-4-4-4-12 hex digits)" },
		{ "<uuid>c7a5fdbd-edaf-9455-926a-d65c16db180g</uuid>", NULL,
		  "invalid <uuid> 'c7a5fdbd-edaf-9455-926a-d65c16db180g' (8-4-4-4-12 hex digits)" },
		{ "<uuid>c7a5fdbd0edaf-9455-926a-d65c16db180</uuid>", NULL,
		  "invalid <uuid> 'c7a5fdbd0edaf-9455-926a-d65c16db180' (8-4-4-4-12 hex digits)" },
		{ "<uuid lang='x'>c7a5fdbdedaf9455926ad65c16db1809</uuid>", NULL,
		  "unsupported attribute 'lang' of <uuid> in <domain>" },
		{ "<title>two&#10;lines</title>", NULL, "<title> must be one line" },
		{ "<title><b>bold</b></title>", NULL, "unsupported element <b> in <title>" },
		{ "<currentMemory>2048</currentMemory>", NULL,
		  "<currentMemory> 2048 KiB is more than <memory> 1024 KiB" },
		{ "<vcpu placement='auto'>2</vcpu>", NULL, "unsupported vcpu placement 'auto' (khyve places vCPUs statically)" },
		{ "<vcpu current='1'>2</vcpu>", NULL,
		  "vcpu current='1' differs from <vcpu> 2 (khyve has no vCPU hot-plug)" },
		{ "<vcpu cpuset='1-2'>2</vcpu>", NULL, "unsupported attribute 'cpuset' of <vcpu> in <domain>" },
		{ "<vcpu>0</vcpu>", NULL, "invalid <vcpu> '0' (1 to 255)" },
		{ "<vcpu>256</vcpu>", NULL, "invalid <vcpu> '256' (1 to 255)" },
		{ "<vcpu>-2</vcpu>", NULL, "invalid <vcpu> '-2' (1 to 255)" },
		{ "<vcpu>2 cpus</vcpu>", NULL, "invalid <vcpu> '2 cpus' (1 to 255)" },
		{ "<cpu mode='host-model'/>", NULL,
		  "unsupported cpu mode 'host-model' (khyve has host-passthrough and custom)" },
		{ "<cpu match='minimum'><model>x86-64-v2</model></cpu>", NULL,
		  "unsupported cpu match 'minimum' (khyve's models are exact)" },
		{ "<cpu><model>qemu64</model></cpu>", NULL,
		  "unsupported CPU model 'qemu64' (khyve has x86-64-v1 to x86-64-v4; the host's is mode='host-passthrough')" },
		{ "<cpu><model>host</model></cpu>", NULL,
		  "unsupported CPU model 'host' (khyve has x86-64-v1 to x86-64-v4; the host's is mode='host-passthrough')" },
		{ "<cpu mode='custom'/>", NULL, "<cpu mode='custom'> needs a <model>" },
		{ "<cpu mode='host-passthrough'><model>x86-64-v2</model></cpu>", NULL,
		  "<cpu mode='host-passthrough'> takes no <model>" },
		{ "<cpu><model fallback='maybe'>x86-64-v2</model></cpu>", NULL,
		  "invalid cpu model fallback 'maybe'" },
		{ "<cpu><feature policy='require' name='avx'/></cpu>", NULL,
		  "unsupported element <feature> in <cpu>" },
		{ "<cpu><numa/></cpu>", NULL, "unsupported element <numa> in <cpu>" },
		{ "<vcpu>2</vcpu><cpu><topology sockets='1' cores='2' threads='2'/></cpu>", NULL,
		  "topology sockets*cores*threads is 4 but <vcpu> is 2" },
		{ "<cpu><topology sockets='1' cores='1'/></cpu>", NULL,
		  "<topology> needs sockets=, cores= and threads=" },
		{ "<cpu><topology sockets='1' dies='2' cores='1' threads='1'/></cpu>", NULL,
		  "topology dies='2' clusters='1' (khyve has one of each per socket)" },
		{ "<cpu><topology sockets='1' clusters='2' cores='1' threads='1'/></cpu>", NULL,
		  "topology dies='1' clusters='2' (khyve has one of each per socket)" },
		{ "<cpu><topology sockets='0' cores='1' threads='1'/></cpu>", NULL,
		  "invalid sockets='0' in <topology> (1 to 255)" },
		{ "<features><pae/></features>", NULL, "unsupported element <pae> in <features>" },
		{ "<features><apic eoi='on'/></features>", NULL,
		  "unsupported attribute 'eoi' of <apic> in <features>" },
		{ "<features><acpi/><acpi/></features>", NULL, "more than one <acpi> in <features>" },
		{ "<clock offset='variable'/>", NULL, "unsupported clock offset 'variable' (khyve has utc and localtime)" },
		{ "<clock offset='timezone' timezone='Europe/Paris'/>", NULL,
		  "unsupported attribute 'timezone' of <clock> in <domain>" },
		{ "<clock offset='utc'><timer name='rtc'/></clock>", NULL,
		  "unsupported element <timer> in <clock>" },
		{ "<on_poweroff>coredump-destroy</on_poweroff>", NULL,
		  "invalid <on_poweroff> 'coredump-destroy' (destroy, restart, preserve, rename-restart)" },
		{ "<on_reboot>coredump-restart</on_reboot>", NULL,
		  "invalid <on_reboot> 'coredump-restart' (destroy, restart, preserve, rename-restart)" },
		{ "<on_crash>explode</on_crash>", NULL,
		  "invalid <on_crash> 'explode' (destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart)" },
		{ "<on_lockfailure>poweroff</on_lockfailure>", NULL,
		  "unsupported element <on_lockfailure> in <domain>" },
		{ "<pm/>", NULL, "unsupported element <pm> in <domain>" },
		{ "<seclabel type='none'/>", NULL, "unsupported element <seclabel> in <domain>" },
	};

	CHECK_REFUSALS(t);
}

/* Documents the template cannot express. */
static void test_refused_documents(void **state)
{
	static const struct {
		const char *xml, *want;
	} t[] = {
		{ "<vm/>", "the root element is <vm>, not <domain>" },
		{ "<x:domain xmlns:x='urn:x' type='kvm'/>", "the root element is <x:domain>, not <domain>" },
		{ "<domain type='qemu'/>",
		  "unsupported domain type 'qemu' (khyve takes 'kvm', or 'bhyve' for libvirt's bhyve driver)" },
		{ "<domain/>", "unsupported domain type '' (khyve takes 'kvm', or 'bhyve' for libvirt's bhyve driver)" },
		{ "<domain type='kvm' xmlns:x='urn:x' x:y='1'/>", "unsupported attribute 'x:y' of <domain>" },
		{ "<domain type='kvm' foo='1'/>", "unsupported attribute 'foo' of <domain>" },
		{ "<domain type='kvm'><memory>1</memory><os><type>hvm</type></os></domain>",
		  "missing <name>" },
		{ "<domain type='kvm'><name>t</name><os><type>hvm</type></os></domain>", "missing <memory>" },
		{ "<domain type='kvm'><name>t</name><memory>1</memory></domain>", "missing <os>" },
		{ "<domain type='kvm'><name>.t</name></domain>",
		  "invalid <name> '.t' (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)" },
		{ "<domain type='kvm'><name>-t</name></domain>",
		  "invalid <name> '-t' (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)" },
		{ "<domain type='kvm'><name>a b</name></domain>",
		  "invalid <name> 'a b' (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)" },
		{ "<domain type='kvm'><name>a/b</name></domain>",
		  "invalid <name> 'a/b' (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)" },
		{ "<domain type='kvm'><name></name></domain>",
		  "invalid <name> '' (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)" },
		{ "<domain type='kvm'><name>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</name></domain>",
		  "invalid <name> 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)" },
		{ "<domain type='kvm'><memory unit='XB'>1</memory></domain>",
		  "unknown unit 'XB' of <memory> (b, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T, TiB...)" },
		{ "<domain type='kvm'><memory unit='KiBB'>1</memory></domain>",
		  "unknown unit 'KiBB' of <memory> (b, KB, k, KiB, MB, M, MiB, GB, G, GiB, TB, T, TiB...)" },
		{ "<domain type='kvm'><memory>-1</memory></domain>",
		  "invalid <memory> '-1' (a number; unit= gives its unit)" },
		{ "<domain type='kvm'><memory>1.5</memory></domain>",
		  "invalid <memory> '1.5' (a number; unit= gives its unit)" },
		{ "<domain type='kvm'><memory>0</memory></domain>", "<memory> must be more than 0" },
		{ "<domain type='kvm'><memory unit='EiB'>8</memory></domain>", "<memory> 8 EiB is too large" },
		/* would round up to 2^53 KiB, which does not read back */
		{ "<domain type='kvm'><memory unit='b'>9223372036854775807</memory></domain>",
		  "<memory> 9223372036854775807 b is too large" },
		{ "<domain type='kvm'><memory>9007199254740992</memory></domain>",
		  "<memory> 9007199254740992 KiB is too large" },
		{ "<domain type='kvm'><memory>99999999999999999999</memory></domain>",
		  "invalid <memory> '99999999999999999999' (a number; unit= gives its unit)" },
		{ "<domain type='kvm'><memory dumpCore='on'>1</memory></domain>",
		  "unsupported attribute 'dumpCore' of <memory> in <domain>" },
		{ "<domain type='kvm'><os><type>xen</type></os></domain>", "unsupported os type 'xen' (khyve runs hvm guests)" },
		{ "<domain type='kvm'><os><type arch='i686'>hvm</type></os></domain>",
		  "unsupported os arch 'i686' (khyve runs x86_64 guests)" },
		{ "<domain type='kvm'><os><type machine='pc-i440fx-7.2'>hvm</type></os></domain>",
		  "unsupported os machine 'pc-i440fx-7.2' (khyve has one machine type: leave machine= out)" },
		{ "<domain type='kvm'><os><type>hvm</type><loader>/x.fd</loader></os></domain>",
		  "unsupported element <loader> in <os>: khyve boots kernels directly (<os><kernel>)" },
		{ "<domain type='kvm'><os><type>hvm</type><nvram>/x</nvram></os></domain>",
		  "unsupported element <nvram> in <os>: khyve boots kernels directly (<os><kernel>)" },
		{ "<domain type='kvm'><os><type>hvm</type><boot dev='hd'/></os></domain>",
		  "unsupported element <boot> in <os>: khyve boots kernels directly (<os><kernel>)" },
		{ "<domain type='kvm'><os><type>hvm</type><bootmenu enable='yes'/></os></domain>",
		  "unsupported element <bootmenu> in <os>" },
		{ "<domain type='kvm'><os firmware='efi'><type>hvm</type></os></domain>",
		  "unsupported attribute 'firmware' of <os> in <domain>" },
		{ "<domain type='kvm'><os><kernel>/k</kernel></os></domain>", "<os> without <type>hvm</type>" },
		{ "<domain type='kvm'><os><type>hvm</type><kernel>/a</kernel><kernel>/b</kernel></os></domain>",
		  "more than one <kernel> in <os>" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct khv_domain *d = NULL;
		char err[256] = "";
		int rc = parse(t[i].xml, &d, err, sizeof(err));

		if (rc != -EINVAL || d || strcmp(err, t[i].want)) {
			print_error("case %zu: rc %d\n  got:  %s\n  want: %s\n", i, rc, err, t[i].want);
			fail();
		}
	}
}

static void test_refused_disks(void **state)
{
	static const struct refusal t[] = {
		{ NULL, "<disk type='network'/>", "unsupported disk type 'network' (khyve has file and block disks)" },
		{ NULL, "<disk type='file' device='cdrom'/>", "unsupported disk device 'cdrom' (khyve has virtio disks only)" },
		{ NULL, "<disk snapshot='no'/>", "unsupported attribute 'snapshot' of <disk> in <devices>" },
		{ NULL, "<disk><source file='/a'/><target dev='sda' bus='sata'/></disk>",
		  "unsupported disk bus 'sata' (khyve has virtio disks only)" },
		{ NULL, "<disk><source file='/a'/><target dev='sda'/></disk>",
		  "disk target 'sda' is not a virtio disk name (vda, vdb, ...)" },
		{ NULL, "<disk><source file='/a'/><target bus='virtio'/></disk>", "<target> of <disk> without dev=" },
		{ NULL, "<disk><source file='/a'/><target dev='vda' tray='open'/></disk>",
		  "unsupported attribute 'tray' of <target> in <disk>" },
		{ NULL, "<disk><source file='/a'/></disk>", "<disk> without <target dev=>" },
		{ NULL, "<disk><target dev='vda'/></disk>", "<disk type='file'> needs <source file=>" },
		{ NULL, "<disk><source file=''/><target dev='vda'/></disk>", "<disk type='file'> needs <source file=>" },
		{ NULL, "<disk type='block'><source file='/a'/><target dev='vda'/></disk>",
		  "unsupported attribute 'file' of <source> in <disk>" },
		{ NULL, "<disk><source file='/a' startupPolicy='optional'/><target dev='vda'/></disk>",
		  "unsupported attribute 'startupPolicy' of <source> in <disk>" },
		{ NULL, "<disk><driver name='qemu' type='qcow2'/></disk>", "unsupported disk format 'qcow2' (khyve has raw images)" },
		{ NULL, "<disk><driver name='qemu' type='raw' cache='none'/></disk>",
		  "unsupported attribute 'cache' of <driver> in <disk>" },
		{ NULL, "<disk><boot order='1'/></disk>",
		  "unsupported element <boot> in <disk>: khyve boots kernels directly (<os><kernel>)" },
		{ NULL, "<disk><iotune/></disk>", "unsupported element <iotune> in <disk>" },
		{ NULL, "<disk><serial>0123456789abcdefghijk</serial></disk>",
		  "invalid disk serial '0123456789abcdefghijk' (up to 20 of A-Z a-z 0-9 _ . + - space)" },
		{ NULL, "<disk><serial>a,b</serial></disk>",
		  "invalid disk serial 'a,b' (up to 20 of A-Z a-z 0-9 _ . + - space)" },
		{ NULL, "<disk><source file='/a'/><target dev='vda'/></disk>"
			"<disk><source file='/b'/><target dev='vda'/></disk>", "two disks with target 'vda'" },
		{ NULL, "<disk><address type='drive' controller='0' bus='0' target='2' unit='0'/></disk>",
		  "unsupported address type 'drive' of <disk> (khyve's devices are on PCI)" },
		{ NULL, "<disk><address slot='3'/></disk>", "unsupported address type '' of <disk> (khyve's devices are on PCI)" },
		{ NULL, "<disk><address type='pci' bus='0x01' slot='0x03'/></disk>",
		  "PCI domain 0x0 bus 0x1 of <disk> (khyve has one bus, 0000:00)" },
		{ NULL, "<disk><address type='pci' domain='1' slot='0x03'/></disk>",
		  "PCI domain 0x1 bus 0x0 of <disk> (khyve has one bus, 0000:00)" },
		{ NULL, "<disk><address type='pci' slot='0x20'/></disk>",
		  "PCI slot 0x20 function 0x0 of <disk> (slots 0 to 31, functions 0 to 7)" },
		{ NULL, "<disk><address type='pci' slot='3' function='8'/></disk>",
		  "PCI slot 0x3 function 0x8 of <disk> (slots 0 to 31, functions 0 to 7)" },
		{ NULL, "<disk><address type='pci' slot='three'/></disk>", "invalid PCI slot 'three' of <disk>" },
		{ NULL, "<disk><address type='pci' slot='-1'/></disk>", "invalid PCI slot '-1' of <disk>" },
		{ NULL, "<disk><address type='pci' slot='0' function='1'/></disk>",
		  "PCI slot 0 of <disk> is khyve's host bridge" },
		{ NULL, "<disk><address type='pci' slot='0x1f'/></disk>", "PCI slot 31 of <disk> is khyve's LPC bridge" },
		{ NULL, "<disk><address type='pci' slot='3' multifunction='maybe'/></disk>",
		  "invalid multifunction 'maybe' of <disk> (on or off)" },
		{ NULL, "<disk><address type='pci' slot='3' zpci='1'/></disk>",
		  "unsupported attribute 'zpci' of <address> in <disk>" },
		{ NULL, "<disk><source file='/a'/><target dev='vda'/><address type='pci' slot='3'/></disk>"
			"<interface type='bridge'><source bridge='br0'/><address type='pci' slot='3'/></interface>",
		  "two devices at PCI address 0000:00:03.0" },
		{ NULL, "<rng model='virtio'><backend model='random'/><address type='pci' slot='5' function='2'/></rng>"
			"<controller type='virtio-serial'><address type='pci' slot='5' function='2'/></controller>",
		  "two devices at PCI address 0000:00:05.2" },
	};

	CHECK_REFUSALS(t);
}

static void test_refused_interfaces(void **state)
{
	static const struct refusal t[] = {
		{ NULL, "<interface type='user'/>", "unsupported interface type 'user' (khyve has bridge and network)" },
		{ NULL, "<interface/>", "unsupported interface type '' (khyve has bridge and network)" },
		{ NULL, "<interface type='bridge' trustGuestRxFilters='yes'/>",
		  "unsupported attribute 'trustGuestRxFilters' of <interface> in <devices>" },
		{ NULL, "<interface type='bridge'/>", "<interface type='bridge'> needs <source bridge=>" },
		{ NULL, "<interface type='network'><source network=''/></interface>",
		  "<interface type='network'> needs <source network=>" },
		{ NULL, "<interface type='bridge'><source network='default'/></interface>",
		  "unsupported attribute 'network' of <source> in <interface>" },
		{ NULL, "<interface type='bridge'><source bridge='a-very-long-bridge'/></interface>",
		  "invalid interface source bridge 'a-very-long-bridge' (an interface name of 1 to 15 characters)" },
		{ NULL, "<interface type='bridge'><model type='e1000'/></interface>",
		  "unsupported interface model 'e1000' (khyve has virtio-net only)" },
		{ NULL, "<interface type='bridge'><mac address='01:00:5e:00:00:01'/></interface>",
		  "interface mac address '01:00:5e:00:00:01' is a multicast address" },
		{ NULL, "<interface type='bridge'><mac address='52:54:00:zz:00:00'/></interface>",
		  "invalid interface mac address '52:54:00:zz:00:00'" },
		{ NULL, "<interface type='bridge'><mac address='52:54:00:00:00'/></interface>",
		  "invalid interface mac address '52:54:00:00:00'" },
		{ NULL, "<interface type='bridge'><mac address='52:54:00:00:00:000'/></interface>",
		  "invalid interface mac address '52:54:00:00:00:000'" },
		{ NULL, "<interface type='bridge'><target dev='abcdefghijklmnop'/></interface>",
		  "invalid interface target dev 'abcdefghijklmnop' (an interface name of 1 to 15 characters)" },
		{ NULL, "<interface type='bridge'><target dev='tap0' managed='no'/></interface>",
		  "unsupported attribute 'managed' of <target> in <interface>" },
		{ NULL, "<interface type='bridge'><source bridge='br0'/><target dev='tap0'/></interface>"
			"<interface type='bridge'><source bridge='br0'/><target dev='tap0'/></interface>",
		  "two interfaces with target dev 'tap0'" },
		{ NULL, "<interface type='bridge'><driver name='vhost'/></interface>",
		  "unsupported element <driver> in <interface>" },
		{ NULL, "<interface type='bridge'><mtu size='9000'/></interface>",
		  "unsupported element <mtu> in <interface>" },
	};

	CHECK_REFUSALS(t);
}

static void test_refused_serials(void **state)
{
	static const struct refusal t[] = {
		{ NULL, "<serial type='nmdm'><source master='/dev/nmdm0A' slave='/dev/nmdm0B'/></serial>",
		  "unsupported serial type 'nmdm' (bhyve's null-modem device; khyve has pty, file, unix and tcp)" },
		{ NULL, "<serial type='spicevmc'/>", "unsupported serial type 'spicevmc' (khyve has pty, file, unix and tcp)" },
		{ NULL, "<serial type='stdio'/>", "unsupported serial type 'stdio' (khyve has pty, file, unix and tcp)" },
		{ NULL, "<serial type='file'/>", "serial type 'file' needs <source path=>" },
		{ NULL, "<serial type='file'><source path='/a' append='on'/></serial>",
		  "unsupported attribute 'append' of <source> in <serial>" },
		{ NULL, "<serial type='unix'><source mode='connect' path='/s'/></serial>",
		  "unsupported serial type 'unix' source mode 'connect' (khyve listens: mode='bind')" },
		{ NULL, "<serial type='unix'><source path='/s'/></serial>",
		  "unsupported serial type 'unix' source mode 'connect' (khyve listens: mode='bind')" },
		{ NULL, "<serial type='unix'><source mode='bind'/></serial>", "serial type 'unix' needs <source path=>" },
		{ NULL, "<serial type='unix'><source mode='bind' path='/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'/></serial>",
		  "serial source path is longer than 107 bytes (a UNIX socket's limit)" },
		{ NULL, "<serial type='tcp'><source mode='bind' host='::' service='23'/><protocol type='telnet'/></serial>",
		  "unsupported serial tcp protocol 'telnet' (khyve's tcp ports are raw)" },
		{ NULL, "<serial type='tcp'><source mode='bind' host='::' service='telnet'/></serial>",
		  "serial tcp service 'telnet' is not a port number (1 to 65535)" },
		{ NULL, "<serial type='tcp'><source mode='bind' host='::' service='65536'/></serial>",
		  "serial tcp service '65536' is not a port number (1 to 65535)" },
		{ NULL, "<serial type='tcp'><source mode='bind' service='23'/></serial>",
		  "serial type 'tcp' needs <source host= service=>" },
		{ NULL, "<serial type='tcp'/>", "serial type 'tcp' needs <source host= service=>" },
		{ NULL, "<serial type='tcp'><source mode='bind' host='::' service='23' tls='yes'/></serial>",
		  "unsupported attribute 'tls' of <source> in <serial>" },
		{ NULL, "<serial type='pty'><protocol type='raw'/></serial>", "unsupported element <protocol> in <serial>" },
		{ NULL, "<serial type='pty'><log file='/l'/></serial>", "unsupported element <log> in <serial>" },
		{ NULL, "<serial><target type='usb-serial'/></serial>",
		  "unsupported serial target type 'usb-serial' (khyve's serial ports are isa-serial)" },
		{ NULL, "<serial><target><model name='pci-serial'/></target></serial>",
		  "unsupported serial target model 'pci-serial' (khyve's serial ports are isa-serial)" },
		{ NULL, "<serial><target port='4'/></serial>", "serial port 4 (khyve has com1 to com4: ports 0 to 3)" },
		{ NULL, "<serial><target port='one'/></serial>", "invalid port='one' in <target> (0 to 4294967295)" },
		{ NULL, "<serial><target port='3'/></serial><serial/>",
		  "serial port 4 (khyve has com1 to com4: ports 0 to 3)" },
		{ NULL, "<serial><target port='1'/></serial><serial><target port='1'/></serial>",
		  "two serial ports with port 1" },
		{ NULL, "<serial/><serial/><serial/><serial/><serial/>", "more than 4 serial ports (KHV_MAX_SERIALS)" },
		{ NULL, "<console type='pty'><target type='virtio'/></console>",
		  "unsupported console target type 'virtio' (khyve's console is serial port 0; use a <channel> for virtio)" },
		{ NULL, "<console type='pty'><target type='serial' port='1'/></console>",
		  "console port 1 (khyve's console is serial port 0)" },
		{ NULL, "<serial type='file'><source path='/a'/></serial><console type='pty'/>",
		  "<console> differs from serial port 0 (khyve's console is serial port 0)" },
		{ NULL, "<serial type='file'><source path='/a'/></serial><console type='file'><source path='/b'/></console>",
		  "<console> differs from serial port 0 (khyve's console is serial port 0)" },
		{ NULL, "<console type='pty'/><console type='pty'/>", "more than one <console> in <devices>" },
		{ NULL, "<console type='nmdm'/>", "unsupported console type 'nmdm' (bhyve's null-modem device; khyve has pty, file, unix and tcp)" },
		{ NULL, "<parallel type='pty'/>", "unsupported element <parallel> in <devices>" },
	};

	CHECK_REFUSALS(t);
}

static void test_refused_channels_rng_fs(void **state)
{
	static const struct refusal t[] = {
		{ NULL, "<channel type='pty'/>", "unsupported channel type 'pty' (khyve's channels are unix sockets)" },
		{ NULL, "<channel/>", "unsupported channel type 'pty' (khyve's channels are unix sockets)" },
		{ NULL, "<channel type='unix'><source mode='connect' path='/s'/></channel>",
		  "unsupported channel type 'unix' source mode 'connect' (khyve listens: mode='bind')" },
		{ NULL, "<channel type='unix'><target type='guestfwd'/></channel>",
		  "unsupported channel target type 'guestfwd' (khyve's channels are virtio-console ports)" },
		{ NULL, "<channel type='unix'><target type='virtio'/></channel>",
		  "<channel> needs <target type='virtio' name=>" },
		{ NULL, "<channel type='unix'><target type='virtio' name='a b'/></channel>",
		  "invalid channel target name 'a b' (1 to 127 of A-Z a-z 0-9 . _ -)" },
		{ NULL, "<channel type='unix'><target type='virtio' name='x' state='connected'/></channel>",
		  "unsupported attribute 'state' of <target> in <channel>" },
		{ NULL, "<channel type='unix'><target type='virtio' name='x'/></channel>",
		  "<channel type='unix'> needs <source mode='bind' path=>" },
		{ NULL, "<channel type='unix'><source mode='bind' path='/s'/></channel>",
		  "<channel> needs <target type='virtio' name=>" },
		{ NULL, "<channel type='unix'><source mode='bind' path='/s'/><target type='virtio' name='a'/></channel>"
			"<channel type='unix'><source mode='bind' path='/t'/><target type='virtio' name='a'/></channel>",
		  "two channels named 'a'" },
		{ NULL, "<channel type='unix'><address type='pci' slot='3'/></channel>",
		  "unsupported address type 'pci' of <channel> (khyve's channels are virtio-serial ports)" },
		{ NULL, "<channel type='unix'><address type='virtio-serial' controller='1'/></channel>",
		  "invalid controller='1' in <address> (khyve has only 0)" },
		{ NULL, "<rng model='virtio-transitional'/>", "unsupported rng model 'virtio-transitional' (khyve has virtio)" },
		{ NULL, "<rng><backend model='random'/></rng>", "unsupported rng model '' (khyve has virtio)" },
		{ NULL, "<rng model='virtio'><backend model='egd' type='unix'/></rng>",
		  "unsupported attribute 'type' of <backend> in <rng>" },
		{ NULL, "<rng model='virtio'><backend model='egd'/></rng>",
		  "unsupported rng backend model 'egd' (khyve's virtio-rnd reads getrandom())" },
		{ NULL, "<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>",
		  "unsupported rng backend '/dev/hwrng' (khyve reads getrandom(): /dev/random or /dev/urandom)" },
		{ NULL, "<rng model='virtio'/>", "<rng> needs <backend model='random'>" },
		{ NULL, "<rng model='virtio'><backend model='random'/><rate bytes='1024'/></rng>",
		  "unsupported element <rate> in <rng>" },
		{ NULL, "<rng model='virtio'><backend model='random'/></rng><rng model='virtio'><backend model='random'/></rng>",
		  "more than one <rng> (khyve has one virtio-rnd)" },
		{ NULL, "<filesystem type='block'/>", "unsupported filesystem type 'block' (khyve has type='mount')" },
		{ NULL, "<filesystem accessmode='mapped'/>", "unsupported filesystem accessmode 'mapped' (khyve has passthrough)" },
		{ NULL, "<filesystem multidevs='remap'/>", "unsupported attribute 'multidevs' of <filesystem> in <devices>" },
		{ NULL, "<filesystem><driver type='virtiofs'/></filesystem>", "unsupported element <driver> in <filesystem>" },
		{ NULL, "<filesystem><source dir='/s'/><target dir='t'/><address type='pci' slot='5'/></filesystem>",
		  "unsupported element <address> in <filesystem>" },
		{ NULL, "<filesystem><source dir='/s'/></filesystem>",
		  "<filesystem> needs <source dir=> and <target dir=>" },
		{ NULL, "<filesystem><target/></filesystem>", "<target> of <filesystem> needs dir=" },
	};

	CHECK_REFUSALS(t);
}

static void test_refused_other_devices(void **state)
{
	static const struct refusal t[] = {
		{ NULL, "<controller type='sata'/>", "unsupported controller type 'sata' (khyve has virtio disks only)" },
		{ NULL, "<controller type='scsi' model='virtio-scsi'/>", "unsupported controller type 'scsi' (khyve has virtio disks only)" },
		{ NULL, "<controller type='xenbus'/>", "unsupported controller type 'xenbus' (khyve has pci, isa and virtio-serial)" },
		{ NULL, "<controller/>", "<controller> without type=" },
		{ NULL, "<controller type='pci' model='pcie-root'/>", "unsupported controller model 'pcie-root' (khyve's PCI bus is a pci-root)" },
		{ NULL, "<controller type='pci' index='1' model='pci-bridge'/>", "invalid index='1' in <controller> (khyve has only 0)" },
		{ NULL, "<controller type='pci' model='pci-root'><address type='pci' slot='3'/></controller>",
		  "unsupported element <address> in <controller>" },
		{ NULL, "<controller type='usb' model='qemu-xhci'/>",
		  "unsupported controller type 'usb' model 'qemu-xhci' (khyve has no USB: model='none')" },
		{ NULL, "<controller type='isa' model='x'/>", "unsupported controller type 'isa' model 'x' (leave model= out)" },
		{ NULL, "<controller type='isa'/><controller type='isa'/>", "more than one <controller type='isa'>" },
		{ NULL, "<controller type='virtio-serial'/><controller type='virtio-serial'/>",
		  "more than one <controller type='virtio-serial'> (khyve's channels share one virtio-console)" },
		{ NULL, "<controller type='virtio-serial' ports='4'/>",
		  "unsupported attribute 'ports' of <controller> in <devices>" },
		{ NULL, "<controller type='isa'><address type='isa' iobase='0x3f8'/></controller>",
		  "unsupported address type 'isa' of <controller> (khyve's devices are on PCI)" },
		{ NULL, "<memballoon model='virtio'><address type='pci' slot='5'/></memballoon>",
		  "unsupported memballoon model 'virtio' (khyve has no balloon: model='none')" },
		{ NULL, "<memballoon/>", "unsupported memballoon model '' (khyve has no balloon: model='none')" },
		{ NULL, "<memballoon model='none'><stats period='10'/></memballoon>",
		  "unsupported element <stats> in <memballoon>" },
		{ NULL, "<hostdev mode='subsystem' type='pci'/>",
		  "unsupported element <hostdev> in <devices>: khyve has no PCI passthrough" },
		{ NULL, "<graphics type='vnc'/>", "unsupported element <graphics> in <devices>: khyve has no display" },
		{ NULL, "<video/>", "unsupported element <video> in <devices>: khyve has no display" },
		{ NULL, "<sound model='ich7'/>", "unsupported element <sound> in <devices>: khyve has no sound" },
		{ NULL, "<audio id='1' type='oss'/>", "unsupported element <audio> in <devices>: khyve has no sound" },
		{ NULL, "<input type='tablet' bus='usb'/>", "unsupported element <input> in <devices>: khyve has no input devices" },
		{ NULL, "<emulator>/usr/bin/qemu-system-x86_64</emulator>",
		  "unsupported element <emulator> in <devices>: khyve is its own device model" },
		{ NULL, "<watchdog model='i6300esb'/>", "unsupported element <watchdog> in <devices>" },
		{ NULL, "<tpm model='tpm-tis'/>", "unsupported element <tpm> in <devices>" },
		{ NULL, "<smartcard mode='host'/>", "unsupported element <smartcard> in <devices>" },
		{ NULL, "<redirdev bus='usb' type='spicevmc'/>", "unsupported element <redirdev> in <devices>" },
		{ NULL, "<panic model='isa'/>", "unsupported element <panic> in <devices>" },
		{ NULL, "<vsock model='virtio'/>", "unsupported element <vsock> in <devices>" },
		{ NULL, "<shmem name='x'/>", "unsupported element <shmem> in <devices>" },
		{ NULL, "<iommu model='intel'/>", "unsupported element <iommu> in <devices>" },
		{ NULL, "<lease/>", "unsupported element <lease> in <devices>" },
		{ NULL, "<hub type='usb'/>", "unsupported element <hub> in <devices>" },
		{ NULL, "<memory model='dimm'/>", "unsupported element <memory> in <devices>" },
	};

	CHECK_REFUSALS(t);
}

/* Each KHV_MAX_* limit: at the limit parses, one more is refused naming it. */
enum { L_DISK, L_NET, L_CHANNEL, L_FS };

static char *items(int kind, unsigned n)
{
	char *s = calloc(n, 200), *p = s;

	assert_non_null(s);
	for (unsigned i = 0; i < n; i++) {
		if (kind == L_DISK)
			p += sprintf(p, "<disk><source file='/d%u'/><target dev='vd%c'/></disk>", i,
				     'a' + i);
		else if (kind == L_NET)
			p += sprintf(p, "<interface type='bridge'><source bridge='br%u'/></interface>", i);
		else if (kind == L_CHANNEL)
			p += sprintf(p, "<channel type='unix'><source mode='bind' path='/c%u'/>"
				     "<target type='virtio' name='p%u'/></channel>", i, i);
		else
			p += sprintf(p, "<filesystem><source dir='/s%u'/><target dir='t%u'/></filesystem>",
				     i, i);
	}
	return s;
}

static void check_limit(int kind, unsigned max, const char *want)
{
	for (unsigned n = max; n <= max + 1; n++) {
		char *devs = items(kind, n), *x = doc("", devs), err[256] = "";
		struct khv_domain *d = NULL;
		int rc = parse(x, &d, err, sizeof(err));

		if (n == max && rc)
			print_error("%u of kind %d: %s\n", n, kind, err);
		assert_int_equal(rc, n == max ? 0 : -EINVAL);
		if (n > max)
			assert_string_equal(err, want);
		khv_domain_free(d);
		free(x);
		free(devs);
	}
}

static void test_limits(void **state)
{
	check_limit(L_DISK, KHV_MAX_DISKS, "more than 16 disks (KHV_MAX_DISKS)");
	check_limit(L_NET, KHV_MAX_NETS, "more than 8 interfaces (KHV_MAX_NETS)");
	check_limit(L_CHANNEL, KHV_MAX_CHANNELS, "more than 16 channels (KHV_MAX_CHANNELS)");
	check_limit(L_FS, KHV_MAX_FILESYSTEMS, "more than 8 filesystems (KHV_MAX_FILESYSTEMS)");
}

/* ---- hostile and broken documents ---- */

static void check_refused_raw(const char *xml, size_t len, const char *want_prefix)
{
	struct khv_domain *d = (struct khv_domain *)1;
	char err[256] = "";
	int rc = khv_domain_parse_xml(xml, len, &d, err, sizeof(err));

	if (rc != -EINVAL || d || strncmp(err, want_prefix, strlen(want_prefix)) ||
	    strchr(err, '\n')) {
		print_error("rc %d\n  got:  %s\n  want: %s...\n", rc, err, want_prefix);
		fail();
	}
}

#define REFUSED(xml, want) check_refused_raw((xml), strlen(xml), (want))

static void test_entities_refused(void **state)
{
	static const char *const docs[] = {
		/* billion laughs */
		("<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'>"
		 "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
		 "<!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'><!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>"
		 "]><domain type='kvm'><name>&e;</name></domain>"),
		/* an external entity */
		("<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
		 "<domain type='kvm'><name>&x;</name></domain>"),
		/* an external DTD, over the network */
		"<!DOCTYPE domain SYSTEM 'http://127.0.0.1:1/domain.dtd'><domain type='kvm'/>",
		"<!DOCTYPE domain><domain type='kvm'/>",
	};
	const char want[] = "the document has a DOCTYPE (DTDs and entities are not accepted)";

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct khv_domain *d = NULL;
		char err[256] = "";

		assert_int_equal(parse(docs[i], &d, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, want);
	}
	/* Without a DTD an entity reference is not even well-formed. */
	REFUSED("<domain type='kvm'><name>&x;</name></domain>",
		"not well-formed XML: line 1: Entity 'x' not defined");
}

static void test_broken_documents(void **state)
{
	char *big, *deep;
	size_t n;

	REFUSED("", "empty document");
	check_refused_raw(NULL, 0, "empty document");
	REFUSED("<domain type='kvm'>", "not well-formed XML: line 1: ");
	REFUSED("<domain type='kvm'></domian>", "not well-formed XML: line 1: ");
	REFUSED("garbage", "not well-formed XML: line 1: ");
	REFUSED("<?xml version='1.0' encoding='no-such-charset'?><domain/>", "not well-formed XML: ");
	check_refused_raw("<domain type='kvm'>\0</domain>", 27, "not well-formed XML: line 1: ");
	/* KHV_XML_MAX_BYTES: the size is checked before libxml2 sees a byte. */
	n = KHV_XML_MAX_BYTES + 1;
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	check_refused_raw(big, n, "the document is 1048577 bytes, more than 1048576 (KHV_XML_MAX_BYTES)");
	free(big);
	/* libxml2's depth limit (256 without XML_PARSE_HUGE) holds. */
	deep = calloc(300, 8);
	assert_non_null(deep);
	strcpy(deep, "<domain type='kvm'>");
	for (int i = 0; i < 300; i++)
		strcat(deep, "<a>");
	REFUSED(deep, "not well-formed XML: line 1: Excessive depth in document: 256");
	free(deep);
	/* Document text in a message stays on one line. */
	REFUSED("<domain type='kvm'><devices><disk type='a&#10;b'/></devices></domain>",
		"unsupported disk type 'a?b' (khyve has file and block disks)");
}

/* libxml2 reports through the parser's handler, never on stderr. */
static void test_errors_not_printed(void **state)
{
	char path[] = "/tmp/khyve-test-xmlerrXXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct khv_domain *d = NULL;
	char err[256];
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(fd, 2) == 2);
	parse("<domain type='kvm'><name>x</nam></domain>", &d, err, sizeof(err));
	parse("<?xml version='1.0' encoding='no-such-charset'?><domain/>", &d, err, sizeof(err));
	parse("<!DOCTYPE d [<!ENTITY x 'y'>]><d>&x;</d>", &d, err, sizeof(err));
	parse("<domain xmlns='not a uri' type='kvm'/>", &d, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	unlink(path);
	/* An error message is truncated to errlen, never overrun. */
	assert_int_equal(parse("<vm/>", &d, err, 8), -EINVAL);
	assert_string_equal(err, "the roo");
	assert_int_equal(parse("<vm/>", &d, NULL, 0), -EINVAL);
}

/* ---- libvirt's own test XMLs ---- */

#define DATA_DIR "tests/unit/data/libvirt"

/* Which of libvirt's bhyve test domains khyve runs, and for the others
 * the element or value that is refused first. */
static const struct {
	const char *file, *refused;	/* refused: NULL = parses */
} testdata[] = {
	{ "argv2xml/bhyveargv2xml-acpiapic.xml", NULL },
	{ "argv2xml/bhyveargv2xml-virtio-net.xml", NULL },
	{ "argv2xml/bhyveargv2xml-virtio-rnd.xml", NULL },
	{ "argv2xml/bhyveargv2xml-ahci-hd.xml", "disk bus 'sata'" },
	{ "argv2xml/bhyveargv2xml-bhyveload-custom.xml", "unsupported element <bootloader>" },
	{ "argv2xml/bhyveargv2xml-cdrom.xml", "disk device 'cdrom'" },
	{ "argv2xml/bhyveargv2xml-console.xml", "serial type 'nmdm'" },
	{ "argv2xml/bhyveargv2xml-e1000.xml", "interface model 'e1000'" },
	{ "argv2xml/bhyveargv2xml-passthru.xml", "unsupported element <hostdev>" },
	{ "argv2xml/bhyveargv2xml-vnc-password.xml", "unsupported element <graphics>" },
	{ "argv2xml/bhyveargv2xml-wired.xml", "unsupported element <memoryBacking>" },
	{ "xml2argv/aarch64/bhyvexml2argv-base.xml", "address type 'drive'" },
	{ "xml2argv/aarch64/bhyvexml2argv-bootloader.xml", "unsupported element <loader>" },
	{ "xml2argv/aarch64/bhyvexml2argv-console.xml", "os arch 'aarch64'" },
	{ "xml2argv/x86_64/bhyvexml2argv-2-nvme-2-controllers.xml", "disk bus 'nvme'" },
	{ "xml2argv/x86_64/bhyvexml2argv-4-consoles.xml", "disk bus 'sata'" },
	{ "xml2argv/x86_64/bhyvexml2argv-bhyveload-bootorder.xml", "unsupported element <boot>" },
	{ "xml2argv/x86_64/bhyvexml2argv-blkiotune.xml", "unsupported element <blkiotune>" },
	{ "xml2argv/x86_64/bhyvexml2argv-commandline.xml", "disk bus 'sata'" },
	{ "xml2argv/x86_64/bhyvexml2argv-cputopology.xml", "disk bus 'sata'" },
	{ "xml2argv/x86_64/bhyvexml2argv-disk-cdrom-grub.xml", "unsupported element <bootloader>" },
	{ "xml2argv/x86_64/bhyvexml2argv-firmware-efi.xml", "unsupported attribute 'firmware' of <os>" },
	{ "xml2argv/x86_64/bhyvexml2argv-memtune.xml", "unsupported element <memtune>" },
	{ "xml2argv/x86_64/bhyvexml2argv-numa.xml", "unsupported attribute 'firmware' of <os>" },
	{ "xml2argv/x86_64/bhyvexml2argv-passthru-multiple-devs.xml", "unsupported element <memoryBacking>" },
	{ "xml2argv/x86_64/bhyvexml2argv-slirp.xml", "disk bus 'sata'" },
	{ "xml2argv/x86_64/bhyvexml2argv-sysinfo-smbios.xml", "unsupported element <sysinfo>" },
	{ "xml2argv/x86_64/bhyvexml2argv-vcpupin.xml", "unsupported element <cputune>" },
	{ "xml2argv/x86_64/bhyvexml2argv-virtio-console.xml", "disk bus 'sata'" },
	{ "xml2argv/x86_64/bhyvexml2argv-virtio-scsi.xml", "disk type 'ctl'" },
	{ "xml2argv/x86_64/bhyvexml2argv-vnc-password.xml", "unsupported element <loader>" },
	{ "xml2argv/x86_64/bhyvexml2argv-vnc.xml", "unsupported element <loader>" },
	{ "xml2argv/x86_64/bhyvexml2argv-wired.xml", "unsupported element <memoryBacking>" },
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	if (!f)
		print_error("%s: %s\n", path, strerror(errno));
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return s;
}

static struct khv_domain *load_testdata(size_t i, char *err, size_t errlen, int *rc)
{
	char path[512];
	struct khv_domain *d = NULL;
	size_t len;
	char *xml;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, testdata[i].file);
	xml = read_file(path, &len);
	*rc = khv_domain_parse_xml(xml, len, &d, err, errlen);
	free(xml);
	return d;
}

/* A file added to the data directory must get a line in the table. */
static void check_table_covers(const char *sub)
{
	char dir[256];
	DIR *dh;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "%s/%s", DATA_DIR, sub);
	dh = opendir(dir);
	assert_non_null(dh);
	while ((e = readdir(dh))) {
		char name[512];
		bool found = false;

		if (!strstr(e->d_name, ".xml"))
			continue;
		snprintf(name, sizeof(name), "%s/%s", sub, e->d_name);
		for (size_t i = 0; i < sizeof(testdata) / sizeof(testdata[0]); i++)
			found |= !strcmp(testdata[i].file, name);
		if (!found)
			print_error("%s is not in the testdata table\n", name);
		assert_true(found);
	}
	closedir(dh);
}

static void test_libvirt_testdata(void **state)
{
	check_table_covers("argv2xml");
	check_table_covers("xml2argv/x86_64");
	check_table_covers("xml2argv/aarch64");
	for (size_t i = 0; i < sizeof(testdata) / sizeof(testdata[0]); i++) {
		char err[256] = "";
		int rc;
		struct khv_domain *d = load_testdata(i, err, sizeof(err), &rc);

		if (testdata[i].refused ? rc != -EINVAL || !strstr(err, testdata[i].refused) : rc != 0) {
			print_error("%s: rc %d, %s (expected %s)\n", testdata[i].file, rc, err,
				    testdata[i].refused ? testdata[i].refused : "to parse");
			fail();
		}
		if (d)
			free(round_trip(d));
		khv_domain_free(d);
	}
}

/* What the supported ones mean. */
static void test_libvirt_testdata_content(void **state)
{
	char err[256];
	int rc;
	struct khv_domain *d = load_testdata(0, err, sizeof(err), &rc);	/* acpiapic */

	assert_string_equal(d->name, "bhyve");
	assert_int_equal(d->memory_kib, 219136);
	assert_true(d->acpi && d->apic);
	assert_int_equal(d->clock, KHV_CLOCK_LOCALTIME);
	assert_int_equal(d->on_reboot, KHV_LIFE_DESTROY);
	khv_domain_free(d);
	d = load_testdata(1, err, sizeof(err), &rc);	/* virtio-net */
	assert_int_equal(d->nnets, 2);
	assert_string_equal(d->nets[1].source, "virbr0");
	assert_string_equal(d->nets[1].target_dev, "tap1");
	assert_int_equal(d->nets[1].mac[0], 0xfe);
	assert_int_equal(d->nets[1].addr.slot, 1);
	assert_int_equal(d->nets[1].addr.func, 1);
	khv_domain_free(d);
	d = load_testdata(2, err, sizeof(err), &rc);	/* virtio-rnd */
	assert_true(d->rng);
	assert_int_equal(d->rng_addr.slot, 1);
	khv_domain_free(d);
}

/* ---- formatting what did not come from XML ---- */

/* A definition as the command-line side makes one: bhyve's nmdm and
 * khyve's stdio ports, a disk without a name, bytes XML cannot hold. */
static struct khv_domain *native_domain(void)
{
	struct khv_domain *d = khv_domain_new();

	assert_non_null(d);
	strcpy(d->name, "native");
	d->memory_kib = d->current_memory_kib = 262144;
	d->vcpus = 2;
	assert_int_equal(khv_strset(&d->kernel, "/boot/k"), 0);
	assert_int_equal(khv_strset(&d->cmdline, "a\x01z \xff\xfe \xed\xa0\x80 \xef\xbf\xbe ok \xc3\xa9"), 0);
	d->ndisks = 1;
	assert_int_equal(khv_strset(&d->disks[0].source, "/img"), 0);
	d->nserials = 2;
	d->serials[0].type = KHV_CHR_NMDM;
	assert_int_equal(khv_strset(&d->serials[0].path, "/dev/nmdm0A"), 0);
	assert_int_equal(khv_strset(&d->serials[0].path2, "/dev/nmdm0B"), 0);
	d->serials[1].type = KHV_CHR_STDIO;
	d->serials[1].port = 1;
	return d;
}

static void test_format_native(void **state)
{
	struct khv_domain *d = native_domain();
	xmlDocPtr doc;
	char *xml;

	assert_int_equal(khv_domain_format_xml(d, &xml), 0);
	assert_non_null(strstr(xml, "<serial type='nmdm'>\n"
				    "      <source master='/dev/nmdm0A' slave='/dev/nmdm0B'/>\n"));
	assert_non_null(strstr(xml, "<serial type='stdio'>"));
	assert_non_null(strstr(xml, "<target dev='vda' bus='virtio'/>"));
	/* Not XML characters: each bad byte became U+FFFD. */
	assert_non_null(strstr(xml, "<cmdline>a\xef\xbf\xbdz \xef\xbf\xbd\xef\xbf\xbd "));
	assert_non_null(strstr(xml, " ok \xc3\xa9</cmdline>"));
	doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
	assert_non_null(doc);
	xmlFreeDoc(doc);
	free(xml);
	khv_domain_free(d);
}

/* ---- libvirt's schema ---- */

static const char *schema(void)
{
	const char *s = getenv("KHYVE_DOMAIN_RNG");

	return s ? s : "/usr/share/libvirt/schemas/domain.rng";
}

static int xmllint(const char *file)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "xmllint --noout --relaxng '%s' '%s' >'%s.log' 2>&1", schema(),
		 file, file);
	return system(cmd);
}

static void write_xml(const char *dir, const char *name, const char *xml, char *path,
		      size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s.xml", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(xml, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void check_valid(const char *dir, const char *name, const struct khv_domain *d)
{
	char path[300], *xml;

	assert_int_equal(khv_domain_format_xml(d, &xml), 0);
	write_xml(dir, name, xml, path, sizeof(path));
	if (xmllint(path)) {
		print_error("%s does not validate (see %s.log):\n%s\n", name, path, xml);
		fail();
	}
	free(xml);
}

static struct khv_domain *console_domain(enum khv_chr_type type)
{
	char *x;
	struct khv_domain *d;

	if (type == KHV_CHR_FILE)
		x = doc("", "<serial type='file'><source path='/var/log/c'/></serial>");
	else if (type == KHV_CHR_UNIX)
		x = doc("", "<console type='unix'><source mode='bind' path='/run/c'/></console>");
	else
		x = doc("<title>tcp</title><vcpu>6</vcpu><cpu><topology sockets='3' cores='1' threads='2'/></cpu>",
			"<serial type='tcp'><source mode='bind' host='0.0.0.0' service='4444'/></serial>"
			"<channel type='unix'><source mode='bind' path='/run/a'/>"
			"<target type='virtio' name='org.qemu.guest_agent.0'/></channel>");
	d = parse_ok(x);
	free(x);
	return d;
}

static void test_schema(void **state)
{
	char dir[] = "/tmp/khyve-test-domxmlXXXXXX", path[300], cmd[400];
	struct khv_domain *d;
	char *x;

	if (system("command -v xmllint >/dev/null 2>&1") || access(schema(), R_OK)) {
		print_message("xmllint or %s missing (apt-get install libxml2-utils libvirt0): skipping\n",
			      schema());
		skip();
	}
	assert_non_null(mkdtemp(dir));
	/* The checker can fail: libvirt's schema has no <khyve/>. */
	write_xml(dir, "bogus", "<domain type='kvm'><name>x</name><khyve/></domain>", path,
		  sizeof(path));
	assert_int_not_equal(xmllint(path), 0);
	d = parse_ok(full_xml);
	check_valid(dir, "full", d);
	khv_domain_free(d);
	x = doc("", "");
	d = parse_ok(x);
	check_valid(dir, "minimal", d);
	khv_domain_free(d);
	free(x);
	for (int t = KHV_CHR_FILE; t <= KHV_CHR_TCP; t++) {
		d = console_domain(t);
		check_valid(dir, t == KHV_CHR_FILE ? "file" : t == KHV_CHR_UNIX ? "unix" : "tcp", d);
		khv_domain_free(d);
	}
	d = native_domain();
	check_valid(dir, "native", d);
	khv_domain_free(d);
	/* A CPU model, and a running domain's pty. */
	x = doc("<vcpu>2</vcpu><cpu mode='custom' match='exact'><model fallback='forbid'>"
		"x86-64-v3</model><topology sockets='1' cores='2' threads='1'/></cpu>",
		"<serial type='pty'><source path='/dev/pts/9'/></serial>");
	d = parse_ok(x);
	free(x);
	assert_string_equal(d->cpu_model, "x86-64-v3");
	assert_string_equal(d->serials[0].path, "/dev/pts/9");
	check_valid(dir, "cpumodel", d);
	khv_domain_free(d);
	x = doc("<cpu mode='host-passthrough'/>", "");
	d = parse_ok(x);
	free(x);
	assert_null(d->cpu_model);
	khv_domain_free(d);
	for (size_t i = 0; i < 3; i++) {
		char err[256];
		int rc;

		d = load_testdata(i, err, sizeof(err), &rc);
		check_valid(dir, strrchr(testdata[i].file, '-') + 1, d);
		khv_domain_free(d);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_domain),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_memory_units),
		cmocka_unit_test(test_serial_ports),
		cmocka_unit_test(test_pci_addresses),
		cmocka_unit_test(test_text_escaping),
		cmocka_unit_test(test_refused_domain),
		cmocka_unit_test(test_refused_documents),
		cmocka_unit_test(test_refused_disks),
		cmocka_unit_test(test_refused_interfaces),
		cmocka_unit_test(test_refused_serials),
		cmocka_unit_test(test_refused_channels_rng_fs),
		cmocka_unit_test(test_refused_other_devices),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_entities_refused),
		cmocka_unit_test(test_broken_documents),
		cmocka_unit_test(test_errors_not_printed),
		cmocka_unit_test(test_libvirt_testdata),
		cmocka_unit_test(test_libvirt_testdata_content),
		cmocka_unit_test(test_format_native),
		cmocka_unit_test(test_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
