/* Launch gating: the in-process half of a policy (struct gprio_policy.gate), pure functions of
 * the published hot levels and the daemon's per-process override, so the shim's fast path, the
 * daemon and the tests share one definition. */
#ifndef GPRIO_GATE_H
#define GPRIO_GATE_H

#include "gprio/policy.h"
#include "gprio/priority.h"

/* Highest level hot at `now` (hot_until[level] > now), or -1. */
int gprio_hot_level(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], gprio_ns now);

/* Must a launch of a process at priority `prio` wait under policy `pol` (NULL: none)?
 * override (the daemon's decision): 0 auto (the policy's gate), 1 open, 2 closed. */
bool gprio_gate_closed(const struct gprio_policy *pol, const gprio_ns hot_until[GPRIO_PRIO_LEVELS],
		       int prio, unsigned override, gprio_ns now);

/* The gate of the priority-ordered policies: only levels strictly above `prio` close it, so
 * equal priorities never gate each other. */
bool gprio_gate_above(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], int prio, gprio_ns now);

/* The new hot_until for a level after a launch at `now` (never moves backwards). */
static inline gprio_ns gprio_hot_extend(gprio_ns cur, gprio_ns now, gprio_ns hysteresis)
{
	gprio_ns t = now + hysteresis;
	return t > cur ? t : cur;
}

#endif
