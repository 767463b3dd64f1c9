/* -k config files are untrusted: parse, expand and dump arbitrary text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = config_new();
	char path[64], err[512];
	FILE *null = fopen("/dev/null", "w");
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

	if (!cfg || !null || fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (config_parse_file(cfg, path, err, sizeof(err)) == 0 &&
	    config_validate(cfg, err, sizeof(err)) == 0) {
		config_dump(cfg, null);
		(void)config_get(cfg, "name");
	}
	fclose(null);
	close(fd);
	config_free(cfg);
	return 0;
}
