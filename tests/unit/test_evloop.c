/* The I/O thread's loop: fd callbacks, cross-thread calls and stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/evloop.h"

struct ctx {
	struct evloop *loop;
	int pipe_a[2], pipe_b[2];
	int reads, writable, calls, b_seen;
};

static void on_read(void *opaque, int fd, uint32_t events)
{
	struct ctx *c = opaque;
	char buf[16];

	assert_true(events & EPOLLIN);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	c->reads++;
	evloop_stop(c->loop);
}

static void test_fd_callback_and_stop(void **state)
{
	struct ctx c = { .loop = evloop_new() };

	assert_non_null(c.loop);
	assert_int_equal(pipe(c.pipe_a), 0);
	assert_int_equal(evloop_add(c.loop, c.pipe_a[0], EPOLLIN, on_read, &c), 0);
	assert_int_equal(evloop_add(c.loop, c.pipe_a[0], EPOLLIN, on_read, &c), -EEXIST);
	assert_int_equal(evloop_add(c.loop, -1, EPOLLIN, on_read, &c), -EINVAL);
	assert_int_equal(write(c.pipe_a[1], "x", 1), 1);
	assert_int_equal(evloop_run(c.loop), 0);
	assert_int_equal(c.reads, 1);
	assert_int_equal(evloop_del(c.loop, c.pipe_a[0]), 0);
	assert_int_equal(evloop_del(c.loop, c.pipe_a[0]), -ENOENT);
	assert_int_equal(evloop_mod(c.loop, c.pipe_a[0], EPOLLIN), -ENOENT);
	close(c.pipe_a[0]);
	close(c.pipe_a[1]);
	evloop_free(c.loop);
}

static void on_writable(void *opaque, int fd, uint32_t events)
{
	struct ctx *c = opaque;

	assert_true(events & EPOLLOUT);
	c->writable++;
	assert_int_equal(evloop_mod(c->loop, fd, 0), 0);
	evloop_stop(c->loop);
}

static void test_mod_to_epollout(void **state)
{
	struct ctx c = { .loop = evloop_new() };

	assert_int_equal(pipe(c.pipe_a), 0);
	assert_int_equal(evloop_add(c.loop, c.pipe_a[1], 0, on_writable, &c), 0);
	assert_int_equal(evloop_mod(c.loop, c.pipe_a[1], EPOLLOUT), 0);
	assert_int_equal(evloop_run(c.loop), 0);
	assert_int_equal(c.writable, 1);
	close(c.pipe_a[0]);
	close(c.pipe_a[1]);
	evloop_free(c.loop);
}

static void count_call(void *opaque)
{
	struct ctx *c = opaque;

	if (++c->calls == 100)
		evloop_stop(c->loop);
}

static void *caller(void *opaque)
{
	struct ctx *c = opaque;

	for (int i = 0; i < 100; i++)
		assert_int_equal(evloop_call(c->loop, count_call, c), 0);
	return NULL;
}

static void test_call_from_other_thread(void **state)
{
	struct ctx c = { .loop = evloop_new() };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, caller, &c), 0);
	assert_int_equal(evloop_run(c.loop), 0);
	pthread_join(t, NULL);
	assert_int_equal(c.calls, 100);
	/* Calls queued but never run are freed with the loop. */
	assert_int_equal(evloop_call(c.loop, count_call, &c), 0);
	evloop_free(c.loop);
}

static void *stopper(void *opaque)
{
	usleep(20000);
	evloop_stop(opaque);
	return NULL;
}

static void test_stop_from_other_thread(void **state)
{
	struct evloop *loop = evloop_new();
	pthread_t t;

	/* A stop sent before run still ends it. */
	evloop_stop(loop);
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(pthread_create(&t, NULL, stopper, loop), 0);
	assert_int_equal(evloop_run(loop), 0);
	pthread_join(t, NULL);
	evloop_free(loop);
}

static void on_b(void *opaque, int fd, uint32_t events)
{
	((struct ctx *)opaque)->b_seen++;
}

static void stop_call(void *opaque)
{
	evloop_stop(opaque);
}

/* Deletes the other fd while its event may already be in the batch. */
static void on_a_deletes_b(void *opaque, int fd, uint32_t events)
{
	struct ctx *c = opaque;

	assert_int_equal(evloop_del(c->loop, c->pipe_b[0]), 0);
	assert_int_equal(evloop_del(c->loop, c->pipe_a[0]), 0);
	assert_int_equal(evloop_call(c->loop, stop_call, c->loop), 0);
}

static void test_del_inside_batch(void **state)
{
	struct ctx c = { .loop = evloop_new() };

	assert_int_equal(pipe(c.pipe_a), 0);
	assert_int_equal(pipe(c.pipe_b), 0);
	assert_int_equal(evloop_add(c.loop, c.pipe_a[0], EPOLLIN, on_a_deletes_b, &c), 0);
	assert_int_equal(evloop_add(c.loop, c.pipe_b[0], EPOLLIN, on_b, &c), 0);
	assert_int_equal(write(c.pipe_b[1], "b", 1), 1);
	assert_int_equal(write(c.pipe_a[1], "a", 1), 1);
	assert_int_equal(evloop_run(c.loop), 0);
	/* b may have run before a in the batch, never after its removal. */
	assert_true(c.b_seen <= 1);
	for (int i = 0; i < 2; i++) {
		close(c.pipe_a[i]);
		close(c.pipe_b[i]);
	}
	evloop_free(c.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_callback_and_stop),
		cmocka_unit_test(test_mod_to_epollout),
		cmocka_unit_test(test_call_from_other_thread),
		cmocka_unit_test(test_stop_from_other_thread),
		cmocka_unit_test(test_del_inside_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
