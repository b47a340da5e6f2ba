/* Launch gating decisions: pure functions of the published hot levels, so the shim's fast path,
 * the daemon and the tests share one definition. */
#ifndef GPRIO_GATE_H
#define GPRIO_GATE_H

#include "gprio/priority.h"


/* Highest level hot at `now` (hot_until[level] > now), or -1. */
int gprio_hot_level(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], gprio_ns now);

/* Must a launch of a process at priority `prio` wait? override: 0 auto, 1 open, 2 closed.
 * Only levels strictly above `prio` close the gate: equal priorities never gate each other. */
bool gprio_gate_closed(const gprio_ns hot_until[GPRIO_PRIO_LEVELS], int prio, unsigned override,
		       gprio_ns now);

/* The new hot_until for a level after a launch at `now` (never moves backwards). */
static inline gprio_ns gprio_hot_extend(gprio_ns cur, gprio_ns now, gprio_ns hysteresis)
{
	gprio_ns t = now + hysteresis;
	return t > cur ? t : cur;
}

#endif
