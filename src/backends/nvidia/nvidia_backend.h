/* The `nvidia` backend: gprio_backend_ops over the shared segment the shims attach to. A queue is
 * a process (a CUDA context: suspending single streams can deadlock on cross-stream
 * dependencies). suspend closes the process's gate; resume returns it to the in-process fast
 * path. wptr = launches; completions are not observed (done = wptr), so a process is hot for
 * the hysteresis after its last launch and TSG timeslices cover work already queued. */
#ifndef GPRIO_NVIDIA_BACKEND_H
#define GPRIO_NVIDIA_BACKEND_H

#include <stdio.h>

#include "gprio/backend.h"
#include "gprio/shm.h"

struct gprio_nv {
	struct gprio_shm *shm;
	const char *path;
	gprio_ns (*now)(void);
	int (*sleep_until)(gprio_ns deadline); /* returns 0, or -EINTR to stop */
	volatile int *stop;
};

extern const struct gprio_backend_ops gprio_nvidia_ops;

/* Create (or take over) the segment at path, mode 0666. 0 or -errno. */
int gprio_nv_shm_create(struct gprio_nv *nv, const char *path, uint32_t policy, gprio_ns hysteresis,
			uint32_t online_ts_us, uint32_t offline_ts_us, bool gating, uint32_t inflight_bound);
void gprio_nv_shm_close(struct gprio_nv *nv, bool unlink_file);
/* CLOCK_MONOTONIC in ns: the clock the shims stamp launches and heartbeats with. */
gprio_ns gprio_nv_now(void);
/* The per-process table `gprio status` and gpriod print. */
void gprio_nv_print_procs(FILE *f, const struct gprio_shm *s);
/* Free rows of processes that no longer exist. Returns how many. */
int gprio_nv_reap(struct gprio_nv *nv, gprio_ns now);

#endif
