/* The I/O thread's epoll loop: fds with callbacks, plus cross-thread wakeup.
 * All callbacks run on the thread that calls evloop_run(). */
#ifndef KHYVE_EVLOOP_H
#define KHYVE_EVLOOP_H

#include <stdint.h>

struct evloop;
/* events: EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR bits as reported by epoll. */
typedef void (*evloop_cb)(void *opaque, int fd, uint32_t events);

struct evloop *evloop_new(void);		/* NULL + errno on failure */
void evloop_free(struct evloop *loop);
/* events is an EPOLLIN/EPOLLOUT mask; an fd is registered once. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb, void *opaque);
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
int evloop_del(struct evloop *loop, int fd);
/* Runs a function on the loop thread soon (from any thread). */
int evloop_call(struct evloop *loop, void (*fn)(void *opaque), void *opaque);
/* Runs until evloop_stop(); returns 0 or a negative errno. */
int evloop_run(struct evloop *loop);
/* Thread-safe; makes evloop_run() return after the current callback. */
void evloop_stop(struct evloop *loop);

#endif
