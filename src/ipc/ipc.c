/* The control-socket codec: see ipc.h. */
#include "ipc/ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPLY_FIXED	8		/* status, text length, zero */
#define INFO_LEN	(IPC_VM_NAME + 6 * 4 + 8)
#define STAT_LEN	(IPC_STAT_NAME + 8)
#define CKPT_LEN	(8 + IPC_FILE_NAME)

static const char *const type_names[IPC_TYPE_END] = {
	[IPC_GET_INFO] = "get-info", [IPC_GET_VM_PID] = "get-vm-pid",
	[IPC_DESTROY] = "destroy", [IPC_FORCE_RESET] = "force-reset",
	[IPC_FORCE_POWEROFF] = "force-poweroff", [IPC_ACPI_SHUTDOWN] = "acpi-shutdown",
	[IPC_INJECT_NMI] = "inject-nmi", [IPC_PAUSE] = "pause", [IPC_RESUME] = "resume",
	[IPC_GET_STATS] = "get-stats", [IPC_GET_REG] = "get-register",
	[IPC_SET_REG] = "set-register", [IPC_GET_RTC] = "get-rtc-time",
	[IPC_SET_RTC] = "set-rtc-time", [IPC_READ_MEM] = "read-memory",
	[IPC_CHECKPOINT] = "checkpoint", [IPC_ACPI_REBOOT] = "acpi-reboot",
};

static const char *const reg_names[IPC_REG_END] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
	"r12", "r13", "r14", "r15", "rip", "rflags", "cr0", "cr2", "cr3", "cr4", "dr7",
	"efer", "cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr", "fs_base", "gs_base",
	"gdtr_base", "idtr_base",
};

const char *ipc_type_name(enum ipc_type t)
{
	return t > 0 && t < IPC_TYPE_END ? type_names[t] : "unknown";
}

const char *ipc_reg_name(enum ipc_reg r)
{
	return r < IPC_REG_END ? reg_names[r] : "unknown";
}

int ipc_reg_from_name(const char *name)
{
	for (int r = 0; r < IPC_REG_END; r++)
		if (!strcmp(name, reg_names[r]))
			return r;
	return -1;
}

/* ---- little-endian cursor ---- */

struct wr {
	uint8_t *p;
	size_t len, size;
	bool overflow;
};

static void put(struct wr *w, const void *src, size_t n)
{
	if (n > w->size - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	put(w, b, 2);
}

static void put_u32(struct wr *w, uint32_t v)
{
	put_u16(w, (uint16_t)v);
	put_u16(w, (uint16_t)(v >> 16));
}

static void put_u64(struct wr *w, uint64_t v)
{
	put_u32(w, (uint32_t)v);
	put_u32(w, (uint32_t)(v >> 32));
}

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static bool get(struct rd *r, void *dst, size_t n)
{
	if (n > r->len - r->off)
		return false;
	memcpy(dst, r->p + r->off, n);
	r->off += n;
	return true;
}

static uint16_t get_u16(struct rd *r)
{
	uint8_t b[2] = { 0, 0 };

	get(r, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t lo = get_u16(r);

	return lo | (uint32_t)get_u16(r) << 16;
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t lo = get_u32(r);

	return lo | (uint64_t)get_u32(r) << 32;
}

/* A fixed-size string field: NUL-terminated and zero-padded, so each value
 * has exactly one encoding. */
static bool padded(const char *f, size_t len)
{
	const char *nul = memchr(f, '\0', len);

	if (!nul)
		return false;
	for (const char *p = nul; p < f + len; p++)
		if (*p)
			return false;
	return true;
}

/* ---- header ---- */

static void put_header(struct wr *w, uint16_t type, uint32_t seq)
{
	put_u32(w, IPC_MAGIC);
	put_u16(w, IPC_VERSION);
	put_u16(w, type);
	put_u32(w, seq);
	put_u32(w, 0);			/* length, patched by finish() */
}

static int finish(struct wr *w)
{
	uint32_t plen = (uint32_t)(w->len - IPC_HDR_LEN);

	if (w->overflow || w->len > IPC_MAX_MSG)
		return -EMSGSIZE;
	for (int i = 0; i < 4; i++)
		w->p[12 + i] = (uint8_t)(plen >> (8 * i));
	return (int)w->len;
}

bool ipc_peek_header(const uint8_t *buf, size_t len, uint16_t *type, uint32_t *seq)
{
	struct rd r = { buf, len, 0 };

	if (len < IPC_HDR_LEN || get_u32(&r) != IPC_MAGIC)
		return false;
	get_u16(&r);
	*type = get_u16(&r);
	*seq = get_u32(&r);
	return true;
}

/* Checks the header; the payload follows at r->off. */
static int read_header(struct rd *r, uint16_t *type, uint32_t *seq)
{
	uint32_t plen;

	if (r->len < IPC_HDR_LEN || get_u32(r) != IPC_MAGIC)
		return -EPROTO;
	if (get_u16(r) != IPC_VERSION)
		return -EPROTONOSUPPORT;
	*type = get_u16(r);
	*seq = get_u32(r);
	plen = get_u32(r);
	if (plen != r->len - IPC_HDR_LEN || r->len > IPC_MAX_MSG)
		return -EMSGSIZE;
	return 0;
}

/* ---- requests ---- */

/* Payload size of each request type (all fixed). */
static size_t request_len(enum ipc_type t)
{
	switch (t) {
	case IPC_INJECT_NMI:
		return 4;
	case IPC_GET_REG:
	case IPC_SET_RTC:
		return 8;
	case IPC_SET_REG:
	case IPC_READ_MEM:
		return 16;
	case IPC_CHECKPOINT:
		return CKPT_LEN;
	default:
		return 0;
	}
}

static bool file_name_ok(const char *f)
{
	size_t n = strnlen(f, IPC_FILE_NAME);

	return n > 0 && n < IPC_FILE_NAME && !strchr(f, '/') && strcmp(f, ".") &&
	       strcmp(f, "..");
}

static int check_request(const struct ipc_request *q)
{
	if (q->type <= 0 || q->type >= IPC_TYPE_END)
		return -ENOSYS;
	if ((q->type == IPC_GET_REG || q->type == IPC_SET_REG) && q->reg >= IPC_REG_END)
		return -EINVAL;
	if (q->type == IPC_READ_MEM && (q->len == 0 || q->len > IPC_MAX_MEM_READ))
		return -EINVAL;
	if (q->type == IPC_CHECKPOINT &&
	    ((q->flags & ~(IPC_CHECKPOINT_SUSPEND | IPC_CHECKPOINT_FORCE)) ||
	     !file_name_ok(q->file)))
		return -EINVAL;
	return 0;
}

int ipc_encode_request(const struct ipc_request *q, uint8_t *buf, size_t size)
{
	struct wr w = { buf, 0, size, false };
	int rc = check_request(q);

	if (rc)
		return rc == -ENOSYS ? -EINVAL : rc;
	put_header(&w, (uint16_t)q->type, q->seq);
	switch (q->type) {
	case IPC_INJECT_NMI:
		put_u32(&w, q->cpu);
		break;
	case IPC_GET_REG:
	case IPC_SET_REG:
		put_u32(&w, q->cpu);
		put_u32(&w, q->reg);
		if (q->type == IPC_SET_REG)
			put_u64(&w, q->value);
		break;
	case IPC_SET_RTC:
		put_u64(&w, (uint64_t)q->seconds);
		break;
	case IPC_READ_MEM:
		put_u64(&w, q->gpa);
		put_u32(&w, q->len);
		put_u32(&w, 0);
		break;
	case IPC_CHECKPOINT: {
		char f[IPC_FILE_NAME] = { 0 };

		memcpy(f, q->file, strnlen(q->file, IPC_FILE_NAME - 1));
		put_u32(&w, q->flags);
		put_u32(&w, 0);
		put(&w, f, sizeof(f));
		break;
	}
	default:
		break;
	}
	return finish(&w);
}

int ipc_decode_request(const uint8_t *buf, size_t len, struct ipc_request *q)
{
	struct rd r = { buf, len, 0 };
	uint16_t type;
	int rc;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	rc = read_header(&r, &type, &q->seq);
	if (rc)
		return rc;
	q->type = (enum ipc_type)type;
	if (type == 0 || type >= IPC_TYPE_END)
		return -ENOSYS;
	if (len - IPC_HDR_LEN != request_len(q->type))
		return -EMSGSIZE;
	switch (q->type) {
	case IPC_INJECT_NMI:
		q->cpu = get_u32(&r);
		break;
	case IPC_GET_REG:
	case IPC_SET_REG:
		q->cpu = get_u32(&r);
		q->reg = get_u32(&r);
		if (q->type == IPC_SET_REG)
			q->value = get_u64(&r);
		break;
	case IPC_SET_RTC:
		q->seconds = (int64_t)get_u64(&r);
		break;
	case IPC_READ_MEM:
		q->gpa = get_u64(&r);
		q->len = get_u32(&r);
		if (get_u32(&r))
			return -EINVAL;		/* reserved must be zero */
		break;
	case IPC_CHECKPOINT:
		q->flags = get_u32(&r);
		if (get_u32(&r))
			return -EINVAL;
		get(&r, q->file, IPC_FILE_NAME);
		if (!padded(q->file, IPC_FILE_NAME))
			return -EINVAL;
		break;
	default:
		break;
	}
	return check_request(q);
}

/* ---- replies ---- */

static void put_info(struct wr *w, const struct ipc_info *i)
{
	char name[IPC_VM_NAME] = { 0 };

	memcpy(name, i->name, strnlen(i->name, IPC_VM_NAME - 1));
	put(w, name, sizeof(name));
	put_u32(w, i->pid);
	put_u32(w, i->monitor_pid);
	put_u32(w, i->uid);
	put_u32(w, i->state);
	put_u32(w, i->vcpus);
	put_u32(w, i->flags);
	put_u64(w, i->memory);
}

static void put_payload(struct wr *w, const struct ipc_reply *p)
{
	switch (p->type) {
	case IPC_GET_VM_PID:
		put_u32(w, p->pid);
		put_u32(w, p->monitor_pid);
		break;
	case IPC_GET_REG:
		put_u64(w, p->value);
		break;
	case IPC_GET_RTC:
		put_u64(w, (uint64_t)p->seconds);
		break;
	case IPC_GET_INFO:
		put_info(w, &p->info);
		break;
	case IPC_GET_STATS:
		put_u32(w, p->nstats);
		for (unsigned i = 0; i < p->nstats; i++) {
			char n[IPC_STAT_NAME] = { 0 };

			memcpy(n, p->stats[i].name, strnlen(p->stats[i].name, IPC_STAT_NAME - 1));
			put(w, n, sizeof(n));
			put_u64(w, p->stats[i].value);
		}
		break;
	case IPC_READ_MEM:
		put_u32(w, p->len);
		put(w, p->data, p->len);
		break;
	default:
		break;
	}
}

int ipc_encode_reply(const struct ipc_reply *p, uint8_t *buf, size_t size)
{
	struct wr w = { buf, 0, size, false };
	size_t tlen = strnlen(p->text, IPC_MAX_TEXT - 1);

	/* An error reply may answer a type this side does not know. */
	if (p->type <= 0 || p->type >= IPC_REPLY_BIT || (!p->status && p->type >= IPC_TYPE_END) ||
	    p->status < 0 || p->nstats > IPC_MAX_STATS || p->len > IPC_MAX_MEM_READ)
		return -EINVAL;
	put_header(&w, (uint16_t)(p->type | IPC_REPLY_BIT), p->seq);
	put_u32(&w, (uint32_t)p->status);
	put_u16(&w, (uint16_t)tlen);
	put_u16(&w, 0);
	put(&w, p->text, tlen);
	if (!p->status)
		put_payload(&w, p);
	return finish(&w);
}

static int get_info(struct rd *r, struct ipc_info *i)
{
	if (!get(r, i->name, IPC_VM_NAME) || !padded(i->name, IPC_VM_NAME))
		return -EINVAL;
	i->pid = get_u32(r);
	i->monitor_pid = get_u32(r);
	i->uid = get_u32(r);
	i->state = get_u32(r);
	i->vcpus = get_u32(r);
	i->flags = get_u32(r);
	i->memory = get_u64(r);
	return 0;
}

static int get_stats(struct rd *r, struct ipc_reply *p, struct ipc_stat *buf, unsigned max)
{
	uint32_t n = get_u32(r);

	if (n > IPC_MAX_STATS || n > max || (size_t)n * STAT_LEN != r->len - r->off)
		return -EMSGSIZE;
	for (uint32_t i = 0; i < n; i++) {
		get(r, buf[i].name, IPC_STAT_NAME);
		if (!padded(buf[i].name, IPC_STAT_NAME))
			return -EINVAL;
		buf[i].value = get_u64(r);
	}
	p->nstats = n;
	p->stats = buf;
	return 0;
}

/* The payload's exact size, or 0 for a variable one. */
static size_t reply_len(enum ipc_type t)
{
	switch (t) {
	case IPC_GET_VM_PID:
	case IPC_GET_REG:
	case IPC_GET_RTC:
		return 8;
	case IPC_GET_INFO:
		return INFO_LEN;
	case IPC_GET_STATS:
	case IPC_READ_MEM:
		return SIZE_MAX;
	default:
		return 0;
	}
}

static int get_payload(struct rd *r, struct ipc_reply *p, struct ipc_stat *stats,
		       unsigned max_stats)
{
	size_t want = reply_len(p->type), have = r->len - r->off;

	if ((want != SIZE_MAX && have != want) || (want == SIZE_MAX && have < 4))
		return -EMSGSIZE;
	switch (p->type) {
	case IPC_GET_VM_PID:
		p->pid = get_u32(r);
		p->monitor_pid = get_u32(r);
		return 0;
	case IPC_GET_REG:
		p->value = get_u64(r);
		return 0;
	case IPC_GET_RTC:
		p->seconds = (int64_t)get_u64(r);
		return 0;
	case IPC_GET_INFO:
		return get_info(r, &p->info);
	case IPC_GET_STATS:
		return get_stats(r, p, stats, max_stats);
	case IPC_READ_MEM:
		p->len = get_u32(r);
		if (p->len > IPC_MAX_MEM_READ || p->len != r->len - r->off)
			return -EMSGSIZE;
		p->data = r->p + r->off;
		return 0;
	default:
		return 0;
	}
}

int ipc_decode_reply(const uint8_t *buf, size_t len, struct ipc_reply *p,
		     struct ipc_stat *stats, unsigned max_stats)
{
	struct rd r = { buf, len, 0 };
	uint16_t type, tlen;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = read_header(&r, &type, &p->seq);
	if (rc)
		return rc;
	if (!(type & IPC_REPLY_BIT) || (type & ~IPC_REPLY_BIT) == 0)
		return -EPROTO;
	p->type = (enum ipc_type)(type & ~IPC_REPLY_BIT);
	if (len - r.off < REPLY_FIXED)
		return -EMSGSIZE;
	p->status = (int32_t)get_u32(&r);
	tlen = get_u16(&r);
	if (get_u16(&r) || tlen >= IPC_MAX_TEXT || p->status < 0 ||
	    !get(&r, p->text, tlen))
		return -EMSGSIZE;
	p->text[tlen] = '\0';
	if (memchr(p->text, '\0', tlen) || (!p->status && p->type >= IPC_TYPE_END))
		return -EPROTO;
	return p->status ? (r.off == len ? 0 : -EMSGSIZE) : get_payload(&r, p, stats, max_stats);
}

/* ---- sockets ---- */

int ipc_send(int sock, const uint8_t *buf, size_t len, int fd, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *h;

		memset(&c, 0, sizeof(c));
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &m, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Takes every descriptor of the message; keeps the first, closes others. */
static int take_fds(struct msghdr *m)
{
	int keep = -1;

	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		size_t n;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (keep < 0)
				keep = fd;
			else
				close(fd);
		}
	}
	return keep;
}

int ipc_recv(int sock, uint8_t *buf, size_t size, int *fd_out, int flags)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} c;
	struct iovec iov = { buf, size };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			    .msg_controllen = sizeof(c.buf) };
	ssize_t n;
	int fd;

	*fd_out = -1;
	do
		n = recvmsg(sock, &m, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	fd = take_fds(&m);
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		return -EMSGSIZE;
	}
	*fd_out = fd;
	return (int)n;
}
