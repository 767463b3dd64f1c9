/* khyve(8): run one VM, bhyve(8)-style.  Exit status is bhyve's:
 * 0 reboot, 1 poweroff, 2 halt, 3 triple fault, 4 error, 5 suspend. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "hw/platform.h"
#include "lib/config.h"
#include "lib/log.h"
#include "machine/machine.h"

static int khyve_configure(struct config *cfg, int argc, char *argv[])
{
	char err[512];
	bool dump = false;
	int rc = options_parse(cfg, argc, argv, stdout);

	if (rc)
		return rc;
	if (config_validate(cfg, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (config_get_bool(cfg, "config.dump", false, &dump)) {
		log_error("config.dump=%s: not a boolean", config_get(cfg, "config.dump"));
		return -EINVAL;
	}
	if (dump) {
		config_dump(cfg, stdout);
		return OPTIONS_EXIT_OK;
	}
	return OPTIONS_RUN;
}

int main(int argc, char *argv[])
{
	struct config *cfg = config_new();
	struct machine m;
	int rc, status;

	log_set_prog("khyve");
	if (!cfg) {
		log_error("out of memory");
		return VM_EXIT_ERROR;
	}
	rc = khyve_configure(cfg, argc, argv);
	if (rc != OPTIONS_RUN) {
		config_free(cfg);
		return rc == OPTIONS_EXIT_OK ? 0 : VM_EXIT_ERROR;
	}
	log_set_vm(config_get(cfg, "name"));
	rc = machine_build(&m, cfg);
	status = rc ? VM_EXIT_ERROR : (int)machine_run(&m);
	machine_destroy(&m);
	config_free(cfg);
	return status;
}
