/* The inversion detector: which priority level currently has demand, and whether a queue
 * below that level is still on the GPU (a priority inversion). Pure functions of the table. */
#ifndef GPRIO_DETECTOR_H
#define GPRIO_DETECTOR_H

#include "gprio/queue.h"

/* A queue is hot if it has unfinished work, or had some less than `hysteresis` ago. */
bool gprio_queue_hot(const struct gprio_queue *q, gprio_ns now, gprio_ns hysteresis);

/* Highest priority among hot queues, or -1 when no queue is hot. */
int gprio_demand_level(const struct gprio_table *t, gprio_ns now, gprio_ns hysteresis);

struct gprio_inversion {
	int level;        /* gprio_demand_level(), -1 if none */
	uint32_t victims; /* busy queues below level that are not held: the inversion */
	uint32_t held;    /* queues below level that are held */
};

void gprio_detect(const struct gprio_table *t, gprio_ns now, gprio_ns hysteresis,
		  struct gprio_inversion *out);

#endif
