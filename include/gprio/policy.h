/* Policies: pure functions from (queue table, now, parameters) to actions. No I/O, no clock. */
#ifndef GPRIO_POLICY_H
#define GPRIO_POLICY_H

#include "gprio/queue.h"

enum gprio_policy_kind {
	GPRIO_POLICY_NONE = 0, /* hardware default: never preempt (and release anything held) */
	GPRIO_POLICY_PRIORITY, /* hold lower-priority queues while a higher one is hot */
	GPRIO_POLICY_SHARE,    /* priority, plus a guaranteed minimum share for held queues: when a
				* held queue's share comes due, it runs and the busy queues above it
				* yield until its window ends */
};

struct gprio_policy_params {
	enum gprio_policy_kind kind;
	gprio_ns hysteresis;     /* a queue stays hot this long after its last work */
	uint32_t share_permille; /* share: minimum share of each window a held queue gets */
	gprio_ns window;         /* share: accounting window */
	gprio_ns guard;          /* share: release this much early (one poll period of slack) */
};

/* Defaults: hysteresis 2 ms (estimate: longer than the CPU gaps of a launch-bound online
 * service, short against a 25 ms request period at 40 req/s); 10 % share over 100 ms. */
void gprio_policy_defaults(struct gprio_policy_params *p);
const char *gprio_policy_name(enum gprio_policy_kind k);
int gprio_policy_parse(const char *s, enum gprio_policy_kind *out);

enum gprio_action_kind { GPRIO_ACT_SUSPEND = 0, GPRIO_ACT_RESUME = 1 };
enum gprio_action_reason {
	GPRIO_WHY_INVERSION = 0, /* suspend: a higher-priority queue is hot */
	GPRIO_WHY_IDLE,          /* resume: nothing above it is hot any more */
	GPRIO_WHY_SHARE,         /* resume: its minimum share is due; suspend: yield to one that is */
};

struct gprio_action {
	uint8_t kind;   /* enum gprio_action_kind */
	uint8_t reason; /* enum gprio_action_reason */
	uint32_t idx;   /* row in the table the decision was made on */
	uint64_t key;
};

/* Fills out[0..cap) and returns the number of actions (never more than cap; rows beyond are
 * decided on the next call). *recheck_at gets the earliest time at which the decision could
 * change with no new observation (hysteresis expiry, share due), or GPRIO_NS_NEVER. */
size_t gprio_policy_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			   gprio_ns now, struct gprio_action *out, size_t cap, gprio_ns *recheck_at);

/* Whether a held queue's minimum share is due now (share policy). */
bool gprio_share_due(const struct gprio_policy_params *p, const struct gprio_queue *q, gprio_ns now);

#endif
