/* none: the hardware's own scheduling. Never hold anything, and release whatever is held. */
#include "gprio/policy.h"

static void none_decide(const struct gprio_policy_params *p, const struct gprio_table *t,
			const struct gprio_inversion *inv, gprio_ns now, uint8_t *want,
			gprio_ns *recheck)
{
	(void)p, (void)t, (void)inv, (void)now, (void)want, (void)recheck;
}

const struct gprio_policy gprio_policy_none = {
	.name = "none",
	.help = "never preempt: the hardware's own time slicing (releases anything held)",
	.decide = none_decide,
};
