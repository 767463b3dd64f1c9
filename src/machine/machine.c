/* Assembling the machine from the config tree.  Order matters: everything
 * that can be checked without KVM (sizes, files, device options) is
 * checked first, so bad input creates nothing. */
#include "machine/machine.h"
#include "machine/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "hw/acpi_pm.h"
#include "hw/chardev.h"
#include "hw/fw.h"
#include "hw/i8042.h"
#include "hw/layout.h"
#include "hw/rtc.h"
#include "hw/uart8250.h"
#include "lib/config.h"
#include "lib/evloop.h"
#include "lib/log.h"
#include "machine/uuid.h"
#include "vmm/cpumodel.h"

#define MEM_ALIGN	(2ULL << 20)

static const struct { uint16_t port; uint8_t irq; } com_hw[MACHINE_COMS] = {
	{ LAYOUT_COM1_PORT, LAYOUT_COM13_IRQ }, { LAYOUT_COM2_PORT, LAYOUT_COM24_IRQ },
	{ LAYOUT_COM3_PORT, LAYOUT_COM13_IRQ }, { LAYOUT_COM4_PORT, LAYOUT_COM24_IRQ },
};

static int cfg_bool(struct machine *m, const char *var, bool dflt, bool *out)
{
	if (config_get_bool(m->cfg, var, dflt, out)) {
		log_error("%s=%s: not a boolean (true/false)", var, config_get(m->cfg, var));
		return -EINVAL;
	}
	return 0;
}

static int cfg_uint(struct machine *m, const char *var, int64_t dflt, int64_t max, unsigned *out)
{
	int64_t v;

	if (config_get_int(m->cfg, var, dflt, 1, max, &v)) {
		log_error("%s=%s: must be a number from 1 to %lld", var, config_get(m->cfg, var),
			  (long long)max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int read_topology(struct machine *m)
{
	static const char *const vars[4] = { "cpus", "sockets", "cores", "threads" };
	struct vm_topology *t = &m->params.topo;
	unsigned long n[4] = { 0 };
	bool given[4];
	unsigned out[4], v;
	const char *why;

	for (unsigned i = 0; i < 4; i++) {
		given[i] = config_isset(m->cfg, vars[i]);
		if (given[i] && cfg_uint(m, vars[i], 1, KHYVE_MAXCPUS, &v))
			return -EINVAL;
		n[i] = given[i] ? v : 0;
	}
	if (topology_resolve(n, given, out, &why)) {
		log_error("cpu topology (cpus=%s sockets=%s cores=%s threads=%s): %s",
			  config_get(m->cfg, "cpus") ?: "-", config_get(m->cfg, "sockets") ?: "-",
			  config_get(m->cfg, "cores") ?: "-", config_get(m->cfg, "threads") ?: "-",
			  why);
		return -EINVAL;
	}
	*t = (struct vm_topology){ .cpus = out[0], .sockets = out[1], .cores = out[2],
				   .threads = out[3] };
	return 0;
}

static int read_memory(struct machine *m)
{
	const char *s = config_get(m->cfg, "memory.size");
	uint64_t bytes;

	if (parse_memsize(s ? s : "256M", &bytes)) {
		log_error("memory.size=%s: not a memory size (e.g. 512M, 2G)", s);
		return -EINVAL;
	}
	/* Boot area, page tables and firmware need the first megabytes. */
	if (bytes < 4 * MEM_ALIGN) {
		log_error("memory.size=%s: khyve needs at least 8M of guest memory", s);
		return -EINVAL;
	}
	m->params.mem_size = (bytes + MEM_ALIGN - 1) & ~(MEM_ALIGN - 1);
	return 0;
}

static int read_cpuset(struct machine *m, unsigned vcpu, cpu_set_t *set, bool *pinned)
{
	char var[40], *copy, *tok, *save = NULL;
	const char *s;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int rc = 0;

	snprintf(var, sizeof(var), "vcpu.%u.cpuset", vcpu);
	s = config_get(m->cfg, var);
	*pinned = s != NULL;
	CPU_ZERO(set);
	if (!s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	/* "2", "0-3", "1,4-5" as bhyve's parse_cpuset accepts. */
	for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long lo = strtol(tok, &end, 10), hi = lo;

		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (*end || end == tok || lo < 0 || hi < lo || hi >= ncpu || hi >= CPU_SETSIZE) {
			log_error("%s=%s: not a list of host CPUs 0-%ld", var, s, ncpu - 1);
			rc = -EINVAL;
		}
		for (long c = lo; !rc && c <= hi; c++)
			CPU_SET((int)c, set);
	}
	free(copy);
	return rc;
}

/* cpu.model: a named model (vmm/cpumodel.h); "host" is the default. */
static int read_cpu_model(struct machine *m)
{
	const char *name = config_get(m->cfg, "cpu.model");

	if (!name)
		return 0;
	if (!(m->params.cpu_model = cpumodel_find(name))) {
		log_error("cpu.model=%s: unknown CPU model (khyve has %s)", name, cpumodel_names());
		return -EINVAL;
	}
	return 0;
}

static int read_params(struct machine *m)
{
	bool strictmsr = true, use_localtime = true;
	const char *uuid;
	int rc;

	m->name = config_get(m->cfg, "name");
	rc = read_topology(m);
	if (!rc)
		rc = read_memory(m);
	if (!rc)
		rc = cfg_bool(m, "x86.x2apic", false, &m->params.x2apic);
	if (!rc)
		rc = cfg_bool(m, "memory.wired", false, &m->params.wired);
	if (!rc)
		rc = cfg_bool(m, "memory.guest_in_core", false, &m->params.guest_in_core);
	if (!rc)
		rc = cfg_bool(m, "x86.strictmsr", true, &strictmsr);
	if (!rc)
		rc = cfg_bool(m, "x86.strictio", false, &m->strictio);
	if (!rc)
		rc = cfg_bool(m, "rtc.use_localtime", true, &use_localtime);
	if (!rc)
		rc = cfg_bool(m, "x86.mptable", true, &m->mptable);
	if (rc)
		return rc;
	m->params.ignore_unknown_msrs = !strictmsr;
	if ((rc = read_cpu_model(m)))
		return rc;
	m->rtc_utc = !use_localtime;
	uuid = config_get(m->cfg, "uuid");
	if (uuid && uuid_parse_str(uuid, m->uuid)) {
		log_error("uuid=%s: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", uuid);
		return -EINVAL;
	}
	rc = uuid ? 0 : uuid_for_vm(m->name, m->uuid);
	if (rc)
		log_error("deriving the SMBIOS UUID from the host name: %s (give one with -U)",
			  strerror(-rc));
	return rc;
}

static bool have_lpc(struct machine *m)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++) {
		char var[40];
		const char *dev;

		snprintf(var, sizeof(var), "pci.0.%u.0.device", s);
		dev = config_get(m->cfg, var);
		if (dev && !strcmp(dev, "lpc"))
			return true;
	}
	return false;
}

static int check_lpc_devices(struct machine *m)
{
	for (unsigned i = 0; i < MACHINE_COMS; i++) {
		char var[32];

		snprintf(var, sizeof(var), "lpc.com%u.path", i + 1);
		if (config_get(m->cfg, var) && !have_lpc(m)) {
			log_error("-l com%u needs the LPC bridge: add -s 31,lpc", i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int probe_boot(struct machine *m)
{
	char err[512];
	uint64_t lowmem = m->params.mem_size < LAYOUT_LOWMEM_LIMIT ? m->params.mem_size
								   : LAYOUT_LOWMEM_LIMIT;
	int rc;

	m->boot.kernel_path = config_get(m->cfg, "boot.kernel");
	m->boot.initrd_path = config_get(m->cfg, "boot.initrd");
	m->boot.cmdline = config_get(m->cfg, "boot.cmdline");
	rc = boot_probe(&m->boot, lowmem, err, sizeof(err));
	if (rc)
		log_error("%s", err);
	return rc;
}

static void machine_irq_set(void *opaque, unsigned gsi, int level)
{
	struct machine *m = opaque;
	static int once;

	if (vm_irq_line(&m->vm, gsi, level) < 0)
		log_error_once(&once, "raising IRQ %u: %s", gsi, strerror(errno));
}

/* Exits the guest asks for (ACPI S5, resets). */
static void machine_exit_sink(void *opaque, enum vm_exit_code code)
{
	struct machine *m = opaque;

	if (code == VM_EXIT_POWEROFF && atomic_load(&m->reboot_on_poweroff))
		code = VM_EXIT_RESET;
	machine_request_exit(m, code);
}

static int add_pio(struct machine *m, uint16_t port, uint16_t len, const struct io_ops *ops,
		   void *dev)
{
	int rc = io_bus_add(&m->pio, port, len, ops, dev);

	if (rc)
		log_error("I/O ports 0x%x-0x%x (%s): %s", port, port + len - 1, ops->name,
			  strerror(-rc));
	return rc;
}

/* Port 0x80: POST codes and Linux's io_delay; accepted and dropped. */
static uint64_t post_read(void *dev, uint64_t off, unsigned size) { return 0xff; }
static void post_write(void *dev, uint64_t off, unsigned size, uint64_t v) { }
static const struct io_ops post_ops = { .name = "post", .read = post_read, .write = post_write };

/* 0xCF8-0xCFB is PCI's config address as a dword and, as a byte at 0xCF9,
 * the reset control register: chipsets decode it by access width. */
static uint64_t cf8_read(void *dev, uint64_t off, unsigned size)
{
	struct machine *m = dev;

	if (size == 1 && off == LAYOUT_RESET_PORT - LAYOUT_PCI_CONFIG_ADDR)
		return acpi_reset_ops.read(m->pm, 0, 1);
	return pci_cfg_addr_ops.read(&m->pci, off, size);
}

static void cf8_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	struct machine *m = dev;

	if (size == 1 && off == LAYOUT_RESET_PORT - LAYOUT_PCI_CONFIG_ADDR)
		acpi_reset_ops.write(m->pm, 0, 1, v);
	else
		pci_cfg_addr_ops.write(&m->pci, off, size, v);
}

static const struct io_ops cf8_ops = { .name = "pci-cfg-addr/reset", .read = cf8_read,
				       .write = cf8_write };

static int create_coms(struct machine *m)
{
	for (unsigned i = 0; i < MACHINE_COMS; i++) {
		char var[32], label[8];
		const char *spec;
		int rc;

		snprintf(var, sizeof(var), "lpc.com%u.path", i + 1);
		spec = config_get(m->cfg, var);
		if (!spec)
			continue;
		snprintf(label, sizeof(label), "com%u", i + 1);
		m->uart[i] = uart8250_new(&m->irq[com_hw[i].irq]);
		if (!m->uart[i])
			return -ENOMEM;
		rc = add_pio(m, com_hw[i].port, 8, &uart8250_ops, m->uart[i]);
		if (!rc)
			rc = chardev_open(spec, label, m->loop, &m->chr[i]);
		if (rc)
			return rc;
		chardev_attach_uart(m->chr[i], m->uart[i]);
	}
	return 0;
}

static int create_isa_devices(struct machine *m)
{
	int rc;

	m->kbd = i8042_new(&m->irq[LAYOUT_I8042_KBD_IRQ], &m->irq[LAYOUT_I8042_AUX_IRQ],
			   &m->exit_sink);
	m->rtc = rtc_new(&m->irq[LAYOUT_RTC_IRQ], m->rtc_utc, m->vm.lowmem, m->vm.highmem);
	m->pm = acpi_pm_new(&m->irq[LAYOUT_SCI_IRQ], &m->exit_sink);
	if (!m->kbd || !m->rtc || !m->pm) {
		log_error("creating platform devices: out of memory");
		return -ENOMEM;
	}
	rc = rtc_attach_loop(m->rtc, m->loop);
	if (rc)
		log_error("rtc: attaching its timer: %s", strerror(-rc));
	if (!rc)
		rc = add_pio(m, LAYOUT_I8042_DATA_PORT, 1, &i8042_data_ops, m->kbd);
	if (!rc)
		rc = add_pio(m, LAYOUT_I8042_CMD_PORT, 1, &i8042_cmd_ops, m->kbd);
	if (!rc)
		rc = add_pio(m, LAYOUT_RTC_PORT, 2, &rtc_ops, m->rtc);
	if (!rc)
		rc = add_pio(m, LAYOUT_PM1A_EVT_PORT, LAYOUT_PM1A_EVT_LEN, &acpi_pm_evt_ops, m->pm);
	if (!rc)
		rc = add_pio(m, LAYOUT_PM1A_CNT_PORT, LAYOUT_PM1A_CNT_LEN, &acpi_pm_cnt_ops, m->pm);
	if (!rc)
		rc = add_pio(m, LAYOUT_PM_TMR_PORT, LAYOUT_PM_TMR_LEN, &acpi_pm_tmr_ops, m->pm);
	if (!rc)
		rc = add_pio(m, LAYOUT_PCI_CONFIG_ADDR, 4, &cf8_ops, m);
	if (!rc)
		rc = add_pio(m, 0x80, 1, &post_ops, NULL);
	if (!rc)
		rc = create_coms(m);
	return rc;
}

static void *machine_gpa(void *opaque, uint64_t gpa, uint64_t len)
{
	struct machine *m = opaque;

	return vm_gpa(&m->vm, gpa, len);
}

static int machine_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;

	return vm_signal_msi(&m->vm, addr, data);
}

static void machine_intx(void *opaque, unsigned gsi, int level)
{
	machine_irq_set(opaque, gsi, level);
}

static int create_buses(struct machine *m)
{
	char err[256];
	int rc;

	rc = io_bus_init(&m->pio, "pio");
	if (!rc)
		rc = io_bus_init(&m->mmio, "mmio");
	if (!rc)
		rc = pci_bus_init(&m->pci, &m->pio, &m->mmio, m);
	if (rc) {
		log_error("creating buses: %s", strerror(-rc));
		return rc;
	}
	m->pci_ready = true;
	m->pci.platform = (struct pci_platform){ machine_gpa, machine_msi, machine_intx, m };
	rc = pci_bus_populate(&m->pci, m->cfg, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc;
	}
	return add_pio(m, LAYOUT_PCI_CONFIG_DATA, 4, &pci_cfg_data_ops, &m->pci);
}

static int fw_window(struct machine *m, uint64_t gpa, uint64_t len, struct fw_window *w)
{
	w->hva = vm_gpa(&m->vm, gpa, len);
	w->gpa = gpa;
	w->len = len;
	return w->hva ? 0 : -EFAULT;
}

static int build_firmware(struct machine *m, uint64_t *rsdp)
{
	struct fw_info info = { .ncpus = m->params.topo.cpus, .lowmem = m->vm.lowmem,
				.highmem = m->vm.highmem, .x2apic = m->params.x2apic,
				.vmname = m->name };
	struct fw_window w;
	int rc;

	memcpy(info.uuid, m->uuid, sizeof(info.uuid));
	for (unsigned i = 0; i < MACHINE_COMS; i++)
		if (m->uart[i])
			info.com_mask |= 1u << i;
	rc = fw_window(m, LAYOUT_ACPI_BASE, LAYOUT_ACPI_SIZE, &w);
	if (!rc)
		rc = acpi_build(&w, &info, rsdp);
	if (!rc && m->mptable && !(rc = fw_window(m, LAYOUT_MPTABLE_BASE, LAYOUT_MPTABLE_SIZE, &w)))
		rc = mptable_build(&w, &info);
	if (!rc && !(rc = fw_window(m, LAYOUT_SMBIOS_BASE, LAYOUT_SMBIOS_SIZE, &w)))
		rc = smbios_build(&w, &info);
	if (rc)
		log_error("building firmware tables: %s", strerror(-rc));
	return rc;
}

static int load_guest(struct machine *m)
{
	struct vcpu_boot b = { 0 };
	uint64_t rsdp = 0;
	char err[512];
	int rc = build_firmware(m, &rsdp);

	if (rc)
		return rc;
	rc = boot_load(&m->boot, &m->vm, rsdp, &b, err, sizeof(err));
	if (rc) {
		log_error("%s", err);
		return rc;
	}
	rc = vcpu_set_boot_state(&m->vm.vcpus[0], &b);
	if (rc)
		log_error("setting the boot vCPU's registers: %s", strerror(-rc));
	return rc;
}

static int create_vm(struct machine *m)
{
	char err[512];
	int rc = vm_create(&m->vm, &m->params, err, sizeof(err));

	if (rc) {
		log_error("%s", err);
		return rc;
	}
	m->vm_created = true;
	for (unsigned i = 0; i < LAYOUT_IRQS_USED; i++)
		m->irq[i] = (struct irq_line){ machine_irq_set, m, i };
	m->exit_sink = (struct vm_exit_sink){ machine_exit_sink, m };
	return 0;
}

static int prepare_threads(struct machine *m)
{
	m->threads = calloc(m->params.topo.cpus, sizeof(*m->threads));
	if (!m->threads)
		return -ENOMEM;
	for (unsigned i = 0; i < m->params.topo.cpus; i++) {
		int rc = read_cpuset(m, i, &m->threads[i].cpuset, &m->threads[i].pinned);

		if (rc)
			return rc;
		m->threads[i].m = m;
	}
	return 0;
}

static int restore_guest(struct machine *m, const struct ckpt_image *img)
{
	char err[512];
	int rc = machine_restore(m, img, err, sizeof(err));

	if (rc)
		log_error("cannot restore the checkpoint: %s", err);
	return rc;
}

int machine_build(struct machine *m, struct config *cfg, int mem_fd,
		  const struct ckpt_image *restore)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->restoring = restore != NULL;
	m->cfg = cfg;
	m->params.mem_fd = mem_fd;
	m->boot.kernel_fd = m->boot.initrd_fd = -1;
	m->wake_fd = m->signal_fd = m->halt_timer_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->pause_cond, NULL);
	rc = read_params(m);
	if (!rc)
		rc = prepare_threads(m);
	if (!rc)
		rc = check_lpc_devices(m);
	if (!rc && !m->restoring)
		rc = probe_boot(m);
	if (rc)
		return rc;
	m->loop = evloop_new();
	if (!m->loop) {
		log_error("creating the event loop: %s", strerror(errno));
		return -errno;
	}
	/* PCI devices check their options without the VM (they reach guest
	 * memory and interrupts only at run time): bad device options fail
	 * before /dev/kvm is opened. */
	rc = create_buses(m);
	if (!rc)
		rc = create_vm(m);
	if (!rc)
		rc = create_isa_devices(m);
	if (!rc)
		rc = m->restoring ? restore_guest(m, restore) : load_guest(m);
	for (unsigned i = 0; !rc && i < m->params.topo.cpus; i++)
		m->threads[i].vcpu = &m->vm.vcpus[i];
	return rc;
}

void machine_destroy(struct machine *m)
{
	/* Terminal state first, so an error below still leaves a usable tty. */
	for (unsigned i = 0; i < MACHINE_COMS; i++)
		if (m->chr[i])
			chardev_close(m->chr[i]);
	for (unsigned i = 0; i < MACHINE_COMS; i++)
		if (m->uart[i])
			uart8250_free(m->uart[i]);
	if (m->kbd)
		i8042_free(m->kbd);
	if (m->rtc)
		rtc_free(m->rtc);
	if (m->pm)
		acpi_pm_free(m->pm);
	if (m->pci_ready)
		pci_bus_destroy(&m->pci);
	if (m->pio.name)
		io_bus_destroy(&m->pio);
	if (m->mmio.name)
		io_bus_destroy(&m->mmio);
	if (m->vm_created)
		vm_destroy(&m->vm);
	if (m->loop)
		evloop_free(m->loop);
	boot_files_close(&m->boot);
	free(m->threads);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->pause_cond);
	memset(m, 0, sizeof(*m));
}
