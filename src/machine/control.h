/* The control socket's handler for a running machine (src/ipc/server.h
 * calls it on the machine's event loop thread). */
#ifndef KHYVE_MACHINE_CONTROL_H
#define KHYVE_MACHINE_CONTROL_H

#include "ipc/ipc.h"
#include "machine/machine.h"

/* An ipc_handler_fn; opaque is the struct machine. */
void machine_control(void *opaque, const struct ipc_request *q, struct ipc_reply *r,
		     uint8_t *data, struct ipc_stat *stats);

#endif
