/* KVM's share of a checkpoint: the in-kernel irqchip, PIT and clock, and
 * each vCPU's registers, MSRs, LAPIC and events, as sections of the state
 * file (src/snapshot/snapfile.h).  The kernel structures are fixed ABI on
 * x86-64 and go in as they are; their sizes are part of each section's
 * version, and a cursor refuses a section of any other length.
 *
 * The VM must be paused (no vCPU in KVM_RUN) for both directions. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "snapshot/snapfile.h"
#include "vmm/vmm.h"

#define VMSTATE_VERSION		1
#define MAX_MSRS		1024

static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && (errno == EINTR || errno == EAGAIN));
	return rc < 0 ? -errno : rc;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the VM: clock, PIC, IOAPIC, PIT ---- */

static const struct { const char *name; unsigned id; } chips[] = {
	{ "vm.pic-master", KVM_IRQCHIP_PIC_MASTER },
	{ "vm.pic-slave", KVM_IRQCHIP_PIC_SLAVE },
	{ "vm.ioapic", KVM_IRQCHIP_IOAPIC },
};

static int save_vm(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	struct kvm_clock_data clock = { 0 };
	struct kvm_pit_state2 pit;
	int rc;

	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		struct kvm_irqchip chip = { .chip_id = chips[i].id };

		if ((rc = xioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip)) < 0) {
			snprintf(err, errlen, "reading the %s: %s", chips[i].name + 3, strerror(-rc));
			return rc;
		}
		snap_begin(w, chips[i].name, VMSTATE_VERSION);
		snap_put(w, &chip, sizeof(chip));
		snap_end(w);
	}
	if ((rc = xioctl(vm->vm_fd, KVM_GET_PIT2, &pit)) < 0 ||
	    (rc = xioctl(vm->vm_fd, KVM_GET_CLOCK, &clock)) < 0) {
		snprintf(err, errlen, "reading the PIT and clock: %s", strerror(-rc));
		return rc;
	}
	snap_begin(w, "vm.pit", VMSTATE_VERSION);
	snap_put(w, &pit, sizeof(pit));
	snap_end(w);
	/* The wall time beside kvmclock lets restore advance the guest's
	 * clock by the time the checkpoint spent on disk. */
	snap_begin(w, "vm.clock", VMSTATE_VERSION);
	snap_put_u64(w, clock.clock);
	snap_put_u64(w, realtime_ns());
	snap_end(w);
	return 0;
}

/* The section `name`, checked for its version; its cursor in c. */
static int open_section(const struct snap_file *f, const char *name, struct snap_cursor *c,
			char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, name);

	if (!s) {
		snprintf(err, errlen, "section %s is missing", name);
		return -EPROTO;
	}
	if (s->version != VMSTATE_VERSION) {
		snprintf(err, errlen, "section %s has version %u, this khyve reads %u",
			 name, s->version, VMSTATE_VERSION);
		return -EPROTO;
	}
	snap_cursor_init(c, s);
	return 0;
}

static int section_end(const struct snap_cursor *c, const char *name, char *err, size_t errlen)
{
	if (snap_cursor_done(c))
		return 0;
	snprintf(err, errlen, "section %s has the wrong size", name);
	return -EPROTO;
}

static int restore_clock(struct vm *vm, const struct snap_file *f, char *err, size_t errlen)
{
	struct kvm_clock_data clock = { 0 };
	struct snap_cursor c;
	uint64_t saved_at, now;
	int rc;

	if ((rc = open_section(f, "vm.clock", &c, err, errlen)) < 0)
		return rc;
	clock.clock = snap_get_u64(&c);
	saved_at = snap_get_u64(&c);
	if ((rc = section_end(&c, "vm.clock", err, errlen)) < 0)
		return rc;
	now = realtime_ns();
	if (now > saved_at)
		clock.clock += now - saved_at;	/* the guest's clock catches up */
	if ((rc = xioctl(vm->vm_fd, KVM_SET_CLOCK, &clock)) < 0) {
		snprintf(err, errlen, "setting kvmclock: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static int restore_vm(struct vm *vm, const struct snap_file *f, char *err, size_t errlen)
{
	struct kvm_pit_state2 pit;
	struct snap_cursor c;
	int rc;

	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		struct kvm_irqchip chip;

		if ((rc = open_section(f, chips[i].name, &c, err, errlen)) < 0)
			return rc;
		snap_get(&c, &chip, sizeof(chip));
		if ((rc = section_end(&c, chips[i].name, err, errlen)) < 0)
			return rc;
		if (chip.chip_id != chips[i].id) {
			snprintf(err, errlen, "section %s holds chip %u", chips[i].name, chip.chip_id);
			return -EPROTO;
		}
		if ((rc = xioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip)) < 0) {
			snprintf(err, errlen, "restoring the %s: %s", chips[i].name + 3,
				 strerror(-rc));
			return rc;
		}
	}
	if ((rc = open_section(f, "vm.pit", &c, err, errlen)) < 0)
		return rc;
	snap_get(&c, &pit, sizeof(pit));
	if ((rc = section_end(&c, "vm.pit", err, errlen)) < 0)
		return rc;
	if ((rc = xioctl(vm->vm_fd, KVM_SET_PIT2, &pit)) < 0) {
		snprintf(err, errlen, "restoring the PIT: %s", strerror(-rc));
		return rc;
	}
	return restore_clock(vm, f, err, errlen);
}

/* ---- vCPUs ---- */

struct msr_list {
	unsigned n;
	uint32_t index[MAX_MSRS];
};

static struct kvm_msrs *msrs_alloc(unsigned n)
{
	return calloc(1, sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry));
}

/* The MSRs KVM saves and restores for a guest. */
static int msr_index_list(struct vm *vm, struct msr_list *out)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + MAX_MSRS * sizeof(l->indices[0]));
	int rc;

	if (!l)
		return -ENOMEM;
	l->nmsrs = MAX_MSRS;
	rc = xioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l);
	if (rc >= 0) {
		out->n = l->nmsrs;
		memcpy(out->index, l->indices, l->nmsrs * sizeof(l->indices[0]));
	}
	free(l);
	return rc < 0 ? rc : 0;
}

/* Reads every listed MSR this vCPU has.  KVM_GET_MSRS stops at the first
 * it cannot read (one the CPU lacks); that one is dropped and the rest
 * read again. */
static int read_msrs(struct vcpu *v, const struct msr_list *list, struct kvm_msrs **out)
{
	struct kvm_msrs *m = msrs_alloc(list->n);
	unsigned n = 0;
	int rc;

	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < list->n; i++)
		m->entries[n++].index = list->index[i];
	for (;;) {
		m->nmsrs = n;
		if ((rc = xioctl(v->fd, KVM_GET_MSRS, m)) < 0) {
			free(m);
			return rc;
		}
		if ((unsigned)rc == n)
			break;
		memmove(&m->entries[rc], &m->entries[rc + 1],
			(n - (unsigned)rc - 1) * sizeof(m->entries[0]));
		n--;
	}
	*out = m;
	return 0;
}

struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	/* struct kvm_xsave's region: that struct ends in a flexible array
	 * (for AMX's KVM_GET_XSAVE2) and cannot be a member. */
	uint32_t xsave[1024];
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs dregs;
};

static int read_vcpu(struct vcpu *v, struct vcpu_state *s)
{
	static const struct { unsigned long req; size_t off; } gets[] = {
		{ KVM_GET_REGS, offsetof(struct vcpu_state, regs) },
		{ KVM_GET_SREGS, offsetof(struct vcpu_state, sregs) },
		{ KVM_GET_XSAVE, offsetof(struct vcpu_state, xsave) },
		{ KVM_GET_XCRS, offsetof(struct vcpu_state, xcrs) },
		{ KVM_GET_LAPIC, offsetof(struct vcpu_state, lapic) },
		{ KVM_GET_VCPU_EVENTS, offsetof(struct vcpu_state, events) },
		{ KVM_GET_MP_STATE, offsetof(struct vcpu_state, mp) },
		{ KVM_GET_DEBUGREGS, offsetof(struct vcpu_state, dregs) },
	};
	int rc;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
		if ((rc = xioctl(v->fd, gets[i].req, (uint8_t *)s + gets[i].off)) < 0)
			return rc;
	return 0;
}

static void vcpu_section_name(char *buf, size_t len, unsigned id)
{
	snprintf(buf, len, "cpu.%u", id);
}

static int save_vcpu(struct vcpu *v, const struct msr_list *list, struct snap_writer *w,
		     char *err, size_t errlen)
{
	struct vcpu_state *s = malloc(sizeof(*s));
	struct kvm_msrs *msrs = NULL;
	char name[SNAP_NAME_MAX];
	int rc;

	if (!s)
		return -ENOMEM;
	rc = read_vcpu(v, s);
	if (rc == 0)
		rc = read_msrs(v, list, &msrs);
	if (rc < 0) {
		snprintf(err, errlen, "reading vCPU %u: %s", v->id, strerror(-rc));
		free(s);
		return rc;
	}
	vcpu_section_name(name, sizeof(name), v->id);
	snap_begin(w, name, VMSTATE_VERSION);
	snap_put(w, s, sizeof(*s));
	snap_put_u32(w, msrs->nmsrs);
	for (unsigned i = 0; i < msrs->nmsrs; i++) {
		snap_put_u32(w, msrs->entries[i].index);
		snap_put_u64(w, msrs->entries[i].data);
	}
	snap_end(w);
	free(msrs);
	free(s);
	return 0;
}

/* ---- nested virtualization ---- */

/* "cpu.N.nested": u32 size, then struct kvm_nested_state of that size (a
 * guest running its own VMs, or one that set up SVM/VMX, keeps them).
 * Only where this KVM nests; KVM checks the contents on restore. */
static void nested_section_name(char *buf, size_t len, unsigned id)
{
	snprintf(buf, len, "cpu.%u.nested", id);
}

static int save_nested(struct vm *vm, struct vcpu *v, struct snap_writer *w)
{
	struct kvm_nested_state *ns;
	char name[SNAP_NAME_MAX];
	int rc;

	if (!vm->nested_state_max)
		return 0;
	if (!(ns = calloc(1, vm->nested_state_max)))
		return -ENOMEM;
	ns->size = vm->nested_state_max;
	rc = xioctl(v->fd, KVM_GET_NESTED_STATE, ns);
	if (rc >= 0 && (ns->size < sizeof(*ns) || ns->size > vm->nested_state_max))
		rc = -EIO;
	if (rc >= 0) {
		nested_section_name(name, sizeof(name), v->id);
		snap_begin(w, name, VMSTATE_VERSION);
		snap_put_u32(w, ns->size);
		snap_put(w, ns, ns->size);
		snap_end(w);
		rc = 0;
	}
	free(ns);
	return rc;
}

/* Anything beyond the header (a VMCB/VMCS), a nested guest running or
 * about to, or VMXON done: state a KVM without nesting would lose. */
static bool nested_in_use(const struct kvm_nested_state *ns)
{
	if (ns->size > sizeof(*ns) ||
	    (ns->flags & (KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING)))
		return true;
	return ns->format == KVM_STATE_NESTED_FORMAT_VMX && ns->hdr.vmx.vmxon_pa != UINT64_MAX;
}

/* The saved nested state of vCPU v, NULL (and 0) when there is none or
 * it says nothing (nested_in_use) and this KVM does not nest.  Otherwise *out is to be freed. */
static int load_nested(struct vm *vm, struct vcpu *v, const struct snap_file *f,
		       struct kvm_nested_state **out, char *err, size_t errlen)
{
	char name[SNAP_NAME_MAX];
	struct kvm_nested_state *ns;
	struct snap_cursor c;
	uint32_t size;
	int rc;

	*out = NULL;
	nested_section_name(name, sizeof(name), v->id);
	if (!snap_find(f, name))
		return 0;
	if ((rc = open_section(f, name, &c, err, errlen)) < 0)
		return rc;
	size = snap_get_u32(&c);
	if (c.bad || size < sizeof(*ns) || size != c.left || !(ns = malloc(size))) {
		snprintf(err, errlen, "section %s: %u bytes of nested state", name, size);
		return -EPROTO;
	}
	snap_get(&c, ns, size);
	if (ns->size != size) {
		snprintf(err, errlen, "section %s: its nested state says %u bytes, not %u", name,
			 ns->size, size);
		free(ns);
		return -EPROTO;
	}
	if (!vm->nested_state_max && !nested_in_use(ns)) {
		free(ns);
		return 0;
	}
	if (size > vm->nested_state_max) {
		snprintf(err, errlen, "vCPU %u ran nested guests, which this host's KVM cannot "
			 "take back (%s)", v->id, vm->nested_state_max ? "too large" :
			 "no nested virtualization");
		free(ns);
		return -EPROTO;
	}
	*out = ns;
	return 0;
}

static int write_msrs(struct vcpu *v, const struct kvm_msrs *m)
{
	int rc = m->nmsrs ? xioctl(v->fd, KVM_SET_MSRS, (void *)m) : 0;

	if (rc >= 0 && (unsigned)rc != m->nmsrs)
		rc = -EINVAL;	/* an MSR this host's KVM does not take */
	return rc < 0 ? rc : 0;
}

/* Firecracker's order: the system registers (with the APIC base) before
 * the LAPIC, the LAPIC before the MSRs (the TSC deadline means something
 * only in the LAPIC's deadline mode), the pending events last. */
static int write_vcpu(struct vcpu *v, const struct vcpu_state *s, const struct kvm_msrs *msrs,
		      const struct kvm_nested_state *nested, const char **what)
{
	int rc;

#define STEP(req, arg, name) \
	do { *what = name; if ((rc = xioctl(v->fd, req, (void *)(arg))) < 0) return rc; } while (0)
	STEP(KVM_SET_MP_STATE, &s->mp, "MP state");
	STEP(KVM_SET_REGS, &s->regs, "registers");
	STEP(KVM_SET_SREGS, &s->sregs, "system registers");
	/* After EFER (SVME/VMXE) is set, before the rest, as QEMU does. */
	if (nested)
		STEP(KVM_SET_NESTED_STATE, nested, "nested state");
	STEP(KVM_SET_XSAVE, &s->xsave, "XSAVE state");
	STEP(KVM_SET_XCRS, &s->xcrs, "XCRs");
	STEP(KVM_SET_DEBUGREGS, &s->dregs, "debug registers");
	STEP(KVM_SET_LAPIC, &s->lapic, "LAPIC");
	*what = "MSRs";
	if ((rc = write_msrs(v, msrs)) < 0)
		return rc;
	STEP(KVM_SET_VCPU_EVENTS, &s->events, "events");
#undef STEP
	return 0;
}

static int restore_vcpu(struct vm *vm, struct vcpu *v, const struct snap_file *f, char *err,
			size_t errlen)
{
	struct vcpu_state *s = malloc(sizeof(*s));
	struct kvm_nested_state *nested = NULL;
	struct kvm_msrs *msrs = NULL;
	char name[SNAP_NAME_MAX];
	const char *what = "";
	struct snap_cursor c;
	unsigned n;
	int rc;

	vcpu_section_name(name, sizeof(name), v->id);
	if (!s)
		return -ENOMEM;
	if ((rc = open_section(f, name, &c, err, errlen)) < 0)
		goto out;
	snap_get(&c, s, sizeof(*s));
	n = snap_get_u32(&c);
	if (n > MAX_MSRS || !(msrs = msrs_alloc(n))) {
		snprintf(err, errlen, "section %s: %u MSRs", name, n);
		rc = -EPROTO;
		goto out;
	}
	msrs->nmsrs = n;
	for (unsigned i = 0; i < n; i++) {
		msrs->entries[i].index = snap_get_u32(&c);
		msrs->entries[i].data = snap_get_u64(&c);
	}
	if ((rc = section_end(&c, name, err, errlen)) < 0)
		goto out;
	if ((rc = load_nested(vm, v, f, &nested, err, errlen)) < 0)
		goto out;
	if ((rc = write_vcpu(v, s, msrs, nested, &what)) < 0)
		snprintf(err, errlen, "restoring vCPU %u's %s: %s", v->id, what, strerror(-rc));
out:
	free(nested);
	free(msrs);
	free(s);
	return rc;
}

/* ---- the whole VM ---- */

int vm_state_save(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	struct msr_list *list = malloc(sizeof(*list));
	int rc;

	if (!list)
		return -ENOMEM;
	rc = msr_index_list(vm, list);
	if (rc < 0)
		snprintf(err, errlen, "listing the MSRs to save: %s", strerror(-rc));
	else
		rc = save_vm(vm, w, err, errlen);
	for (unsigned i = 0; rc == 0 && i < vm->nvcpus; i++) {
		rc = save_vcpu(&vm->vcpus[i], list, w, err, errlen);
		if (rc == 0 && (rc = save_nested(vm, &vm->vcpus[i], w)) < 0)
			snprintf(err, errlen, "reading vCPU %u's nested state: %s", i,
				 strerror(-rc));
	}
	free(list);
	return rc;
}

int vm_state_restore(struct vm *vm, const struct snap_file *f, char *err, size_t errlen)
{
	char name[SNAP_NAME_MAX];
	int rc;

	vcpu_section_name(name, sizeof(name), vm->nvcpus);
	if (snap_find(f, name)) {
		snprintf(err, errlen, "the checkpoint has more than %u vCPUs", vm->nvcpus);
		return -EPROTO;
	}
	/* The irqchip first: KVM_SET_LAPIC and the events look at it. */
	rc = restore_vm(vm, f, err, errlen);
	for (unsigned i = 0; rc == 0 && i < vm->nvcpus; i++)
		rc = restore_vcpu(vm, &vm->vcpus[i], f, err, errlen);
	return rc;
}
