/* One-line user messages: "khyve: <vm>: <what>: <why>". */
#ifndef KHYVE_LOG_H
#define KHYVE_LOG_H

#include <stdarg.h>

/* The VM name used as the message prefix once known (NULL: none). */
void log_set_vm(const char *vmname);
/* Program name prefix, "khyve" by default. */
void log_set_prog(const char *prog);

/* Prints "prog: [vm: ]<formatted>\n" on stderr. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Same, only once per *once flag (for guest-triggered noise). */
void log_error_once(int *once, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
