/* A Unix-domain socket server on gpriod's event loop: listening, accepting with the kernel's
 * peer credentials (SO_PEERCRED), a fixed table of connections with stable slots, and hang-up
 * detection. Every backend's socket (the NVIDIA shims' control socket, the AMD HSA shims'
 * agent socket) is one of these; what a message means is the backend's business (ops). */
#ifndef GPRIO_SERVER_H
#define GPRIO_SERVER_H

#include <sys/un.h>

#include "evloop.h"

#define GPRIO_SERVER_MAX_PEERS 256

struct gprio_peer {
	int fd; /* -1: free slot */
	uint32_t pid, uid, gid;
	gprio_ns since; /* accepted at */
};

struct gprio_server;
struct gprio_server_ops {
	/* A new connection: 0 keeps it, a negative errno refuses it (it is closed). */
	int (*accept)(struct gprio_server *s, struct gprio_peer *p, void *ctx);
	/* The peer sent something, or hung up (POLLHUP/POLLERR in revents): read it, or drop it. */
	void (*readable)(struct gprio_server *s, struct gprio_peer *p, short revents, void *ctx);
	/* Called by gprio_server_drop before the descriptor is closed. May be NULL. */
	void (*closed)(struct gprio_server *s, struct gprio_peer *p, void *ctx);
};

struct gprio_server {
	struct gprio_evloop *loop;
	const struct gprio_server_ops *ops;
	void *ctx;
	int listen_fd;
	struct sockaddr_un addr;
	uint32_t npeers;
	uint64_t refused; /* connections refused (table full, no credentials, ops->accept) */
	struct gprio_peer peers[GPRIO_SERVER_MAX_PEERS];
};

/* Listen at `path` (SOCK_SEQPACKET, mode `mode`), replacing a stale socket there. 0 or -errno. */
int gprio_server_listen(struct gprio_server *s, struct gprio_evloop *loop, const char *path,
			unsigned mode, const struct gprio_server_ops *ops, void *ctx);
/* Close one connection (ops->closed first). */
void gprio_server_drop(struct gprio_server *s, struct gprio_peer *p);
/* Close everything and remove the socket file. */
void gprio_server_close(struct gprio_server *s);
/* Slot number of a peer (stable while it is connected). */
static inline uint32_t gprio_server_slot(const struct gprio_server *s, const struct gprio_peer *p)
{
	return (uint32_t)(p - s->peers);
}
/* Connections of this uid. */
uint32_t gprio_server_count_uid(const struct gprio_server *s, uint32_t uid);

#endif
