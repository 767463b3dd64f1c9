/* The control-socket codec and server: every message round-trips, every
 * malformed one is refused, and a server on a real socket answers bad
 * clients with errors (or hangs up on them) while serving good ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/server.h"
#include "lib/evloop.h"

static uint8_t buf[IPC_MAX_MSG];

static void request_roundtrip(void **state)
{
	struct ipc_request in[] = {
		{ .type = IPC_GET_INFO, .seq = 1 },
		{ .type = IPC_INJECT_NMI, .seq = 2, .cpu = 3 },
		{ .type = IPC_SET_REG, .seq = 3, .cpu = 1, .reg = IPC_REG_RIP, .value = 0xfeedULL << 32 },
		{ .type = IPC_SET_RTC, .seq = 4, .seconds = -5 },
		{ .type = IPC_READ_MEM, .seq = 5, .gpa = 0x123456789ULL, .len = IPC_MAX_MEM_READ },
		{ .type = IPC_CHECKPOINT, .seq = 6, .flags = IPC_CHECKPOINT_SUSPEND, .file = "vm.ckp" },
	};
	struct ipc_request out;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		int n = ipc_encode_request(&in[i], buf, sizeof(buf));

		assert_true(n >= IPC_HDR_LEN);
		assert_int_equal(ipc_decode_request(buf, (size_t)n, &out), 0);
		assert_int_equal(out.type, in[i].type);
		assert_int_equal(out.seq, in[i].seq);
		assert_int_equal(out.cpu, in[i].cpu);
		assert_int_equal(out.reg, in[i].reg);
		assert_true(out.value == in[i].value);
		assert_true(out.seconds == in[i].seconds);
		assert_true(out.gpa == in[i].gpa);
		assert_int_equal(out.len, in[i].len);
		assert_string_equal(out.file, in[i].file);
		assert_int_equal(out.fd, -1);
	}
}

static void bad_requests(void **state)
{
	struct ipc_request q = { .type = IPC_GET_REG, .reg = IPC_REG_END };
	struct ipc_request out;
	int n;

	assert_int_equal(ipc_encode_request(&q, buf, sizeof(buf)), -EINVAL);
	q = (struct ipc_request){ .type = IPC_READ_MEM, .len = IPC_MAX_MEM_READ + 1 };
	assert_int_equal(ipc_encode_request(&q, buf, sizeof(buf)), -EINVAL);
	q = (struct ipc_request){ .type = IPC_CHECKPOINT, .file = "../x" };
	assert_int_equal(ipc_encode_request(&q, buf, sizeof(buf)), -EINVAL);
	q = (struct ipc_request){ .type = IPC_CHECKPOINT, .file = "..", };
	assert_int_equal(ipc_encode_request(&q, buf, sizeof(buf)), -EINVAL);
	q = (struct ipc_request){ .type = IPC_CHECKPOINT, .file = "x", .flags = 0x100 };
	assert_int_equal(ipc_encode_request(&q, buf, sizeof(buf)), -EINVAL);

	q = (struct ipc_request){ .type = IPC_INJECT_NMI };
	n = ipc_encode_request(&q, buf, sizeof(buf));
	assert_int_equal(ipc_decode_request(buf, (size_t)n - 1, &out), -EMSGSIZE);	/* truncated */
	assert_int_equal(ipc_decode_request(buf, 3, &out), -EPROTO);
	buf[0] ^= 1;
	assert_int_equal(ipc_decode_request(buf, (size_t)n, &out), -EPROTO);		/* magic */
	buf[0] ^= 1;
	buf[4] = 9;
	assert_int_equal(ipc_decode_request(buf, (size_t)n, &out), -EPROTONOSUPPORT);
	buf[4] = IPC_VERSION;
	buf[6] = 200;
	assert_int_equal(ipc_decode_request(buf, (size_t)n, &out), -ENOSYS);		/* type */
	buf[6] = IPC_INJECT_NMI;
	buf[12] = 8;
	assert_int_equal(ipc_decode_request(buf, (size_t)n, &out), -EMSGSIZE);	/* length */
	/* A reserved word that is not zero. */
	q = (struct ipc_request){ .type = IPC_READ_MEM, .len = 8 };
	n = ipc_encode_request(&q, buf, sizeof(buf));
	buf[n - 1] = 1;
	assert_int_equal(ipc_decode_request(buf, (size_t)n, &out), -EINVAL);
}

static void reply_roundtrip(void **state)
{
	struct ipc_stat st[2] = { { "uptime_ms", 12 }, { "vcpu0.exits", 1ull << 40 } };
	struct ipc_stat got[4];
	struct ipc_reply r = { .type = IPC_GET_STATS, .seq = 9, .nstats = 2, .stats = st }, o;
	uint8_t mem[3] = { 1, 2, 3 };
	int n = ipc_encode_reply(&r, buf, sizeof(buf));

	assert_int_equal(ipc_decode_reply(buf, (size_t)n, &o, got, 4), 0);
	assert_int_equal(o.nstats, 2);
	assert_string_equal(o.stats[1].name, "vcpu0.exits");
	assert_true(o.stats[1].value == 1ull << 40);
	assert_int_equal(ipc_decode_reply(buf, (size_t)n, &o, got, 1), -EMSGSIZE);	/* room */
	r = (struct ipc_reply){ .type = IPC_READ_MEM, .len = 3, .data = mem };
	n = ipc_encode_reply(&r, buf, sizeof(buf));
	assert_int_equal(ipc_decode_reply(buf, (size_t)n, &o, NULL, 0), 0);
	assert_memory_equal(o.data, mem, 3);
	r = (struct ipc_reply){ .type = IPC_SET_REG, .status = EINVAL, .text = "no vCPU 7" };
	n = ipc_encode_reply(&r, buf, sizeof(buf));
	assert_int_equal(ipc_decode_reply(buf, (size_t)n, &o, NULL, 0), 0);
	assert_int_equal(o.status, EINVAL);
	assert_string_equal(o.text, "no vCPU 7");
	/* A request is not a reply. */
	assert_int_equal(ipc_decode_reply(buf, IPC_HDR_LEN, &o, NULL, 0), -EMSGSIZE);
}

static void fd_passing_and_truncation(void **state)
{
	int sv[2], fd;
	struct stat st;
	uint8_t small[8];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(ipc_send(sv[0], (const uint8_t *)"hello", 5, STDIN_FILENO, 0), 0);
	assert_int_equal(ipc_recv(sv[1], buf, sizeof(buf), &fd, 0), 5);
	assert_true(fd > 2);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	memset(buf, 'x', 100);
	assert_int_equal(ipc_send(sv[0], buf, 100, STDIN_FILENO, 0), 0);
	assert_int_equal(ipc_recv(sv[1], small, sizeof(small), &fd, 0), -EMSGSIZE);
	assert_int_equal(fd, -1);		/* and the passed descriptor was closed */
	close(sv[0]);
	close(sv[1]);
}

/* ---- the server on a real socket ---- */

struct srv {
	struct evloop *loop;
	pthread_t thread;
	int lfd;
	struct ipc_server *s;
	char dir[64], path[96];
	int handled;
};

static void handler(void *opaque, const struct ipc_request *q, struct ipc_reply *r,
		    uint8_t *data, struct ipc_stat *stats)
{
	struct srv *v = opaque;

	v->handled++;
	if (q->type == IPC_GET_VM_PID)
		r->pid = 4242;
	else if (q->type == IPC_CHECKPOINT)
		r->status = q->fd >= 0 ? 0 : EBADF;
}

static void *run_loop(void *arg)
{
	evloop_run(((struct srv *)arg)->loop);
	return NULL;
}

static int srv_setup(void **state)
{
	struct srv *v = calloc(1, sizeof(*v));
	char err[256];
	struct stat st;

	snprintf(v->dir, sizeof(v->dir), "/tmp/khyve-ipc.XXXXXX");
	assert_non_null(mkdtemp(v->dir));
	snprintf(v->path, sizeof(v->path), "%s/vm", v->dir);
	v->lfd = ipc_listen(v->path, err, sizeof(err));
	assert_true(v->lfd >= 0);
	assert_int_equal(stat(v->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	v->loop = evloop_new();
	assert_int_equal(ipc_server_start(v->loop, v->lfd, geteuid(), handler, v, &v->s), 0);
	assert_int_equal(pthread_create(&v->thread, NULL, run_loop, v), 0);
	*state = v;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *v = *state;

	evloop_stop(v->loop);
	pthread_join(v->thread, NULL);
	ipc_server_stop(v->s);
	close(v->lfd);
	unlink(v->path);
	rmdir(v->dir);
	evloop_free(v->loop);
	free(v);
	return 0;
}

static int dial(struct srv *v)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, v->path);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

static int ask(int s, const struct ipc_request *q, int fd, struct ipc_reply *r)
{
	static uint8_t b[IPC_MAX_MSG];
	int n = ipc_encode_request(q, b, sizeof(b)), pfd;

	assert_true(n > 0);
	assert_int_equal(ipc_send(s, b, (size_t)n, fd, 0), 0);
	n = ipc_recv(s, b, sizeof(b), &pfd, 0);
	if (n <= 0)
		return n ? n : -ECONNRESET;
	return ipc_decode_reply(b, (size_t)n, r, NULL, 0);
}

static void server_answers(void **state)
{
	struct srv *v = *state;
	struct ipc_request q = { .type = IPC_GET_VM_PID, .seq = 77 };
	struct ipc_reply r;
	int s = dial(v), d = open("/tmp", O_RDONLY | O_DIRECTORY);

	assert_int_equal(ask(s, &q, -1, &r), 0);
	assert_int_equal(r.seq, 77);
	assert_int_equal(r.pid, 4242);
	q = (struct ipc_request){ .type = IPC_CHECKPOINT, .seq = 78, .file = "x.ckp" };
	assert_int_equal(ask(s, &q, d, &r), 0);
	assert_int_equal(r.status, 0);			/* the directory arrived */
	close(d);
	close(s);
}

static void server_survives_garbage(void **state)
{
	struct srv *v = *state;
	struct ipc_request q = { .type = IPC_GET_INFO, .seq = 1 };
	struct ipc_reply r;
	uint8_t hdr[IPC_HDR_LEN];
	int s = dial(v), good = dial(v), n, fd;

	/* Not the protocol at all: hung up on. */
	assert_int_equal(send(s, "GET / HTTP/1.0\r\n\r\n", 18, 0), 18);
	assert_true(recv(s, buf, sizeof(buf), 0) <= 0);
	close(s);
	/* An unknown type with a good header: ENOSYS, connection kept. */
	s = dial(v);
	q.type = IPC_GET_INFO;
	n = ipc_encode_request(&q, hdr, sizeof(hdr));
	hdr[6] = 0x7f;
	assert_int_equal(send(s, hdr, (size_t)n, 0), n);
	n = ipc_recv(s, buf, sizeof(buf), &fd, 0);
	assert_int_equal(ipc_decode_reply(buf, (size_t)n, &r, NULL, 0), 0);
	assert_int_equal(r.status, ENOSYS);
	assert_int_equal(ask(s, &q, -1, &r), 0);
	/* Oversized: dropped. */
	memset(buf, 0, sizeof(buf));
	assert_true(send(s, buf, sizeof(buf), 0) > 0 || errno == EMSGSIZE);
	close(s);
	/* The good client was never disturbed. */
	assert_int_equal(ask(good, &q, -1, &r), 0);
	assert_int_equal(r.status, 0);
	close(good);
}

/* A client that never reads its replies is dropped, not waited for. */
static void server_drops_slow_client(void **state)
{
	struct srv *v = *state;
	struct ipc_request q = { .type = IPC_GET_INFO };
	struct ipc_reply r;
	int slow = dial(v), other, n, sent = 0;

	n = ipc_encode_request(&q, buf, sizeof(buf));
	for (int i = 0; i < 20000; i++)
		if (send(slow, buf, (size_t)n, MSG_DONTWAIT) == n)
			sent++;
		else
			break;
	assert_true(sent > 0);
	other = dial(v);
	assert_int_equal(ask(other, &q, -1, &r), 0);
	close(other);
	close(slow);
}

static void many_clients(void **state)
{
	struct srv *v = *state;
	struct ipc_request q = { .type = IPC_GET_VM_PID };
	struct ipc_reply r;
	int s[32];

	for (int i = 0; i < 32; i++)
		s[i] = dial(v);
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 32; i++) {
			q.seq = (uint32_t)(round * 100 + i);
			assert_int_equal(ask(s[i], &q, -1, &r), 0);
			assert_int_equal(r.seq, q.seq);
		}
	for (int i = 0; i < 32; i++)
		close(s[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_roundtrip),
		cmocka_unit_test(bad_requests),
		cmocka_unit_test(reply_roundtrip),
		cmocka_unit_test(fd_passing_and_truncation),
		cmocka_unit_test_setup_teardown(server_answers, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(server_survives_garbage, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(server_drops_slow_client, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(many_clients, srv_setup, srv_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
