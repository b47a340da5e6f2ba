/* The backend ops table: one struct of function pointers per preemption mechanism (sim, nvidia,
 * amdkfd), the way KFD has an mqd_manager per GPU generation. The monitor only talks to this. */
#ifndef GPRIO_BACKEND_H
#define GPRIO_BACKEND_H

#include "gprio/queue.h"

struct gprio_backend_caps {
	bool instruction_level;  /* running work is saved mid-kernel (CWSR, TSG preemption) */
	bool block_level;        /* only dispatch order changes; running blocks finish */
	bool launch_gating;      /* new submissions can be held back before the GPU sees them */
	bool device_wide;        /* a suspend/resume also preempts queues it was not asked to */
	bool per_queue;          /* single queues can be suspended (else whole processes) */
	bool events;             /* wait() returns early when a queue gets new work */
};

/* wait() results */
#define GPRIO_WAIT_DEADLINE 0
#define GPRIO_WAIT_EVENT 1

struct gprio_backend_ops {
	const char *name;
	/* Bring the table up to date: add new queues (gprio_table_add), refresh wptr/rptr/done and
	 * hw_held and hw_changed_at, set `vanished` on queues that are gone.
	 * Returns 0 or a negative errno. */
	int (*refresh)(void *be, struct gprio_table *t, gprio_ns now);
	/* Start suspending / resuming these queues. Asynchronous: completion shows up as hw_held in a
	 * later refresh. 0, or a negative errno with nothing changed for the failing call; `failed`
	 * (may be NULL) gets a per-key flag for partial failure. */
	int (*suspend)(void *be, const uint64_t *keys, size_t n, gprio_ns grace, bool *failed);
	int (*resume)(void *be, const uint64_t *keys, size_t n, bool *failed);
	int (*set_priority)(void *be, uint64_t key, int prio);
	/* Block until `deadline` on the backend's clock, or earlier when a queue gets new work.
	 * GPRIO_WAIT_DEADLINE, GPRIO_WAIT_EVENT, -ECANCELED when the backend is shutting down
	 * (end of a simulation, daemon stop), or another negative errno. */
	int (*wait)(void *be, gprio_ns deadline);
	void (*caps)(void *be, struct gprio_backend_caps *c);
};

#endif
