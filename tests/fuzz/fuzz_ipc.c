/* The control socket's decoders against arbitrary packets: the server's
 * request decoder (what any local client can send) and the client's reply
 * decoder.  Whatever decodes must encode again to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IPC_MAX_MSG];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipc_stat stats[IPC_MAX_STATS];
	struct ipc_request q;
	struct ipc_reply r;
	uint16_t type;
	uint32_t seq;
	int n;

	if (size > IPC_MAX_MSG)
		return 0;
	ipc_peek_header(data, size, &type, &seq);
	if (ipc_decode_request(data, size, &q) == 0) {
		n = ipc_encode_request(&q, out, sizeof(out));
		if (n != (int)size || memcmp(out, data, size))
			abort();
	}
	if (ipc_decode_reply(data, size, &r, stats, IPC_MAX_STATS) == 0) {
		n = ipc_encode_reply(&r, out, sizeof(out));
		if (n < 0)
			abort();
		/* Text may have been cut at a NUL-free check; lengths match. */
		if (n != (int)size)
			abort();
	}
	return 0;
}
