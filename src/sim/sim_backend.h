/* The `sim` backend ops table and the virtual clock over a simulated world. */
#ifndef GPRIO_SIM_BACKEND_H
#define GPRIO_SIM_BACKEND_H

#include "gprio/backend.h"
#include "world.h"

extern const struct gprio_backend_ops sim_backend_ops;
void sim_clock_init(struct gprio_clock *c, struct sim_world *w);
/* Run events up to `deadline`; with stop_on_wake, return GPRIO_WAIT_EVENT at the first wake-up. */
/* A control action changes who may run right now, not at the next event: dispatch again. */
void sim_kick(struct sim_world *w);
int sim_world_run_until(struct sim_world *w, gprio_ns deadline, bool stop_on_wake);

#endif
