/* khyvectl --list: the VMs of a run directory, like `virsh list --all`.
 * The registry says which VMs exist, who owns them and whether a process
 * runs them; each running VM's socket is asked GET_INFO for the rest,
 * and one that does not answer in time gets "-" there. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipc/client.h"
#include "khyvectl/khyvectl.h"
#include "lib/log.h"
#include "vmmctl/vmmctl.h"

struct row {
	const struct vmmctl_entry *e;
	bool answered;
	struct ipc_info info;
	char owner[64];
};

static bool ask_info(struct vmmctl *ctl, const char *name, int timeout_ms, struct ipc_info *out)
{
	struct ipc_request q = { .type = IPC_GET_INFO, .fd = -1 };
	char sock[PATH_MAX];
	struct ipc_client *cl;
	struct ipc_reply rep;
	bool ok;

	if (vmmctl_socket_path(ctl, name, sock, sizeof(sock)) ||
	    ipc_client_connect(sock, timeout_ms, &cl))
		return false;
	ok = !ipc_client_call(cl, &q, &rep) && !rep.status;
	if (ok)
		*out = rep.info;
	ipc_client_close(cl);
	return ok;
}

static void owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (!getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

static const char *state_name(const struct row *r)
{
	if (!r->e->running)
		return "stopped";
	if (!r->answered)
		return "running";	/* a process holds it; its socket is silent */
	switch (r->info.state) {
	case IPC_STATE_RUNNING: return "running";
	case IPC_STATE_PAUSED: return "paused";
	case IPC_STATE_STOPPED: return "stopped";
	default: return "unknown";
	}
}

static uint32_t row_pid(const struct row *r)
{
	if (r->answered)
		return r->info.pid;
	return r->e->running && r->e->pid > 0 ? (uint32_t)r->e->pid : 0;
}

static void print_json(const struct row *rows, int n)
{
	putchar('[');
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		uint32_t pid = row_pid(r);

		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		out_json_string(stdout, r->e->name);
		if (pid)
			printf(",\"pid\":%" PRIu32, pid);
		else
			fputs(",\"pid\":null", stdout);
		if (r->answered && r->info.monitor_pid)
			printf(",\"monitor_pid\":%" PRIu32, r->info.monitor_pid);
		else
			fputs(",\"monitor_pid\":null", stdout);
		printf(",\"uid\":%u,\"owner\":", (unsigned)r->e->uid);
		out_json_string(stdout, r->owner);
		printf(",\"state\":\"%s\",\"persistent\":%s", state_name(r),
		       r->e->flags & VMMCTL_CREATE_DESTROY_ON_CLOSE ? "false" : "true");
		if (r->answered)
			printf(",\"vcpus\":%" PRIu32 ",\"memory\":%" PRIu64 "}", r->info.vcpus,
			       r->info.memory);
		else
			fputs(",\"vcpus\":null,\"memory\":null}", stdout);
	}
	puts("]");
}

static void print_table(const struct row *rows, int n)
{
	int wname = 4, wowner = 5;

	for (int i = 0; i < n; i++) {
		int l = (int)strlen(rows[i].e->name), o = (int)strlen(rows[i].owner);

		wname = l > wname ? l : wname;
		wowner = o > wowner ? o : wowner;
	}
	printf("%-*s  %-8s %-*s  %-8s %5s  %s\n", wname, "NAME", "PID", wowner, "OWNER", "STATE",
	       "VCPUS", "MEMORY");
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char pid[16] = "-", vcpus[16] = "-", mem[32] = "-";

		if (row_pid(r))
			snprintf(pid, sizeof(pid), "%" PRIu32, row_pid(r));
		if (r->answered) {
			snprintf(vcpus, sizeof(vcpus), "%" PRIu32, r->info.vcpus);
			out_size(r->info.memory, mem, sizeof(mem));
		}
		printf("%-*s  %-8s %-*s  %-8s %5s  %s\n", wname, r->e->name, pid, wowner, r->owner,
		       state_name(r), vcpus, mem);
	}
}

int khyvectl_list(const char *rundir, bool json, int timeout_ms)
{
	struct vmmctl_entry *list = NULL;
	struct vmmctl *ctl = NULL;
	struct row *rows;
	char err[512] = "";
	struct stat st;
	int n;

	/* No run directory yet: no VMs, and nothing is created. */
	if (stat(rundir, &st) < 0 && errno == ENOENT) {
		if (json)
			puts("[]");
		else
			print_table(NULL, 0);
		return KHYVECTL_EXIT_OK;
	}
	n = vmmctl_open(rundir, 0, &ctl, err, sizeof(err));
	if (n) {
		log_error("%s", err[0] ? err : strerror(-n));
		return KHYVECTL_EXIT_FAIL;
	}
	n = vmmctl_list(ctl, &list);
	if (n < 0) {
		log_error("listing %s: %s", rundir, strerror(-n));
		vmmctl_close(ctl);
		return KHYVECTL_EXIT_FAIL;
	}
	rows = calloc((size_t)n + 1, sizeof(*rows));
	if (!rows) {
		log_error("%s", strerror(ENOMEM));
		free(list);
		vmmctl_close(ctl);
		return KHYVECTL_EXIT_FAIL;
	}
	for (int i = 0; i < n; i++) {
		rows[i].e = &list[i];
		rows[i].answered = list[i].running &&
				   ask_info(ctl, list[i].name, timeout_ms, &rows[i].info);
		owner_name(list[i].uid, rows[i].owner, sizeof(rows[i].owner));
	}
	if (json)
		print_json(rows, n);
	else
		print_table(rows, n);
	free(rows);
	free(list);
	vmmctl_close(ctl);
	return KHYVECTL_EXIT_OK;
}
