/* gpriod's side of the in-process mode (libgprio-hsa.so): the agent socket on gpriod's event
 * loop. A shim connects once; the kernel names its process (SO_PEERCRED); gpriod then sends it
 * DBG_TRAP calls to run on itself (kfd_agent.h). A reconnecting shim replaces its older
 * connection; a shim speaks first only with work notes (an online program's doorbell), which
 * end the monitor's wait; anything else readable that nobody waits for means it went away (or
 * broke the protocol) and it is dropped; the shim resumes its own queues then. */
#ifndef GPRIO_KFD_AGENT_SERVER_H
#define GPRIO_KFD_AGENT_SERVER_H

#include "kfd_agent.h"
#include "kfd_sys_linux.h"

#include "../../daemon/server.h"

/* A call to a shim waits for its reply in gpriod's event loop: the loop goes on serving the
 * control socket, metrics, timers and other shims meanwhile; only the monitor's tick that made
 * the call waits, one call timeout at most (kfd_agent.h) for a shim that stops answering. Its
 * user's shims are then refused for the daemon's life (their processes fall back to ptrace, or
 * stay blocked), so no user can hold the monitor more than once by connecting stuck shims. */
#define GPRIO_KFD_AGENTS_MAX_STUCK 64

struct gprio_kfd_agents {
	struct gprio_server srv;
	struct gprio_evloop *loop;
	/* the call in progress: its connection (-1: none), and its reply once it came */
	int await_fd;
	bool await_done;
	int await_rc;
	struct gprio_kfd_agent_msg await_msg;
	uint32_t stuck_uid[GPRIO_KFD_AGENTS_MAX_STUCK]; /* oldest dropped first when full */
	uint32_t nstuck;
	uint64_t refused; /* connections refused for that, or past a user's quota */
	/* set before listening: a user `auth` does not trust holds at most
	 * GPRIO_KFD_AGENTS_PER_USER connections, so that one user cannot take every connection
	 * slot and leave other users' shims out */
	const struct gprio_auth *auth;
	/* work notes (an online program's doorbell, kfd_agent.h): each ends the monitor's wait
	 * at once, at most one every GPRIO_KFD_NOTE_GAP (a user sending many cannot make gpriod
	 * spin) */
	uint64_t notes, note_wakeups;
	gprio_ns last_note_wake;
	struct gprio_kfd_agent_msg rx;
};
#define GPRIO_KFD_NOTE_GAP        (250 * GPRIO_NS_PER_US)
#define GPRIO_KFD_AGENTS_PER_USER 16

/* Listen at `path` (mode 0666: a shim can only ever act on its own process). 0 or -errno.
 * Forgets which users had stuck shims. */
int gprio_kfd_agents_listen(struct gprio_kfd_agents *a, struct gprio_evloop *loop,
			    const char *path);
void gprio_kfd_agents_close(struct gprio_kfd_agents *a);
uint32_t gprio_kfd_agents_count(const struct gprio_kfd_agents *a);
/* Let `l` (the daemon's KFD system ops) wait in `loop` and reach the agents (a may be NULL:
 * no in-process mode). */
void gprio_kfd_agents_attach(struct gprio_kfd_linux *l, struct gprio_evloop *loop,
			     struct gprio_kfd_agents *a);

#endif
