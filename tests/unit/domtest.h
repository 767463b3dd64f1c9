/* Field-by-field comparison of two domain definitions, for the XML round
 * trips (tests/unit/test_domain_xml.c, tests/fuzz/fuzz_domain_xml.c):
 * comparing the formatted text would miss a field the formatter forgets. */
#ifndef KHYVE_TESTS_DOMTEST_H
#define KHYVE_TESTS_DOMTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "virt/domain.h"

static inline bool domt_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static inline bool domt_addr(const struct khv_pci_addr *a, const struct khv_pci_addr *b)
{
	return a->slot == b->slot && a->func == b->func;
}

#define DOMT_CHECK(cond, ...)					\
	do {							\
		if (!(cond)) {					\
			snprintf(why, whylen, __VA_ARGS__);	\
			return false;				\
		}						\
	} while (0)

static inline bool domt_head_equal(const struct khv_domain *a, const struct khv_domain *b,
				   char *why, size_t whylen)
{
	DOMT_CHECK(!strcmp(a->name, b->name), "name");
	DOMT_CHECK(a->has_uuid == b->has_uuid && (!a->has_uuid || !memcmp(a->uuid, b->uuid, 16)),
		   "uuid");
	DOMT_CHECK(domt_str(a->title, b->title), "title");
	DOMT_CHECK(domt_str(a->description, b->description), "description");
	DOMT_CHECK(a->memory_kib == b->memory_kib, "memory");
	DOMT_CHECK(a->current_memory_kib == b->current_memory_kib, "currentMemory");
	DOMT_CHECK(a->vcpus == b->vcpus, "vcpus");
	DOMT_CHECK(a->sockets == b->sockets && a->cores == b->cores && a->threads == b->threads,
		   "topology");
	DOMT_CHECK(domt_str(a->arch, b->arch), "arch");
	DOMT_CHECK(domt_str(a->kernel, b->kernel), "kernel");
	DOMT_CHECK(domt_str(a->initrd, b->initrd), "initrd");
	DOMT_CHECK(domt_str(a->cmdline, b->cmdline), "cmdline");
	DOMT_CHECK(a->acpi == b->acpi && a->apic == b->apic, "features");
	DOMT_CHECK(a->clock == b->clock, "clock");
	DOMT_CHECK(a->on_poweroff == b->on_poweroff && a->on_reboot == b->on_reboot &&
		   a->on_crash == b->on_crash, "on_*");
	return true;
}

static inline bool domt_devices_equal(const struct khv_domain *a, const struct khv_domain *b,
				      char *why, size_t whylen)
{
	DOMT_CHECK(a->ndisks == b->ndisks && a->nnets == b->nnets && a->nserials == b->nserials &&
		   a->nchannels == b->nchannels && a->nfilesystems == b->nfilesystems,
		   "device counts");
	for (unsigned i = 0; i < a->ndisks; i++) {
		const struct khv_disk *x = &a->disks[i], *y = &b->disks[i];

		DOMT_CHECK(x->block == y->block && domt_str(x->source, y->source) &&
			   domt_str(x->target, y->target) && x->readonly == y->readonly &&
			   domt_str(x->serial, y->serial) && domt_addr(&x->addr, &y->addr),
			   "disk %u", i);
	}
	for (unsigned i = 0; i < a->nnets; i++) {
		const struct khv_net *x = &a->nets[i], *y = &b->nets[i];

		DOMT_CHECK(x->type == y->type && domt_str(x->source, y->source) &&
			   domt_str(x->target_dev, y->target_dev) && x->has_mac == y->has_mac &&
			   (!x->has_mac || !memcmp(x->mac, y->mac, 6)) &&
			   domt_addr(&x->addr, &y->addr), "interface %u", i);
	}
	for (unsigned i = 0; i < a->nserials; i++) {
		const struct khv_serial *x = &a->serials[i], *y = &b->serials[i];

		DOMT_CHECK(x->type == y->type && x->port == y->port && domt_str(x->path, y->path) &&
			   domt_str(x->path2, y->path2) && domt_str(x->host, y->host) &&
			   domt_str(x->service, y->service), "serial %u", i);
	}
	for (unsigned i = 0; i < a->nchannels; i++)
		DOMT_CHECK(domt_str(a->channels[i].path, b->channels[i].path) &&
			   domt_str(a->channels[i].name, b->channels[i].name), "channel %u", i);
	for (unsigned i = 0; i < a->nfilesystems; i++) {
		const struct khv_filesystem *x = &a->filesystems[i], *y = &b->filesystems[i];

		DOMT_CHECK(domt_str(x->source, y->source) && domt_str(x->target, y->target) &&
			   x->readonly == y->readonly, "filesystem %u", i);
	}
	DOMT_CHECK(a->rng == b->rng && (!a->rng || domt_addr(&a->rng_addr, &b->rng_addr)), "rng");
	DOMT_CHECK(a->channel_addr_set == b->channel_addr_set &&
		   (!a->channel_addr_set || domt_addr(&a->channel_addr, &b->channel_addr)),
		   "virtio-serial address");
	return true;
}

/* true when a and b define the same VM; else why names the first field
 * that differs. */
static inline bool domt_equal(const struct khv_domain *a, const struct khv_domain *b,
			      char *why, size_t whylen)
{
	return domt_head_equal(a, b, why, whylen) && domt_devices_equal(a, b, why, whylen);
}

#undef DOMT_CHECK

#endif
