/* Deterministic random numbers for the simulator (xoshiro256**, seeded with splitmix64) and the
 * duration distributions scenarios use. Same seed -> same stream on every machine. */
#ifndef GPRIO_SIM_RNG_H
#define GPRIO_SIM_RNG_H

#include "gprio/types.h"

struct sim_rng {
	uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
double sim_rng_unit(struct sim_rng *r); /* [0, 1) */

enum sim_dist_kind { SIM_DIST_FIXED = 0, SIM_DIST_UNIFORM, SIM_DIST_EXP, SIM_DIST_NORMAL };

/* A distribution of non-negative values (durations in ns, counts). fixed(a), uniform(a,b),
 * exp(mean a), normal(mean a, sd b) truncated at 0. */
struct sim_dist {
	enum sim_dist_kind kind;
	double a, b;
};

double sim_dist_sample(const struct sim_dist *d, struct sim_rng *r);
double sim_dist_mean(const struct sim_dist *d);

#endif
