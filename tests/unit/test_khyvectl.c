/* khyvectl against a fake VM: the real khyvectl binary (built next to
 * this test, or $KHYVECTL) is run on a run directory whose entry "vm1" is
 * held by this process and whose control socket is served by a thread
 * speaking the real codec (ipc_decode_request / ipc_encode_reply) with
 * canned answers.  Each test checks what a user sees: standard output,
 * the one line on standard error, the exit status, and what reached the
 * "VM" (requests in order, the checkpoint directory descriptor). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/server.h"
#include "vmmctl/vmmctl.h"

extern char **environ;

/* ---- the fake VM ---- */

enum mode {
	NORMAL,		/* canned answers */
	FAIL,		/* every request: EINVAL "no vCPU 7 (the VM has 2)" */
	FAIL_NO_TEXT,	/* EPERM without a reason */
	FAIL_UGLY,	/* a reason with a newline and an escape */
	SILENT,		/* reads, never answers */
	GARBAGE,	/* answers bytes that are not the protocol */
	STALE_FIRST,	/* a reply to an older seq first, then the right one */
	WRONG_TYPE,	/* right seq, another request type */
	HANG_UP,	/* closes the connection on a request */
	SHORT_MEM,	/* READ_MEM: fewer bytes than asked */
};

#define MAX_REQS	128
#define FAKE_PID	4242
#define FAKE_MONITOR	4241
#define FAKE_MEMORY	(512ull << 20)
#define FAKE_RTC	1700000000

static struct fake {
	pthread_t thread;
	int listen_fd, stop[2];
	pthread_mutex_t lock;
	enum mode mode;
	struct ipc_request reqs[MAX_REQS];
	unsigned nreq, undecodable;
	bool paused;
	uint64_t regs[4][IPC_REG_END];
	/* The last CHECKPOINT's descriptor: a directory?  Which? */
	int ckpt_fds;
	bool ckpt_isdir;
	char ckpt_path[PATH_MAX];
} fk;

static char dir[64], sock[128], exe[PATH_MAX];
static struct vmmctl *ctl;
static bool as_root;

static void reset_fake(enum mode m)
{
	pthread_mutex_lock(&fk.lock);
	fk.mode = m;
	fk.nreq = fk.undecodable = 0;
	fk.paused = false;
	fk.ckpt_fds = 0;
	fk.ckpt_isdir = false;
	fk.ckpt_path[0] = '\0';
	for (unsigned c = 0; c < 4; c++)
		for (unsigned r = 0; r < IPC_REG_END; r++)
			fk.regs[c][r] = 0x1000 + 0x100 * c + r;
	pthread_mutex_unlock(&fk.lock);
}

static void canned(const struct ipc_request *q, struct ipc_reply *p, uint8_t *data,
		   struct ipc_stat *stats)
{
	static const struct ipc_stat st[] = {
		{ "uptime_ms", 1234 }, { "vcpus", 2 }, { "vcpu0.exits", 10 },
		{ "vcpu0.nmis", 1 }, { "vcpu1.exits", 20 }, { "vcpu1.nmis", 0 },
		{ "blk.4.0.rd_reqs", 7 },
	};

	switch (q->type) {
	case IPC_GET_INFO:
		snprintf(p->info.name, sizeof(p->info.name), "vm1");
		p->info.pid = FAKE_PID;
		p->info.uid = (uint32_t)geteuid();
		p->info.state = fk.paused ? IPC_STATE_PAUSED : IPC_STATE_RUNNING;
		p->info.vcpus = 2;
		p->info.memory = FAKE_MEMORY;
		break;
	case IPC_GET_VM_PID:
		p->pid = FAKE_PID;
		p->monitor_pid = FAKE_MONITOR;
		break;
	case IPC_GET_REG:
	case IPC_SET_REG:
		if (q->cpu >= 4) {
			p->status = EINVAL;
			snprintf(p->text, sizeof(p->text), "no vCPU %u", q->cpu);
		} else if (q->type == IPC_GET_REG) {
			p->value = fk.regs[q->cpu][q->reg];
		} else {
			fk.regs[q->cpu][q->reg] = q->value;
		}
		break;
	case IPC_GET_RTC:
		p->seconds = FAKE_RTC;
		break;
	case IPC_GET_STATS:
		memcpy(stats, st, sizeof(st));
		p->stats = stats;
		p->nstats = sizeof(st) / sizeof(st[0]);
		break;
	case IPC_READ_MEM:
		for (uint32_t i = 0; i < q->len; i++)
			data[i] = (uint8_t)(q->gpa + i);
		p->data = data;
		p->len = fk.mode == SHORT_MEM ? q->len - 1 : q->len;
		break;
	case IPC_PAUSE:
	case IPC_RESUME:
		fk.paused = q->type == IPC_PAUSE;
		break;
	case IPC_CHECKPOINT: {
		struct stat s;
		char link[64];
		ssize_t n;

		fk.ckpt_fds += q->fd >= 0;
		fk.ckpt_isdir = q->fd >= 0 && !fstat(q->fd, &s) && S_ISDIR(s.st_mode);
		snprintf(link, sizeof(link), "/proc/self/fd/%d", q->fd);
		n = readlink(link, fk.ckpt_path, sizeof(fk.ckpt_path) - 1);
		fk.ckpt_path[n > 0 ? n : 0] = '\0';
		break;
	}
	default:
		break;
	}
}

static void send_reply(int fd, const struct ipc_reply *p)
{
	static uint8_t out[IPC_MAX_MSG];
	int n = ipc_encode_reply(p, out, sizeof(out));

	if (n > 0)
		ipc_send(fd, out, (size_t)n, -1, MSG_DONTWAIT);
}

/* Answers one packet; false to hang up. */
static bool answer(int fd, const uint8_t *in, size_t len, int passed)
{
	static uint8_t data[IPC_MAX_MEM_READ];
	static struct ipc_stat stats[IPC_MAX_STATS];
	struct ipc_request q;
	struct ipc_reply p;
	bool keep = true;

	memset(&p, 0, sizeof(p));
	if (ipc_decode_request(in, len, &q)) {
		fk.undecodable++;
		if (passed >= 0)
			close(passed);
		return false;
	}
	q.fd = passed;
	if (fk.nreq < MAX_REQS)
		fk.reqs[fk.nreq++] = q;
	p.type = q.type;
	p.seq = q.seq;
	switch (fk.mode) {
	case FAIL:
		p.status = EINVAL;
		snprintf(p.text, sizeof(p.text), "no vCPU 7 (the VM has 2)");
		send_reply(fd, &p);
		break;
	case FAIL_NO_TEXT:
		p.status = EPERM;
		send_reply(fd, &p);
		break;
	case FAIL_UGLY:
		p.status = EIO;
		snprintf(p.text, sizeof(p.text), "disk\nbroken\033[31m");
		send_reply(fd, &p);
		break;
	case SILENT:
		break;
	case GARBAGE:
		send(fd, "HTTP/1.0 200 OK\r\n\r\n", 19, MSG_NOSIGNAL | MSG_DONTWAIT);
		break;
	case HANG_UP:
		keep = false;
		break;
	case STALE_FIRST: {
		struct ipc_reply old = p;

		old.seq = q.seq - 1;
		canned(&q, &old, data, stats);
		old.value = 0xdead;
		old.pid = 1;
		send_reply(fd, &old);
		canned(&q, &p, data, stats);
		send_reply(fd, &p);
		break;
	}
	case WRONG_TYPE:
		p.type = q.type == IPC_GET_RTC ? IPC_GET_REG : IPC_GET_RTC;
		p.seconds = 1;
		send_reply(fd, &p);
		break;
	default:
		canned(&q, &p, data, stats);
		send_reply(fd, &p);
		break;
	}
	if (q.fd >= 0)
		close(q.fd);
	return keep;
}

static void *serve(void *arg)
{
	static uint8_t in[IPC_MAX_MSG];
	int client = -1;

	for (;;) {
		struct pollfd p[2] = { { fk.stop[0], POLLIN, 0 },
				       { client >= 0 ? client : fk.listen_fd, POLLIN, 0 } };
		int n, passed;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		if (client < 0) {
			client = accept4(fk.listen_fd, NULL, NULL, SOCK_CLOEXEC);
			continue;
		}
		n = ipc_recv(client, in, sizeof(in), &passed, MSG_DONTWAIT);
		if (n == -EAGAIN)
			continue;
		pthread_mutex_lock(&fk.lock);
		if (n <= 0 || !answer(client, in, (size_t)n, passed)) {
			close(client);
			client = -1;
		}
		pthread_mutex_unlock(&fk.lock);
	}
	if (client >= 0)
		close(client);
	return NULL;
}

static int create(const char *name, uint32_t flags)
{
	struct vmmctl_vm_create r = { .flags = flags };

	snprintf(r.name, sizeof(r.name), "%s", name);
	return vmmctl_create(ctl, &r);
}

static int group_setup(void **state)
{
	const char *env = getenv("KHYVECTL");
	char err[256] = "";
	ssize_t n;
	char *p;

	if (env) {
		snprintf(exe, sizeof(exe), "%s", env);
	} else {
		/* build[/asan]/tests/unit/test_khyvectl -> build[/asan]/khyvectl */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
		if (n <= 0)
			return -1;
		exe[n] = '\0';
		for (int i = 0; i < 3 && (p = strrchr(exe, '/')); i++)
			*p = '\0';
		strcat(exe, "/khyvectl");
	}
	if (access(exe, X_OK)) {
		fprintf(stderr, "test_khyvectl: %s is not built (make asan), or set KHYVECTL\n", exe);
		return -1;
	}
	as_root = geteuid() == 0;
	snprintf(dir, sizeof(dir), "/tmp/khyvectl-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* vm1: a running VM held by us, its socket served by the thread;
	 * vm3: running (held) but without a socket. */
	if (vmmctl_open(dir, 0, &ctl, err, sizeof(err)) ||
	    create("vm1", VMMCTL_CREATE_DESTROY_ON_CLOSE) ||
	    create("vm3", VMMCTL_CREATE_DESTROY_ON_CLOSE)) {
		fprintf(stderr, "test_khyvectl: registry: %s\n", err);
		return -1;
	}
	if (as_root && create("vm2", 0))	/* persistent, not running */
		return -1;
	snprintf(sock, sizeof(sock), "%s/vm1", dir);
	fk.listen_fd = ipc_listen(sock, err, sizeof(err));
	if (fk.listen_fd < 0 || pipe2(fk.stop, O_CLOEXEC)) {
		fprintf(stderr, "test_khyvectl: %s\n", err);
		return -1;
	}
	pthread_mutex_init(&fk.lock, NULL);
	reset_fake(NORMAL);
	return pthread_create(&fk.thread, NULL, serve, NULL) ? -1 : 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	if (write(fk.stop[1], "x", 1) == 1)
		pthread_join(fk.thread, NULL);
	close(fk.listen_fd);
	close(fk.stop[0]);
	close(fk.stop[1]);
	vmmctl_close(ctl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- running khyvectl ---- */

struct result {
	int status;
	double secs;
	char out[262144], err[8192];
};

static struct result res;

static void slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* khyvectl --rundir=<dir> args...: fills res. */
static void run(const char *first, ...)
{
	char *argv[40], rundir[96], out[96], err[96];
	posix_spawn_file_actions_t fa;
	int argc = 0, status = -1;
	double start = now();
	const char *a;
	va_list ap;
	pid_t pid;

	snprintf(rundir, sizeof(rundir), "--rundir=%s", dir);
	snprintf(out, sizeof(out), "%s/stdout.txt", dir);
	snprintf(err, sizeof(err), "%s/stderr.txt", dir);
	argv[argc++] = exe;
	argv[argc++] = rundir;
	va_start(ap, first);
	for (a = first; a && argc < 39; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	/* khyvectl's own time limits must end it; 30 s means it hung. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now() - start > 30) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("khyvectl did not exit within 30 s");
		}
		usleep(5000);
	}
	res.secs = now() - start;
	res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	slurp(out, res.out, sizeof(res.out));
	slurp(err, res.err, sizeof(res.err));
}

#define KHYVECTL(...) run(__VA_ARGS__, (const char *)NULL)

static void expect_ok(const char *out)
{
	if (res.status != 0 || res.err[0])
		fail_msg("exit status %d, stderr: %s", res.status, res.err);
	if (out)
		assert_string_equal(res.out, out);
}

/* Exit status 1, nothing on stdout, exactly the line on stderr. */
static void expect_fail(const char *line)
{
	char want[1024];

	snprintf(want, sizeof(want), "%s\n", line);
	assert_string_equal(res.err, want);
	assert_int_equal(res.status, 1);
	assert_string_equal(res.out, "");
}

static unsigned nreq(void)
{
	unsigned n;

	pthread_mutex_lock(&fk.lock);
	n = fk.nreq;
	pthread_mutex_unlock(&fk.lock);
	return n;
}

static void expect_req(unsigned i, enum ipc_type type)
{
	assert_true(i < nreq());
	if (fk.reqs[i].type != type)
		fail_msg("request %u is %s, expected %s", i, ipc_type_name(fk.reqs[i].type),
			 ipc_type_name(type));
}

/* ---- the tests ---- */

static void get_rip(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--get-rip");
	expect_ok("rip[0]\t\t0x0000000000001010\n");
	assert_int_equal(nreq(), 1);
	expect_req(0, IPC_GET_REG);
	assert_int_equal(fk.reqs[0].cpu, 0);
	assert_int_equal(fk.reqs[0].reg, IPC_REG_RIP);

	/* --vm NAME, and a vCPU with --cpu. */
	KHYVECTL("--vm", "vm1", "--cpu=1", "--get-rip");
	expect_ok("rip[1]\t\t0x0000000000001110\n");
	assert_int_equal(fk.reqs[1].cpu, 1);

	KHYVECTL("--vm=vm1", "--cpu=0x1", "--get-rip", "--json");
	expect_ok("{\"vm\":\"vm1\",\"cpu\":1,\"registers\":{\"rip\":4368}}\n");
}

static void register_spellings(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--get-fs_base", "--get-gs-base", "--get-desc-gdtr", "--get-cs",
		 "--get-efer");
	expect_ok("efer[0]\t\t0x0000000000001017\n"
		  "cs[0]\t\t0x1018\n"
		  "fs_base[0]\t\t0x0000000000001020\n"
		  "gs_base[0]\t\t0x0000000000001021\n"
		  "gdtr_base[0]\t\t0x0000000000001022\n");
	assert_int_equal(nreq(), 5);
}

static void get_all(void **state)
{
	char want[4096] = "", line[80];

	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--get-all", "--cpu=2");
	for (int r = 0; r < IPC_REG_END; r++) {
		uint64_t v = 0x1200 + (uint64_t)r;

		if (r >= IPC_REG_CS && r <= IPC_REG_LDTR)
			snprintf(line, sizeof(line), "%s[2]\t\t0x%04" PRIx64 "\n",
				 ipc_reg_name((enum ipc_reg)r), v);
		else
			snprintf(line, sizeof(line), "%s[2]\t\t0x%016" PRIx64 "\n",
				 ipc_reg_name((enum ipc_reg)r), v);
		strcat(want, line);
	}
	expect_ok(want);
	assert_int_equal(nreq(), IPC_REG_END);
	for (unsigned i = 0; i < IPC_REG_END; i++) {
		expect_req(i, IPC_GET_REG);
		assert_int_equal(fk.reqs[i].reg, i);
		assert_int_equal(fk.reqs[i].cpu, 2);
	}
}

/* Several actions: pause, set, look, resume, whatever their order on
 * the command line; the setting is seen by the getter. */
static void order_of_actions(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--resume", "--get-rip", "--set-rip=0x2000", "--get-vm-pid",
		 "--set-cs=8", "--pause", "--set-rtc-time=-5");
	expect_ok("4242\nrip[0]\t\t0x0000000000002000\n");
	assert_int_equal(nreq(), 7);
	expect_req(0, IPC_PAUSE);
	expect_req(1, IPC_SET_RTC);
	assert_true(fk.reqs[1].seconds == -5);
	expect_req(2, IPC_SET_REG);
	assert_int_equal(fk.reqs[2].reg, IPC_REG_RIP);
	assert_true(fk.reqs[2].value == 0x2000);
	expect_req(3, IPC_SET_REG);
	assert_int_equal(fk.reqs[3].reg, IPC_REG_CS);
	assert_true(fk.reqs[3].value == 8);
	expect_req(4, IPC_GET_VM_PID);
	expect_req(5, IPC_GET_REG);
	expect_req(6, IPC_RESUME);

	/* What ends the VM comes after the rest. */
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--force-poweroff", "--inject-nmi", "--cpu=1");
	expect_ok("");
	assert_int_equal(nreq(), 2);
	expect_req(0, IPC_INJECT_NMI);
	assert_int_equal(fk.reqs[0].cpu, 1);
	expect_req(1, IPC_FORCE_POWEROFF);

	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--acpi-shutdown");
	expect_ok("");
	expect_req(0, IPC_ACPI_SHUTDOWN);
	KHYVECTL("--vm=vm1", "--force-reset");
	expect_ok("");
	expect_req(1, IPC_FORCE_RESET);
	KHYVECTL("--vm=vm1", "--inject-nmi");
	expect_ok("");
	expect_req(2, IPC_INJECT_NMI);
	assert_int_equal(fk.reqs[2].cpu, 0);
}

static void get_stats(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--get-stats");
	expect_ok(NULL);
	assert_non_null(strstr(res.out, "uptime_ms                               \t1234\n"));
	assert_non_null(strstr(res.out, "vcpu0.nmis                              \t1\n"));
	assert_non_null(strstr(res.out, "vcpu1.exits                             \t20\n"));
	assert_non_null(strstr(res.out, "blk.4.0.rd_reqs                         \t7\n"));

	/* --cpu keeps the VM's own numbers and that vCPU's. */
	KHYVECTL("--vm=vm1", "--get-stats", "--cpu=1");
	expect_ok(NULL);
	assert_null(strstr(res.out, "vcpu0."));
	assert_non_null(strstr(res.out, "vcpu1.exits"));
	assert_non_null(strstr(res.out, "uptime_ms"));
	assert_non_null(strstr(res.out, "blk.4.0.rd_reqs"));

	KHYVECTL("--vm=vm1", "--get-stats", "--json");
	expect_ok("{\"vm\":\"vm1\",\"stats\":{\"uptime_ms\":1234,\"vcpus\":2,\"vcpu0.exits\":10,"
		  "\"vcpu0.nmis\":1,\"vcpu1.exits\":20,\"vcpu1.nmis\":0,\"blk.4.0.rd_reqs\":7}}\n");
}

static void get_vm_pid(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--get-vm-pid");
	expect_ok("4242\n");
	KHYVECTL("--vm=vm1", "--get-vm-pid", "--json");
	expect_ok("{\"vm\":\"vm1\",\"pid\":4242,\"monitor_pid\":4241}\n");
	/* Getters together: one object. */
	KHYVECTL("--vm=vm1", "--get-vm-pid", "--get-rtc-time", "--get-rflags", "--json");
	expect_ok("{\"vm\":\"vm1\",\"pid\":4242,\"monitor_pid\":4241,\"rtc_time\":1700000000,"
		  "\"cpu\":0,\"registers\":{\"rflags\":4113}}\n");
}

static void rtc_time(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--get-rtc-time");
	expect_ok("rtc time 0x6553f100: Tue Nov 14 22:13:20 2023\n");
	KHYVECTL("--vm=vm1", "--set-rtc-time=0x6553f100");
	expect_ok("");
	expect_req(1, IPC_SET_RTC);
	assert_true(fk.reqs[1].seconds == FAKE_RTC);
}

static void read_mem(void **state)
{
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--read-mem=0x41,20");
	expect_ok("0000000000000041  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  "
		  "|ABCDEFGHIJKLMNOP|\n"
		  "0000000000000051  51 52 53 54                                       |QRST|\n");
	expect_req(0, IPC_READ_MEM);
	assert_true(fk.reqs[0].gpa == 0x41);
	assert_int_equal(fk.reqs[0].len, 20);

	KHYVECTL("--vm=vm1", "--read-mem=4096");		/* 16 bytes by default */
	expect_ok(NULL);
	assert_int_equal(fk.reqs[1].len, 16);
	assert_true(fk.reqs[1].gpa == 4096);

	KHYVECTL("--vm=vm1", "--read-mem=0x61,4", "--json");
	expect_ok("{\"vm\":\"vm1\",\"memory\":{\"gpa\":97,\"length\":4,\"data\":\"61626364\"}}\n");

	KHYVECTL("--vm=vm1", "--read-mem=0,32768");
	expect_ok(NULL);
	assert_int_equal(fk.reqs[3].len, IPC_MAX_MEM_READ);
	assert_int_equal((int)strlen(res.out), IPC_MAX_MEM_READ / 16 * 87);	/* 87-byte lines */

	/* A VM that returns less than asked is not believed. */
	reset_fake(SHORT_MEM);
	KHYVECTL("--vm=vm1", "--read-mem=0x41,20");
	expect_fail("khyvectl: vm1: read-mem: malformed reply: 19 bytes for 20 asked");
}

static void checkpoint(void **state)
{
	char sub[128], real[PATH_MAX], arg[160], cwd[PATH_MAX];

	snprintf(sub, sizeof(sub), "%s/snapshots", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_non_null(realpath(sub, real));

	reset_fake(NORMAL);
	snprintf(arg, sizeof(arg), "--checkpoint=%s/vm1.ckp", sub);
	KHYVECTL("--vm=vm1", arg);
	expect_ok("");
	expect_req(0, IPC_CHECKPOINT);
	assert_string_equal(fk.reqs[0].file, "vm1.ckp");
	assert_int_equal(fk.reqs[0].flags, 0);
	assert_int_equal(fk.ckpt_fds, 1);
	assert_true(fk.ckpt_isdir);
	assert_string_equal(fk.ckpt_path, real);

	/* --suspend with --force; done after everything else. */
	snprintf(arg, sizeof(arg), "--suspend=%s/vm1.ckp", sub);
	KHYVECTL("--vm=vm1", arg, "--force", "--get-vm-pid");
	expect_ok("4242\n");
	expect_req(1, IPC_GET_VM_PID);
	expect_req(2, IPC_CHECKPOINT);
	assert_int_equal(fk.reqs[2].flags, IPC_CHECKPOINT_SUSPEND | IPC_CHECKPOINT_FORCE);
	assert_true(fk.ckpt_isdir);

	/* A bare name is in the current directory. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	KHYVECTL("--vm=vm1", "--checkpoint=here.ckp");
	expect_ok("");
	assert_string_equal(fk.reqs[3].file, "here.ckp");
	assert_string_equal(fk.ckpt_path, cwd);

	/* A directory that is not there: nothing is sent. */
	KHYVECTL("--vm=vm1", "--checkpoint=/nonexistent-khyvectl/x.ckp");
	expect_fail("khyvectl: vm1: checkpoint: /nonexistent-khyvectl: No such file or directory");
	assert_int_equal(nreq(), 4);
}

static void error_replies(void **state)
{
	reset_fake(FAIL);
	KHYVECTL("--vm=vm1", "--inject-nmi", "--cpu=7");
	expect_fail("khyvectl: vm1: inject-nmi: no vCPU 7 (the VM has 2)");

	/* The first failure stops the rest, and --json prints nothing. */
	reset_fake(FAIL);
	KHYVECTL("--vm=vm1", "--get-rip", "--get-stats", "--force-poweroff", "--json");
	expect_fail("khyvectl: vm1: get-rip: no vCPU 7 (the VM has 2)");
	assert_int_equal(nreq(), 1);

	reset_fake(FAIL_NO_TEXT);
	KHYVECTL("--vm=vm1", "--pause");
	expect_fail("khyvectl: vm1: pause: Operation not permitted");

	reset_fake(FAIL_UGLY);
	KHYVECTL("--vm=vm1", "--get-stats");
	expect_fail("khyvectl: vm1: get-stats: disk?broken?[31m");

	/* The fake's own check of --cpu, as khyve's. */
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--cpu=9", "--get-rax");
	expect_fail("khyvectl: vm1: get-rax: no vCPU 9");

	/* A VM paused by this invocation is resumed after a refusal. */
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm1", "--pause", "--cpu=9", "--get-rax", "--get-stats", "--resume");
	expect_fail("khyvectl: vm1: get-rax: no vCPU 9");
	assert_int_equal(nreq(), 3);
	expect_req(0, IPC_PAUSE);
	expect_req(1, IPC_GET_REG);
	expect_req(2, IPC_RESUME);
	assert_false(fk.paused);
}

static void silent_vm(void **state)
{
	reset_fake(SILENT);
	KHYVECTL("--vm=vm1", "--get-rip", "--timeout=1");
	expect_fail("khyvectl: vm1: get-rip: no reply within 1 s");
	assert_true(res.secs >= 0.9 && res.secs < 5);

	/* --list waits briefly and shows what the registry knows. */
	KHYVECTL("--list", "--timeout=1");
	expect_ok(NULL);
	assert_non_null(strstr(res.out, " running "));
	assert_non_null(strstr(res.out, "      -  -\n"));
}

static void bad_replies(void **state)
{
	reset_fake(GARBAGE);
	KHYVECTL("--vm=vm1", "--get-rip");
	expect_fail("khyvectl: vm1: get-rip: the reply is not khyve's control protocol");

	reset_fake(WRONG_TYPE);
	KHYVECTL("--vm=vm1", "--get-rtc-time");
	expect_fail("khyvectl: vm1: get-rtc-time: the reply is not khyve's control protocol");

	reset_fake(HANG_UP);
	KHYVECTL("--vm=vm1", "--get-vm-pid");
	expect_fail("khyvectl: vm1: get-vm-pid: the VM closed the connection without a reply");

	/* A late answer to an earlier request is skipped by its seq. */
	reset_fake(STALE_FIRST);
	KHYVECTL("--vm=vm1", "--get-rip", "--get-vm-pid");
	expect_ok("4242\nrip[0]\t\t0x0000000000001010\n");
}

static void list(void **state)
{
	char want[512], owner[64], vm2[128] = "";
	struct passwd *pw = getpwuid(geteuid());
	int w;

	snprintf(owner, sizeof(owner), "%s", pw ? pw->pw_name : "?");
	w = strlen(owner) > 5 ? (int)strlen(owner) : 5;
	if (as_root)
		snprintf(vm2, sizeof(vm2), "vm2   -        %-*s  stopped      -  -\n", w, owner);
	reset_fake(NORMAL);
	KHYVECTL("--list");
	snprintf(want, sizeof(want),
		 "NAME  PID      %-*s  STATE    VCPUS  MEMORY\n"
		 "vm1   4242     %-*s  running      2  512M\n"
		 "%s"
		 "vm3   %-8d %-*s  running      -  -\n",
		 w, "OWNER", w, owner, vm2, (int)getpid(), w, owner);
	expect_ok(want);

	KHYVECTL("--list", "--json");
	expect_ok(NULL);
	snprintf(want, sizeof(want),
		 "[{\"name\":\"vm1\",\"pid\":4242,\"monitor_pid\":null,\"uid\":%u,\"owner\":\"%s\","
		 "\"state\":\"running\",\"persistent\":false,\"vcpus\":2,\"memory\":536870912},",
		 (unsigned)geteuid(), owner);
	assert_true(!strncmp(res.out, want, strlen(want)));
	if (as_root)
		assert_non_null(strstr(res.out, "{\"name\":\"vm2\",\"pid\":null,\"monitor_pid\":null,"));
	assert_non_null(strstr(res.out, "{\"name\":\"vm3\",\"pid\":"));
	assert_non_null(strstr(res.out, "\"vcpus\":null,\"memory\":null}]\n"));
}

static void not_there(void **state)
{
	char line[256];

	reset_fake(NORMAL);
	snprintf(line, sizeof(line), "khyvectl: ghost: no such VM in %s", dir);
	KHYVECTL("--vm=ghost", "--get-rip");
	expect_fail(line);
	KHYVECTL("--vm=ghost");
	expect_fail(line);

	/* An entry whose socket is missing. */
	KHYVECTL("--vm=vm3", "--get-rip");
	expect_fail("khyvectl: vm3: is not running");

	/* --vm alone checks that the VM exists. */
	KHYVECTL("--vm=vm3");
	expect_ok("");
	assert_int_equal(nreq(), 0);

}

/* A VM whose loop is stuck accepts nobody: once its backlog is full, the
 * connect itself waits, for --timeout at most. */
static void not_accepting(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), filler[8], nfill = 0;
	char line[256];

	assert_int_equal(create("vm4", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/vm4", dir);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	while (nfill < 8) {
		int f = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		if (connect(f, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(f);
			break;
		}
		filler[nfill++] = f;
	}
	assert_true(nfill < 8);
	KHYVECTL("--vm=vm4", "--get-rip", "--timeout=1");
	snprintf(line, sizeof(line),
		 "khyvectl: vm4: control socket %s/vm4: the VM does not accept connections", dir);
	expect_fail(line);
	assert_true(res.secs >= 0.9 && res.secs < 5);
	while (nfill)
		close(filler[--nfill]);
	close(lfd);
}

/* A persistent VM (root made it) that nobody runs. */
static void not_running(void **state)
{
	if (!as_root)
		skip();
	reset_fake(NORMAL);
	KHYVECTL("--vm=vm2", "--pause");
	expect_fail("khyvectl: vm2: is not running");
	KHYVECTL("--vm=vm2");
	expect_ok("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_rip),
		cmocka_unit_test(register_spellings),
		cmocka_unit_test(get_all),
		cmocka_unit_test(order_of_actions),
		cmocka_unit_test(get_stats),
		cmocka_unit_test(get_vm_pid),
		cmocka_unit_test(rtc_time),
		cmocka_unit_test(read_mem),
		cmocka_unit_test(checkpoint),
		cmocka_unit_test(error_replies),
		cmocka_unit_test(silent_vm),
		cmocka_unit_test(bad_replies),
		cmocka_unit_test(list),
		cmocka_unit_test(not_there),
		cmocka_unit_test(not_running),
		cmocka_unit_test(not_accepting),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
