/* The monitor: the control loop every backend and the simulator share.
 *   tick = refresh the table through the backend -> account -> policy -> state machine ->
 *          batched suspend/resume through the backend
 *   step = tick, then wait through the backend until the next poll, a timer the policy asked
 *          for, or (event mode) new work.
 * Time comes from the injected clock only. */
#ifndef GPRIO_MONITOR_H
#define GPRIO_MONITOR_H

#include "gprio/backend.h"
#include "gprio/policy.h"
#include "gprio/stats.h"

struct gprio_monitor_cfg {
	struct gprio_policy_params policy;
	gprio_ns poll;            /* periodic poll; origin design: 5 ms */
	bool events;              /* also wake when the backend reports new work */
	gprio_ns grace;           /* grace period handed to suspend */
	gprio_ns suspend_timeout; /* suspending longer than this -> resume (fail open) */
	gprio_ns resume_retry;    /* resuming longer than this -> ask again */
	/* A queue whose wptr moved since the last tick was busy in between, even when all its
	 * work is consumed by now. Where done means consumed (AMD: AQL rptr), a queue that keeps
	 * submitting looks idle at most ticks without it. Default on; a backend that reports each
	 * queue's last submission time itself (NVIDIA) turns it off. */
	bool wptr_activity;
};

void gprio_monitor_cfg_defaults(struct gprio_monitor_cfg *c);

struct gprio_monitor_stats {
	uint64_t ticks;
	uint64_t event_wakeups;
	uint64_t inversions;    /* ticks that found a busy queue below a hot one and not held */
	uint64_t suspends;      /* queues asked to suspend */
	uint64_t resumes;       /* queues asked to resume */
	uint64_t suspend_calls; /* backend calls (a call covers a batch) */
	uint64_t resume_calls;
	uint64_t timeouts;
	uint64_t failures;             /* backend refused a request for a queue */
	uint64_t share_releases;       /* resumes for the minimum share */
	uint64_t gone;                 /* queues that vanished */
	struct gprio_hist preempt_lat; /* suspend request -> backend saw it off the GPU */
	struct gprio_hist resume_lat;  /* resume request -> backend saw it back */
};

struct gprio_monitor {
	struct gprio_monitor_cfg cfg;
	const struct gprio_backend_ops *ops;
	void *be;
	const struct gprio_clock *clock;
	gprio_ns last_tick;
	gprio_ns recheck_at;
	struct gprio_monitor_stats st;
	struct gprio_table table;
	struct gprio_action act[GPRIO_MAX_QUEUES];
	uint64_t keys[GPRIO_MAX_QUEUES];
	bool failed[GPRIO_MAX_QUEUES];
};

/* Large (the table is inline): allocate it statically or once at start-up. -EINVAL on a bad
 * configuration (zero poll, missing ops). */
int gprio_monitor_init(struct gprio_monitor *m, const struct gprio_monitor_cfg *cfg,
		       const struct gprio_backend_ops *ops, void *be,
		       const struct gprio_clock *clock);
/* One refresh/decide/act pass. 0, or refresh's negative errno (the table stays consistent).
 * Refused suspend/resume requests are counted in stats and retried by the timers. */
int gprio_monitor_tick(struct gprio_monitor *m);
/* When the loop should next wake up without an event. */
gprio_ns gprio_monitor_next_deadline(const struct gprio_monitor *m);
/* tick + wait. Returns what wait returned (or the tick's error). */
int gprio_monitor_step(struct gprio_monitor *m);
/* Fail open: resume every queue we hold or are suspending. 0 or the last backend error. */
int gprio_monitor_release_all(struct gprio_monitor *m);

#endif
