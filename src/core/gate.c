#include "gprio/gate.h"

int gprio_hot_level(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], gprio_ns now)
{
	for (int l = GPRIO_PRIO_LEVELS - 1; l >= 0; l--)
		if (hot_until[l] > now)
			return l;
	return -1;
}

bool gprio_gate_closed(const struct gprio_policy *pol, const gprio_ns hot_until[GPRIO_PRIO_LEVELS],
		       int prio, unsigned override, gprio_ns now)
{
	if (override == 1)
		return false;
	if (override == 2)
		return true;
	return pol && pol->gate && pol->gate(hot_until, prio, now);
}

bool gprio_gate_above(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], int prio, gprio_ns now)
{
	for (int l = GPRIO_PRIO_LEVELS - 1; l > prio; l--)
		if (hot_until[l] > now)
			return true;
	return false;
}
