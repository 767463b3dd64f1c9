/* The VM side of the control socket: accepts clients on an event loop,
 * decodes each request, checks the client's credentials, calls a handler
 * and sends the reply.  Bad input gets an error reply or a closed
 * connection; a client that does not read its replies is dropped rather
 * than waited for, so no client can stall the VM. */
#ifndef KHYVE_IPC_SERVER_H
#define KHYVE_IPC_SERVER_H

#include <sys/types.h>

#include "ipc/ipc.h"

struct evloop;
struct ipc_server;

#define IPC_MAX_CLIENTS	64

/* Fills rep (status, text, payload).  Runs on the loop thread.  data is a
 * buffer of IPC_MAX_MEM_READ bytes for READ_MEM, stats one of
 * IPC_MAX_STATS entries for GET_STATS. */
typedef void (*ipc_handler_fn)(void *opaque, const struct ipc_request *req,
			       struct ipc_reply *rep, uint8_t *data, struct ipc_stat *stats);

/* Creates the listening socket at path: SOCK_SEQPACKET, mode 0600, a stale
 * socket of that name replaced (the caller owns the name in the registry).
 * Returns the fd or a negative errno with a one-line reason in err. */
int ipc_listen(const char *path, char *err, size_t errlen);

/* Serves listen_fd (not closed by ipc_server_stop) for clients whose uid
 * is owner or 0. */
int ipc_server_start(struct evloop *loop, int listen_fd, uid_t owner, ipc_handler_fn fn,
		     void *opaque, struct ipc_server **out);
/* Disconnects every client; call on the loop thread or after it stopped. */
void ipc_server_stop(struct ipc_server *s);

#endif
