/* The command line is untrusted: NUL-separated words become argv. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	struct config *cfg = config_new();
	FILE *null = fopen("/dev/null", "w");
	int argc = 1;

	if (!buf || !cfg || !null)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "khyve";
	for (size_t i = 0; i <= size && argc <= MAX_ARGS; ) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	(void)options_parse(cfg, argc, argv, null);
	fclose(null);
	config_free(cfg);
	free(buf);
	return 0;
}
