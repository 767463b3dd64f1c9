/* The control socket's requests, served on the machine's event loop
 * thread: see src/ipc/ipc.h for the messages.  vCPU state is only touched
 * with every vCPU parked out of KVM_RUN (machine_pause). */
#include "machine/control.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "hw/acpi_pm.h"
#include "machine/checkpoint.h"
#include "hw/rtc.h"
#include "virtio/blk.h"
#include "virtio/net.h"

static void fail(struct ipc_reply *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct ipc_reply *r, int err, const char *fmt, ...)
{
	va_list ap;

	r->status = err;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* ---- registers ---- */

struct cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dregs;
};

static int read_state(struct vcpu *v, struct cpu_state *s)
{
	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_DEBUGREGS, &s->dregs) < 0)
		return -errno;
	return 0;
}

static int write_state(struct vcpu *v, const struct cpu_state *s)
{
	if (ioctl(v->fd, KVM_SET_REGS, &s->regs) < 0 ||
	    ioctl(v->fd, KVM_SET_SREGS, &s->sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_DEBUGREGS, &s->dregs) < 0)
		return -errno;
	return 0;
}

/* Where each register lives in the KVM structures; selectors are 16-bit. */
static __u64 *reg_slot(struct cpu_state *s, enum ipc_reg r, bool *is_selector)
{
	struct kvm_regs *g = &s->regs;
	struct kvm_sregs *sr = &s->sregs;
	__u64 *gprs[] = {
		&g->rax, &g->rbx, &g->rcx, &g->rdx, &g->rsi, &g->rdi, &g->rbp, &g->rsp,
		&g->r8, &g->r9, &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15,
		&g->rip, &g->rflags,
	};

	*is_selector = false;
	if (r <= IPC_REG_RFLAGS)
		return gprs[r];
	switch (r) {
	case IPC_REG_CR0: return &sr->cr0;
	case IPC_REG_CR2: return &sr->cr2;
	case IPC_REG_CR3: return &sr->cr3;
	case IPC_REG_CR4: return &sr->cr4;
	case IPC_REG_DR7: return &s->dregs.dr7;
	case IPC_REG_EFER: return &sr->efer;
	case IPC_REG_FS_BASE: return &sr->fs.base;
	case IPC_REG_GS_BASE: return &sr->gs.base;
	case IPC_REG_GDTR_BASE: return &sr->gdt.base;
	case IPC_REG_IDTR_BASE: return &sr->idt.base;
	default:
		break;
	}
	*is_selector = true;
	return NULL;
}

static struct kvm_segment *segment(struct cpu_state *s, enum ipc_reg r)
{
	switch (r) {
	case IPC_REG_CS: return &s->sregs.cs;
	case IPC_REG_DS: return &s->sregs.ds;
	case IPC_REG_ES: return &s->sregs.es;
	case IPC_REG_FS: return &s->sregs.fs;
	case IPC_REG_GS: return &s->sregs.gs;
	case IPC_REG_SS: return &s->sregs.ss;
	case IPC_REG_TR: return &s->sregs.tr;
	default: return &s->sregs.ldt;
	}
}

static void do_reg(struct machine *m, const struct ipc_request *q, struct ipc_reply *r)
{
	struct cpu_state s;
	bool sel;
	__u64 *slot;
	int rc;

	if (q->cpu >= m->params.topo.cpus) {
		fail(r, EINVAL, "no vCPU %u (the VM has %u)", q->cpu, m->params.topo.cpus);
		return;
	}
	if ((rc = machine_pause(m))) {
		fail(r, -rc, "the VM is stopping");
		return;
	}
	rc = read_state(&m->vm.vcpus[q->cpu], &s);
	if (!rc) {
		slot = reg_slot(&s, q->reg, &sel);
		if (q->type == IPC_GET_REG)
			r->value = sel ? segment(&s, q->reg)->selector : *slot;
		else if (sel)
			segment(&s, q->reg)->selector = (uint16_t)q->value;
		else
			*slot = q->value;
		if (q->type == IPC_SET_REG)
			rc = write_state(&m->vm.vcpus[q->cpu], &s);
	}
	machine_resume(m);
	if (rc)
		fail(r, -rc, "vCPU %u: %s %s: %s", q->cpu, q->type == IPC_GET_REG ? "reading" :
		     "writing", ipc_reg_name(q->reg), strerror(-rc));
}

/* ---- statistics ---- */

struct stats_out {
	struct ipc_stat *s;
	unsigned n;
};

static void stat(struct stats_out *o, uint64_t value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void stat(struct stats_out *o, uint64_t value, const char *fmt, ...)
{
	va_list ap;

	if (o->n >= IPC_MAX_STATS)
		return;
	va_start(ap, fmt);
	vsnprintf(o->s[o->n].name, IPC_STAT_NAME, fmt, ap);
	va_end(ap);
	o->s[o->n++].value = value;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void disk_stats(struct pci_dev *d, unsigned s, unsigned f, struct stats_out *o)
{
	struct blockif_stats b;

	if (virtio_blk_stats(d, &b))
		return;
	stat(o, b.rd_reqs, "blk.%u.%u.rd_reqs", s, f);
	stat(o, b.rd_bytes, "blk.%u.%u.rd_bytes", s, f);
	stat(o, b.rd_ns, "blk.%u.%u.rd_total_ns", s, f);
	stat(o, b.wr_reqs, "blk.%u.%u.wr_reqs", s, f);
	stat(o, b.wr_bytes, "blk.%u.%u.wr_bytes", s, f);
	stat(o, b.wr_ns, "blk.%u.%u.wr_total_ns", s, f);
	stat(o, b.flush_reqs, "blk.%u.%u.flush_reqs", s, f);
	stat(o, b.flush_ns, "blk.%u.%u.flush_total_ns", s, f);
	stat(o, b.discard_reqs, "blk.%u.%u.discard_reqs", s, f);
	stat(o, b.zero_reqs, "blk.%u.%u.write_zeroes_reqs", s, f);
	stat(o, b.errors, "blk.%u.%u.errors", s, f);
}

static void net_stats(struct pci_dev *d, unsigned s, unsigned f, struct stats_out *o)
{
	struct virtio_net_stats n;

	if (virtio_net_stats(d, &n))
		return;
	stat(o, n.rx_packets, "net.%u.%u.rx_packets", s, f);
	stat(o, n.rx_bytes, "net.%u.%u.rx_bytes", s, f);
	stat(o, n.rx_errors, "net.%u.%u.rx_errors", s, f);
	stat(o, n.rx_dropped, "net.%u.%u.rx_dropped", s, f);
	stat(o, n.tx_packets, "net.%u.%u.tx_packets", s, f);
	stat(o, n.tx_bytes, "net.%u.%u.tx_bytes", s, f);
	stat(o, n.tx_errors, "net.%u.%u.tx_errors", s, f);
	stat(o, n.tx_dropped, "net.%u.%u.tx_dropped", s, f);
}

/* The counters of every device that keeps some, named by its address. */
static void device_stats(struct machine *m, struct stats_out *o)
{
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			struct pci_dev *d = m->pci.dev[s][f];

			if (!d)
				continue;
			disk_stats(d, s, f, o);
			net_stats(d, s, f, o);
		}
}

/* Each vCPU thread's id and CPU time, for vcpuinfo and cpu-stats. */
static void vcpu_times(struct machine *m, struct stats_out *o)
{
	for (unsigned c = 0; c < m->params.topo.cpus; c++) {
		struct vcpu_thread *t = &m->threads[c];
		struct timespec ts;
		clockid_t clk;

		if (!t->started)
			continue;
		stat(o, (uint64_t)atomic_load(&t->tid), "vcpu%u.tid", c);
		if (pthread_getcpuclockid(t->thread, &clk) == 0 && clock_gettime(clk, &ts) == 0)
			stat(o, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
			     "vcpu%u.cpu_time_ns", c);
	}
}

static void do_stats(struct machine *m, struct ipc_reply *r, struct ipc_stat *buf)
{
	static const char *const names[VCPU_STATS] = {
		"exits", "io_exits", "mmio_exits", "msr_exits", "signal_exits", "nmis",
	};
	struct stats_out o = { buf, 0 };

	stat(&o, (now_ns() - m->start_ns) / 1000000u, "uptime_ms");
	stat(&o, m->params.mem_size, "memory_bytes");
	stat(&o, m->params.topo.cpus, "vcpus");
	for (unsigned c = 0; c < m->params.topo.cpus; c++)
		for (unsigned i = 0; i < VCPU_STATS; i++)
			stat(&o, atomic_load_explicit(&m->threads[c].stats[i], memory_order_relaxed),
			     "vcpu%u.%s", c, names[i]);
	vcpu_times(m, &o);
	device_stats(m, &o);
	r->nstats = o.n;
	r->stats = buf;
}

/* ---- the rest ---- */

static void do_info(struct machine *m, struct ipc_reply *r)
{
	struct ipc_info *i = &r->info;

	snprintf(i->name, sizeof(i->name), "%s", m->name);
	i->pid = (uint32_t)getpid();
	i->monitor_pid = (uint32_t)m->monitor_pid;
	i->uid = (uint32_t)m->owner;
	i->state = m->user_paused ? IPC_STATE_PAUSED : IPC_STATE_RUNNING;
	i->vcpus = m->params.topo.cpus;
	i->memory = m->params.mem_size;
	i->flags = m->vm_flags;
}

static void do_pause(struct machine *m, bool pause, struct ipc_reply *r)
{
	int rc;

	if (pause == m->user_paused) {
		fail(r, EALREADY, "the VM is already %s", pause ? "paused" : "running");
		return;
	}
	if (!pause) {
		m->user_paused = false;
		machine_resume(m);
		return;
	}
	rc = machine_pause(m);
	if (rc)
		fail(r, -rc, "the VM is stopping");
	else
		m->user_paused = true;
}

static void do_read_mem(struct machine *m, const struct ipc_request *q, struct ipc_reply *r,
			uint8_t *data)
{
	const void *p = vm_gpa(&m->vm, q->gpa, q->len);

	if (!p) {
		fail(r, EFAULT, "0x%llx+%u is not guest RAM", (unsigned long long)q->gpa, q->len);
		return;
	}
	memcpy(data, p, q->len);
	r->len = q->len;
	r->data = data;
}

static void do_checkpoint(struct machine *m, const struct ipc_request *q, struct ipc_reply *r)
{
	char err[IPC_MAX_TEXT];
	int rc;

	if (q->fd < 0) {
		fail(r, EBADF, "no directory descriptor came with the request");
		return;
	}
	rc = machine_checkpoint(m, q->fd, q->file, q->flags & IPC_CHECKPOINT_SUSPEND,
				q->flags & IPC_CHECKPOINT_FORCE, NULL, err, sizeof(err));
	if (rc)
		fail(r, -rc, "%s", err);
}

void machine_control(void *opaque, const struct ipc_request *q, struct ipc_reply *r,
		     uint8_t *data, struct ipc_stat *stats)
{
	struct machine *m = opaque;

	switch (q->type) {
	case IPC_GET_INFO:
		do_info(m, r);
		break;
	case IPC_GET_VM_PID:
		r->pid = (uint32_t)getpid();
		r->monitor_pid = (uint32_t)m->monitor_pid;
		break;
	case IPC_DESTROY:
		machine_request_exit(m, VM_EXIT_ERROR);	/* bhyve: a destroyed VM exits 4 */
		break;
	case IPC_FORCE_RESET:
		machine_request_exit(m, VM_EXIT_RESET);
		break;
	case IPC_FORCE_POWEROFF:
		machine_request_exit(m, VM_EXIT_POWEROFF);
		break;
	case IPC_ACPI_SHUTDOWN:
		acpi_pm_power_button(m->pm);
		break;
	case IPC_ACPI_REBOOT:
		/* ACPI has no reboot button: the guest shuts down as for the
		 * power button, and its poweroff ends this boot as a reset, so
		 * a monitor boots it again (libvirt's bhyve reboot flag). */
		atomic_store(&m->reboot_on_poweroff, true);
		acpi_pm_power_button(m->pm);
		break;
	case IPC_INJECT_NMI:
		if (machine_inject_nmi(m, q->cpu))
			fail(r, EINVAL, "no vCPU %u (the VM has %u)", q->cpu, m->params.topo.cpus);
		break;
	case IPC_PAUSE:
	case IPC_RESUME:
		do_pause(m, q->type == IPC_PAUSE, r);
		break;
	case IPC_GET_STATS:
		do_stats(m, r, stats);
		break;
	case IPC_GET_REG:
	case IPC_SET_REG:
		do_reg(m, q, r);
		break;
	case IPC_GET_RTC:
		r->seconds = rtc_get_time(m->rtc);
		break;
	case IPC_SET_RTC:
		rtc_set_time(m->rtc, q->seconds);
		break;
	case IPC_READ_MEM:
		do_read_mem(m, q, r, data);
		break;
	case IPC_CHECKPOINT:
		do_checkpoint(m, q, r);
		break;
	default:
		fail(r, ENOSYS, "unknown request");
		break;
	}
}
