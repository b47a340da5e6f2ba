/* slo: hold lower queues only as much as online work needs to meet its latency objective. A
 * queue with an objective (slo > 0) that has had work for less than slo_permille of it is left
 * to share the GPU; once its work has waited that long, every queue below it is held until it
 * goes idle. A queue without an objective holds lower ones at once, as under `priority`.
 * Sharing is the cheap case: CPU-bound online work (a decode loop with short kernels) finishes
 * inside its objective next to offline work, which keeps its throughput. */
#include "gprio/gate.h"
#include "gprio/policy.h"

static bool urgent(const struct gprio_policy_params *p, const struct gprio_queue *q, gprio_ns now,
		   gprio_ns hysteresis, gprio_ns *at)
{
	if (q->state == GPRIO_Q_GONE || !gprio_queue_hot(q, now, hysteresis))
		return false;
	if (q->slo == 0)
		return true;
	if (!gprio_queue_busy(q))
		return false;
	gprio_ns since = q->busy_since == GPRIO_NS_NEVER ? now : q->busy_since;
	gprio_ns trigger = since + q->slo / 1000 * p->slo_permille;
	if (now >= trigger)
		return true;
	*at = gprio_min_ns(*at, trigger);
	return false;
}

static void slo_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
		       const struct gprio_inversion *inv, gprio_ns now, uint8_t *want,
		       gprio_ns *recheck)
{
	if (inv->level < 0)
		return;
	int level = -1;
	bool objective = false; /* the queue that set the level has one */
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if ((int)q->priority > level && urgent(p, q, now, p->hysteresis, recheck)) {
			level = q->priority;
			objective = q->slo != 0;
		}
	}
	for (uint32_t i = 0; level >= 0 && i < t->n; i++)
		if ((int)t->q[i].priority < level)
			want[i] = gprio_want_hold(objective ? GPRIO_WHY_SLO : GPRIO_WHY_INVERSION);
	*recheck = gprio_min_ns(*recheck, gprio_policy_hot_expiry(p, t, now));
}

const struct gprio_policy gprio_policy_slo = {
	.name = "slo",
	.help = "hold lower queues only once online work has waited half its objective (slo)",
	.decide = slo_decide,
	.gate = gprio_gate_above,
};
