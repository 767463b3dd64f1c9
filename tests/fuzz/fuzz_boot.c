/* Kernel files are untrusted: the bzImage and ELF probes and the ELF
 * loader must reject anything malformed without reading out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	const uint64_t ramsize = 32 << 20;
	struct boot_files bf = { 0 };
	struct vm vm = { 0 };
	struct vcpu_boot b = { 0 };
	char path[64], err[512];
	int fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	if (!ram)
		ram = calloc(1, ramsize);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	bf.kernel_path = path;
	bf.cmdline = "console=ttyS0";
	vm.mem = ram;
	vm.mem_size = vm.lowmem = ramsize;
	if (boot_probe(&bf, ramsize, err, sizeof(err)) == 0)
		(void)boot_load(&bf, &vm, 0xE0000, &b, err, sizeof(err));
	boot_files_close(&bf);
	close(fd);
	return 0;
}
