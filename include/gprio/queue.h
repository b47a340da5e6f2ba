/* The queue table: one row per hardware queue (AQL queue on AMD, CUDA context on NVIDIA) with
 * the design's submitted/consumed counters. Fixed capacity, caller-owned: no allocation. */
#ifndef GPRIO_QUEUE_H
#define GPRIO_QUEUE_H

#include "gprio/preempt.h"
#include "gprio/priority.h"
#include "gprio/types.h"

struct gprio_queue {
	uint64_t key;     /* backend's identity for the queue, unique in the table */
	uint32_t pid;     /* owning process */
	uint8_t priority; /* 0..15 */
	uint8_t klass;    /* enum gprio_class */
	uint8_t state;    /* enum gprio_qstate, owned by the monitor */
	uint8_t hw_held;  /* backend: queue is off the GPU now (suspend took effect) */
	uint8_t vanished; /* backend: queue destroyed / process exited */
	uint16_t weight;  /* wfq: share among queues of equal priority (1..GPRIO_WEIGHT_MAX) */
	gprio_ns slo;     /* slo: latency objective of its work (0: none) */

	/* Counters the backend refreshes: the design's wptr / rptr plus completions where the
	 * backend can see them (AMD's rptr means consumed, not finished: done == rptr there). */
	uint64_t wptr;
	uint64_t rptr;
	uint64_t done;
	gprio_ns hw_changed_at; /* backend: when hw_held last changed (latency accounting) */

	/* Maintained by the monitor. */
	gprio_ns state_since; /* when the current state was entered */
	gprio_ns last_busy;   /* last tick that saw wptr != done (GPRIO_NS_NEVER: never) */
	gprio_ns win_start;   /* share accounting window */
	gprio_ns win_run;     /* ns in this window the queue had work and was not held */
	gprio_ns busy_since;  /* start of the current stretch of work (gaps shorter than the
			       * hysteresis do not end it); GPRIO_NS_NEVER: idle */
	gprio_ns vrun;        /* wfq: ns it had work and was not held, divided by its weight */
	uint32_t preemptions;
	uint32_t timeouts;
	uint64_t seen_wptr; /* wptr at the previous tick: work submitted in between is activity */
};

#define GPRIO_WEIGHT_MAX 1000

struct gprio_table {
	uint32_t n;
	struct gprio_queue q[GPRIO_MAX_QUEUES];
};

void gprio_table_init(struct gprio_table *t);
/* Index of the row with this key, or -1. */
int gprio_table_find(const struct gprio_table *t, uint64_t key);
/* The same, trying row `hint` first (a backend caches where its queue was last time: O(1)
 * lookups while rows do not move). */
int gprio_table_find_hint(const struct gprio_table *t, uint64_t key, uint32_t hint);
/* Add a queue (state active). Returns its index, -EEXIST if the key is present (row unchanged),
 * -ENOSPC when full, -EINVAL for a priority outside 0..15. */
int gprio_table_add(struct gprio_table *t, uint64_t key, uint32_t pid, int priority,
		    enum gprio_class klass, gprio_ns now);
/* Remove row idx; the last row moves into its place. */
void gprio_table_remove(struct gprio_table *t, uint32_t idx);

/* Work submitted but not finished. */
static inline bool gprio_queue_busy(const struct gprio_queue *q)
{
	return q->wptr != q->done;
}

#endif
