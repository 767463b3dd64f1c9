/* The named-VM registry: FreeBSD's vmmctl rules (reserved words, flags,
 * EEXIST, the per-user limit, EPERM) and lifetimes tied to a descriptor,
 * including a holder killed with SIGKILL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmmctl/vmmctl.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/khyve-vmmctl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct vmmctl *open_ctl(unsigned maxvms)
{
	struct vmmctl *c;
	char err[256] = "";

	assert_int_equal(vmmctl_open(dir, maxvms, &c, err, sizeof(err)), 0);
	return c;
}

static int create(struct vmmctl *c, const char *name, uint32_t flags)
{
	struct vmmctl_vm_create r = { .flags = flags };

	snprintf(r.name, sizeof(r.name), "%s", name);
	return vmmctl_create(c, &r);
}

static int destroy(struct vmmctl *c, const char *name)
{
	struct vmmctl_vm_destroy r = { 0 };

	snprintf(r.name, sizeof(r.name), "%s", name);
	return vmmctl_destroy(c, &r);
}

static bool exists(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s.vm", dir, name);
	return access(p, F_OK) == 0;
}

/* Polls for the reaper: up to 5 s. */
static bool gone_soon(const char *name)
{
	struct timespec ts = { 0, 10000000 };

	for (int i = 0; i < 500 && exists(name); i++)
		nanosleep(&ts, NULL);
	return !exists(name);
}

static void request_validation(void **state)
{
	struct vmmctl *c = open_ctl(0);
	struct vmmctl_vm_create cr = { .name = "vm1", .flags = VMMCTL_CREATE_DESTROY_ON_CLOSE };
	struct vmmctl_vm_destroy de = { .name = "vm1" };

	cr.reserved[7] = 1;
	assert_int_equal(vmmctl_create(c, &cr), -EINVAL);
	cr.reserved[7] = 0;
	cr.flags = 0x80;
	assert_int_equal(vmmctl_create(c, &cr), -EINVAL);
	cr.flags = VMMCTL_CREATE_DESTROY_ON_CLOSE;
	memset(cr.name, 'a', sizeof(cr.name));		/* no NUL */
	assert_int_equal(vmmctl_create(c, &cr), -EINVAL);
	assert_int_equal(create(c, "-bad", VMMCTL_CREATE_DESTROY_ON_CLOSE), -EINVAL);
	assert_int_equal(create(c, "a/b", VMMCTL_CREATE_DESTROY_ON_CLOSE), -EINVAL);
	assert_int_equal(create(c, "vm1", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	assert_int_equal(create(c, "vm1", VMMCTL_CREATE_DESTROY_ON_CLOSE), -EEXIST);
	de.reserved[15] = 2;
	assert_int_equal(vmmctl_destroy(c, &de), -EINVAL);
	assert_int_equal(destroy(c, "nosuchvm"), -EINVAL);
	assert_int_equal(destroy(c, "vm1"), 0);
	assert_false(exists("vm1"));
	assert_int_equal(create(c, "vm1", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);	/* reusable */
	vmmctl_close(c);
}

static void per_user_limit(void **state)
{
	struct vmmctl *c = open_ctl(2);

	assert_int_equal(create(c, "a", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	assert_int_equal(create(c, "b", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	assert_int_equal(create(c, "c", VMMCTL_CREATE_DESTROY_ON_CLOSE), -ENOMEM);
	assert_int_equal(destroy(c, "a"), 0);
	assert_int_equal(create(c, "c", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	vmmctl_close(c);
}

static void destroy_on_close(void **state)
{
	struct vmmctl *c = open_ctl(0), *d;
	struct vmmctl_entry *list, e;

	assert_int_equal(create(c, "tied", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	d = open_ctl(0);
	assert_int_equal(vmmctl_list(d, &list), 1);
	assert_string_equal(list[0].name, "tied");
	assert_true(list[0].running);
	assert_int_equal(list[0].pid, getpid());
	free(list);
	vmmctl_close(c);
	assert_false(exists("tied"));			/* the last copy closed */
	assert_int_equal(vmmctl_lookup(d, "tied", &e), -ENOENT);
	vmmctl_close(d);
}

/* The holder dies by SIGKILL: the reaper removes the entry, the name is
 * free at once. */
static void killed_holder(void **state)
{
	int p[2], status;
	pid_t pid;
	char ok;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct vmmctl *c;
		char err[256];

		if (vmmctl_open(dir, 0, &c, err, sizeof(err)) ||
		    create(c, "victim", VMMCTL_CREATE_DESTROY_ON_CLOSE))
			_exit(1);
		if (write(p[1], "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(p[0], &ok, 1), 1);
	assert_true(exists("victim"));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(gone_soon("victim"));
	{
		struct vmmctl *c = open_ctl(0);

		assert_int_equal(create(c, "victim", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
		vmmctl_close(c);
	}
	close(p[0]);
	close(p[1]);
}

/* A fork()ed copy of the handle keeps the VM after the parent closes,
 * as FreeBSD's descriptor does. */
static void forked_copy_keeps_vm(void **state)
{
	struct vmmctl *c = open_ctl(0);
	int p[2], status;
	pid_t pid;
	char x;

	assert_int_equal(create(c, "shared", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &x, 1) < 0)
			_exit(1);
		_exit(0);		/* the child's copy goes with it */
	}
	close(p[0]);
	vmmctl_close(c);
	assert_true(exists("shared"));			/* the child still holds it */
	close(p[1]);
	waitpid(pid, &status, 0);
	assert_true(gone_soon("shared"));
}

static void persistent_vms(void **state)
{
	struct vmmctl *c = open_ctl(0), *d;
	struct vmmctl_entry e;

	if (geteuid() != 0) {
		assert_int_equal(create(c, "pers", 0), -EPERM);
		vmmctl_close(c);
		return;
	}
	assert_int_equal(create(c, "pers", 0), 0);
	vmmctl_close(c);
	assert_true(exists("pers"));			/* outlives the handle */
	d = open_ctl(0);
	assert_int_equal(vmmctl_lookup(d, "pers", &e), 0);
	assert_false(e.running);
	assert_int_equal(vmmctl_attach(d, "pers"), 0);
	c = open_ctl(0);
	assert_int_equal(vmmctl_attach(c, "pers"), -EBUSY);
	assert_int_equal(vmmctl_lookup(c, "pers", &e), 0);
	assert_true(e.running);
	vmmctl_close(d);				/* stopped, still there */
	assert_int_equal(vmmctl_lookup(c, "pers", &e), 0);
	assert_false(e.running);
	assert_int_equal(destroy(c, "pers"), 0);
	assert_false(exists("pers"));
	vmmctl_close(c);
}

/* An unprivileged user: only destroy-on-close VMs, and never another
 * user's. */
static void unprivileged(void **state)
{
	struct vmmctl *c;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	c = open_ctl(0);
	assert_int_equal(create(c, "rootvm", VMMCTL_CREATE_DESTROY_ON_CLOSE), 0);
	assert_int_equal(chmod(dir, 0755), 0);	/* so the user may look */
	pid = fork();
	if (pid == 0) {
		struct vmmctl *u;
		char err[256];

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		/* root's directory is not the user's: refused outright. */
		if (vmmctl_open(dir, 0, &u, err, sizeof(err)) == 0)
			_exit(11);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	vmmctl_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(request_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(per_user_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(destroy_on_close, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(forked_copy_keeps_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(persistent_vms, setup, teardown),
		cmocka_unit_test_setup_teardown(unprivileged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
