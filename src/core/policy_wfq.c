/* wfq: priority between levels, weighted fair sharing within one. Queues of equal priority
 * that all have work take turns on the GPU, one at a time, so that each one's run time divided
 * by its weight (vrun, kept by the monitor) stays within one quantum of the others': two
 * offline jobs at weights 3:1 get 75 % and 25 % of what the queues above leave them. The
 * hardware alone shares them equally. */
#include "gprio/gate.h"
#include "gprio/policy.h"

static void wfq_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
		       const struct gprio_inversion *inv, gprio_ns now, uint8_t *want,
		       gprio_ns *recheck)
{
	int level = inv->level;
	if (level < 0)
		return;
	gprio_policy_hold_below(t, level, want);
	*recheck = gprio_min_ns(*recheck, gprio_policy_hot_expiry(p, t, now));

	/* The busy queues at the level: the most owed one (smallest vrun), and the one on the
	 * GPU now (not held) if any. */
	int owed = -1, runner = -1;
	uint32_t busy = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state == GPRIO_Q_GONE || q->priority != level || !gprio_queue_busy(q))
			continue;
		busy++;
		if (owed < 0 || q->vrun < t->q[owed].vrun)
			owed = (int)i;
		bool on = q->state == GPRIO_Q_ACTIVE || q->state == GPRIO_Q_RESUMING;
		if (on && (runner < 0 || q->vrun < t->q[runner].vrun))
			runner = (int)i;
	}
	if (busy < 2)
		return;
	/* Keep the one on the GPU until it is a quantum ahead: a swap costs a preemption. */
	if (runner < 0 || t->q[runner].vrun >= t->q[owed].vrun + p->quantum)
		runner = owed;
	gprio_ns next = GPRIO_NS_NEVER; /* smallest vrun among the others */
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state == GPRIO_Q_GONE || q->priority != level || !gprio_queue_busy(q))
			continue;
		if ((int)i == runner) {
			want[i] = gprio_want_run(GPRIO_WHY_FAIR);
			continue;
		}
		want[i] = gprio_want_hold(GPRIO_WHY_FAIR);
		next = gprio_min_ns(next, q->vrun);
	}
	/* The runner's vrun grows by 1/weight per ns it runs: it is a quantum ahead of the next
	 * one at this time (never before now + 1: the swap test above already failed). */
	const struct gprio_queue *r = &t->q[runner];
	gprio_ns ahead = next + p->quantum > r->vrun ? next + p->quantum - r->vrun : 1;
	*recheck = gprio_min_ns(*recheck, now + ahead * (r->weight ? r->weight : 1));
}

const struct gprio_policy gprio_policy_wfq = {
	.name = "wfq",
	.help = "priority, and busy queues of equal priority take turns in proportion to their "
		"weight",
	.decide = wfq_decide,
	.gate = gprio_gate_above,
};
