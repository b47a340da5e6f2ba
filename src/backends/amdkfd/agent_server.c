#include "agent_server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static struct gprio_peer *find(struct gprio_kfd_agents *a, uint32_t pid)
{
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		if (a->srv.peers[i].fd >= 0 && a->srv.peers[i].pid == pid)
			return &a->srv.peers[i];
	return NULL;
}

static bool stuck(const struct gprio_kfd_agents *a, uint32_t uid)
{
	for (uint32_t i = 0; i < a->nstuck; i++)
		if (a->stuck_uid[i] == uid)
			return true;
	return false;
}

static int on_accept(struct gprio_server *s, struct gprio_peer *p, void *ctx)
{
	struct gprio_kfd_agents *a = ctx;
	(void)s;
	if (stuck(a, p->uid)) {
		a->refused++;
		return -EPERM;
	}
	/* the new connection is counted among the user's */
	if (a->auth && !gprio_auth_trusted(a->auth, p->uid) &&
	    gprio_server_count_uid(s, p->uid) > GPRIO_KFD_AGENTS_PER_USER) {
		a->refused++;
		return -EDQUOT;
	}
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++) {
		struct gprio_peer *o = &a->srv.peers[i];
		if (o != p && o->fd >= 0 && o->pid == p->pid)
			gprio_server_drop(&a->srv,
					  o); /* reconnected: the newest connection counts */
	}
	return 0;
}

/* The awaited call ends: its reply (rc 0) or why not; the waiting caller stops waiting. */
static void await_end(struct gprio_kfd_agents *a, int rc)
{
	a->await_fd = -1;
	a->await_rc = rc;
	a->await_done = true;
	gprio_evloop_break(a->loop);
}

static void on_readable(struct gprio_server *s, struct gprio_peer *p, short revents, void *ctx)
{
	struct gprio_kfd_agents *a = ctx;
	int rc = -ECONNRESET; /* hung up with nothing to read */
	bool note = false;
	if (revents & POLLIN)
		rc = gprio_kfd_agent_recv_any(p->fd, &a->rx, &note);
	if (rc == -EAGAIN)
		return;
	if (rc == 0 && note) { /* work submitted: the monitor looks now, not at its next poll */
		a->notes++;
		gprio_ns now = a->loop->clock->now(a->loop->clock->ctx);
		if (now - a->last_note_wake >= GPRIO_KFD_NOTE_GAP) {
			a->last_note_wake = now;
			a->note_wakeups++;
			gprio_evloop_break(a->loop);
		}
		return;
	}
	if (a->await_fd >= 0 && p->fd == a->await_fd) {
		if (rc == 0)
			a->await_msg = a->rx;
		await_end(a, rc);
		if (rc == 0)
			return;
	}
	/* a shim speaks first only with notes: anything else means it went away, or broke the
	 * protocol (a reply nobody waits for included) */
	gprio_server_drop(s, p);
}

static void on_closed(struct gprio_server *s, struct gprio_peer *p, void *ctx)
{
	struct gprio_kfd_agents *a = ctx;
	(void)s;
	if (a->await_fd >= 0 && p->fd == a->await_fd) /* replaced or dropped while awaited */
		await_end(a, -ECONNRESET);
}

static const struct gprio_server_ops agent_ops = {
	.accept = on_accept, .readable = on_readable, .closed = on_closed};

int gprio_kfd_agents_listen(struct gprio_kfd_agents *a, struct gprio_evloop *loop, const char *path)
{
	a->nstuck = 0;
	a->refused = 0;
	a->loop = loop;
	a->await_fd = -1;
	a->await_done = false;
	a->notes = a->note_wakeups = 0;
	a->last_note_wake = 0;
	return gprio_server_listen(&a->srv, loop, path, 0666, &agent_ops, a);
}

void gprio_kfd_agents_close(struct gprio_kfd_agents *a)
{
	gprio_server_close(&a->srv); /* each shim resumes its own queues when this closes */
}

uint32_t gprio_kfd_agents_count(const struct gprio_kfd_agents *a)
{
	return a->srv.npeers;
}

static int agent_fd(void *ctx, uint32_t pid)
{
	struct gprio_peer *p = ctx ? find(ctx, pid) : NULL;
	return p ? p->fd : -1;
}

static void agent_lost(void *ctx, uint32_t pid, int rc)
{
	struct gprio_kfd_agents *a = ctx;
	struct gprio_peer *p = a ? find(a, pid) : NULL;
	if (!p)
		return;
	if (rc == -ETIMEDOUT && !stuck(a, p->uid)) {
		if (a->nstuck == GPRIO_KFD_AGENTS_MAX_STUCK)
			memmove(a->stuck_uid, a->stuck_uid + 1,
				sizeof(a->stuck_uid) - sizeof(a->stuck_uid[0]));
		else
			a->nstuck++;
		a->stuck_uid[a->nstuck - 1] = p->uid;
		fprintf(stderr,
			"gpriod: the HSA shim of pid %u (uid %u) stopped answering: shims of uid "
			"%u "
			"are refused from now on (their processes are set up through ptrace)\n",
			pid, p->uid, p->uid);
	}
	gprio_server_drop(&a->srv, p);
}

static int agent_call(void *ctx, uint32_t pid, struct gprio_kfd_agent_msg *m, int timeout_ms)
{
	struct gprio_kfd_agents *a = ctx;
	struct gprio_peer *p = find(a, pid);
	if (!p)
		return -ENOENT;
	/* inside one of the loop's own callbacks (or a call already waiting) the loop cannot run
	 * again: a plain bounded call there */
	if (a->loop->dispatching || a->await_fd >= 0)
		return gprio_kfd_agent_call(p->fd, m, timeout_ms);
	uint32_t op = m->op;
	int rc = gprio_kfd_agent_send(p->fd, m);
	if (rc < 0)
		return rc;
	a->await_fd = p->fd;
	a->await_done = false;
	const struct gprio_clock *c = a->loop->clock;
	gprio_ns deadline = c->now(c->ctx) + (gprio_ns)timeout_ms * GPRIO_NS_PER_MS;
	while (!a->await_done && c->now(c->ctx) < deadline)
		if (gprio_evloop_run_until(a->loop, deadline) == -ECANCELED)
			break;
	if (!a->await_done) {
		a->await_fd = -1;
		return a->loop->stop && *a->loop->stop ? -ECANCELED : -ETIMEDOUT;
	}
	if (a->await_rc < 0)
		return a->await_rc;
	if (a->await_msg.op != op)
		return -EPROTO;
	*m = a->await_msg;
	return 0;
}

static int loop_wait(void *ctx, gprio_ns deadline)
{
	return gprio_evloop_run_until(ctx, deadline);
}

void gprio_kfd_agents_attach(struct gprio_kfd_linux *l, struct gprio_evloop *loop,
			     struct gprio_kfd_agents *a)
{
	l->wait = loop_wait;
	l->wait_ctx = loop;
	l->agent_fd = a ? agent_fd : NULL;
	l->agent_lost = a ? agent_lost : NULL;
	l->agent_call = a ? agent_call : NULL;
	l->agents_ctx = a;
}
