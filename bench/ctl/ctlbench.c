/* bench/ctl/ctlbench: control-socket round trips and named-VM create +
 * destroy, for bench/ctl/run.sh.
 *
 *   ctlbench khyve SOCKET CLIENTS REQUESTS   get-vm-pid round trips
 *   ctlbench qmp SOCKET... REQUESTS          QMP query-status round trips,
 *                                            one client per socket
 *   ctlbench vmmctl RUNDIR COUNT             create + destroy of a VM
 *
 * Prints one line: "rps=R p50_us=A p99_us=B" (per-op microseconds), or
 * "ops=N us_per_op=X" for vmmctl. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "vmmctl/vmmctl.h"

#define MAX_CLIENTS	64

struct client {
	const char *path;
	unsigned n;
	double *lat;			/* microseconds per request */
	int rc;
	bool qmp;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dial(const char *path, int type)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror(path);
		return -1;
	}
	return s;
}

static int khyve_rounds(struct client *c, int s)
{
	static __thread uint8_t buf[IPC_MAX_MSG];
	struct ipc_request q = { .type = IPC_GET_VM_PID };
	struct ipc_reply r;

	for (unsigned i = 0; i < c->n; i++) {
		double t0 = now_us();
		int n, fd;

		q.seq = i;
		n = ipc_encode_request(&q, buf, sizeof(buf));
		if (n < 0 || ipc_send(s, buf, (size_t)n, -1, 0) ||
		    (n = ipc_recv(s, buf, sizeof(buf), &fd, 0)) < 0 ||
		    ipc_decode_reply(buf, (size_t)n, &r, NULL, 0) || r.status || r.seq != i)
			return -1;
		c->lat[i] = now_us() - t0;
	}
	return 0;
}

/* Reads until a line holding "return" (QMP replies are one line). */
static int qmp_reply(int s)
{
	char buf[4096];
	size_t len = 0;

	for (;;) {
		ssize_t n = read(s, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\"return\"") && memchr(buf, '\n', len))
			return 0;
		if (len == sizeof(buf) - 1)
			len = 0;	/* greeting or events: drop */
	}
}

static int qmp_rounds(struct client *c, int s)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	static const char query[] = "{\"execute\":\"query-status\"}\n";

	if (write(s, caps, sizeof(caps) - 1) < 0 || qmp_reply(s))
		return -1;
	for (unsigned i = 0; i < c->n; i++) {
		double t0 = now_us();

		if (write(s, query, sizeof(query) - 1) < 0 || qmp_reply(s))
			return -1;
		c->lat[i] = now_us() - t0;
	}
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	int s = dial(c->path, c->qmp ? SOCK_STREAM : SOCK_SEQPACKET);

	c->rc = s < 0 ? -1 : c->qmp ? qmp_rounds(c, s) : khyve_rounds(c, s);
	if (s >= 0)
		close(s);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int rounds(const char *const *paths, unsigned nclients, unsigned n, bool qmp)
{
	struct client c[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	double *all = calloc((size_t)nclients * n, sizeof(double)), t0, secs;

	if (!all)
		return 1;
	for (unsigned i = 0; i < nclients; i++)
		c[i] = (struct client){ .path = paths[qmp ? i : 0], .n = n,
					.lat = all + (size_t)i * n, .qmp = qmp };
	t0 = now_us();
	for (unsigned i = 0; i < nclients; i++)
		pthread_create(&th[i], NULL, client_main, &c[i]);
	for (unsigned i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	secs = (now_us() - t0) / 1e6;
	for (unsigned i = 0; i < nclients; i++)
		if (c[i].rc) {
			fprintf(stderr, "ctlbench: client %u failed\n", i);
			free(all);
			return 1;
		}
	qsort(all, (size_t)nclients * n, sizeof(double), cmp);
	printf("rps=%.0f p50_us=%.1f p99_us=%.1f\n", nclients * n / secs,
	       all[(size_t)nclients * n / 2], all[(size_t)nclients * n * 99 / 100]);
	free(all);
	return 0;
}

static int create_destroy(const char *rundir, unsigned n)
{
	struct vmmctl *c;
	char err[256];
	double t0;

	if (vmmctl_open(rundir, 0, &c, err, sizeof(err))) {
		fprintf(stderr, "ctlbench: %s\n", err);
		return 1;
	}
	t0 = now_us();
	for (unsigned i = 0; i < n; i++) {
		struct vmmctl_vm_create cr = { .name = "benchvm",
					       .flags = VMMCTL_CREATE_DESTROY_ON_CLOSE };
		struct vmmctl_vm_destroy de = { .name = "benchvm" };

		if (vmmctl_create(c, &cr) || vmmctl_destroy(c, &de)) {
			fprintf(stderr, "ctlbench: create/destroy failed at %u\n", i);
			vmmctl_close(c);
			return 1;
		}
	}
	printf("ops=%u us_per_op=%.1f\n", n, (now_us() - t0) / n);
	vmmctl_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "khyve")) {
		unsigned k = (unsigned)atoi(argv[3]);

		return k && k <= MAX_CLIENTS ?
		       rounds((const char *const *)&argv[2], k, (unsigned)atoi(argv[4]), false) : 2;
	}
	if (argc >= 4 && !strcmp(argv[1], "qmp") && argc - 3 <= MAX_CLIENTS)
		return rounds((const char *const *)&argv[2], (unsigned)(argc - 3),
			      (unsigned)atoi(argv[argc - 1]), true);
	if (argc == 4 && !strcmp(argv[1], "vmmctl"))
		return create_destroy(argv[2], (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: ctlbench khyve SOCKET CLIENTS N | qmp SOCKET... N | "
		"vmmctl RUNDIR N\n");
	return 2;
}
