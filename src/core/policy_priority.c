/* priority: the origin design's law. While a queue has work (or had some within the
 * hysteresis), every queue of lower priority is held. */
#include "gprio/gate.h"
#include "gprio/policy.h"

static void priority_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			    const struct gprio_inversion *inv, gprio_ns now, uint8_t *want,
			    gprio_ns *recheck)
{
	if (inv->level < 0)
		return;
	gprio_policy_hold_below(t, inv->level, want);
	*recheck = gprio_min_ns(*recheck, gprio_policy_hot_expiry(p, t, now));
}

const struct gprio_policy gprio_policy_priority = {
	.name = "priority",
	.help = "hold every lower-priority queue while a higher one has work (plus the hysteresis)",
	.decide = priority_decide,
	.gate = gprio_gate_above,
};
