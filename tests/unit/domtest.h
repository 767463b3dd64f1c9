/* Two domain definitions compared field by field (for round trips through
 * the native and XML formats): the name of the first field that differs,
 * NULL when they are the same.  No cmocka here: the fuzz targets use it. */
#ifndef KHYVE_DOMTEST_H
#define KHYVE_DOMTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "virt/domain.h"

static inline bool dt_str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static inline bool dt_addr_eq(const struct khv_pci_addr *a, const struct khv_pci_addr *b)
{
	return a->slot == b->slot && (a->slot < 0 || a->func == b->func);
}

static inline const char *dt_disk_diff(const struct khv_disk *a, const struct khv_disk *b)
{
	if (a->block != b->block)
		return "disk type";
	if (!dt_str_eq(a->source, b->source))
		return "disk source";
	if (!dt_str_eq(a->target, b->target))
		return "disk target";
	if (a->readonly != b->readonly)
		return "disk readonly";
	if (!dt_str_eq(a->serial, b->serial))
		return "disk serial";
	return dt_addr_eq(&a->addr, &b->addr) ? NULL : "disk address";
}

static inline const char *dt_net_diff(const struct khv_net *a, const struct khv_net *b)
{
	if (a->type != b->type)
		return "interface type";
	if (!dt_str_eq(a->source, b->source))
		return "interface source";
	if (!dt_str_eq(a->target_dev, b->target_dev))
		return "interface target";
	if (a->has_mac != b->has_mac || (a->has_mac && memcmp(a->mac, b->mac, 6)))
		return "interface mac";
	return dt_addr_eq(&a->addr, &b->addr) ? NULL : "interface address";
}

static inline const char *dt_serial_diff(const struct khv_serial *a, const struct khv_serial *b)
{
	if (a->type != b->type || a->port != b->port)
		return "serial type or port";
	if (!dt_str_eq(a->path, b->path) || !dt_str_eq(a->path2, b->path2))
		return "serial path";
	if (!dt_str_eq(a->host, b->host) || !dt_str_eq(a->service, b->service))
		return "serial host or service";
	return NULL;
}

static inline const char *dt_devices_diff(const struct khv_domain *a, const struct khv_domain *b)
{
	const char *why = NULL;

	if (a->ndisks != b->ndisks || a->nnets != b->nnets || a->nserials != b->nserials ||
	    a->nchannels != b->nchannels || a->nfilesystems != b->nfilesystems)
		return "device counts";
	for (unsigned i = 0; !why && i < a->ndisks && i < KHV_MAX_DISKS; i++)
		why = dt_disk_diff(&a->disks[i], &b->disks[i]);
	for (unsigned i = 0; !why && i < a->nnets && i < KHV_MAX_NETS; i++)
		why = dt_net_diff(&a->nets[i], &b->nets[i]);
	for (unsigned i = 0; !why && i < a->nserials && i < KHV_MAX_SERIALS; i++)
		why = dt_serial_diff(&a->serials[i], &b->serials[i]);
	for (unsigned i = 0; !why && i < a->nchannels && i < KHV_MAX_CHANNELS; i++)
		if (!dt_str_eq(a->channels[i].path, b->channels[i].path) ||
		    !dt_str_eq(a->channels[i].name, b->channels[i].name))
			why = "channel";
	for (unsigned i = 0; !why && i < a->nfilesystems && i < KHV_MAX_FILESYSTEMS; i++)
		if (!dt_str_eq(a->filesystems[i].source, b->filesystems[i].source) ||
		    !dt_str_eq(a->filesystems[i].target, b->filesystems[i].target) ||
		    a->filesystems[i].readonly != b->filesystems[i].readonly)
			why = "filesystem";
	if (why)
		return why;
	if (a->rng != b->rng || (a->rng && !dt_addr_eq(&a->rng_addr, &b->rng_addr)))
		return "rng";
	if (a->channel_addr_set != b->channel_addr_set ||
	    (a->channel_addr_set && !dt_addr_eq(&a->channel_addr, &b->channel_addr)))
		return "channel address";
	return NULL;
}

static inline const char *domain_diff(const struct khv_domain *a, const struct khv_domain *b)
{
	if (strncmp(a->name, b->name, KHV_NAME_MAX))
		return "name";
	if (a->has_uuid != b->has_uuid || (a->has_uuid && memcmp(a->uuid, b->uuid, 16)))
		return "uuid";
	if (!dt_str_eq(a->title, b->title) || !dt_str_eq(a->description, b->description))
		return "title or description";
	if (a->memory_kib != b->memory_kib || a->current_memory_kib != b->current_memory_kib)
		return "memory";
	if (a->vcpus != b->vcpus || a->sockets != b->sockets || a->cores != b->cores ||
	    a->threads != b->threads)
		return "vcpus or topology";
	if (!dt_str_eq(a->arch, b->arch) || !dt_str_eq(a->kernel, b->kernel) ||
	    !dt_str_eq(a->initrd, b->initrd) || !dt_str_eq(a->cmdline, b->cmdline))
		return "os";
	if (a->acpi != b->acpi || a->apic != b->apic || a->clock != b->clock)
		return "features or clock";
	if (a->on_poweroff != b->on_poweroff || a->on_reboot != b->on_reboot ||
	    a->on_crash != b->on_crash)
		return "lifecycle";
	return dt_devices_diff(a, b);
}

/* true when a and b define the same VM; else why names the first field
 * that differs. */
static inline bool domt_equal(const struct khv_domain *a, const struct khv_domain *b,
			      char *why, size_t len)
{
	const char *d = domain_diff(a, b);

	if (d)
		snprintf(why, len, "%s", d);
	return !d;
}

#endif
