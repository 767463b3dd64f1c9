/* Running the machine: one thread per vCPU in KVM_RUN, the main thread in
 * the event loop (console I/O, signals, halt detection). */
#include "machine/machine.h"
#include "machine/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "hw/acpi_pm.h"
#include "lib/evloop.h"
#include "lib/log.h"

/* Interrupts KVM_RUN; never delivered anywhere else. */
#define SIG_VCPU_KICK	SIGUSR1
/* How often to look for "every vCPU halted with interrupts off": KVM keeps
 * such a vCPU asleep in the kernel, so it has to be asked. */
#define HALT_POLL_MS	250

void machine_request_exit(struct machine *m, enum vm_exit_code code)
{
	uint64_t one = 1;

	/* Set before anything else: the vCPU that asked must not run on past
	 * its reset or poweroff, as it would not on hardware. */
	atomic_store(&m->stopping, true);
	pthread_mutex_lock(&m->lock);
	if (!m->exit_requested) {
		m->exit_requested = true;
		m->exit_code = code;
		if (write(m->wake_fd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow with one write; nothing to do. */
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static void vcpu_kick(struct vcpu_thread *t)
{
	t->vcpu->run->immediate_exit = 1;
	if (t->started)
		pthread_kill(t->thread, SIG_VCPU_KICK);
}

static void stat_add(struct vcpu_thread *t, enum vcpu_stat s)
{
	atomic_fetch_add_explicit(&t->stats[s], 1, memory_order_relaxed);
}

static unsigned started_vcpus(const struct machine *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->params.topo.cpus; i++)
		n += m->threads[i].started;
	return n;
}

int machine_pause(struct machine *m)
{
	int rc = 0;

	atomic_fetch_add(&m->pause_depth, 1);
	for (unsigned i = 0; i < m->params.topo.cpus; i++)
		vcpu_kick(&m->threads[i]);
	pthread_mutex_lock(&m->lock);
	while (m->parked < started_vcpus(m) && !atomic_load(&m->stopping))
		pthread_cond_wait(&m->pause_cond, &m->lock);
	if (atomic_load(&m->stopping))
		rc = -ESHUTDOWN;
	pthread_mutex_unlock(&m->lock);
	if (rc)
		machine_resume(m);
	return rc;
}

void machine_resume(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	atomic_fetch_sub(&m->pause_depth, 1);
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->lock);
}

int machine_inject_nmi(struct machine *m, unsigned cpu)
{
	if (cpu >= m->params.topo.cpus || !m->threads[cpu].started)
		return -EINVAL;
	atomic_store(&m->threads[cpu].nmi_pending, true);
	vcpu_kick(&m->threads[cpu]);
	return 0;
}

/* Out of KVM_RUN: park while paused, deliver a queued NMI. */
static void vcpu_between_runs(struct vcpu_thread *t)
{
	struct machine *m = t->m;

	if (atomic_load(&m->pause_depth)) {
		pthread_mutex_lock(&m->lock);
		m->parked++;
		pthread_cond_broadcast(&m->pause_cond);
		while (atomic_load(&m->pause_depth) && !atomic_load(&m->stopping))
			pthread_cond_wait(&m->pause_cond, &m->lock);
		m->parked--;
		pthread_mutex_unlock(&m->lock);
	}
	if (atomic_exchange(&t->nmi_pending, false)) {
		if (ioctl(t->vcpu->fd, KVM_NMI, 0) < 0)
			log_error("vCPU %u: KVM_NMI: %s", t->vcpu->id, strerror(errno));
		else
			stat_add(t, VCPU_STAT_NMIS);
	}
}

static void handle_pio(struct machine *m, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t v = 0;

		if (out)
			memcpy(&v, data, size);
		if (io_bus_access(&m->pio, run->io.port, size, out, &v) == -ENOENT) {
			if (m->strictio) {
				log_error("guest %s unemulated I/O port 0x%x (x86.strictio)",
					  out ? "wrote" : "read", run->io.port);
				machine_request_exit(m, VM_EXIT_ERROR);
				return;
			}
			v = ~0ULL;
		}
		if (!out)
			memcpy(data, &v, size);
	}
}

static void handle_mmio(struct machine *m, struct kvm_run *run)
{
	uint64_t v = 0;
	unsigned len = run->mmio.len;
	static int once;

	if (len == 0 || len > 8)
		return;
	if (run->mmio.is_write)
		memcpy(&v, run->mmio.data, len);
	if (io_bus_access(&m->mmio, run->mmio.phys_addr, len, run->mmio.is_write, &v) == -ENOENT) {
		log_error_once(&once, "guest touched unbacked memory at 0x%llx (reads see all ones)",
			       (unsigned long long)run->mmio.phys_addr);
		v = ~0ULL;
	}
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &v, len);
}

static void handle_msr(struct kvm_run *run, bool is_write)
{
	static int once;

	/* Only reached with -w: KVM hands us MSRs it does not know. */
	log_error_once(&once, "guest %s unknown MSR 0x%x; ignored (-w)",
		       is_write ? "wrote" : "read", run->msr.index);
	run->msr.error = 0;
	if (!is_write)
		run->msr.data = 0;
}

static void handle_system_event(struct machine *m, struct kvm_run *run)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		machine_request_exit(m, VM_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		machine_request_exit(m, VM_EXIT_RESET);
		break;
	default:
		log_error("guest crashed (KVM system event %u)", run->system_event.type);
		machine_request_exit(m, VM_EXIT_ERROR);
		break;
	}
}

/* A report from an earlier round is dropped: counting it in this one could
 * declare a halt while another vCPU still runs. */
static void report_halt_state(struct vcpu_thread *t, unsigned round)
{
	struct machine *m = t->m;
	bool stopped = false;
	bool all;

	if (vcpu_is_stopped(t->vcpu, &stopped) < 0)
		stopped = false;
	pthread_mutex_lock(&m->lock);
	if (round != m->halt_round) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->halt_reports++;
	m->halt_stopped += stopped;
	all = m->halt_reports == m->params.topo.cpus && m->halt_stopped == m->halt_reports;
	pthread_mutex_unlock(&m->lock);
	if (all)
		machine_request_exit(m, VM_EXIT_HALT);
}

/* Returns false when the vCPU must stop. */
static bool vcpu_dispatch(struct vcpu_thread *t)
{
	struct machine *m = t->m;
	struct kvm_run *run = t->vcpu->run;

	stat_add(t, VCPU_STAT_EXITS);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		stat_add(t, VCPU_STAT_IO);
		handle_pio(m, run);
		return true;
	case KVM_EXIT_MMIO:
		stat_add(t, VCPU_STAT_MMIO);
		handle_mmio(m, run);
		return true;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		stat_add(t, VCPU_STAT_MSR);
		handle_msr(run, run->exit_reason == KVM_EXIT_X86_WRMSR);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		stat_add(t, VCPU_STAT_INTR);
		return true;
	case KVM_EXIT_SHUTDOWN:
		machine_request_exit(m, VM_EXIT_TRIPLEFAULT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(m, run);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vCPU %u: KVM could not enter the guest (hardware reason 0x%llx)",
			  t->vcpu->id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vCPU %u: KVM internal error %u (often an instruction KVM cannot emulate)",
			  t->vcpu->id, run->internal.suberror);
		break;
	default:
		log_error("vCPU %u: unexpected KVM exit %u", t->vcpu->id, run->exit_reason);
		break;
	}
	machine_request_exit(m, VM_EXIT_ERROR);
	return false;
}

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *t = arg;
	struct machine *m = t->m;
	sigset_t kick;

	atomic_store(&t->tid, gettid());
	sigemptyset(&kick);
	sigaddset(&kick, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (t->pinned && pthread_setaffinity_np(pthread_self(), sizeof(t->cpuset), &t->cpuset))
		log_error("vCPU %u: pinning to its cpuset failed; running unpinned", t->vcpu->id);
	while (!atomic_load(&m->stopping)) {
		int rc = ioctl(t->vcpu->fd, KVM_RUN, 0);

		if (rc < 0 && (errno == EINTR || errno == EAGAIN)) {
			unsigned round;

			stat_add(t, VCPU_STAT_EXITS);
			stat_add(t, VCPU_STAT_INTR);
			/* Cleared before looking at requests: a kick after this
			 * point makes the next KVM_RUN return at once. */
			t->vcpu->run->immediate_exit = 0;
			round = atomic_exchange(&t->halt_query, 0);
			if (round)
				report_halt_state(t, round);
			vcpu_between_runs(t);
			continue;
		}
		if (rc < 0) {
			log_error("vCPU %u: KVM_RUN: %s", t->vcpu->id, strerror(errno));
			machine_request_exit(m, VM_EXIT_ERROR);
			break;
		}
		if (!vcpu_dispatch(t))
			break;
	}
	return NULL;
}

static void on_wake(void *opaque, int fd, uint32_t events)
{
	struct machine *m = opaque;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("reading the wake-up eventfd: %s", strerror(errno));
	evloop_stop(m->loop);
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (m->signals_seen++ == 0) {
		log_error("%s: pressing the ACPI power button (send it again to force poweroff)",
			  strsignal((int)si.ssi_signo));
		acpi_pm_power_button(m->pm);
		return;
	}
	log_error("%s again: forcing poweroff", strsignal((int)si.ssi_signo));
	machine_request_exit(m, VM_EXIT_POWEROFF);
}

static void on_halt_timer(void *opaque, int fd, uint32_t events)
{
	struct machine *m = opaque;
	uint64_t ticks;
	unsigned round;

	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	pthread_mutex_lock(&m->lock);
	m->halt_round = m->halt_round + 1 ? m->halt_round + 1 : 1;
	round = m->halt_round;
	m->halt_reports = 0;
	m->halt_stopped = 0;
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < m->params.topo.cpus; i++) {
		atomic_store(&m->threads[i].halt_query, round);
		vcpu_kick(&m->threads[i]);
	}
}

static int setup_loop_fds(struct machine *m, sigset_t *term)
{
	struct itimerspec its = { .it_interval = { 0, HALT_POLL_MS * 1000000L },
				  .it_value = { 0, HALT_POLL_MS * 1000000L } };
	int rc;

	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->signal_fd = signalfd(-1, term, SFD_CLOEXEC | SFD_NONBLOCK);
	m->halt_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->wake_fd < 0 || m->signal_fd < 0 || m->halt_timer_fd < 0 ||
	    timerfd_settime(m->halt_timer_fd, 0, &its, NULL) < 0)
		return -errno;
	rc = evloop_add(m->loop, m->wake_fd, EPOLLIN, on_wake, m);
	if (!rc)
		rc = evloop_add(m->loop, m->signal_fd, EPOLLIN, on_signal, m);
	if (!rc)
		rc = evloop_add(m->loop, m->halt_timer_fd, EPOLLIN, on_halt_timer, m);
	return rc;
}

static void kick_handler(int sig) { (void)sig; }

/* Everything is open and every handler installed; the vCPUs are not yet
 * running.  A process that cannot be confined does not run the guest. */
static int confine(void)
{
	char err[256];
	int rc = sandbox_enter(NULL, err, sizeof(err));

	if (rc)
		log_error("%s", err);
	return rc;
}

static int start_vcpus(struct machine *m)
{
	for (unsigned i = 0; i < m->params.topo.cpus; i++) {
		int rc = pthread_create(&m->threads[i].thread, NULL, vcpu_main, &m->threads[i]);

		if (rc) {
			log_error("starting vCPU %u: %s", i, strerror(rc));
			return -rc;
		}
		m->threads[i].started = true;
	}
	return 0;
}

static void stop_vcpus(struct machine *m)
{
	atomic_store(&m->stopping, true);
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->pause_cond);	/* parked vCPUs leave */
	pthread_mutex_unlock(&m->lock);
	for (unsigned i = 0; i < m->params.topo.cpus; i++)
		if (m->threads[i].started)
			vcpu_kick(&m->threads[i]);
	for (unsigned i = 0; i < m->params.topo.cpus; i++)
		if (m->threads[i].started) {
			pthread_join(m->threads[i].thread, NULL);
			m->threads[i].started = false;
		}
}

static void close_loop_fds(struct machine *m)
{
	int *fds[] = { &m->wake_fd, &m->signal_fd, &m->halt_timer_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			evloop_del(m->loop, *fds[i]);
			close(*fds[i]);
			*fds[i] = -1;
		}
}

enum vm_exit_code machine_run(struct machine *m)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	struct timespec now;
	sigset_t term, kick;
	int rc;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigemptyset(&kick);
	sigaddset(&kick, SIG_VCPU_KICK);
	/* Threads inherit this mask: only vCPU threads unblock the kick, and
	 * termination signals are read from the signalfd alone. */
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	sigaction(SIG_VCPU_KICK, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = setup_loop_fds(m, &term);
	if (rc)
		log_error("setting up the event loop: %s", strerror(-rc));
	else if (m->confine)
		rc = confine();
	if (rc) {
		close_loop_fds(m);
		return VM_EXIT_ERROR;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	m->start_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	rc = start_vcpus(m);
	if (rc)
		machine_request_exit(m, VM_EXIT_ERROR);
	rc = evloop_run(m->loop);
	if (rc) {
		log_error("event loop: %s", strerror(-rc));
		machine_request_exit(m, VM_EXIT_ERROR);
	}
	stop_vcpus(m);
	close_loop_fds(m);
	return m->exit_code;
}
