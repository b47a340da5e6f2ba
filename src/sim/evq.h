/* The simulator's event queue: a binary min-heap ordered by (time, insertion sequence), so equal
 * times pop in FIFO order and every run is deterministic. */
#ifndef GPRIO_SIM_EVQ_H
#define GPRIO_SIM_EVQ_H

#include "gprio/types.h"

struct sim_event {
	gprio_ns t;
	uint64_t seq;
	uint32_t type;
	uint32_t a;
	uint64_t b;
};

struct sim_evq {
	struct sim_event *h;
	size_t n, cap;
	uint64_t seq;
};

void sim_evq_init(struct sim_evq *q);
void sim_evq_free(struct sim_evq *q);
/* 0 or -ENOMEM */
int sim_evq_push(struct sim_evq *q, gprio_ns t, uint32_t type, uint32_t a, uint64_t b);
/* Earliest event time, or GPRIO_NS_NEVER when empty. */
gprio_ns sim_evq_peek_time(const struct sim_evq *q);
/* Pops the earliest event into *e; false when empty. */
bool sim_evq_pop(struct sim_evq *q, struct sim_event *e);

#endif
