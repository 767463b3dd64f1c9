#include "lib/log.h"

#include <stdio.h>
#include <string.h>

static const char *log_prog = "khyve";
static const char *log_vm;

void log_set_vm(const char *vmname) { log_vm = vmname; }
void log_set_prog(const char *prog) { log_prog = prog; }

void log_verror(const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per message, whatever the caller formatted. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_vm)
		fprintf(stderr, "%s: %s: %s\n", log_prog, log_vm, msg);
	else
		fprintf(stderr, "%s: %s\n", log_prog, msg);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verror(fmt, ap);
	va_end(ap);
}

void log_error_once(int *once, const char *fmt, ...)
{
	va_list ap;

	if (*once)
		return;
	*once = 1;
	va_start(ap, fmt);
	log_verror(fmt, ap);
	va_end(ap);
}
