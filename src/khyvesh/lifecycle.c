/* khyvesh commands that start and stop domains: start, create, destroy,
 * shutdown, reboot, reset, suspend, resume, and the autostart flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khyvesh/khyvesh.h"
#include "virt/domain_xml.h"
#include "virt/lifecycle.h"

int cmd_start(struct sh_ctx *sh, const struct sh_args *a)
{
	char err[1024] = "", name[KHV_NAME_MAX];

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_start(sh->conn, name, NULL, err, sizeof(err)))
		return sh_error("failed to start domain '%s': %s", name, err);
	printf("Domain '%s' started\n\n", name);
	return sh_flag(a, "console") ? sh_attach_console(sh, name, NULL) : KHYVESH_OK;
}

int cmd_create(struct sh_ctx *sh, const struct sh_args *a)
{
	struct khv_conn *c = sh_conn(sh);
	const char *file = sh_opt(a, "file");
	char err[1024] = "", name[KHV_NAME_MAX], *xml;
	size_t len;
	int rc;

	if (!c || sh_read_input(file, KHV_XML_MAX_BYTES, &xml, &len))
		return KHYVESH_FAIL;
	rc = khv_domain_create_xml(c, xml, len, name, NULL, err, sizeof(err));
	free(xml);
	if (rc)
		return sh_error("failed to create domain from %s: %s", file, err);
	printf("Domain '%s' created from %s\n\n", name, file);
	return sh_flag(a, "console") ? sh_attach_console(sh, name, NULL) : KHYVESH_OK;
}

int cmd_destroy(struct sh_ctx *sh, const struct sh_args *a)
{
	char err[1024] = "", name[KHV_NAME_MAX];

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_destroy(sh->conn, name, err, sizeof(err)))
		return sh_error("failed to destroy domain '%s': %s", name, err);
	printf("Domain '%s' destroyed\n\n", name);
	return KHYVESH_OK;
}

/* --mode of shutdown and reboot: only ACPI; the guest agent is later. */
static int check_mode(const struct sh_args *a)
{
	const char *mode = sh_opt(a, "mode");

	if (!mode || !strcmp(mode, "acpi"))
		return 0;
	if (!strcmp(mode, "agent"))
		return sh_error("mode agent needs the guest agent, which khyve does not have yet");
	return sh_error("mode %s: khyve shuts guests down with ACPI only (--mode acpi)", mode);
}

static int request(struct sh_ctx *sh, const struct sh_args *a, enum khv_dom_request r,
		   const char *verb, const char *done)
{
	char err[1024] = "", name[KHV_NAME_MAX];

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_request(sh->conn, name, r, err, sizeof(err)))
		return sh_error("failed to %s domain '%s': %s", verb, name, err);
	printf("Domain '%s' %s\n\n", name, done);
	return KHYVESH_OK;
}

int cmd_shutdown(struct sh_ctx *sh, const struct sh_args *a)
{
	if (check_mode(a))
		return KHYVESH_FAIL;
	return request(sh, a, KHV_REQ_SHUTDOWN, "shutdown", "is being shutdown");
}

int cmd_reboot(struct sh_ctx *sh, const struct sh_args *a)
{
	if (check_mode(a))
		return KHYVESH_FAIL;
	return request(sh, a, KHV_REQ_REBOOT, "reboot", "is being rebooted");
}

int cmd_reset(struct sh_ctx *sh, const struct sh_args *a)
{
	return request(sh, a, KHV_REQ_RESET, "reset", "was reset");
}

int cmd_suspend(struct sh_ctx *sh, const struct sh_args *a)
{
	return request(sh, a, KHV_REQ_SUSPEND, "suspend", "suspended");
}

int cmd_resume(struct sh_ctx *sh, const struct sh_args *a)
{
	return request(sh, a, KHV_REQ_RESUME, "resume", "resumed");
}

int cmd_autostart(struct sh_ctx *sh, const struct sh_args *a)
{
	char err[1024] = "", name[KHV_NAME_MAX];
	bool off = sh_flag(a, "disable");

	if (sh_domain(sh, a, name, NULL, NULL))
		return KHYVESH_FAIL;
	if (khv_domain_set_autostart(sh->conn, name, !off, err, sizeof(err)))
		return sh_error("failed to %s autostart: %s", off ? "unmark" : "mark", err);
	printf(off ? "Domain '%s' unmarked as autostarted\n\n" :
		     "Domain '%s' marked as autostarted\n\n", name);
	return KHYVESH_OK;
}
