/* A domain definition: what libvirt's domain XML says about a khyve VM,
 * in the subset khyve runs (issue "libkhyve and khyvesh").  The XML side
 * (src/virt/domain_xml.c) and the command-line side (src/virt/native.c)
 * both read and write this struct; neither knows the other.
 *
 * Strings are heap copies owned by the definition (NULL = absent);
 * khv_domain_free releases them.  Counts are bounded by the KHV_MAX_*
 * limits, which parsers enforce with an error naming the limit. */
#ifndef KHYVE_VIRT_DOMAIN_H
#define KHYVE_VIRT_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KHV_NAME_MAX		64	/* with the NUL; as khyve's VM names */
#define KHV_MAX_DISKS		16
#define KHV_MAX_NETS		8
#define KHV_MAX_SERIALS		4	/* com1..com4 */
#define KHV_MAX_CHANNELS	16	/* virtio-console ports */
#define KHV_MAX_FILESYSTEMS	8

/* Where a device sits on PCI bus 0; slot < 0: not given, assigned when
 * the command line is built (slot 0 hostbridge, 31 lpc, others from 2). */
struct khv_pci_addr {
	int slot;			/* -1 or 0..31 */
	int func;			/* 0..7 when slot >= 0 */
};

enum khv_lifecycle {
	KHV_LIFE_DESTROY,		/* bhyve-argv's default for every event;
					 * in XML, on_reboot defaults to restart */
	KHV_LIFE_RESTART,
	KHV_LIFE_PRESERVE,
	KHV_LIFE_RENAME_RESTART,
	KHV_LIFE_COREDUMP_DESTROY,	/* on_crash only */
	KHV_LIFE_COREDUMP_RESTART,	/* on_crash only */
};

/* libvirt's names of the actions, in the enum's order, NULL-terminated;
 * khv_lifecycle_name of an out-of-range value is "destroy". */
extern const char *const khv_lifecycle_names[];
const char *khv_lifecycle_name(enum khv_lifecycle v);

enum khv_clock { KHV_CLOCK_LOCALTIME, KHV_CLOCK_UTC };

/* <disk type='file'|'block' device='disk'> <target bus='virtio'> */
struct khv_disk {
	bool block;			/* type='block' (a host block device) */
	char *source;			/* <source file=> / <source dev=> */
	char *target;			/* <target dev='vda'>, NULL: assigned */
	bool readonly;			/* <readonly/> */
	char *serial;			/* <serial> */
	struct khv_pci_addr addr;
};

enum khv_net_type { KHV_NET_BRIDGE, KHV_NET_NETWORK };

/* <interface type='bridge'|'network'> <model type='virtio'/> */
struct khv_net {
	enum khv_net_type type;
	char *source;			/* bridge name, or network name */
	char *target_dev;		/* <target dev=> the tap, NULL: assigned */
	bool has_mac;
	uint8_t mac[6];
	struct khv_pci_addr addr;
	int tap_fd;			/* > 0: the tap khyve inherits (start only) */
};

enum khv_chr_type {
	KHV_CHR_PTY,			/* type='pty' */
	KHV_CHR_FILE,			/* type='file' <source path> */
	KHV_CHR_UNIX,			/* type='unix' <source mode='bind' path> */
	KHV_CHR_TCP,			/* type='tcp' <source mode='bind' host service> */
	KHV_CHR_NMDM,			/* type='nmdm' (bhyve); from-native only */
	KHV_CHR_STDIO,			/* khyve's -l comN,stdio; no XML form */
	KHV_CHR_DEV,			/* type='dev' <source path>: a host tty */
};

/* <serial> (and the <console> that mirrors serial 0) */
struct khv_serial {
	enum khv_chr_type type;
	unsigned port;			/* <target port=N>: comN+1 */
	char *path;			/* file, unix, nmdm master, tty device */
	char *path2;			/* nmdm slave */
	char *host, *service;		/* tcp */
};

/* <channel type='unix'><source mode='bind' path/><target type='virtio'
 * name='org.qemu.guest_agent.0'/> : a virtio-console port */
struct khv_channel {
	char *path;
	char *name;			/* the port name the guest sees */
};

/* <filesystem type='mount' accessmode='passthrough'> (recorded for the
 * VirtFS issue; refused at start until then) */
struct khv_filesystem {
	char *source, *target;
	bool readonly;
};

struct khv_domain {
	char name[KHV_NAME_MAX];
	bool has_uuid;
	uint8_t uuid[16];
	char *title, *description;
	uint64_t memory_kib;		/* <memory> */
	uint64_t current_memory_kib;	/* <currentMemory>, = memory when absent */
	unsigned vcpus;			/* <vcpu> */
	/* <cpu><topology sockets cores threads/>; 0 = not given */
	unsigned sockets, cores, threads;
	/* <cpu mode='custom'><model>: a khyve CPU model (vmm/cpumodel.h);
	 * NULL: the host's (mode='host-passthrough', the default) */
	char *cpu_model;
	/* <os>: <type arch= machine=>hvm</type>, direct kernel boot */
	char *arch;			/* NULL or "x86_64" */
	char *kernel, *initrd, *cmdline;
	bool acpi, apic;		/* <features> */
	enum khv_clock clock;
	enum khv_lifecycle on_poweroff, on_reboot, on_crash;
	unsigned ndisks, nnets, nserials, nchannels, nfilesystems;
	struct khv_disk disks[KHV_MAX_DISKS];
	struct khv_net nets[KHV_MAX_NETS];
	struct khv_serial serials[KHV_MAX_SERIALS];
	struct khv_channel channels[KHV_MAX_CHANNELS];
	struct khv_filesystem filesystems[KHV_MAX_FILESYSTEMS];
	bool rng;			/* <rng model='virtio'><backend model='random'> */
	struct khv_pci_addr rng_addr;
	bool channel_addr_set;		/* all channels share one virtio-console */
	struct khv_pci_addr channel_addr;
};

/* A zeroed definition with the defaults of libvirt's bhyve-argv
 * conversion (every address unset, on_* destroy, localtime clock).  A
 * domain XML that leaves them out means libvirt's XML defaults instead
 * (on_reboot restart, clock utc), which the XML parser sets itself.
 * NULL on ENOMEM. */
struct khv_domain *khv_domain_new(void);
void khv_domain_free(struct khv_domain *d);

/* strdup that records ENOMEM: returns 0 or -ENOMEM; *dst gets the copy
 * (an earlier value is freed). */
int khv_strset(char **dst, const char *src);
/* Drops tap names start made up ("khvN", as libvirt drops its "vnetN"),
 * so a running domain's dumpxml defined again gets a fresh tap. */
void khv_domain_forget_generated(struct khv_domain *d);
/* Gives d a random (version 4) UUID: 0 or -errno. */
int khv_uuid_generate(struct khv_domain *d);
/* The 36-character text form of a UUID, lower case. */
void khv_uuid_format(const uint8_t uuid[16], char out[37]);

#endif
