/* The VM process's seccomp sandbox (libseccomp).
 *
 * In monitor mode (khyve -M) the child that runs the vCPUs and devices
 * calls sandbox_enter() once setup is complete: /dev/kvm, the VM, its
 * vCPUs, guest memory, every device with its files, taps, sockets,
 * eventfds, timerfds and io_uring rings, the event loop and its signalfd
 * are open and the signal handlers installed.  From then on the process
 * may only make the system calls khyve's run-time paths make (the table in
 * sandbox.c, each group with the code that needs it): no new files by
 * open(2)/creat(2), no sockets, no exec, no fork, no ptrace, no executable
 * memory, ioctl() only with the KVM, tun and tty requests khyve uses.
 *
 * The filter is loaded with SECCOMP_FILTER_FLAG_TSYNC, so threads already
 * running (device I/O threads, block workers) are covered as well as the
 * caller and every thread it starts later; PR_SET_NO_NEW_PRIVS is set
 * first.  It cannot be undone: call it once, in the process that is to be
 * confined, and nowhere else (never in the monitor, which must fork and
 * wait).
 *
 * What a forbidden call does:
 *   default            the kernel kills the whole process with SIGSYS
 *                      (SECCOMP_RET_KILL_PROCESS): no code of a possibly
 *                      compromised process runs after the violation.  The
 *                      monitor reports "died of signal 31 (Bad system
 *                      call)"; the kernel's audit log has the call number.
 *   log_violations     SIGSYS is trapped and a handler prints one line on
 *                      stderr, "khyve: sandbox: system call N (name) is not
 *                      allowed", then _exit(SANDBOX_EXIT_STATUS) (4, bhyve's
 *                      "error").  For tests and for finding a missing entry.
 *
 * Environment (read by sandbox_enter, independent of the config):
 *   KHYVE_NO_SANDBOX=1    no filter at all: sandbox_enter logs one line and
 *                         returns 0.  For debugging (gdb, strace, perf).
 *   KHYVE_SANDBOX_LOG=1   log_violations as if the caller had asked for it.
 * Any value but empty or "0" counts as set.
 *
 * Sanitizer builds (ASan/LSan, the build/asan flavour) allow some more
 * calls that only the sanitizer runtime makes (its reports, LeakSanitizer's
 * exit-time check): see SANDBOX_SANITIZER and sandbox.c. */
#ifndef KHYVE_SANDBOX_H
#define KHYVE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

/* 1 when built with AddressSanitizer (gcc's __SANITIZE_ADDRESS__, clang's
 * __has_feature(address_sanitizer)), whose runtime the filter lets work. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* Exit status after a logged violation: bhyve's "error". */
#define SANDBOX_EXIT_STATUS 4

struct sandbox_opts {
	/* Trap and log a forbidden call, then exit 4, instead of being
	 * killed by SIGSYS. */
	bool log_violations;
};

/* Confines the calling process (all its threads) for good; o may be NULL
 * (defaults).  0 on success (or when KHYVE_NO_SANDBOX disabled it), else a
 * negative errno and a one-line "sandbox: why" in err: the caller should
 * then refuse to run the VM rather than run it unconfined. */
int sandbox_enter(const struct sandbox_opts *o, char *err, size_t errlen);

#endif
