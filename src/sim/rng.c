#include "sim_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double sim_dist_sample(const struct sim_dist *d, struct sim_rng *r)
{
	double v;
	switch (d->kind) {
	case SIM_DIST_UNIFORM: v = d->a + (d->b - d->a) * sim_rng_unit(r); break;
	case SIM_DIST_EXP: v = -d->a * log(1.0 - sim_rng_unit(r)); break;
	case SIM_DIST_NORMAL: {
		/* Box-Muller; one value per call keeps the stream simple and deterministic */
		double u1 = 1.0 - sim_rng_unit(r), u2 = sim_rng_unit(r);
		v = d->a + d->b * sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
		break;
	}
	case SIM_DIST_FIXED:
	default: v = d->a; break;
	}
	return v < 0 ? 0 : v;
}

double sim_dist_mean(const struct sim_dist *d)
{
	switch (d->kind) {
	case SIM_DIST_UNIFORM: return (d->a + d->b) / 2;
	default: return d->a;
	}
}
