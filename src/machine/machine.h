/* The khyve x86 machine: a KVM VM plus its buses, devices and firmware,
 * built from the bhyve_config tree, and the loop that runs it. */
#ifndef KHYVE_MACHINE_H
#define KHYVE_MACHINE_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "boot/boot.h"
#include "hw/iobus.h"
#include "hw/layout.h"
#include "hw/pci.h"
#include "hw/platform.h"
#include "vmm/vmm.h"

struct config;
struct evloop;
struct uart8250;
struct chardev;
struct i8042;
struct rtc;
struct acpi_pm;

#define MACHINE_COMS 4

/* Exits to khyve per reason, for get-stats. */
enum vcpu_stat { VCPU_STAT_EXITS, VCPU_STAT_IO, VCPU_STAT_MMIO, VCPU_STAT_MSR,
		 VCPU_STAT_INTR, VCPU_STAT_NMIS, VCPU_STATS };

struct vcpu_thread {
	struct machine *m;
	struct vcpu *vcpu;
	pthread_t thread;
	bool started;
	bool pinned;
	cpu_set_t cpuset;
	atomic_uint halt_query;		/* round it must report in, 0 = none */
	atomic_bool nmi_pending;	/* injected by the vCPU's own thread */
	atomic_ullong stats[VCPU_STATS];
	atomic_int tid;			/* the thread's, for a manager's /proc reads */
};

struct machine {
	struct config *cfg;
	const char *name;
	/* Who the VM is, for the control socket (set by main). */
	uid_t owner;
	pid_t monitor_pid;		/* 0 without -M */
	bool confine;			/* the seccomp sandbox once set up (-M's child) */
	bool restoring;			/* khyve -r: no boot, machine_restore follows */
	uint32_t vm_flags;		/* vmmctl flags */
	uint64_t start_ns;		/* CLOCK_MONOTONIC at machine_run */
	struct vm_params params;
	bool strictio, rtc_utc, mptable;
	uint8_t uuid[16];

	struct boot_files boot;
	struct evloop *loop;
	struct vm vm;
	bool vm_created;
	struct io_bus pio, mmio;
	struct pci_bus pci;
	bool pci_ready;

	struct uart8250 *uart[MACHINE_COMS];
	struct chardev *chr[MACHINE_COMS];
	struct i8042 *kbd;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct irq_line irq[LAYOUT_IRQS_USED];
	struct vm_exit_sink exit_sink;

	/* Run state. */
	struct vcpu_thread *threads;
	pthread_mutex_t lock;
	bool exit_requested;
	enum vm_exit_code exit_code;
	int wake_fd, signal_fd, halt_timer_fd;
	atomic_bool stopping;
	unsigned halt_round, halt_reports, halt_stopped;
	/* Pausing (control socket): vCPUs park outside KVM_RUN while
	 * pause_depth > 0; user_paused is the state a user asked for. */
	pthread_cond_t pause_cond;
	atomic_uint pause_depth;
	unsigned parked;
	bool user_paused;
	unsigned signals_seen;
	atomic_bool reboot_on_poweroff;	/* an ACPI reboot asked: S5 is a reset */
};

/* Builds the whole VM from cfg, over guest memory mem_fd if >= 0 (see
 * vm_params.mem_fd), and with restore, restores that checkpoint instead
 * of loading a guest (machine/checkpoint.h); on failure logs one line and
 * leaves nothing behind (call machine_destroy anyway: it is safe). */
struct ckpt_image;
int machine_build(struct machine *m, struct config *cfg, int mem_fd,
		  const struct ckpt_image *restore);
/* Runs until the guest or a signal ends it; returns the bhyve exit code. */
enum vm_exit_code machine_run(struct machine *m);
void machine_destroy(struct machine *m);

/* Safe from any thread but a vCPU's; the first exit code wins. */
void machine_request_exit(struct machine *m, enum vm_exit_code code);

/* For the control socket (loop thread).  machine_pause() returns once
 * every vCPU is out of KVM_RUN, so their state can be read and written;
 * pauses nest.  0 or -ESHUTDOWN when the VM is stopping. */
int machine_pause(struct machine *m);
void machine_resume(struct machine *m);
/* Queues an NMI for vCPU cpu.  -EINVAL for a bad cpu. */
int machine_inject_nmi(struct machine *m, unsigned cpu);

#endif
