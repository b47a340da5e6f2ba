/* In-process mode: a KFD agent inside the application (the HSA shim, libgprio-hsa.so) runs the
 * DBG_TRAP calls on its own process (pid = getpid(): KFD needs no ptrace for that), on behalf of
 * gpriod, which decides. This file is the wire between the two:
 *   daemon  gprio_kfd_agent_encode(args) -> message -> transport -> gprio_kfd_agent_decode(args)
 *   agent   message -> gprio_kfd_agent_serve(its own /dev/kfd) -> message
 * The message carries the queue ids / snapshot entries themselves (user pointers mean nothing
 * in another process). The agent only runs ENABLE, DISABLE, GET_QUEUE_SNAPSHOT, SUSPEND_QUEUES
 * and RESUME_QUEUES, always on itself, with its own debug-event descriptor. The transport is a
 * SOCK_SEQPACKET Unix socket (gprio_kfd_agent_call / gprio_kfd_agent_serve_one) or, in the
 * simulator, a direct call. */
#ifndef GPRIO_KFD_AGENT_H
#define GPRIO_KFD_AGENT_H

#include <pthread.h>
#include <stdbool.h>

#include "kfd_sys.h"
#include "kfd_uapi.h"

#define GPRIO_KFD_AGENT_MAGIC          0x67616b31u /* "gak1": protocol version 1 */
#define GPRIO_KFD_AGENT_MAXQ           64          /* GPRIO_KFD_MAX_BATCH */
#define GPRIO_KFD_AGENT_MAXSNAP        32
#define GPRIO_KFD_AGENT_TIMEOUT_MS     2000 /* a call not answered by then: the agent is stuck */
#define GPRIO_KFD_AGENT_DEFAULT_SOCKET "/run/gprio-amdkfd.sock"

struct gprio_kfd_agent_msg {
	uint32_t magic;
	uint32_t op;        /* enum gprio_kfd_dbg_op */
	int32_t rc;         /* reply: the ioctl's result or -errno */
	uint32_t n;         /* request: queues / snapshot capacity; reply: count */
	uint32_t grace;     /* SUSPEND: grace period units */
	uint32_t clear_new; /* SNAPSHOT: clear EC_QUEUE_NEW */
	uint32_t qids[GPRIO_KFD_AGENT_MAXQ];
	struct gprio_kfd_queue_snapshot snap[GPRIO_KFD_AGENT_MAXSNAP];
};

/* The one message a shim sends unasked: "work was submitted to one of my queues" (an online
 * program's doorbell write, at most one a millisecond). gpriod takes it as a hint to look now
 * instead of at its next poll; what it then does depends on what it reads from the queues. */
#define GPRIO_KFD_AGENT_NOTE_WORK 0x776f726bu /* "work" */
struct gprio_kfd_agent_note {
	uint32_t magic;
	uint32_t op; /* GPRIO_KFD_AGENT_NOTE_WORK */
};

/* Daemon side: a DBG_TRAP argument block as a request. -EOPNOTSUPP for ops the agent does not
 * run, -E2BIG for more queues than a message carries. */
int gprio_kfd_agent_encode(const struct gprio_kfd_dbg_trap *a, struct gprio_kfd_agent_msg *m);
/* Daemon side: the reply back into the caller's argument block (queue array results, snapshot
 * entries and count). Returns the ioctl's result, or -EPROTO for a malformed reply. */
int gprio_kfd_agent_decode(const struct gprio_kfd_agent_msg *m, struct gprio_kfd_dbg_trap *a);

/* Agent side: run the request on the caller's own process through `local`, with dbg_fd for
 * ENABLE; the reply replaces the request. Malformed requests get rc -EPROTO, other ops -EPERM. */
void gprio_kfd_agent_serve(const struct gprio_kfd_sys *local, int dbg_fd,
			   struct gprio_kfd_agent_msg *m);

/* Transport over a connected SOCK_SEQPACKET socket. call: send, wait up to timeout_ms, receive;
 * -ETIMEDOUT, -ECONNRESET (the peer went away), -EPROTO (a short or foreign message).
 * serve_one: receive one request, serve it, reply; 0, or -ECONNRESET when the daemon is gone.
 * `lock` (may be NULL) is held while the request runs and `served` (may be NULL) sees it, e.g.
 * to remember what is suspended. */
int gprio_kfd_agent_call(int fd, struct gprio_kfd_agent_msg *m, int timeout_ms);
/* The two halves of a call for a caller that waits in an event loop (agent_server.c): neither
 * blocks. send: 0, -ETIMEDOUT when the agent's receive buffer is full (it reads nothing),
 * -ECONNRESET. recv_any: one message of either kind: 0 with *note false (a reply in m), 0 with
 * *note true (a work note), -EAGAIN (nothing yet), -ECONNRESET, -EPROTO. */
int gprio_kfd_agent_send(int fd, const struct gprio_kfd_agent_msg *m);
int gprio_kfd_agent_recv_any(int fd, struct gprio_kfd_agent_msg *m, bool *note);
int gprio_kfd_agent_serve_one(int fd, const struct gprio_kfd_sys *local, int dbg_fd,
			      pthread_mutex_t *lock,
			      void (*served)(void *arg, const struct gprio_kfd_agent_msg *req,
					     const struct gprio_kfd_agent_msg *rep),
			      void *arg);

/* A gprio_kfd_sys whose ioctl goes to pid's agent through `base->ops->agent_ioctl`; the other
 * ops are base's. `view` must outlive `out`. */
struct gprio_kfd_agent_view {
	const struct gprio_kfd_sys *base;
	uint32_t pid;
};
void gprio_kfd_agent_sys(struct gprio_kfd_agent_view *view, struct gprio_kfd_sys *out);

#endif
