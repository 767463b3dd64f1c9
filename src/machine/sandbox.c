/* The VM process's seccomp allowlist: see sandbox.h.
 *
 * What is allowed is what khyve does once setup is over, found by reading
 * the run-time paths (and checked with strace on the tests/kvm guests):
 *   src/machine/run.c      vCPU threads (KVM_RUN, kicks by pthread_kill,
 *                          parking on a condition variable), the halt
 *                          timer, the wake-up eventfd, the signalfd
 *   src/machine/control.c  control requests: registers, NMI, stats, pause
 *   src/lib/evloop.c       epoll, cross-thread calls through an eventfd
 *   src/ipc/               the control socket: accept4, SO_PEERCRED,
 *                          sendmsg/recvmsg with SCM_RIGHTS
 *   src/hw/chardev.c       consoles: read/write, accept4 on unix=, the pty,
 *                          and at close a drain (poll, FIONREAD), the tty's
 *                          settings put back (TCSETS), the socket removed
 *   src/hw/rtc.c           its timerfd, localtime (may read the zone file)
 *   src/hw/blockif.c       io_uring_enter, or worker threads doing
 *                          preadv/pwritev/fdatasync/fallocate; eventfds
 *   src/hw/tap.c,
 *   src/virtio/net.c       readv/writev/read/sendmsg on the backend,
 *                          TUNSETOFFLOAD when the guest negotiates offloads
 *   src/virtio/            poll on eventfds in the I/O threads, getrandom
 *   teardown               pthread_join, munmap, close, exit
 * and what glibc does under them (malloc, thread creation, stdio).
 *
 * Setup-only calls are left out on purpose: open(2), socket, bind, listen,
 * connect, eventfd2, signalfd4, timerfd_create, epoll_create1, memfd_create,
 * io_uring_setup/io_uring_register, flock, mlock, rt_sigaction
 * (but for glibc's own, below), execve, fork, ptrace, kill, and every KVM
 * ioctl that builds the VM.  So a lazy open after setup through open(2)
 * dies; through openat(2) it works (see below). */
#include "machine/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "lib/log.h"

#if SANDBOX_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

/* ---- the allowlist ---- */

/* System calls allowed with any arguments.  Those allowed only with some
 * arguments (mmap, mprotect, clone, tgkill, rt_sigaction, getsockopt,
 * fcntl, ioctl) are in add_conditional(). */
static const int allowed[] = {
	/* Memory: malloc and free (brk, mmap'ed chunks, mremap for realloc,
	 * madvise when trimming), thread stacks, io_uring_queue_exit. */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),

	/* Threads: pthread mutexes/condvars/join (futex); what glibc does in
	 * a new thread (set_robust_list, rseq) and when one ends (exit);
	 * vCPU pinning (vcpu.N.cpuset -> pthread_setaffinity_np); tgkill's
	 * pid and thread ids (getpid, gettid). */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_setaffinity), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(exit), SCMP_SYS(exit_group),

	/* Signals: vCPU kicks (SIGUSR1's handler returns through
	 * rt_sigreturn, so KVM_RUN ends with EINTR), the masks pthread_create
	 * and the vCPU threads set, and the kernel's restart of a sleep a
	 * signal interrupted (SIGSTOP/SIGCONT). */
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),

	/* Time: the vDSO's fallbacks (clocksources it cannot read, as under
	 * nested KVM), the RTC's and the halt detector's timerfds, the bounded
	 * waits in chardev_close. */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(timerfd_settime),

	/* Descriptor I/O: consoles, eventfds, signalfd, timerfds, the tap
	 * (readv/writev), worker-thread disk I/O (preadv/pwritev), stderr. */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(close),
	/* The stat family: chardev_close lstat()s its socket, stdio and the
	 * zone file reader fstat(); which call glibc makes for these varies
	 * (2.36: newfstatat), so all three. */
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),

	/* Waiting: the event loop (epoll), the device I/O threads (poll);
	 * with the p-variants glibc may implement them with. */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),

	/* Disks: flush and discard/write-zeroes on the worker-thread engine
	 * and slow paths; the io_uring engine submits and waits with
	 * io_uring_enter (its rings exist already: io_uring_setup and
	 * io_uring_register stay forbidden).  What a ring does is no system
	 * call and seccomp does not see it: blockif should limit its rings
	 * with IORING_REGISTER_RESTRICTIONS to the operations it submits. */
	SCMP_SYS(fdatasync), SCMP_SYS(fallocate), SCMP_SYS(io_uring_enter),

	/* Sockets that exist already: the control socket and unix= consoles
	 * take clients (accept4), control messages carry descriptors
	 * (sendmsg/recvmsg, SCM_RIGHTS), a socket network backend sends with
	 * MSG_NOSIGNAL.  No socket(), connect(), bind(). */
	SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),

	/* Files.  openat stays allowed: files opened relative to a directory
	 * descriptor passed over the control socket (checkpoints), and glibc
	 * opening the time zone file for localtime().  seccomp cannot look
	 * at the path, so this lets the process open what its user may; the
	 * sandbox narrows the kernel's surface, the uid does the rest.
	 * open(2) and creat(2) stay forbidden, which catches code still
	 * opening by path the old way after setup.  unlink/unlinkat: a unix=
	 * console removes its socket when the VM stops (chardev_close); with
	 * openat allowed they add nothing an attacker could not do already. */
	SCMP_SYS(openat), SCMP_SYS(unlink), SCMP_SYS(unlinkat),

	/* virtio-rnd. */
	SCMP_SYS(getrandom),

	/* Checkpoints (khyvectl --checkpoint/--suspend), into files opened
	 * with openat in the directory passed: memory written at its offsets
	 * (pwrite64) over a file sized first (ftruncate), the state file read
	 * back for its CRC32C (pread64), fsync before the temporary names are
	 * renamed into place (renameat2 with RENAME_NOREPLACE, renameat with
	 * --force). */
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(ftruncate), SCMP_SYS(fsync),
	SCMP_SYS(renameat), SCMP_SYS(renameat2),
};

#if SANDBOX_SANITIZER
/* Only in sanitizer builds (build/asan), found by running their reports
 * and LeakSanitizer's exit check under the filter (gcc 12 and clang 14
 * runtimes).  None of this is in a release build's filter; the calls
 * allowed with some arguments only are in add_sanitizer().
 *   every thread       sigaltstack (ASan's stack for SEGV reports),
 *                      sched_getaffinity (pthread_getattr_np, to find the
 *                      thread's stack)
 *   a report           readlink("/proc/self/exe"), read-only open(2) (the
 *                      runtime's own raw call, not glibc's: /proc/self/
 *                      maps, cmdline, environ), pipe2 (its probe of
 *                      whether memory is readable)
 *   LeakSanitizer      stops the world from a tracer task: the process
 *                      asks prctl(PR_GET/SET_DUMPABLE, PR_SET_PTRACER),
 *                      clones it (CLONE_VM, not CLONE_THREAD), yields and
 *                      wait4()s for it; the tracer checks its parent
 *                      (getppid, PR_SET_PDEATHSIG), sets up its signal
 *                      stack and handlers (sigaltstack, rt_sigaction),
 *                      lists /proc/self/task (open, getdents), ptrace()s
 *                      and wait4()s every thread; then /proc/self/maps.
 * A call missing here shows as a report cut short by the sandbox's line,
 * or, in LeakSanitizer's tracer (which blocks signals, so the kernel kills
 * it outright), as a process that never exits. */
static const int allowed_sanitizer[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(readlink), SCMP_SYS(pipe2),
	SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(getdents), SCMP_SYS(sched_yield),
	SCMP_SYS(rt_sigaction), SCMP_SYS(getppid),
};
#endif

/* ioctl requests allowed, on any descriptor (seccomp cannot tell a vCPU's
 * fd from another; the kernel checks that the request suits the fd).
 * Compared on the low 32 bits: the kernel's cmd is an unsigned int. */
static const unsigned long allowed_ioctls[] = {
	/* vCPU threads (run.c): running, a queued NMI (khyvectl's
	 * inject-nmi), halt detection (vcpu_is_stopped: MP state, RFLAGS). */
	KVM_RUN, KVM_NMI, KVM_GET_MP_STATE, KVM_GET_REGS,
	/* Control socket: get-reg/set-reg on a paused vCPU (control.c). */
	KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
	/* Device interrupts: ISA lines and PCI INTx, MSI/MSI-X (vmm/kvm.c). */
	KVM_IRQ_LINE, KVM_SIGNAL_MSI,
	/* Checkpoints read KVM's state (vmm/vmstate.c); restore writes it
	 * before the sandbox, so no KVM_SET_* beyond the above. */
	KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK, KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS,
	KVM_GET_XSAVE, KVM_GET_XCRS, KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS, KVM_GET_NESTED_STATE,
	/* virtio-net: the offloads the guest negotiated, on the tap (tap.c). */
	TUNSETOFFLOAD,
	/* Consoles: chardev_close waits for a pty's reader (FIONREAD) and
	 * puts a terminal's settings back (tcsetattr = TCSETS, also from the
	 * atexit handler for stdio); glibc's stdio asks isatty() (TCGETS)
	 * the first time it buffers a stream. */
	FIONREAD, TCSETS, TCGETS,
};

/* ---- building the filter ---- */

/* Argument n equal to v; argument n with the bits of mask equal to v. */
#define ARG_EQ(n, v)		SCMP_CMP(n, SCMP_CMP_EQ, (scmp_datum_t)(v), 0)
#define ARG_MASKED(n, mask, v)	SCMP_CMP(n, SCMP_CMP_MASKED_EQ, (scmp_datum_t)(mask), \
					 (scmp_datum_t)(v))

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned argc,
	       const struct scmp_arg_cmp *args)
{
	if (nr < 0)
		return 0;	/* a libseccomp pseudo-number: not on this arch */
	return seccomp_rule_add_array(ctx, action, nr, argc, args);
}

static int add_list(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++)
		rc = add(ctx, SCMP_ACT_ALLOW, nrs[i], 0, NULL);
	return rc;
}

/* glibc's internal signal for set*id() in threaded processes (the kernel's
 * SIGRTMIN + 1; the SIGRTMIN of <signal.h> is above glibc's own two). */
#define GLIBC_SIGSETXID	33

/* Namespaces cannot go with CLONE_THREAD anyway; saying so costs nothing. */
#define CLONE_NS_FLAGS	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
			 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

#if SANDBOX_SANITIZER
static int add_sanitizer(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp vm = ARG_MASKED(0, CLONE_VM, CLONE_VM);
	const struct scmp_arg_cmp rdonly =
		ARG_MASKED(1, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY);
	static const int prctl_ops[] = {
		PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_PTRACER, PR_SET_PDEATHSIG,
	};
	int rc = add_list(ctx, allowed_sanitizer,
			  sizeof(allowed_sanitizer) / sizeof(allowed_sanitizer[0]));

	/* LeakSanitizer's tracer shares memory but is not a thread. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &vm);
	/* The runtime's own fork(2) (glibc's fork() is clone): clang's starts
	 * llvm-symbolizer with it should the one started by
	 * warm_up_symbolizer() die.  Failing, the report goes on unsymbolized
	 * rather than the process being killed halfway through it. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fork), 0, NULL);
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1, &rdonly);
	for (size_t i = 0; !rc && i < sizeof(prctl_ops) / sizeof(prctl_ops[0]); i++) {
		const struct scmp_arg_cmp op = ARG_EQ(0, prctl_ops[i]);

		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, &op);
	}
	return rc;
}

/* clang's runtime starts its symbolizer (llvm-symbolizer, a child process)
 * on first use, which the filter would not allow later: start it now, so a
 * report under the sandbox still names functions and lines.  (gcc's
 * symbolizes in-process with libbacktrace; this only loads its tables.) */
static void warm_up_symbolizer(void)
{
	char buf[256];

	__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", buf, sizeof(buf));
}
#endif

static int add_conditional(scmp_filter_ctx ctx)
{
	const struct scmp_arg_cmp no_exec = ARG_MASKED(2, PROT_EXEC, 0);
	const struct scmp_arg_cmp thread =
		ARG_MASKED(0, CLONE_THREAD | CLONE_NS_FLAGS, CLONE_THREAD);
	const struct scmp_arg_cmp peercred[2] = {
		ARG_EQ(1, SOL_SOCKET), ARG_EQ(2, SO_PEERCRED),
	};
	const struct scmp_arg_cmp own_pid = ARG_EQ(0, getpid());
	const struct scmp_arg_cmp setxid = ARG_EQ(0, GLIBC_SIGSETXID);
	static const int fcntl_cmds[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL };
	int rc;

	/* Memory, but never executable: no new code can be mapped. */
	rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &no_exec);
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, &no_exec);
	/* Threads only (pthread_create).  glibc tries clone3 first, whose
	 * flags seccomp cannot read: ENOSYS makes it fall back to clone. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &thread);
	if (!rc)
		rc = add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
	/* pthread_kill (vCPU kicks) and raise (abort) signal this process's
	 * own threads only. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &own_pid);
	/* glibc installs its set*id() handler on the first pthread_create()
	 * of a process (late_init): when the vCPU threads are the first. */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1, &setxid);
	/* The control socket learns who a client is (ipc/server.c). */
	if (!rc)
		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getsockopt), 2, peercred);
	/* Flags of descriptors: stdio's O_NONBLOCK put back at close or exit
	 * (chardev.c), descriptors received from the control socket. */
	for (size_t i = 0; !rc && i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++) {
		const struct scmp_arg_cmp cmd = ARG_EQ(1, fcntl_cmds[i]);

		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, &cmd);
	}
	for (size_t i = 0; !rc && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++) {
		const struct scmp_arg_cmp req =
			ARG_MASKED(1, 0xffffffffu, allowed_ioctls[i] & 0xffffffffu);

		rc = add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &req);
	}
#if SANDBOX_SANITIZER
	if (!rc)
		rc = add_sanitizer(ctx);
#endif
	return rc;
}

/* ---- reporting violations (log_violations) ---- */

/* Names looked up before the filter goes in: the SIGSYS handler may only
 * make async-signal-safe calls, which libseccomp's lookup is not. */
#define NAMES		512
#define NAME_LEN	32
static char sc_names[NAMES][NAME_LEN];
static uint32_t native_arch;

static void prepare_names(void)
{
	native_arch = seccomp_arch_native();
	for (int nr = 0; nr < NAMES; nr++) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (s && strlen(s) < NAME_LEN)
			memcpy(sc_names[nr], s, strlen(s) + 1);
		free(s);
	}
}

static size_t put_str(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at < size)
		buf[at++] = *s++;
	return at;
}

static size_t put_uint(char *buf, size_t at, size_t size, unsigned long v)
{
	char digits[24];
	size_t n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n && at < size)
		buf[at++] = digits[--n];
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char line[160];
	const size_t room = sizeof(line) - 1;	/* the newline's */
	unsigned long nr = (unsigned long)(unsigned)si->si_syscall;
	size_t n = put_str(line, 0, room, "khyve: sandbox: system call ");
	long w;

	(void)sig;
	(void)uctx;
	n = put_uint(line, n, room, nr);
	if (si->si_arch != native_arch)
		n = put_str(line, n, room, " (of another architecture)");
	else if (nr < NAMES && sc_names[nr][0]) {
		n = put_str(line, n, room, " (");
		n = put_str(line, n, room, sc_names[nr]);
		n = put_str(line, n, room, ")");
	}
	n = put_str(line, n, room, " is not allowed");
	line[n++] = '\n';
	/* Raw system calls: sanitizer runtimes intercept write() and _exit()
	 * (the latter to run LeakSanitizer, which would need more calls). */
	w = syscall(SYS_write, STDERR_FILENO, line, n);
	(void)w;
	syscall(SYS_exit_group, SANDBOX_EXIT_STATUS);
	_exit(SANDBOX_EXIT_STATUS);
}

static int install_sigsys_handler(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigset_t set;

	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* A blocked SIGSYS would make the kernel kill instead of report. */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	return -pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- entering ---- */

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

static int build(scmp_filter_ctx *out, bool trap)
{
	uint32_t deny = trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deny);
	int rc;

	if (!ctx)
		return -ENOMEM;
	/* Another architecture's calls (int 0x80, x32) are denied the same way. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny);
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* Nice to have (libseccomp 2.5): the kernel's errno from
	 * seccomp_load, and a binary tree instead of a list of checks. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (!rc)
		rc = add_list(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (!rc)
		rc = add_conditional(ctx);
	if (rc) {
		seccomp_release(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int sandbox_enter(const struct sandbox_opts *o, char *err, size_t errlen)
{
	bool trap = (o && o->log_violations) || env_set("KHYVE_SANDBOX_LOG");
	unsigned api = seccomp_api_get();
	scmp_filter_ctx ctx;
	int rc;

	if (env_set("KHYVE_NO_SANDBOX")) {
		log_error("sandbox: disabled by KHYVE_NO_SANDBOX; the VM process is not confined");
		return 0;
	}
	/* API level 2: thread sync (Linux 3.17); 3: kill the process (4.14). */
	if (api < 2) {
		snprintf(err, errlen, "sandbox: this kernel's seccomp cannot cover every thread "
			 "(needs Linux 3.17 or later)");
		return -ENOSYS;
	}
	if (api < 3)
		trap = true;	/* no SECCOMP_RET_KILL_PROCESS: the handler exits */
	rc = build(&ctx, trap);
	if (rc) {
		snprintf(err, errlen, "sandbox: building the seccomp filter: %s", strerror(-rc));
		return rc;
	}
	if (trap) {
		prepare_names();
		rc = install_sigsys_handler();
	}
#if SANDBOX_SANITIZER
	warm_up_symbolizer();
#endif
	if (!rc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc) {
		snprintf(err, errlen, "sandbox: loading the seccomp filter: %s%s", strerror(-rc),
			 rc == -ESRCH ? " (a thread is already under another filter)" : "");
		return rc;
	}
	return 0;
}
