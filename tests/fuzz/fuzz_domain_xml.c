/* The domain XML parser on untrusted bytes (what khyvesh define reads).
 * Whatever it accepts must be within domain.h's limits and must format
 * to XML that parses back to the same definition and formats to the same
 * text; whatever it refuses must say why on one line. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "../unit/domtest.h"
#include "virt/domain_xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xmlInitParser();
	return 0;
}

static void check_limits(const struct khv_domain *d)
{
	if (!d->name[0] || !memchr(d->name, '\0', sizeof(d->name)) || !d->memory_kib ||
	    d->current_memory_kib > d->memory_kib || !d->vcpus || d->ndisks > KHV_MAX_DISKS ||
	    d->nnets > KHV_MAX_NETS || d->nserials > KHV_MAX_SERIALS ||
	    d->nchannels > KHV_MAX_CHANNELS || d->nfilesystems > KHV_MAX_FILESYSTEMS ||
	    (d->sockets && d->sockets * d->cores * d->threads != d->vcpus))
		abort();
	for (unsigned i = 0; i < d->nserials; i++)
		if (d->serials[i].port >= KHV_MAX_SERIALS || d->serials[i].type > KHV_CHR_TCP)
			abort();
	for (unsigned i = 0; i < d->ndisks; i++)
		if (!d->disks[i].source || !d->disks[i].target || d->disks[i].addr.slot > 31)
			abort();
}

static void check_refusal(int rc, const struct khv_domain *d, const char *err)
{
	if ((rc != -EINVAL && rc != -ENOMEM) || d || !err[0] || strchr(err, '\n'))
		abort();
}

static void round_trip(const struct khv_domain *a)
{
	struct khv_domain *b = NULL;
	char err[256] = "", why[64] = "", *xml, *xml2;

	if (khv_domain_format_xml(a, &xml))
		abort();
	if (khv_domain_parse_xml(xml, strlen(xml), &b, err, sizeof(err))) {
		fprintf(stderr, "formatted XML refused: %s\n%s", err, xml);
		abort();
	}
	if (!domt_equal(a, b, why, sizeof(why))) {
		fprintf(stderr, "round trip changed %s:\n%s", why, xml);
		abort();
	}
	if (khv_domain_format_xml(b, &xml2) || strcmp(xml, xml2)) {
		fprintf(stderr, "formatting is not stable:\n%s", xml);
		abort();
	}
	free(xml2);
	free(xml);
	khv_domain_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct khv_domain *d = NULL;
	char err[256] = "";
	int rc = khv_domain_parse_xml((const char *)data, size, &d, err, sizeof(err));

	if (rc) {
		check_refusal(rc, d, err);
		return 0;
	}
	check_limits(d);
	round_trip(d);
	khv_domain_free(d);
	return 0;
}
