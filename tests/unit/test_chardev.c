/* UART backends against a real event loop, acting as both the guest (UART
 * registers) and the host user (socket / pty peer). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hw/chardev.h"
#include "hw/uart8250.h"
#include "lib/evloop.h"

struct fx {
	char dir[32], path[64];
	struct evloop *loop;
	struct uart8250 *uart;
	struct chardev *chr;
	pthread_t thread;
	bool running;
};

static void *loop_main(void *opaque)
{
	struct fx *f = opaque;

	assert_int_equal(evloop_run(f->loop), 0);
	return NULL;
}

static void start_loop(struct fx *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
	f->running = true;
}

static void stop_loop(struct fx *f)
{
	if (!f->running)
		return;
	evloop_stop(f->loop);
	pthread_join(f->thread, NULL);
	f->running = false;
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/khyve-chr-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.path, sizeof(f.path), "%s/com1.sock", f.dir);
	f.loop = evloop_new();
	assert_non_null(f.loop);
	f.uart = uart8250_new(NULL);
	assert_non_null(f.uart);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	stop_loop(f);
	chardev_close(f->chr);
	uart8250_free(f->uart);
	evloop_free(f->loop);
	unlink(f->path);
	rmdir(f->dir);
	return 0;
}

/* Guest side: wait for LSR.DR, then read RBR. */
static int guest_getc(struct fx *f)
{
	for (int i = 0; i < 5000; i++) {
		if (uart8250_ops.read(f->uart, 5, 1) & 1)
			return (int)uart8250_ops.read(f->uart, 0, 1);
		usleep(1000);
	}
	return -1;
}

static void guest_puts(struct fx *f, const char *s)
{
	while (*s)
		uart8250_ops.write(f->uart, 0, 1, (uint8_t)*s++);
}

static ssize_t read_timeout(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return read(fd, buf, len);
}

static void read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read_timeout(fd, buf + got, len - got, 5000);

		assert_true(n > 0);
		got += (size_t)n;
	}
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void open_unix(struct fx *f)
{
	char spec[160];

	snprintf(spec, sizeof(spec), "unix=%s", f->path);
	assert_int_equal(chardev_open(spec, "com1", f->loop, &f->chr), 0);
	chardev_attach_uart(f->chr, f->uart);
	start_loop(f);
}

static void test_unix_round_trip(void **state)
{
	struct fx *f = *state;
	char buf[300];
	int fd;

	open_unix(f);
	fd = unix_connect(f->path);
	/* More than the 16-byte FIFO: the rx-space path must resume input. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('A' + i % 26);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(guest_getc(f), 'A' + i % 26);
	guest_puts(f, "world");
	read_exact(fd, buf, 5);
	assert_memory_equal(buf, "world", 5);
	close(fd);

	/* A second client gets the port after the first left. */
	fd = unix_connect(f->path);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(guest_getc(f), 'x');
	guest_puts(f, "y");
	read_exact(fd, buf, 1);
	assert_int_equal(buf[0], 'y');
	close(fd);

	stop_loop(f);
	chardev_close(f->chr);
	f->chr = NULL;
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_unix_slow_reader_drops(void **state)
{
	struct fx *f = *state;
	const size_t total = 1 << 20;
	static char buf[1 << 16];
	size_t got = 0;
	ssize_t n;
	int fd;

	open_unix(f);
	fd = unix_connect(f->path);
	/* Handshake so the client is accepted before output starts. */
	assert_int_equal(write(fd, "s", 1), 1);
	assert_int_equal(guest_getc(f), 's');
	/* Nobody reads: the guest must not block, the excess is dropped. */
	for (size_t i = 0; i < total; i++)
		uart8250_ops.write(f->uart, 0, 1, 'o');
	assert_true(chardev_dropped(f->chr) > 0);
	while ((n = read_timeout(fd, buf, sizeof(buf), 500)) > 0)
		got += (size_t)n;
	assert_int_equal(got + chardev_dropped(f->chr), total);
	close(fd);
}

static void test_unix_output_without_client(void **state)
{
	struct fx *f = *state;
	char c;
	int fd;

	open_unix(f);
	guest_puts(f, "lost");
	fd = unix_connect(f->path);
	assert_int_equal(write(fd, "h", 1), 1);
	assert_int_equal(guest_getc(f), 'h');
	guest_puts(f, "k");
	assert_int_equal(read_timeout(fd, &c, 1, 5000), 1);
	assert_int_equal(c, 'k');
	close(fd);
}

static void test_unix_stale_socket(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);		/* the file stays: a stale socket */
	assert_int_equal(access(f->path, F_OK), 0);
	open_unix(f);
	fd = unix_connect(f->path);
	close(fd);
}

static void test_unix_live_socket_refused(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char spec[160];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	snprintf(spec, sizeof(spec), "unix=%s", f->path);
	assert_int_equal(chardev_open(spec, "com1", f->loop, &f->chr), -EADDRINUSE);
	assert_null(f->chr);
	assert_int_equal(access(f->path, F_OK), 0);
	close(fd);
}

static void test_unix_regular_file_refused(void **state)
{
	struct fx *f = *state;
	char spec[160];
	struct stat st;
	int fd = open(f->path, O_CREAT | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	snprintf(spec, sizeof(spec), "unix=%s", f->path);
	assert_int_equal(chardev_open(spec, "com1", f->loop, &f->chr), -EEXIST);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
}

static void test_bad_specs(void **state)
{
	struct fx *f = *state;

	assert_int_equal(chardev_open("bogus", "com1", f->loop, &f->chr), -EINVAL);
	assert_int_equal(chardev_open("unix=", "com1", f->loop, &f->chr), -EINVAL);
	assert_int_equal(chardev_open("/nonexistent/tty", "com1", f->loop, &f->chr), -ENOENT);
	assert_null(f->chr);
}

static void test_pty(void **state)
{
	struct fx *f = *state;
	char buf[4];
	int fd;

	assert_int_equal(chardev_open("pty", "com2", f->loop, &f->chr), 0);
	chardev_attach_uart(f->chr, f->uart);
	assert_int_equal(strncmp(chardev_path(f->chr), "/dev/pts/", 9), 0);
	start_loop(f);
	fd = open(chardev_path(f->chr), O_RDWR | O_NOCTTY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ab", 2), 2);
	assert_int_equal(guest_getc(f), 'a');
	assert_int_equal(guest_getc(f), 'b');
	/* Raw mode: no \n -> \r\n translation on the way out. */
	guest_puts(f, "c\n");
	read_exact(fd, buf, 2);
	assert_memory_equal(buf, "c\n", 2);
	close(fd);
}

static void test_stdio_only_once(void **state)
{
	struct fx *f = *state;
	struct chardev *second = NULL;
	int fl = fcntl(STDOUT_FILENO, F_GETFL);

	assert_int_equal(chardev_open("stdio", "com1", f->loop, &f->chr), 0);
	assert_int_equal(chardev_open("stdio", "com2", f->loop, &second), -EBUSY);
	assert_null(second);
	chardev_close(f->chr);
	f->chr = NULL;
	/* Flags restored; and stdio is free again. */
	assert_int_equal(fcntl(STDOUT_FILENO, F_GETFL), fl);
	assert_int_equal(chardev_open("stdio", "com2", f->loop, &f->chr), 0);
}

static void test_list_backends(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	chardev_list_backends(m);
	fclose(m);
	assert_non_null(strstr(text, "unix=PATH"));
	assert_non_null(strstr(text, "stdio"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unix_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_slow_reader_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_output_without_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_stale_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_live_socket_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_regular_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdio_only_once, setup, teardown),
		cmocka_unit_test(test_list_backends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
