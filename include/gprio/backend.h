/* The backend ops table: one struct of function pointers per preemption mechanism (sim, nvidia,
 * amdkfd), the way KFD has an mqd_manager per GPU generation. The monitor only talks to this. */
#ifndef GPRIO_BACKEND_H
#define GPRIO_BACKEND_H

#include "gprio/queue.h"

/* wait() results */
#define GPRIO_WAIT_DEADLINE 0
#define GPRIO_WAIT_EVENT    1

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
	/* Block until `deadline` on the backend's clock, or earlier when a queue gets new work.
	 * GPRIO_WAIT_DEADLINE, GPRIO_WAIT_EVENT, -ECANCELED when the backend is shutting down
	 * (end of a simulation, daemon stop), or another negative errno. */
	int (*wait)(void *be, gprio_ns deadline);
};

#endif
