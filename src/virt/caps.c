/* Capabilities XML (virConnectGetCapabilities) and domain capabilities
 * XML (virConnectGetDomainCapabilities): what this host and this khyve
 * offer, in the shapes libvirt's capability.rng and domaincaps.rng
 * describe, so tools that read libvirt's answers read khyve's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/options.h"
#include "virt/conn.h"
#include "vmm/cpumodel.h"
#include "vmm/vmm.h"

/* Text for XML character data and attribute values. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* The khyve binary as an absolute path (the schemas want one). */
static void emulator_path(const struct khv_conn *c, char *out, size_t len)
{
	const char *p = khv_conn_khyve_path(c), *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(p, '/') && realpath(p, buf)) {
		snprintf(out, len, "%s", buf);
		return;
	}
	for (const char *d = path; d && *d;) {
		size_t n = strcspn(d, ":");

		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, d, p) < (int)sizeof(buf) &&
		    buf[0] == '/' && access(buf, X_OK) == 0) {
			snprintf(out, len, "%s", buf);
			return;
		}
		d += n + (d[n] == ':');
	}
	snprintf(out, len, "/usr/bin/khyve");
}

unsigned khv_conn_get_max_vcpus(const struct khv_conn *c)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), n = -1;

	if (fd >= 0) {
		n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
		close(fd);
	}
	return n > 0 && n < KHYVE_MAXCPUS ? (unsigned)n : KHYVE_MAXCPUS;
}

/* /etc/machine-id as a UUID: the host's identity without root (the
 * SMBIOS UUID is readable by root only). */
static void host_uuid(FILE *f)
{
	char id[64] = "";
	FILE *m = fopen("/etc/machine-id", "re");

	if (m) {
		if (!fgets(id, sizeof(id), m))
			id[0] = '\0';
		fclose(m);
	}
	if (strspn(id, "0123456789abcdef") != 32)
		return;
	fprintf(f, "    <uuid>%.8s-%.4s-%.4s-%.4s-%.12s</uuid>\n", id, id + 8, id + 12, id + 16,
		id + 20);
}

/* fclose sets *buf: read it only after. */
static char *finish(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *khv_conn_get_capabilities(const struct khv_conn *c)
{
	struct khv_node_info ni;
	char emu[PATH_MAX], *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (khv_node_get_info(c, &ni) < 0 || !(f = open_memstream(&buf, &len)))
		return NULL;
	emulator_path(c, emu, sizeof(emu));
	fputs("<capabilities>\n  <host>\n", f);
	host_uuid(f);
	fprintf(f, "    <cpu>\n      <arch>x86_64</arch>\n"
		"      <topology sockets='%u' dies='1' cores='%u' threads='%u'/>\n    </cpu>\n",
		ni.sockets, ni.cores, ni.threads);
	fputs("  </host>\n  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n"
	      "      <wordsize>64</wordsize>\n      <emulator>", f);
	put_escaped(f, emu);
	fputs("</emulator>\n      <domain type='kvm'/>\n    </arch>\n    <features>\n"
	      "      <acpi default='on' toggle='no'/>\n      <apic default='on' toggle='no'/>\n"
	      "    </features>\n  </guest>\n</capabilities>\n", f);
	return finish(f, &buf);
}

/* One <enum name=...> with its values. */
static void put_enum(FILE *f, const char *indent, const char *name, const char *const *values)
{
	fprintf(f, "%s<enum name='%s'>\n", indent, name);
	for (; *values; values++)
		fprintf(f, "%s  <value>%s</value>\n", indent, *values);
	fprintf(f, "%s</enum>\n", indent);
}

static void put_devices(FILE *f)
{
	static const char *const disk_dev[] = { "disk", NULL }, *const disk_bus[] = { "virtio", NULL };
	static const char *const rng_model[] = { "virtio", NULL }, *const rng_be[] = { "random", NULL };
	static const char *const none[] = { NULL };

	fputs("  <devices>\n    <disk supported='yes'>\n", f);
	put_enum(f, "      ", "diskDevice", disk_dev);
	put_enum(f, "      ", "bus", disk_bus);
	put_enum(f, "      ", "model", none);
	fputs("    </disk>\n    <graphics supported='no'/>\n    <video supported='no'/>\n"
	      "    <hostdev supported='no'/>\n    <rng supported='yes'>\n", f);
	put_enum(f, "      ", "model", rng_model);
	put_enum(f, "      ", "backendModel", rng_be);
	fputs("    </rng>\n    <filesystem supported='no'/>\n  </devices>\n", f);
}

/* KVM_GET_SUPPORTED_CPUID of this host: malloc'd, or NULL with errno. */
static struct kvm_cpuid2 *supported_cpuid(void)
{
	struct kvm_cpuid2 *c = NULL;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return NULL;
	rc = kvm_supported_cpuid(fd, &c);
	close(fd);
	errno = -rc;
	return rc ? NULL : c;
}

int khv_conn_get_cpu_models(const struct khv_conn *c, const char **names, bool *usable,
			    unsigned max, char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid = supported_cpuid();
	unsigned n = 0;

	(void)c;
	if (!cpuid) {
		int e = errno;

		snprintf(err, errlen, "/dev/kvm: %s (KVM's CPUID decides which models work)",
			 strerror(e));
		return -e;
	}
	for (unsigned i = 1; i < cpumodel_count() && n < max; i++) {
		const char *missing, *name = cpumodel_name_at(i);

		names[n] = name;
		usable[n++] = cpumodel_check(cpumodel_find(name), cpuid, &missing) == 0;
	}
	free(cpuid);
	return (int)n;
}

static void put_cpu_modes(const struct khv_conn *c, FILE *f)
{
	const char *names[16];
	bool usable[16];
	char why[256];
	int n = khv_conn_get_cpu_models(c, names, usable, 16, why, sizeof(why));

	fputs("  <cpu>\n    <mode name='host-passthrough' supported='yes'/>\n"
	      "    <mode name='maximum' supported='no'/>\n"
	      "    <mode name='host-model' supported='no'/>\n", f);
	fprintf(f, "    <mode name='custom' supported='yes'>\n");
	/* Without /dev/kvm nobody can tell which models run: "unknown". */
	for (unsigned i = 0; i < cpumodel_count() - 1; i++)
		fprintf(f, "      <model usable='%s' vendor='unknown'>%s</model>\n",
			n < 0 ? "unknown" : usable[i] ? "yes" : "no", cpumodel_name_at(i + 1));
	fputs("    </mode>\n  </cpu>\n", f);
}

char *khv_conn_get_domain_capabilities(const struct khv_conn *c)
{
	char emu[PATH_MAX], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	emulator_path(c, emu, sizeof(emu));
	fputs("<domainCapabilities>\n  <path>", f);
	put_escaped(f, emu);
	fprintf(f, "</path>\n  <domain>kvm</domain>\n  <arch>x86_64</arch>\n"
		"  <vcpu max='%u'/>\n  <iothreads supported='no'/>\n"
		"  <os supported='yes'>\n    <loader supported='no'/>\n  </os>\n",
		khv_conn_get_max_vcpus(c));
	put_cpu_modes(c, f);
	put_devices(f);
	fputs("</domainCapabilities>\n", f);
	return finish(f, &buf);
}
