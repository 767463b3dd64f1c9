/* epoll loop.  The registration table is guarded by a mutex so evloop_mod
 * (and add/del) may come from vCPU threads; each epoll event carries the
 * fd and a generation number, so an event queued for an fd that was
 * removed (and perhaps reused) in the same batch is recognised and dropped. */
#include "lib/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EVLOOP_BATCH 32

struct evloop_reg {
	evloop_cb cb;
	void *opaque;
	uint32_t gen;		/* 0: slot free */
};

struct evloop_call_item {
	struct evloop_call_item *next;
	void (*fn)(void *opaque);
	void *opaque;
};

struct evloop {
	int epfd, wakefd;
	pthread_mutex_t lock;
	struct evloop_reg *regs;	/* indexed by fd */
	size_t nregs;
	uint32_t next_gen;
	struct evloop_call_item *calls, **calls_tail;
	bool stop;
};

static uint64_t ev_data(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	int err;

	if (!loop)
		return NULL;
	loop->calls_tail = &loop->calls;
	loop->next_gen = 1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0)
		goto fail;
	err = pthread_mutex_init(&loop->lock, NULL);
	if (err) {
		errno = err;
		goto fail;
	}
	return loop;
fail:
	err = errno;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop);
	errno = err;
	return NULL;
}

void evloop_free(struct evloop *loop)
{
	struct evloop_call_item *c, *next;

	if (!loop)
		return;
	/* Queued calls never ran; their opaques belong to the callers. */
	for (c = loop->calls; c; c = next) {
		next = c->next;
		free(c);
	}
	close(loop->epfd);
	close(loop->wakefd);
	pthread_mutex_destroy(&loop->lock);
	free(loop->regs);
	free(loop);
}

static int evloop_grow(struct evloop *loop, int fd)
{
	size_t n = loop->nregs ? loop->nregs : 16;
	struct evloop_reg *r;

	while (n <= (size_t)fd)
		n *= 2;
	r = realloc(loop->regs, n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r + loop->nregs, 0, (n - loop->nregs) * sizeof(*r));
	loop->regs = r;
	loop->nregs = n;
	return 0;
}

static uint32_t evloop_gen(struct evloop *loop)
{
	uint32_t g = loop->next_gen++;

	if (!loop->next_gen)
		loop->next_gen = 1;
	return g;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	struct epoll_event ev = { .events = events };
	int rc = 0;

	if (fd < 0 || !cb)
		return -EINVAL;
	pthread_mutex_lock(&loop->lock);
	if ((size_t)fd >= loop->nregs)
		rc = evloop_grow(loop, fd);
	if (!rc && loop->regs[fd].gen)
		rc = -EEXIST;
	if (!rc) {
		uint32_t gen = evloop_gen(loop);

		ev.data.u64 = ev_data(fd, gen);
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			rc = -errno;
		else
			loop->regs[fd] = (struct evloop_reg){ cb, opaque, gen };
	}
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	int rc = 0;

	pthread_mutex_lock(&loop->lock);
	if (fd < 0 || (size_t)fd >= loop->nregs || !loop->regs[fd].gen)
		rc = -ENOENT;
	else {
		ev.data.u64 = ev_data(fd, loop->regs[fd].gen);
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			rc = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

int evloop_del(struct evloop *loop, int fd)
{
	int rc = 0;

	pthread_mutex_lock(&loop->lock);
	if (fd < 0 || (size_t)fd >= loop->nregs || !loop->regs[fd].gen)
		rc = -ENOENT;
	else {
		loop->regs[fd].gen = 0;
		/* EBADF: the caller closed it first; epoll already forgot it. */
		if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF)
			rc = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return rc;
}

static void evloop_wake(struct evloop *loop)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: a wakeup is pending anyway. */
	if (write(loop->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort();
}

int evloop_call(struct evloop *loop, void (*fn)(void *opaque), void *opaque)
{
	struct evloop_call_item *c = malloc(sizeof(*c));

	if (!c)
		return -ENOMEM;
	*c = (struct evloop_call_item){ NULL, fn, opaque };
	pthread_mutex_lock(&loop->lock);
	*loop->calls_tail = c;
	loop->calls_tail = &c->next;
	pthread_mutex_unlock(&loop->lock);
	evloop_wake(loop);
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->stop = true;
	pthread_mutex_unlock(&loop->lock);
	evloop_wake(loop);
}

static bool evloop_stopping(struct evloop *loop)
{
	bool s;

	pthread_mutex_lock(&loop->lock);
	s = loop->stop;
	pthread_mutex_unlock(&loop->lock);
	return s;
}

/* Runs the calls queued so far, each without the lock held so they may
 * queue more (those run on the next round). */
static void evloop_run_calls(struct evloop *loop)
{
	struct evloop_call_item *c, *next;
	uint64_t n;

	if (read(loop->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		abort();
	pthread_mutex_lock(&loop->lock);
	c = loop->calls;
	loop->calls = NULL;
	loop->calls_tail = &loop->calls;
	pthread_mutex_unlock(&loop->lock);
	for (; c; c = next) {
		next = c->next;
		c->fn(c->opaque);
		free(c);
	}
}

static void evloop_dispatch(struct evloop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct evloop_reg r = { 0 };

	pthread_mutex_lock(&loop->lock);
	if ((size_t)fd < loop->nregs && loop->regs[fd].gen == gen)
		r = loop->regs[fd];
	pthread_mutex_unlock(&loop->lock);
	if (r.gen)
		r.cb(r.opaque, fd, ev->events);
}

int evloop_run(struct evloop *loop)
{
	struct epoll_event evs[EVLOOP_BATCH];
	int rc = 0;

	while (!rc && !evloop_stopping(loop)) {
		int n = epoll_wait(loop->epfd, evs, EVLOOP_BATCH, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		for (int i = 0; i < n && !evloop_stopping(loop); i++) {
			if (evs[i].data.u64 == UINT64_MAX)
				evloop_run_calls(loop);
			else
				evloop_dispatch(loop, &evs[i]);
		}
	}
	/* A stop consumed here; one sent before evloop_run still counts. */
	pthread_mutex_lock(&loop->lock);
	loop->stop = false;
	pthread_mutex_unlock(&loop->lock);
	return rc;
}
