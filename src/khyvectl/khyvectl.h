/* khyvectl's parts: main.c (options, the actions on one VM), list.c
 * (--list), out.c (text and JSON output helpers). */
#ifndef KHYVE_KHYVECTL_H
#define KHYVE_KHYVECTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KHYVECTL_EXIT_OK	0
#define KHYVECTL_EXIT_FAIL	1	/* the action failed */
#define KHYVECTL_EXIT_USAGE	2	/* a bad command line */

/* How long --list waits for each VM's GET_INFO answer unless --timeout. */
#define KHYVECTL_LIST_TIMEOUT_MS 1000

/* --list: every VM of rundir, a table or (json) an array.  Exit status. */
int khyvectl_list(const char *rundir, bool json, int timeout_ms);

/* A JSON string literal of s (quotes, escapes). */
void out_json_string(FILE *f, const char *s);
/* "512M", "1G", "1536K", "100B": the largest exact binary unit. */
void out_size(uint64_t bytes, char *buf, size_t len);
/* Text from a VM made fit for one terminal line: control bytes become '?'. */
const char *out_clean(const char *text, char *buf, size_t len);
/* hexdump -C style lines of data read at gpa. */
void out_hexdump(FILE *f, uint64_t gpa, const uint8_t *data, size_t len);

#endif
