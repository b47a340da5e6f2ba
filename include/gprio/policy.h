/* Policies: pure functions from (queue table, detector result, now, parameters) to actions.
 * No I/O, no clock. Each policy is one file under src/core/ (policy_<name>.c) exporting one
 * struct gprio_policy; the table in src/core/policy.c lists them, and everything that names a
 * policy (scenario files, `gprio sim`, gpriod, the docs) reads that table. */
#ifndef GPRIO_POLICY_H
#define GPRIO_POLICY_H

#include "gprio/detector.h"
#include "gprio/queue.h"

struct gprio_policy;

struct gprio_policy_params {
	const struct gprio_policy *policy; /* which policy decides (gprio_policy_find) */
	gprio_ns hysteresis;               /* a queue stays hot this long after its last work */
	uint32_t share_permille; /* share: minimum share of each window a held queue gets */
	gprio_ns window;         /* share: accounting window */
	gprio_ns guard;          /* share: release this much early (one poll period of slack) */
	gprio_ns quantum;        /* wfq: how far (in weighted run time) the queue on the GPU may
				  * get ahead of the most-owed one before they swap */
	uint32_t slo_permille;   /* slo: hold lower queues once online work has been pending for
				  * this fraction of its objective */
};

/* Defaults: policy `priority`; hysteresis 2 ms (longer than the CPU gaps of a launch-bound
 * online service, short against a 25 ms request period at 40 req/s); 10 % share over 100 ms;
 * wfq quantum 10 ms; slo trigger at half the objective. */
void gprio_policy_defaults(struct gprio_policy_params *p);

enum gprio_action_kind { GPRIO_ACT_SUSPEND = 0, GPRIO_ACT_RESUME = 1 };
enum gprio_action_reason {
	GPRIO_WHY_INVERSION = 0, /* suspend: a higher-priority queue is hot */
	GPRIO_WHY_IDLE,          /* resume: nothing above it is hot any more */
	GPRIO_WHY_SHARE, /* resume: its minimum share is due; suspend: yield to one that is */
	GPRIO_WHY_FAIR,  /* wfq: its turn among equals came / went */
	GPRIO_WHY_SLO,   /* slo: online work above it is about to miss its objective */
};

struct gprio_action {
	uint8_t kind;   /* enum gprio_action_kind */
	uint8_t reason; /* enum gprio_action_reason */
	uint32_t idx;   /* row in the table the decision was made on */
	uint64_t key;
};

/* What a policy wants for one row: run, or be held, and why. */
#define GPRIO_WANT_HOLD 0x80u
static inline uint8_t gprio_want_hold(enum gprio_action_reason why)
{
	return (uint8_t)(GPRIO_WANT_HOLD | why);
}
static inline uint8_t gprio_want_run(enum gprio_action_reason why)
{
	return (uint8_t)why;
}

/* One policy. `decide` fills want[i] for every row i < t->n (GONE rows are ignored) and lowers
 * *recheck to the earliest time its answer could change with no new observation (it starts at
 * GPRIO_NS_NEVER). It must be pure: same inputs, same answer. */
struct gprio_policy {
	const char *name;
	const char *help; /* one line: what it does, for usage text and docs */
	void (*decide)(const struct gprio_policy_params *p, const struct gprio_table *t,
		       const struct gprio_inversion *inv, gprio_ns now, uint8_t *want,
		       gprio_ns *recheck);
	/* The in-process half, for mechanisms that gate submissions inside the program (the
	 * NVIDIA shim) with no daemon round trip: must a submission at priority `prio` wait,
	 * given each level's published "hot until" time? NULL: never (the daemon's overrides,
	 * decided by `decide`, still apply). gate.c is the only caller. */
	bool (*gate)(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], int prio, gprio_ns now);
};

/* The table of policies (NULL-terminated); by name with gprio_policy_find. Two are named here:
 * `none` (the off switch every mechanism must honour) and `priority` (the default). */
extern const struct gprio_policy *const gprio_policies[];
extern const struct gprio_policy gprio_policy_none, gprio_policy_priority;
const struct gprio_policy *gprio_policy_find(const char *name);
/* The policy at a table position (as published by gpriod), NULL when out of range. */
const struct gprio_policy *gprio_policy_at(uint32_t idx);
/* Position in the table (what gpriod publishes to `gprio status`), -1 if not in it. */
int gprio_policy_index(const struct gprio_policy *p);
/* "none, priority, share, ..." into buf (for messages); returns its length. */
size_t gprio_policy_names(char *buf, size_t len);
const char *gprio_policy_name(const struct gprio_policy *p);

/* Fills out[0..cap) with the actions that take the table from what it is to what the policy
 * wants (rows in order; rows beyond cap are decided on the next call) and returns their number.
 * *recheck_at gets the earliest time at which the decision could change with no new
 * observation, or GPRIO_NS_NEVER; never earlier than now + 1. */
size_t gprio_policy_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			   const struct gprio_inversion *inv, gprio_ns now,
			   struct gprio_action *out, size_t cap, gprio_ns *recheck_at);

/* Helpers the policies share. */
static inline gprio_ns gprio_min_ns(gprio_ns a, gprio_ns b)
{
	return a < b ? a : b;
}
/* Hold every row below the demand level (idle ones too: one batched suspend instead of a
 * trickle as each lower queue gets work). */
void gprio_policy_hold_below(const struct gprio_table *t, int level, uint8_t *want);
/* The level can drop with no new observation when a hot-but-idle queue's hysteresis ends. */
gprio_ns gprio_policy_hot_expiry(const struct gprio_policy_params *p, const struct gprio_table *t,
				 gprio_ns now);
/* Whether a held queue's minimum share is due now (share policy). */
bool gprio_share_due(const struct gprio_policy_params *p, const struct gprio_queue *q,
		     gprio_ns now);

#endif
