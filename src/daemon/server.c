#define _GNU_SOURCE /* SO_PEERCRED, accept4 */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_peer(struct gprio_evloop *l, int fd, short revents, void *ctx)
{
	struct gprio_server *s = ctx;
	(void)l;
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		if (s->peers[i].fd == fd) {
			s->ops->readable(s, &s->peers[i], revents, s->ctx);
			return;
		}
}

static void on_listen(struct gprio_evloop *l, int fd, short revents, void *ctx)
{
	struct gprio_server *s = ctx;
	(void)revents;
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		struct ucred cr;
		socklen_t len = sizeof(cr);
		struct gprio_peer *p = NULL;
		for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS && !p; i++)
			if (s->peers[i].fd < 0)
				p = &s->peers[i];
		if (!p || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.pid <= 0) {
			s->refused++;
			close(c);
			continue;
		}
		*p = (struct gprio_peer){.fd = c,
					 .pid = (uint32_t)cr.pid,
					 .uid = (uint32_t)cr.uid,
					 .gid = (uint32_t)cr.gid,
					 .since = l->clock->now(l->clock->ctx)};
		if ((s->ops->accept && s->ops->accept(s, p, s->ctx) < 0) ||
		    gprio_evloop_add_fd(l, c, POLLIN, on_peer, s) < 0) {
			s->refused++;
			p->fd = -1;
			close(c);
			continue;
		}
		s->npeers++;
	}
}

int gprio_server_listen(struct gprio_server *s, struct gprio_evloop *loop, const char *path,
			unsigned mode, const struct gprio_server_ops *ops, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		s->peers[i].fd = -1;
	s->loop = loop;
	s->ops = ops;
	s->ctx = ctx;
	s->addr.sun_family = AF_UNIX;
	int n = snprintf(s->addr.sun_path, sizeof(s->addr.sun_path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(s->addr.sun_path))
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket of an earlier gpriod */
	if (bind(fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, 64) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	int rc = gprio_evloop_add_fd(loop, fd, POLLIN, on_listen, s);
	if (rc < 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	s->listen_fd = fd;
	return 0;
}

void gprio_server_drop(struct gprio_server *s, struct gprio_peer *p)
{
	if (p->fd < 0)
		return;
	if (s->ops->closed)
		s->ops->closed(s, p, s->ctx);
	gprio_evloop_del_fd(s->loop, p->fd);
	close(p->fd);
	p->fd = -1;
	s->npeers--;
}

void gprio_server_close(struct gprio_server *s)
{
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		gprio_server_drop(s, &s->peers[i]);
	if (s->listen_fd >= 0) {
		gprio_evloop_del_fd(s->loop, s->listen_fd);
		close(s->listen_fd);
		unlink(s->addr.sun_path);
		s->listen_fd = -1;
	}
}

uint32_t gprio_server_count_uid(const struct gprio_server *s, uint32_t uid)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		if (s->peers[i].fd >= 0 && s->peers[i].uid == uid)
			n++;
	return n;
}
