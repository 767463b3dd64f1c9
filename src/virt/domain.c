/* The domain definition's memory: creation with libvirt's defaults and
 * release of every string it owns. */
#include "virt/domain.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void addr_unset(struct khv_pci_addr *a)
{
	a->slot = -1;
	a->func = 0;
}

struct khv_domain *khv_domain_new(void)
{
	struct khv_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	for (unsigned i = 0; i < KHV_MAX_DISKS; i++)
		addr_unset(&d->disks[i].addr);
	for (unsigned i = 0; i < KHV_MAX_NETS; i++)
		addr_unset(&d->nets[i].addr);
	addr_unset(&d->rng_addr);
	addr_unset(&d->channel_addr);
	return d;
}

int khv_strset(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

void khv_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

void khv_domain_free(struct khv_domain *d)
{
	if (!d)
		return;
	free(d->title);
	free(d->description);
	free(d->arch);
	free(d->kernel);
	free(d->initrd);
	free(d->cmdline);
	free(d->cpu_model);
	for (unsigned i = 0; i < KHV_MAX_DISKS; i++) {
		free(d->disks[i].source);
		free(d->disks[i].target);
		free(d->disks[i].serial);
	}
	for (unsigned i = 0; i < KHV_MAX_NETS; i++) {
		free(d->nets[i].source);
		free(d->nets[i].target_dev);
	}
	for (unsigned i = 0; i < KHV_MAX_SERIALS; i++) {
		free(d->serials[i].path);
		free(d->serials[i].path2);
		free(d->serials[i].host);
		free(d->serials[i].service);
	}
	for (unsigned i = 0; i < KHV_MAX_CHANNELS; i++) {
		free(d->channels[i].path);
		free(d->channels[i].name);
	}
	for (unsigned i = 0; i < KHV_MAX_FILESYSTEMS; i++) {
		free(d->filesystems[i].source);
		free(d->filesystems[i].target);
	}
	free(d);
}

int khv_uuid_generate(struct khv_domain *d)
{
	if (getrandom(d->uuid, 16, 0) != 16)
		return errno ? -errno : -EIO;
	d->uuid[6] = (uint8_t)((d->uuid[6] & 0x0f) | 0x40);	/* version 4 */
	d->uuid[8] = (uint8_t)((d->uuid[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	d->has_uuid = true;
	return 0;
}

/* "khvN": a name start gave a tap (hostnet.c's pattern). */
static bool generated_tap(const char *s)
{
	if (!s || strncmp(s, "khv", 3) || !s[3])
		return false;
	for (s += 3; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

void khv_domain_forget_generated(struct khv_domain *d)
{
	for (unsigned i = 0; i < d->nnets; i++)
		if (generated_tap(d->nets[i].target_dev)) {
			free(d->nets[i].target_dev);
			d->nets[i].target_dev = NULL;
		}
}

const char *const khv_lifecycle_names[] = {
	"destroy", "restart", "preserve", "rename-restart",
	"coredump-destroy", "coredump-restart", NULL,
};

const char *khv_lifecycle_name(enum khv_lifecycle v)
{
	return (unsigned)v <= KHV_LIFE_COREDUMP_RESTART ? khv_lifecycle_names[v] : "destroy";
}
