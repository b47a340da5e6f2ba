#include "agent_server.h"

static struct gprio_peer *find(struct gprio_kfd_agents *a, uint32_t pid)
{
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		if (a->srv.peers[i].fd >= 0 && a->srv.peers[i].pid == pid)
			return &a->srv.peers[i];
	return NULL;
}

static int on_accept(struct gprio_server *s, struct gprio_peer *p, void *ctx)
{
	struct gprio_kfd_agents *a = ctx;
	(void)s;
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++) {
		struct gprio_peer *o = &a->srv.peers[i];
		if (o != p && o->fd >= 0 && o->pid == p->pid)
			gprio_server_drop(&a->srv,
					  o); /* reconnected: the newest connection counts */
	}
	return 0;
}

static void on_readable(struct gprio_server *s, struct gprio_peer *p, short revents, void *ctx)
{
	(void)revents;
	(void)ctx;
	gprio_server_drop(s, p);
}

static const struct gprio_server_ops agent_ops = {.accept = on_accept, .readable = on_readable};

int gprio_kfd_agents_listen(struct gprio_kfd_agents *a, struct gprio_evloop *loop, const char *path)
{
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

static void agent_lost(void *ctx, uint32_t pid)
{
	struct gprio_peer *p = ctx ? find(ctx, pid) : NULL;
	if (p)
		gprio_server_drop(&((struct gprio_kfd_agents *)ctx)->srv, p);
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
	l->agents_ctx = a;
}
