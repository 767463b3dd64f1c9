/* libvirt's bhyve-argv parser (virt/native.h) on untrusted bytes, which
 * are not NUL-terminated.  A refusal must be one clean line; whatever is
 * accepted must stay within the definition's limits and, when it can be
 * started, its khyve command line as text must convert back to the same
 * definition. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/domtest.h"
#include "virt/native.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const char *err, size_t len)
{
	const char *nul = memchr(err, '\0', len);

	if (!nul || nul == err)
		abort();
	for (const char *p = err; p < nul; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();	/* a second line or an escape sequence */
}

static void check_limits(const struct khv_domain *d)
{
	if (!memchr(d->name, '\0', sizeof(d->name)) || !d->name[0] || !d->has_uuid ||
	    !d->vcpus || d->vcpus > 255 || !d->memory_kib ||
	    d->current_memory_kib != d->memory_kib || d->ndisks > KHV_MAX_DISKS ||
	    d->nnets > KHV_MAX_NETS || d->nserials > KHV_MAX_SERIALS ||
	    d->nchannels > KHV_MAX_CHANNELS || d->nfilesystems)
		abort();
	if (d->sockets && (uint64_t)d->sockets * d->cores * d->threads != d->vcpus)
		abort();
	for (unsigned i = 0; i < d->ndisks; i++)
		if (!d->disks[i].source || !d->disks[i].target || d->disks[i].addr.slot < 0)
			abort();
	for (unsigned i = 0; i < d->nnets; i++)
		if (!d->nets[i].target_dev || !d->nets[i].source || d->nets[i].addr.slot < 0)
			abort();
	if (d->nchannels != 0 && !d->channel_addr_set)
		abort();
}

static void round_trip(const struct khv_domain *a)
{
	struct khv_domain *b = NULL;
	char err[512], **argv = NULL, *text;

	if (khv_domain_to_argv(a, "khyve", &argv, err, sizeof(err))) {
		check_err(err, sizeof(err));
		return;		/* not startable (no kernel, nmdm...): fine */
	}
	if (!(text = khv_argv_to_text(argv)))
		abort();
	if (khv_domain_from_native(text, strlen(text), &b, err, sizeof(err)) ||
	    domain_diff(a, b))
		abort();
	khv_domain_free(b);
	khv_argv_free(argv);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct khv_domain *d = NULL;
	char err[512];

	if (khv_domain_from_native((const char *)data, size, &d, err, sizeof(err))) {
		if (d)
			abort();
		check_err(err, sizeof(err));
		return 0;
	}
	check_limits(d);
	round_trip(d);
	khv_domain_free(d);
	return 0;
}
