/* The khyve x86 machine: a KVM VM plus its buses, devices and firmware,
 * built from the bhyve_config tree, and the loop that runs it. */
#ifndef KHYVE_MACHINE_H
#define KHYVE_MACHINE_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

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

struct vcpu_thread {
	struct machine *m;
	struct vcpu *vcpu;
	pthread_t thread;
	bool started;
	bool pinned;
	cpu_set_t cpuset;
	atomic_uint halt_query;		/* round it must report in, 0 = none */
};

struct machine {
	struct config *cfg;
	const char *name;
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
	unsigned signals_seen;
};

/* Builds the whole VM from cfg; on failure logs one line and leaves
 * nothing behind (call machine_destroy anyway: it is safe). */
int machine_build(struct machine *m, struct config *cfg);
/* Runs until the guest or a signal ends it; returns the bhyve exit code. */
enum vm_exit_code machine_run(struct machine *m);
void machine_destroy(struct machine *m);

/* Internal: the run loop's view of exit requests. */
void machine_request_exit(struct machine *m, enum vm_exit_code code);

#endif
