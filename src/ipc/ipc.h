/* The control-socket protocol between khyve and khyvectl (and libkhyve):
 * bhyve's per-VM IPC socket, with a versioned binary header and a reply to
 * every request.  One definition for both sides.
 *
 * Transport: a SOCK_SEQPACKET Unix socket at <rundir>/<vmname>; one
 * message per packet, at most IPC_MAX_MSG bytes.  A request may carry one
 * file descriptor (SCM_RIGHTS): the directory a file argument lives in, so
 * a sandboxed VM process opens the file relative to it and never walks
 * paths itself.
 *
 * Wire format, all integers little-endian:
 *   header  u32 magic "KHYV", u16 version, u16 type, u32 seq, u32 length
 *           (payload bytes following the header)
 *   request payload: fixed per type (see struct ipc_request)
 *   reply   header with type = request type | IPC_REPLY_BIT and the
 *           request's seq, then i32 status (0 or an errno), u16 text
 *           length, u16 zero, the text (a one-line reason, no NUL), then
 *           the type's reply payload
 * Everything from the socket is untrusted: ipc_decode_*() check magic,
 * version, type, exact lengths and value ranges before anything is used. */
#ifndef KHYVE_IPC_H
#define KHYVE_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_MAGIC		0x5659484bu	/* "KHYV" as little-endian bytes */
#define IPC_VERSION		1
#define IPC_HDR_LEN		16
#define IPC_MAX_MSG		65536
#define IPC_MAX_TEXT		512
#define IPC_MAX_MEM_READ	32768		/* bytes per read-memory request */
#define IPC_MAX_STATS		1024		/* 8 per vCPU at 64 vCPUs, plus devices */
#define IPC_STAT_NAME		48
#define IPC_FILE_NAME		256		/* checkpoint base name, with NUL */
#define IPC_VM_NAME		230		/* FreeBSD's VM_MAX_NAMELEN + 1 */
#define IPC_REPLY_BIT		0x8000

enum ipc_type {
	IPC_GET_INFO = 1,	/* -> struct ipc_info */
	IPC_GET_VM_PID,		/* -> pid of the VM process, pid of its monitor */
	IPC_DESTROY,		/* the VM ends, khyve exits 4 */
	IPC_FORCE_RESET,	/* exits 0, as a guest reset */
	IPC_FORCE_POWEROFF,	/* exits 1 */
	IPC_ACPI_SHUTDOWN,	/* presses the ACPI power button */
	IPC_INJECT_NMI,		/* cpu */
	IPC_PAUSE,
	IPC_RESUME,
	IPC_GET_STATS,		/* -> name/value pairs */
	IPC_GET_REG,		/* cpu, reg -> value */
	IPC_SET_REG,		/* cpu, reg, value */
	IPC_GET_RTC,		/* -> seconds since the epoch, as the guest's RTC says */
	IPC_SET_RTC,		/* seconds */
	IPC_READ_MEM,		/* gpa, len -> bytes */
	IPC_CHECKPOINT,		/* flags, base name + directory fd */
	IPC_ACPI_REBOOT,	/* the power button, and a poweroff then reboots */
	IPC_TYPE_END
};

/* Registers khyvectl can get and set (bhyvectl's, where KVM has them). */
enum ipc_reg {
	IPC_REG_RAX, IPC_REG_RBX, IPC_REG_RCX, IPC_REG_RDX, IPC_REG_RSI, IPC_REG_RDI,
	IPC_REG_RBP, IPC_REG_RSP, IPC_REG_R8, IPC_REG_R9, IPC_REG_R10, IPC_REG_R11,
	IPC_REG_R12, IPC_REG_R13, IPC_REG_R14, IPC_REG_R15, IPC_REG_RIP, IPC_REG_RFLAGS,
	IPC_REG_CR0, IPC_REG_CR2, IPC_REG_CR3, IPC_REG_CR4, IPC_REG_DR7, IPC_REG_EFER,
	IPC_REG_CS, IPC_REG_DS, IPC_REG_ES, IPC_REG_FS, IPC_REG_GS, IPC_REG_SS,
	IPC_REG_TR, IPC_REG_LDTR,		/* selectors */
	IPC_REG_FS_BASE, IPC_REG_GS_BASE, IPC_REG_GDTR_BASE, IPC_REG_IDTR_BASE,
	IPC_REG_END
};

/* bhyvectl's name for each register ("rax", "cr0", "efer", "cs", ...). */
const char *ipc_reg_name(enum ipc_reg r);
/* -1 if unknown. */
int ipc_reg_from_name(const char *name);

#define IPC_CHECKPOINT_SUSPEND	0x1u	/* exit (status 5) after saving */
#define IPC_CHECKPOINT_FORCE	0x2u	/* replace an existing checkpoint */

enum ipc_vm_state { IPC_STATE_RUNNING = 1, IPC_STATE_PAUSED, IPC_STATE_STOPPED };

struct ipc_info {
	char name[IPC_VM_NAME];
	uint32_t pid, monitor_pid;	/* monitor 0 without -M */
	uint32_t uid;			/* owner */
	uint32_t state;			/* enum ipc_vm_state */
	uint32_t vcpus;
	uint64_t memory;		/* bytes */
	uint32_t flags;			/* vmmctl flags of the VM */
};

struct ipc_stat {
	char name[IPC_STAT_NAME];	/* NUL-terminated */
	uint64_t value;
};

struct ipc_request {
	enum ipc_type type;
	uint32_t seq;
	uint32_t cpu;			/* INJECT_NMI, GET_REG, SET_REG */
	uint32_t reg;			/* GET_REG, SET_REG: enum ipc_reg */
	uint64_t value;			/* SET_REG */
	int64_t seconds;		/* SET_RTC */
	uint64_t gpa;			/* READ_MEM */
	uint32_t len;			/* READ_MEM: 1..IPC_MAX_MEM_READ */
	uint32_t flags;			/* CHECKPOINT */
	char file[IPC_FILE_NAME];	/* CHECKPOINT: base name, no '/' */
	int fd;				/* passed descriptor or -1 (not encoded) */
};

struct ipc_reply {
	enum ipc_type type;		/* of the request */
	uint32_t seq;
	int32_t status;			/* 0 or errno */
	char text[IPC_MAX_TEXT];	/* NUL-terminated; "" on success */
	/* Payload by type. */
	uint32_t pid, monitor_pid;	/* GET_VM_PID */
	uint64_t value;			/* GET_REG */
	int64_t seconds;		/* GET_RTC */
	struct ipc_info info;		/* GET_INFO */
	unsigned nstats;		/* GET_STATS */
	struct ipc_stat *stats;		/* points into the caller's buffer */
	uint32_t len;			/* READ_MEM */
	const uint8_t *data;		/* READ_MEM: into the decoded buffer */
};

/* Encoders: write one packet into buf (>= IPC_MAX_MSG), return its length
 * or a negative errno (-EINVAL for out-of-range fields). */
int ipc_encode_request(const struct ipc_request *req, uint8_t *buf, size_t size);
/* stats/data are read from reply->stats / reply->data. */
int ipc_encode_reply(const struct ipc_reply *rep, uint8_t *buf, size_t size);

/* Decoders: 0 or -EPROTO (not our protocol / garbage), -EPROTONOSUPPORT
 * (other version), -ENOSYS (unknown type: *type_out still set so the
 * server can answer), -EMSGSIZE (lengths wrong).  req->fd is set to -1. */
int ipc_decode_request(const uint8_t *buf, size_t len, struct ipc_request *req);
/* stats_buf receives up to max_stats entries; rep->data points into buf. */
int ipc_decode_reply(const uint8_t *buf, size_t len, struct ipc_reply *rep,
		     struct ipc_stat *stats_buf, unsigned max_stats);

/* The request type and seq of a packet whose header is readable, for an
 * error reply to something that did not decode.  false if not even that. */
bool ipc_peek_header(const uint8_t *buf, size_t len, uint16_t *type, uint32_t *seq);

const char *ipc_type_name(enum ipc_type t);

/* Socket helpers: send one packet (with fd >= 0 attached), receive one
 * (*fd_out = the passed descriptor or -1; a truncated packet is -EMSGSIZE
 * and closes any descriptor that came with it). */
int ipc_send(int sock, const uint8_t *buf, size_t len, int fd, int flags);
int ipc_recv(int sock, uint8_t *buf, size_t size, int *fd_out, int flags);

#endif
