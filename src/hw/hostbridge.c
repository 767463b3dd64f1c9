/* PCI host bridge at 0:0.0 (bhyve's "hostbridge" and "amd_hostbridge"). */
#include <errno.h>
#include <stdio.h>

#include "hw/pci.h"
#include "lib/config.h"

static int hostbridge_ids(struct pci_dev *dev, struct config *cfg, const char *node,
			  uint16_t vendor, uint16_t devid, char *err, size_t errlen)
{
	char var[64];
	int64_t v, d;

	snprintf(var, sizeof(var), "%s.vendor", node);
	if (config_get_int(cfg, var, vendor, 0, 0xfffe, &v)) {
		snprintf(err, errlen, "%s: vendor must be a 16-bit PCI vendor ID", node);
		return -EINVAL;
	}
	snprintf(var, sizeof(var), "%s.devid", node);
	if (config_get_int(cfg, var, devid, 0, 0xffff, &d)) {
		snprintf(err, errlen, "%s: devid must be a 16-bit PCI device ID", node);
		return -EINVAL;
	}
	pci_set_ids(dev, (uint16_t)v, (uint16_t)d, 0x06, 0x00, 0x00);
	return 0;
}

/* bhyve's own IDs (Network Computing Devices / NetBSD-assigned 0x1275). */
static int hostbridge_init(struct pci_dev *dev, struct config *cfg, const char *node,
			   char *err, size_t errlen)
{
	return hostbridge_ids(dev, cfg, node, 0x1275, 0x1275, err, errlen);
}

static int amd_hostbridge_init(struct pci_dev *dev, struct config *cfg, const char *node,
			       char *err, size_t errlen)
{
	return hostbridge_ids(dev, cfg, node, 0x1022, 0x7432, err, errlen);
}

const struct pci_devemu hostbridge_emu = {
	.name = "hostbridge",
	.help = "PCI host bridge (vendor=, devid= override the IDs)",
	.stateless = true,
	.init = hostbridge_init,
};

const struct pci_devemu amd_hostbridge_emu = {
	.name = "amd_hostbridge",
	.help = "PCI host bridge with AMD's vendor ID",
	.stateless = true,
	.init = amd_hostbridge_init,
};
