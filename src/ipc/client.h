/* The client side of a VM's control socket (see ipc.h): connect to
 * <rundir>/<vmname>, send a request, wait for the reply with the same
 * sequence number, with a time limit on every step, so a hung or hostile
 * VM can neither hang nor confuse the caller.  Used by khyvectl, and meant
 * for libkhyve. */
#ifndef KHYVE_IPC_CLIENT_H
#define KHYVE_IPC_CLIENT_H

#include <stddef.h>

#include "ipc/ipc.h"

#define IPC_CLIENT_TIMEOUT_MS	5000

struct ipc_client;

/* Connects (SOCK_SEQPACKET | SOCK_CLOEXEC) to the socket at path.
 * timeout_ms limits the connect, each send and each wait for a reply
 * (<= 0: IPC_CLIENT_TIMEOUT_MS).  0, or -ENOENT / -ECONNREFUSED (nobody
 * serves the path: the VM is not running), -ETIMEDOUT (the VM did not
 * accept in time), -ENAMETOOLONG, -ENOMEM, another -errno. */
int ipc_client_connect(const char *path, int timeout_ms, struct ipc_client **out);
void ipc_client_close(struct ipc_client *c);
int ipc_client_timeout_ms(const struct ipc_client *c);

/* Sends req (req->seq is set to the next sequence number; req->fd, when
 * >= 0, is passed with SCM_RIGHTS and stays the caller's) and waits for
 * the reply with that seq; a late reply to an earlier request that timed
 * out is skipped.  0: rep holds the decoded reply, rep->status the VM's
 * answer (0 or an errno, with a reason in rep->text); rep->stats and
 * rep->data point into c and stay valid until the next call.  Negative:
 * no usable reply: -ETIMEDOUT (none in time), -ECONNRESET (the VM closed
 * the connection), -EPROTO (not this protocol, or a reply of another
 * type), -EPROTONOSUPPORT (another protocol version), -EMSGSIZE
 * (malformed), -EINVAL (req cannot be encoded), another -errno. */
int ipc_client_call(struct ipc_client *c, struct ipc_request *req, struct ipc_reply *rep);

/* A one-line reason for a negative result of ipc_client_connect() or
 * ipc_client_call() made with timeout_ms; written into buf, returned. */
const char *ipc_client_strerror(int rc, int timeout_ms, char *buf, size_t len);

#endif
