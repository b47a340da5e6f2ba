#include "gprio/policy.h"

#include <errno.h>
#include <string.h>

#include "gprio/detector.h"

void gprio_policy_defaults(struct gprio_policy_params *p)
{
	p->kind = GPRIO_POLICY_PRIORITY;
	p->hysteresis = 2 * GPRIO_NS_PER_MS;
	p->share_permille = 100;
	p->window = 100 * GPRIO_NS_PER_MS;
	p->guard = 0;
}

const char *gprio_policy_name(enum gprio_policy_kind k)
{
	switch (k) {
	case GPRIO_POLICY_NONE: return "none";
	case GPRIO_POLICY_PRIORITY: return "priority";
	case GPRIO_POLICY_SHARE: return "share";
	}
	return "?";
}

int gprio_policy_parse(const char *s, enum gprio_policy_kind *out)
{
	for (int k = GPRIO_POLICY_NONE; k <= GPRIO_POLICY_SHARE; k++)
		if (s && strcmp(s, gprio_policy_name((enum gprio_policy_kind)k)) == 0) {
			*out = (enum gprio_policy_kind)k;
			return 0;
		}
	return -EINVAL;
}

static gprio_ns min_ns(gprio_ns a, gprio_ns b)
{
	return a < b ? a : b;
}

/* The window the queue is accounted in ends at win_start + window; the share is due once what it
 * already ran plus everything left of the window is no more than its guaranteed share (+ guard):
 * from then on it must run to the window's end to get it. Running keeps the sum constant, so the
 * answer stays "due" until the monitor rolls the window. */
bool gprio_share_due(const struct gprio_policy_params *p, const struct gprio_queue *q, gprio_ns now)
{
	if (p->kind != GPRIO_POLICY_SHARE || p->share_permille == 0 || !gprio_queue_busy(q))
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

size_t gprio_policy_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			   gprio_ns now, struct gprio_action *out, size_t cap, gprio_ns *recheck_at)
{
	size_t n = 0;
	gprio_ns recheck = GPRIO_NS_NEVER;
	int level = p->kind == GPRIO_POLICY_NONE ? -1 : gprio_demand_level(t, now, p->hysteresis);

	/* share: the highest queue below the level whose minimum share is due. Everything busy
	 * above it yields until its window ends: on hardware that dispatches strictly by
	 * priority, resuming the starved queue alone would give it nothing. This only happens
	 * when higher work has held it for (1 - share) of a window. */
	int yield_to = -1;
	for (uint32_t i = 0; level >= 0 && i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state != GPRIO_Q_GONE && (int)q->priority < level && gprio_share_due(p, q, now) &&
		    (int)q->priority > yield_to) {
			yield_to = q->priority;
			recheck = min_ns(recheck, q->win_start + p->window);
		}
	}

	for (uint32_t i = 0; i < t->n && n < cap; i++) {
		const struct gprio_queue *q = &t->q[i];
		enum gprio_qstate s = (enum gprio_qstate)q->state;
		if (s == GPRIO_Q_GONE)
			continue;
		/* Every queue below the level is held, idle ones too: one batched suspend instead of a
		 * trickle of them as each lower queue gets work (each costs an HIQ round trip on
		 * AMD and all of them serialize there). */
		bool want_held = level >= 0 && (int)q->priority < level;
		uint8_t why = GPRIO_WHY_IDLE, hold_why = GPRIO_WHY_INVERSION;
		if (want_held && gprio_share_due(p, q, now)) {
			want_held = false;
			why = GPRIO_WHY_SHARE;
		} else if (yield_to >= 0 && (int)q->priority > yield_to && gprio_queue_busy(q) &&
			   !gprio_share_due(p, q, now)) {
			want_held = true;
			hold_why = GPRIO_WHY_SHARE;
		} else if (want_held && p->kind == GPRIO_POLICY_SHARE && p->share_permille) {
			recheck = min_ns(recheck, share_due_at(p, q));
		}
		if (want_held && s == GPRIO_Q_ACTIVE)
			out[n++] = (struct gprio_action){GPRIO_ACT_SUSPEND, hold_why, i, q->key};
		else if (!want_held && (s == GPRIO_Q_SUSPENDED || s == GPRIO_Q_SUSPENDING))
			out[n++] = (struct gprio_action){GPRIO_ACT_RESUME, why, i, q->key};
	}

	/* The level can drop with no new observation when a hot-but-idle queue's hysteresis ends. */
	if (level >= 0) {
		for (uint32_t i = 0; i < t->n; i++) {
			const struct gprio_queue *q = &t->q[i];
			if (q->state != GPRIO_Q_GONE && !gprio_queue_busy(q) &&
			    q->last_busy != GPRIO_NS_NEVER && q->last_busy + p->hysteresis > now)
				recheck = min_ns(recheck, q->last_busy + p->hysteresis);
		}
	}
	if (recheck != GPRIO_NS_NEVER && recheck <= now)
		recheck = now + 1;
	*recheck_at = recheck;
	return n;
}
