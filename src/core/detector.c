#include "gprio/detector.h"

bool gprio_queue_hot(const struct gprio_queue *q, gprio_ns now, gprio_ns hysteresis)
{
	if (gprio_queue_busy(q))
		return true;
	return q->last_busy != GPRIO_NS_NEVER && now >= q->last_busy &&
	       now - q->last_busy < hysteresis;
}

int gprio_demand_level(const struct gprio_table *t, gprio_ns now, gprio_ns hysteresis)
{
	int level = -1;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state != GPRIO_Q_GONE && q->priority > level &&
		    gprio_queue_hot(q, now, hysteresis))
			level = q->priority;
	}
	return level;
}

void gprio_detect(const struct gprio_table *t, gprio_ns now, gprio_ns hysteresis,
		  struct gprio_inversion *out)
{
	out->level = gprio_demand_level(t, now, hysteresis);
	out->victims = 0;
	out->held = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->state == GPRIO_Q_GONE || (int)q->priority >= out->level)
			continue;
		if (gprio_qstate_held((enum gprio_qstate)q->state))
			out->held++;
		else if (gprio_queue_busy(q))
			out->victims++;
	}
}
