/* share: priority, plus a guaranteed minimum share for held queues. When a held queue's share
 * comes due it runs, and the busy queues above it yield until its window ends: on hardware that
 * dispatches strictly by priority, resuming the starved queue alone would give it nothing. */
#include "gprio/gate.h"
#include "gprio/policy.h"

/* The window the queue is accounted in ends at win_start + window; the share is due once what it
 * already ran plus everything left of the window is no more than its guaranteed share (+ guard):
 * from then on it must run to the window's end to get it. Running keeps the sum constant, so the
 * answer stays "due" until the monitor rolls the window. */
bool gprio_share_due(const struct gprio_policy_params *p, const struct gprio_queue *q, gprio_ns now)
{
	if (p->share_permille == 0 || !gprio_queue_busy(q))
		return false;
	gprio_ns end = q->win_start + p->window;
	gprio_ns left = now < end ? end - now : 0;
	gprio_ns owed = p->window / 1000 * p->share_permille;
	return q->win_run + left <= owed + p->guard;
}

static gprio_ns share_due_at(const struct gprio_policy_params *p, const struct gprio_queue *q)
{
	gprio_ns owed = p->window / 1000 * p->share_permille + p->guard;
	gprio_ns end = q->win_start + p->window;
	/* due when win_run + (end - t) <= owed, i.e. t >= end + win_run - owed (win_run frozen
	 * while held) */
	gprio_ns t = end + q->win_run;
	return t > owed ? t - owed : 0;
}

static void share_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			 const struct gprio_inversion *inv, gprio_ns now, uint8_t *want,
			 gprio_ns *recheck)
{
	int level = inv->level;
	if (level < 0)
		return;
	/* The highest queue below the level whose minimum share is due. This only happens when
	 * higher work has held it for (1 - share) of a window. */
	int yield_to = -1;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state != GPRIO_Q_GONE && (int)q->priority < level &&
		    gprio_share_due(p, q, now) && (int)q->priority > yield_to) {
			yield_to = q->priority;
			*recheck = gprio_min_ns(*recheck, q->win_start + p->window);
		}
	}
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state == GPRIO_Q_GONE)
			continue;
		bool below = (int)q->priority < level;
		if (below && gprio_share_due(p, q, now)) {
			want[i] = gprio_want_run(GPRIO_WHY_SHARE);
		} else if (yield_to >= 0 && (int)q->priority > yield_to && gprio_queue_busy(q) &&
			   !gprio_share_due(p, q, now)) {
			want[i] = gprio_want_hold(GPRIO_WHY_SHARE);
		} else if (below) {
			want[i] = gprio_want_hold(GPRIO_WHY_INVERSION);
			if (p->share_permille) {
				/* A share that comes due at or before now is due already (the
				 * branch above); one computed that way from a frozen win_run
				 * would wake the loop at once, decide the same, and spin. */
				gprio_ns due = share_due_at(p, q);
				if (due > now)
					*recheck = gprio_min_ns(*recheck, due);
			}
		}
	}
	*recheck = gprio_min_ns(*recheck, gprio_policy_hot_expiry(p, t, now));
}

const struct gprio_policy gprio_policy_share = {
	.name = "share",
	.help = "priority, plus a minimum share (share, per window) for every held queue",
	.decide = share_decide,
	.gate = gprio_gate_above,
};
