/* The VM process's seccomp sandbox.  Each case runs in a child process
 * (the filter cannot be undone): the child opens what khyve opens during
 * setup, enters the sandbox, then does what khyve does at run time (and
 * exits 0) or something khyve must not be able to do (and is stopped).
 * The parent checks what a user would see: the exit status and the line
 * on stderr that names the forbidden system call. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "machine/sandbox.h"

#if SANDBOX_SANITIZER
#include <sanitizer/lsan_interface.h>
#endif

/* Exit statuses of a child that did not get as far as the test wanted. */
#define CHILD_CHECK_FAILED	3
#define CHILD_ENTER_FAILED	90
#define CHILD_SKIP		77
#define CHILD_TIMEOUT_S		30

/* ---- in the child ---- */

/* cmocka's asserts would unwind into the parent's copy of the test run:
 * a child reports on stderr and exits instead. */
static void child_fail(const char *what, int line)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "child check failed at line %d: %s (errno %d)\n", line,
			 what, errno);

	if (write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(CHILD_CHECK_FAILED);
	_exit(CHILD_CHECK_FAILED);
}

#define CHECK(cond) do { if (!(cond)) child_fail(#cond, __LINE__); } while (0)

static void enter(bool log)
{
	struct sandbox_opts o = { .log_violations = log };
	char err[256] = "";

	if (sandbox_enter(&o, err, sizeof(err))) {
		dprintf(STDERR_FILENO, "sandbox_enter: %s\n", err);
		_exit(CHILD_ENTER_FAILED);
	}
}

/* ---- in the parent ---- */

struct result {
	int status;
	char out[16384];
};

static void run_child(void (*fn)(void), struct result *r)
{
	size_t len = 0;
	int p[2];
	pid_t pid;

	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		/* A process killed by SIGSYS would dump core otherwise. */
		setrlimit(RLIMIT_CORE, &no_core);
		/* A child stuck (a sanitizer's helper stopped by the filter, say)
		 * fails its test instead of hanging the run. */
		alarm(CHILD_TIMEOUT_S);
		unsetenv("KHYVE_NO_SANDBOX");
		unsetenv("KHYVE_SANDBOX_LOG");
		dup2(p[1], STDERR_FILENO);
		fn();
		exit(0);
	}
	close(p[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(p[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n > sizeof(r->out) - 1 - len)
			n = (ssize_t)(sizeof(r->out) - 1 - len);
		memcpy(r->out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
}

static void show(const char *what, const struct result *r)
{
	if (WIFEXITED(r->status))
		print_error("%s: child exited %d; its stderr:\n%s\n", what,
			    WEXITSTATUS(r->status), r->out);
	else if (WIFSIGNALED(r->status))
		print_error("%s: child died of signal %d; its stderr:\n%s\n", what,
			    WTERMSIG(r->status), r->out);
}

/* The child did its allowed work and exited 0, with no sandbox message. */
static void expect_ok(void (*fn)(void))
{
	struct result r;

	run_child(fn, &r);
	if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == CHILD_SKIP) {
		skip();
		return;
	}
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || strstr(r.out, "sandbox:"))
		show("expected a clean exit", &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_null(strstr(r.out, "sandbox:"));
}

/* The child was stopped by the sandbox in log mode: exit 4 and one line
 * naming the system call. */
static void expect_denied(void (*fn)(void), const char *syscall_name)
{
	char line[128];
	struct result r;

	snprintf(line, sizeof(line), "(%s) is not allowed\n", syscall_name);
	run_child(fn, &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != SANDBOX_EXIT_STATUS ||
	    !strstr(r.out, "khyve: sandbox: system call ") || !strstr(r.out, line))
		show(syscall_name, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), SANDBOX_EXIT_STATUS);
	assert_non_null(strstr(r.out, "khyve: sandbox: system call "));
	assert_non_null(strstr(r.out, line));
}

/* ---- what khyve does after setup: allowed ---- */

static void *nop_thread(void *arg)
{
	return arg;
}

static void child_fds_and_memory(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	struct timespec ts = { 0, 1000 };
	char buf[64] = "", path[] = "/tmp/khyve-sandbox-XXXXXX";
	uint64_t v = 1;
	struct stat st;
	void *p, *q;
	int pfd[2], efd, epfd, tfd, file, avail = -1, fl;

	/* Setup: what the machine opens before entering the sandbox. */
	CHECK(pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) >= 0);
	CHECK((epfd = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	CHECK((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) >= 0);
	CHECK((file = mkstemp(path)) >= 0);
	ev.data.fd = efd;
	CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) == 0);
	enter(true);

	/* Consoles and eventfds: read/write, epoll, poll. */
	CHECK(write(pfd[1], "hi", 2) == 2);
	CHECK(ioctl(pfd[0], FIONREAD, &avail) == 0 && avail == 2);
	CHECK(read(pfd[0], buf, sizeof(buf)) == 2);
	CHECK(write(efd, &v, sizeof(v)) == sizeof(v));
	CHECK(epoll_wait(epfd, &got, 1, 1000) == 1 && got.data.fd == efd);
	CHECK(read(efd, &v, sizeof(v)) == sizeof(v));
	CHECK(epoll_ctl(epfd, EPOLL_CTL_DEL, efd, NULL) == 0);
	CHECK(poll(&(struct pollfd){ .fd = tfd, .events = POLLIN }, 1, 0) == 0);
	/* Timers and time, the syscall behind the vDSO too. */
	CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
	CHECK(poll(&(struct pollfd){ .fd = tfd, .events = POLLIN }, 1, 1000) == 1);
	CHECK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) == 0);
	CHECK(nanosleep(&(struct timespec){ 0, 1000 }, NULL) == 0);
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){ 0, 1000 }, NULL) == 0);
	/* virtio-rnd. */
	CHECK(getrandom(buf, sizeof(buf), 0) == sizeof(buf));
	/* Disk I/O on an open file: worker-thread engine calls. */
	CHECK(pwritev(file, &(struct iovec){ buf, 16 }, 1, 4096) == 16);
	CHECK(preadv(file, &(struct iovec){ buf, 16 }, 1, 4096) == 16);
	CHECK(fdatasync(file) == 0);
	CHECK(fallocate(file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4096) == 0 ||
	      errno == EOPNOTSUPP);
	CHECK(lseek(file, 0, SEEK_END) == 4096 + 16);
	CHECK(fstat(file, &st) == 0 && st.st_size == 4096 + 16);
	CHECK((fl = fcntl(file, F_GETFL)) >= 0 && fcntl(file, F_SETFL, fl | O_NONBLOCK) == 0);
	/* Teardown: a unix= console removes its socket. */
	CHECK(lstat(path, &st) == 0 && unlink(path) == 0);
	/* openat is allowed (glibc's open() is openat). */
	close(file);
	CHECK((file = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	close(file);
	/* Memory: malloc's brk and mmap, realloc's mremap, guard pages. */
	CHECK((p = malloc(1 << 20)) != NULL);
	CHECK((q = realloc(p, 8 << 20)) != NULL);
	free(q);
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK(mprotect(p, 4096, PROT_NONE) == 0);
	CHECK(madvise(p, 65536, MADV_DONTNEED) == 0);
	CHECK(munmap(p, 65536) == 0);
	/* glibc's pthread_create tries clone3 first: it must fail softly. */
	CHECK(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS);
	CHECK(getpid() > 0);
	close(pfd[0]);
	close(pfd[1]);
	close(efd);
	close(epfd);
	close(tfd);
	exit(0);
}

static void test_fds_and_memory(void **state)
{
	expect_ok(child_fds_and_memory);
}

/* vCPU threads: started after the sandbox (the first threads of the
 * process, as in a machine without I/O threads), pinned, kicked by a
 * signal out of a blocking call, joined. */
struct kick {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int rfd;
	bool started, interrupted;
};

static void kick_handler(int sig) { (void)sig; }

static void *vcpu_like(void *arg)
{
	struct kick *k = arg;
	char c;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0);
	pthread_mutex_lock(&k->lock);
	k->started = true;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	/* Blocks until the kick interrupts it, as KVM_RUN would. */
	if (read(k->rfd, &c, 1) < 0 && errno == EINTR)
		k->interrupted = true;
	return NULL;
}

static void child_threads(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	struct kick k = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, false, false };
	pthread_t t, more;
	int p[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	k.rfd = p[0];
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	enter(true);
	/* The process's first thread: glibc finishes its own setup then. */
	CHECK(pthread_create(&t, NULL, vcpu_like, &k) == 0);
	pthread_mutex_lock(&k.lock);
	while (!k.started)
		pthread_cond_wait(&k.cond, &k.lock);
	pthread_mutex_unlock(&k.lock);
	/* Until the thread sits in read(), every kick finds it elsewhere. */
	for (int i = 0; i < 200 && !k.interrupted; i++) {
		CHECK(pthread_kill(t, SIGUSR1) == 0);
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		if (i == 199)
			CHECK(write(p[1], "x", 1) == 1);	/* let it end anyway */
	}
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(k.interrupted);
	CHECK(pthread_create(&more, NULL, nop_thread, NULL) == 0);
	CHECK(pthread_join(more, NULL) == 0);
	exit(0);
}

static void test_threads(void **state)
{
	expect_ok(child_threads);
}

/* The control socket: clients accepted, identified, descriptors passed. */
static void child_sockets(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char data = 'r', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *h;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int lfd, client, server, pfd[2], got;

	/* Abstract name: nothing to clean up in the file system. */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "khyve-sandbox-%d", (int)getpid());
	CHECK((lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) >= 0);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lfd, 4) == 0);
	CHECK((client = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) >= 0);
	CHECK(connect(client, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	enter(true);

	CHECK((server = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0);
	CHECK(getsockopt(server, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0);
	CHECK(cred.pid == getpid());
	memset(cbuf, 0, sizeof(cbuf));
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &pfd[1], sizeof(int));
	CHECK(sendmsg(client, &m, MSG_NOSIGNAL) == 1);
	m.msg_controllen = sizeof(cbuf);
	CHECK(recvmsg(server, &m, MSG_CMSG_CLOEXEC) == 1);
	h = CMSG_FIRSTHDR(&m);
	CHECK(h && h->cmsg_type == SCM_RIGHTS);
	memcpy(&got, CMSG_DATA(h), sizeof(int));
	CHECK(write(got, "y", 1) == 1 && read(pfd[0], &data, 1) == 1 && data == 'y');
	close(got);
	close(server);
	close(client);
	close(lfd);
	exit(0);
}

static void test_sockets(void **state)
{
	expect_ok(child_sockets);
}

/* The io_uring block engine: the ring is set up before, used after. */
static void child_io_uring(void)
{
	char path[] = "/tmp/khyve-sandbox-XXXXXX", buf[8] = "";
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int file = mkstemp(path), efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t v;

	CHECK(file >= 0 && efd >= 0);
	CHECK(write(file, "sandbox", 7) == 7);
	unlink(path);
	if (io_uring_queue_init(8, &ring, 0) < 0)
		_exit(CHILD_SKIP);		/* io_uring disabled on this host */
	CHECK(io_uring_register_eventfd(&ring, efd) == 0);
	enter(true);

	io_uring_prep_read(io_uring_get_sqe(&ring), file, buf, 7, 0);
	CHECK(io_uring_submit(&ring) == 1);
	CHECK(io_uring_wait_cqe(&ring, &cqe) == 0 && cqe->res == 7);
	io_uring_cqe_seen(&ring, cqe);
	CHECK(!memcmp(buf, "sandbox", 7));
	CHECK(read(efd, &v, sizeof(v)) == sizeof(v));
	io_uring_queue_exit(&ring);
	close(file);
	close(efd);
	exit(0);
}

static void test_io_uring(void **state)
{
	expect_ok(child_io_uring);
}

/* Every ioctl request khyve makes after setup passes the filter (on a pipe
 * the kernel refuses them, which is fine: the process lives on), and a
 * terminal's settings can be put back. */
static void child_ioctls(void)
{
	static const unsigned long reqs[] = {
		KVM_RUN, KVM_NMI, KVM_GET_MP_STATE, KVM_GET_REGS, KVM_SET_REGS,
		KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
		KVM_IRQ_LINE, KVM_SIGNAL_MSI, TUNSETOFFLOAD, FIONREAD, TCGETS, TCSETS,
	};
	union { uint8_t raw[4096]; struct termios t; } arg;
	int p[2], pty, n = -1;
	struct termios t;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK((pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0);
	enter(true);

	memset(&arg, 0, sizeof(arg));
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		CHECK(ioctl(p[0], reqs[i], &arg) < 0 || reqs[i] == FIONREAD);
	CHECK(tcgetattr(pty, &t) == 0);
	CHECK(tcsetattr(pty, TCSANOW, &t) == 0);
	CHECK(ioctl(pty, FIONREAD, &n) == 0 && n == 0);
	exit(0);
}

static void test_ioctls(void **state)
{
	expect_ok(child_ioctls);
}

/* ---- what a compromised VM process would try: forbidden ---- */

static void child_execve(void)
{
	char *const argv[] = { "true", NULL };

	enter(true);
	execve("/bin/true", argv, environ);
	child_fail("execve returned", __LINE__);
}

static void test_execve(void **state)
{
	expect_denied(child_execve, "execve");
}

static void child_socket_inet(void)
{
	enter(true);
	socket(AF_INET, SOCK_STREAM, 0);
	child_fail("socket returned", __LINE__);
}

static void test_socket(void **state)
{
	expect_denied(child_socket_inet, "socket");
}

/* open(2) by path, the way setup opens files: after setup nothing may.
 * (glibc's open() is openat(2), allowed: see sandbox.c.)  Sanitizer
 * builds let their runtime open(2) read-only, so this writes. */
static void child_open(void)
{
	enter(true);
	syscall(SYS_open, "/tmp/khyve-sandbox-open", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	child_fail("open returned", __LINE__);
}

static void child_open_rdonly(void)
{
	enter(true);
	syscall(SYS_open, "/etc/passwd", O_RDONLY);
	child_fail("open returned", __LINE__);
}

static void test_open(void **state)
{
	expect_denied(child_open, "open");
	if (!SANDBOX_SANITIZER)
		expect_denied(child_open_rdonly, "open");
}

static void child_fork(void)
{
	pid_t pid;

	enter(true);
	pid = fork();
	if (pid == 0)
		_exit(0);
	child_fail("fork returned", __LINE__);
}

static void test_fork(void **state)
{
	expect_denied(child_fork, "clone");
}

static void child_ptrace(void)
{
	enter(true);
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	child_fail("ptrace returned", __LINE__);
}

static void test_ptrace(void **state)
{
	if (SANDBOX_SANITIZER) {
		skip();		/* LeakSanitizer's exit check needs it */
		return;
	}
	expect_denied(child_ptrace, "ptrace");
}

static void child_mmap_exec(void)
{
	enter(true);
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	child_fail("mmap returned", __LINE__);
}

static void test_mmap_exec(void **state)
{
	expect_denied(child_mmap_exec, "mmap");
}

static void child_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	enter(true);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	child_fail("mprotect returned", __LINE__);
}

static void test_mprotect_exec(void **state)
{
	expect_denied(child_mprotect_exec, "mprotect");
}

/* TIOCSTI pushes input into a terminal: the classic escape. */
static void child_ioctl_tiocsti(void)
{
	int pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char c = 'x';

	CHECK(pty >= 0);
	enter(true);
	ioctl(pty, TIOCSTI, &c);
	child_fail("ioctl returned", __LINE__);
}

static void test_ioctl_tiocsti(void **state)
{
	expect_denied(child_ioctl_tiocsti, "ioctl");
}

/* Building VMs is setup's business. */
static void child_ioctl_create_vm(void)
{
	int p[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	enter(true);
	ioctl(p[0], KVM_CREATE_VM, 0);
	child_fail("ioctl returned", __LINE__);
}

static void test_ioctl_create_vm(void **state)
{
	expect_denied(child_ioctl_create_vm, "ioctl");
}

static void child_signal_other(void)
{
	pid_t parent = getppid();

	enter(true);
	syscall(SYS_tgkill, parent, parent, 0);
	child_fail("tgkill returned", __LINE__);
}

static void test_signal_other_process(void **state)
{
	expect_denied(child_signal_other, "tgkill");
}

static void child_getsockopt_other(void)
{
	int sv[2], v;
	socklen_t len = sizeof(v);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	enter(true);
	getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &len);
	child_fail("getsockopt returned", __LINE__);
}

static void test_getsockopt_other(void **state)
{
	expect_denied(child_getsockopt_other, "getsockopt");
}

static void child_io_uring_setup(void)
{
	struct io_uring ring;

	enter(true);
	io_uring_queue_init(8, &ring, 0);
	child_fail("io_uring_queue_init returned", __LINE__);
}

static void test_io_uring_setup(void **state)
{
	expect_denied(child_io_uring_setup, "io_uring_setup");
}

/* SECCOMP_FILTER_FLAG_TSYNC: a thread running before sandbox_enter is
 * confined too. */
static int tsync_pipe[2];

static void *late_offender(void *arg)
{
	char c;

	CHECK(read(tsync_pipe[0], &c, 1) == 1);
	socket(AF_INET, SOCK_DGRAM, 0);
	child_fail("socket returned in the thread", __LINE__);
	return arg;
}

static void child_tsync(void)
{
	pthread_t t;

	CHECK(pipe2(tsync_pipe, O_CLOEXEC) == 0);
	CHECK(pthread_create(&t, NULL, late_offender, NULL) == 0);
	enter(true);
	CHECK(write(tsync_pipe[1], "go", 1) == 1);
	pthread_join(t, NULL);
	child_fail("the thread came back", __LINE__);
}

static void test_tsync(void **state)
{
	expect_denied(child_tsync, "socket");
}

/* ---- modes ---- */

/* The default: the kernel kills the process with SIGSYS, nothing printed. */
static void child_kill_mode(void)
{
	enter(false);
	socket(AF_INET, SOCK_STREAM, 0);
	child_fail("socket returned", __LINE__);
}

static void test_kill_mode(void **state)
{
	struct result r;

	run_child(child_kill_mode, &r);
	if (!WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGSYS)
		show("expected death by SIGSYS", &r);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGSYS);
	assert_null(strstr(r.out, "sandbox:"));
}

static void child_env_log(void)
{
	setenv("KHYVE_SANDBOX_LOG", "1", 1);
	enter(false);
	socket(AF_INET, SOCK_STREAM, 0);
	child_fail("socket returned", __LINE__);
}

static void test_env_log(void **state)
{
	expect_denied(child_env_log, "socket");
}

static void child_env_disabled(void)
{
	int fd;

	setenv("KHYVE_NO_SANDBOX", "1", 1);
	enter(false);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0 || errno == EAFNOSUPPORT || errno == EACCES);
	if (fd >= 0)
		close(fd);
	exit(0);
}

static void test_env_disabled(void **state)
{
	struct result r;

	run_child(child_env_disabled, &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
		show("KHYVE_NO_SANDBOX", &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	/* Exactly one line says so. */
	assert_non_null(strstr(r.out, "sandbox: disabled by KHYVE_NO_SANDBOX"));
	assert_non_null(strchr(r.out, '\n'));
	assert_null(strchr(strchr(r.out, '\n') + 1, '\n'));
}

/* ---- sanitizer builds: reports stay readable under the sandbox ---- */

#if SANDBOX_SANITIZER
static volatile size_t overflow_index = 16;
static void *volatile leaked;

static char *volatile victim;	/* no size for UBSan to check first */

static void child_asan_report(void)
{
	victim = malloc(16);
	enter(true);
	victim[overflow_index] = 1;	/* heap-buffer-overflow */
	child_fail("no ASan report", __LINE__);
}

static void child_lsan_report(void)
{
	enter(true);
	leaked = malloc(4242);
	leaked = NULL;
	/* The same check LSan makes at exit, but the status is ours. */
	_exit(__lsan_do_recoverable_leak_check() ? 0 : 5);
}

static volatile int big = INT_MAX;

static void child_ubsan_report(void)
{
	enter(true);
	big = big + 1;			/* signed overflow */
	child_fail("no UBSan report", __LINE__);
}

static void expect_report(void (*fn)(void), const char *text, const char *frame)
{
	struct result r;

	run_child(fn, &r);
	if (!strstr(r.out, text) || !strstr(r.out, frame) || strstr(r.out, "sandbox:") ||
	    (WIFEXITED(r.status) && WEXITSTATUS(r.status) == CHILD_CHECK_FAILED))
		show(text, &r);
	assert_non_null(strstr(r.out, text));
	assert_non_null(strstr(r.out, frame));	/* symbolized: says where */
	assert_null(strstr(r.out, "sandbox:"));
	assert_false(WIFSIGNALED(r.status));
}
#endif

static void test_asan_report(void **state)
{
#if SANDBOX_SANITIZER
	expect_report(child_asan_report, "ERROR: AddressSanitizer: heap-buffer-overflow",
		      "child_asan_report");
#else
	skip();
#endif
}

static void test_lsan_report(void **state)
{
#if SANDBOX_SANITIZER
	struct result r;

	expect_report(child_lsan_report, "ERROR: LeakSanitizer: detected memory leaks",
		      "child_lsan_report");
	run_child(child_lsan_report, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
#else
	skip();
#endif
}

static void test_ubsan_report(void **state)
{
#if SANDBOX_SANITIZER
	/* Its stack trace is optional (UBSAN_OPTIONS=print_stacktrace=1); its
	 * file:line always there. */
	expect_report(child_ubsan_report, "runtime error: signed integer overflow",
		      "test_sandbox.c:");
#else
	skip();
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds_and_memory),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_io_uring),
		cmocka_unit_test(test_ioctls),
		cmocka_unit_test(test_execve),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_ptrace),
		cmocka_unit_test(test_mmap_exec),
		cmocka_unit_test(test_mprotect_exec),
		cmocka_unit_test(test_ioctl_tiocsti),
		cmocka_unit_test(test_ioctl_create_vm),
		cmocka_unit_test(test_signal_other_process),
		cmocka_unit_test(test_getsockopt_other),
		cmocka_unit_test(test_io_uring_setup),
		cmocka_unit_test(test_tsync),
		cmocka_unit_test(test_kill_mode),
		cmocka_unit_test(test_env_log),
		cmocka_unit_test(test_env_disabled),
		cmocka_unit_test(test_asan_report),
		cmocka_unit_test(test_lsan_report),
		cmocka_unit_test(test_ubsan_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
