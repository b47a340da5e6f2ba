/* The policy table and what every policy shares: turning "which rows should be held" into the
 * suspend/resume actions that get there. The decisions themselves live one per file
 * (policy_<name>.c). */
#include "gprio/policy.h"

#include "gprio/errno.h"

/* Adding a policy: one file exporting a struct gprio_policy (policy_<name>.c, listed in
 * GPRIO_CORE_SRCS), one row here. */
extern const struct gprio_policy gprio_policy_share, gprio_policy_wfq, gprio_policy_slo;
const struct gprio_policy *const gprio_policies[] = {
	&gprio_policy_none, &gprio_policy_priority, &gprio_policy_share,
	&gprio_policy_wfq,  &gprio_policy_slo,      NULL,
};

void gprio_policy_defaults(struct gprio_policy_params *p)
{
	p->policy = &gprio_policy_priority;
	p->hysteresis = 2 * GPRIO_NS_PER_MS;
	p->share_permille = 100;
	p->window = 100 * GPRIO_NS_PER_MS;
	p->guard = 0;
	p->quantum = 10 * GPRIO_NS_PER_MS;
	p->slo_permille = 500;
}

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

const struct gprio_policy *gprio_policy_find(const char *name)
{
	for (int i = 0; name && gprio_policies[i]; i++)
		if (same(name, gprio_policies[i]->name))
			return gprio_policies[i];
	return NULL;
}

const struct gprio_policy *gprio_policy_at(uint32_t idx)
{
	for (uint32_t i = 0; gprio_policies[i]; i++)
		if (i == idx)
			return gprio_policies[i];
	return NULL;
}

int gprio_policy_index(const struct gprio_policy *p)
{
	for (int i = 0; gprio_policies[i]; i++)
		if (gprio_policies[i] == p)
			return i;
	return -1;
}

const char *gprio_policy_name(const struct gprio_policy *p)
{
	return p ? p->name : "?";
}

size_t gprio_policy_names(char *buf, size_t len)
{
	size_t n = 0;
	for (int i = 0; gprio_policies[i]; i++) {
		const char *s = gprio_policies[i]->name;
		if (i && n + 2 < len) {
			buf[n++] = ',';
			buf[n++] = ' ';
		}
		while (*s && n + 1 < len)
			buf[n++] = *s++;
	}
	if (len)
		buf[n] = '\0';
	return n;
}

void gprio_policy_hold_below(const struct gprio_table *t, int level, uint8_t *want)
{
	for (uint32_t i = 0; level >= 0 && i < t->n; i++)
		if ((int)t->q[i].priority < level)
			want[i] = gprio_want_hold(GPRIO_WHY_INVERSION);
}

gprio_ns gprio_policy_hot_expiry(const struct gprio_policy_params *p, const struct gprio_table *t,
				 gprio_ns now)
{
	gprio_ns at = GPRIO_NS_NEVER;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state != GPRIO_Q_GONE && !gprio_queue_busy(q) &&
		    q->last_busy != GPRIO_NS_NEVER && q->last_busy + p->hysteresis > now)
			at = gprio_min_ns(at, q->last_busy + p->hysteresis);
	}
	return at;
}

size_t gprio_policy_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			   const struct gprio_inversion *inv, gprio_ns now,
			   struct gprio_action *out, size_t cap, gprio_ns *recheck_at)
{
	uint8_t want[GPRIO_MAX_QUEUES];
	for (uint32_t i = 0; i < t->n; i++)
		want[i] = gprio_want_run(GPRIO_WHY_IDLE);
	gprio_ns recheck = GPRIO_NS_NEVER;
	p->policy->decide(p, t, inv, now, want, &recheck);

	size_t n = 0;
	for (uint32_t i = 0; i < t->n && n < cap; i++) {
		const struct gprio_queue *q = &t->q[i];
		enum gprio_qstate s = (enum gprio_qstate)q->state;
		bool hold = want[i] & GPRIO_WANT_HOLD;
		uint8_t why = want[i] & (uint8_t)~GPRIO_WANT_HOLD;
		if (s == GPRIO_Q_GONE)
			continue;
		if (hold && s == GPRIO_Q_ACTIVE)
			out[n++] = (struct gprio_action){GPRIO_ACT_SUSPEND, why, i, q->key};
		else if (!hold && (s == GPRIO_Q_SUSPENDED || s == GPRIO_Q_SUSPENDING))
			out[n++] = (struct gprio_action){GPRIO_ACT_RESUME, why, i, q->key};
	}
	/* A recheck at or before now would spin the loop (wake, decide the same, wake again). */
	if (recheck != GPRIO_NS_NEVER && recheck <= now)
		recheck = now + 1;
	*recheck_at = recheck;
	return n;
}
