/* The PCI-ISA (LPC) bridge.  Its presence is what makes COM1-COM4 exist,
 * as in bhyve; the ISA devices themselves are placed by the machine. */
#include <errno.h>
#include <stdio.h>

#include "hw/pci.h"

static int lpc_init(struct pci_dev *dev, struct config *cfg, const char *node,
		    char *err, size_t errlen)
{
	if (dev->slot == 0) {
		snprintf(err, errlen, "%s: lpc cannot take slot 0 (the host bridge's)", node);
		return -EINVAL;
	}
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned f = 0; f < PCI_FUNCS; f++) {
			struct pci_dev *o = dev->bus->dev[s][f];

			if (o && o->emu == dev->emu) {
				snprintf(err, errlen, "%s: only one lpc bridge is allowed", node);
				return -EINVAL;
			}
		}
	/* Intel 82371SB PIIX3 ISA bridge, as bhyve presents it. */
	pci_set_ids(dev, 0x8086, 0x7000, 0x06, 0x01, 0x00);
	return 0;
}

const struct pci_devemu lpc_emu = {
	.name = "lpc",
	.help = "PCI-ISA bridge hosting COM1-COM4 (-l comN,...); bus 0 only",
	.stateless = true,
	.init = lpc_init,
};
