/* The `nvidia` backend: gprio_backend_ops over the shared segment the shims attach to. A queue is
 * a process (a CUDA context: suspending single streams can deadlock on cross-stream
 * dependencies). suspend closes the process's gate; resume returns it to the in-process fast
 * path. wptr = launches; completions are not observed (done = wptr), so a process is hot for
 * the hysteresis after its last launch and TSG timeslices cover work already queued. */
#ifndef GPRIO_NVIDIA_BACKEND_H
#define GPRIO_NVIDIA_BACKEND_H

#include <stdio.h>
#include <sys/un.h>

#include "gprio/backend.h"
#include "gprio/shm.h"

#include "../../daemon/auth.h"

/* A registered process: its control connection, its row, its stats page. */
struct gprio_nv_client {
	int fd;
	uint32_t pid, uid;
	int row;                       /* -1: a `gprio set` connection, not a shim (yet) */
	gprio_ns since;                /* connected at */
	bool hot_rw;                   /* was handed a writable hot descriptor */
	struct gprio_shm_stats *stats; /* its memfd, mapped */
};

struct gprio_nv {
	struct gprio_shm *shm;         /* control segment (we write; shims read) */
	struct gprio_shm_hot *hot;
	const char *path;
	char hot_path[300];
	struct sockaddr_un sock;       /* the control socket, PATH.sock */
	int ctl_ro_fd, hot_rw_fd, hot_ro_fd, listen_fd;
	struct gprio_auth auth;
	uint32_t ncl;
	struct gprio_nv_client cl[GPRIO_SHM_PROCS + 8];
	FILE *log;                     /* registrations and refusals (gpriod: stderr); may be NULL */
	gprio_ns (*now)(void);
	int (*sleep_until)(gprio_ns deadline); /* returns 0, or -EINTR to stop */
	volatile int *stop;
};

extern const struct gprio_backend_ops gprio_nvidia_ops;

/* Create (or take over) the control segment at path (0644), PATH.hot (0600) and the control
 * socket PATH.sock (0666), with `auth` deciding who may be online. 0 or -errno; *what names
 * the file that failed. */
int gprio_nv_open(struct gprio_nv *nv, const char *path, const struct gprio_auth *auth,
		  uint32_t policy, gprio_ns hysteresis, uint32_t online_ts_us, uint32_t offline_ts_us,
		  bool gating, uint32_t inflight_bound, const char **what);
/* Heartbeat 0 and every connection closed: shims fail open at once. */
void gprio_nv_close(struct gprio_nv *nv, bool unlink_files);
/* Serve the control socket (registrations, `gprio set`, hang-ups) until `deadline`. */
void gprio_nv_serve(struct gprio_nv *nv, gprio_ns deadline);
/* CLOCK_MONOTONIC in ns: the clock the shims stamp launches and heartbeats with. */
gprio_ns gprio_nv_now(void);
/* The per-process table `gprio status` and gpriod print. */
void gprio_nv_print_procs(FILE *f, const struct gprio_shm *s);
/* Drop processes that no longer exist but whose connection is still open (a forked child
 * inherited it), and connections that said nothing for 2 s (they would hold a slot). Returns
 * how many. */
int gprio_nv_reap(struct gprio_nv *nv);

#endif
