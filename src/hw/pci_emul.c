/* The registry of PCI emulations built into khyve. */
#include <string.h>

#include "hw/pci.h"

extern const struct pci_devemu hostbridge_emu, amd_hostbridge_emu, lpc_emu, virtio_rnd_emu,
	virtio_console_emu, virtio_blk_emu;
extern const struct pci_devemu virtio_net_emu;

static const struct pci_devemu *const pci_emulations[] = {
	&hostbridge_emu,
	&amd_hostbridge_emu,
	&lpc_emu,
	&virtio_rnd_emu,
	&virtio_console_emu,
	&virtio_net_emu,
	&virtio_blk_emu,
};

const struct pci_devemu *pci_emul_find(const char *name)
{
	for (size_t i = 0; i < sizeof(pci_emulations) / sizeof(pci_emulations[0]); i++)
		if (!strcmp(pci_emulations[i]->name, name))
			return pci_emulations[i];
	return NULL;
}

void pci_emul_list(FILE *out)
{
	for (size_t i = 0; i < sizeof(pci_emulations) / sizeof(pci_emulations[0]); i++)
		fprintf(out, "%-16s %s\n", pci_emulations[i]->name, pci_emulations[i]->help);
}
