/* The per-queue preemption state machine:
 *   active -> suspending -> suspended -> resuming -> active, and gone from any state.
 * A pure transition function so that every backend and the simulator share one definition. */
#ifndef GPRIO_PREEMPT_H
#define GPRIO_PREEMPT_H

#include "gprio/types.h"

enum gprio_qstate {
	GPRIO_Q_ACTIVE = 0,
	GPRIO_Q_SUSPENDING,
	GPRIO_Q_SUSPENDED,
	GPRIO_Q_RESUMING,
	GPRIO_Q_GONE,
};

enum gprio_qevent {
	GPRIO_EV_SUSPEND_REQ = 0, /* controller asked the backend to suspend */
	GPRIO_EV_SUSPENDED,       /* backend observed the queue off the GPU */
	GPRIO_EV_RESUME_REQ,      /* controller asked the backend to resume */
	GPRIO_EV_RESUMED,         /* backend observed the queue back on the GPU */
	GPRIO_EV_TIMEOUT,         /* a transition took longer than allowed: fail open */
	GPRIO_EV_FAILED,          /* the backend refused the request */
	GPRIO_EV_VANISHED,        /* the queue was destroyed or its process exited */
};

const char *gprio_qstate_name(enum gprio_qstate s);
const char *gprio_qevent_name(enum gprio_qevent e);

/* 0 and *next set, or -EINVAL when the event makes no sense in that state (state unchanged).
 * TIMEOUT while suspending means "give up and resume" (fail open), so it leads to resuming;
 * FAILED returns to the state the queue was observed in before the request. */
int gprio_preempt_next(enum gprio_qstate s, enum gprio_qevent e, enum gprio_qstate *next);

/* Whether the queue is (or is about to be) off the GPU by our doing. */
static inline bool gprio_qstate_held(enum gprio_qstate s)
{
	return s == GPRIO_Q_SUSPENDING || s == GPRIO_Q_SUSPENDED;
}

#endif
