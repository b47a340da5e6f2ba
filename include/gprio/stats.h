/* Statistics: counters and log-linear latency histograms with percentiles (HdrHistogram-style,
 * relative error < 1/64). Fixed size, no allocation. */
#ifndef GPRIO_STATS_H
#define GPRIO_STATS_H

#include "gprio/types.h"

#define GPRIO_HIST_SUB_BITS 7
#define GPRIO_HIST_SUB      (1u << GPRIO_HIST_SUB_BITS)
/* Exact below 128 ns; 64 buckets per octave above, up to 2^48 ns (~78 hours). */
#define GPRIO_HIST_BUCKETS (GPRIO_HIST_SUB + (48 - GPRIO_HIST_SUB_BITS) * (GPRIO_HIST_SUB / 2))

struct gprio_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t overflow; /* values beyond the last bucket; still counted in count/max */
	uint32_t b[GPRIO_HIST_BUCKETS];
};

void gprio_hist_init(struct gprio_hist *h);
void gprio_hist_add(struct gprio_hist *h, uint64_t v);
/* Merge src into dst. */
void gprio_hist_merge(struct gprio_hist *dst, const struct gprio_hist *src);
/* Value at the quantile permille/1000 (990: p99, 999: p99.9): the smallest recorded value v
 * such that at least that fraction of the values are <= v, to within the bucket width; exact
 * for 0 (min) and 1000 (max). 0 if empty. Integer arithmetic only (the core builds without
 * floating point, as a kernel module would). */
uint64_t gprio_hist_permille(const struct gprio_hist *h, uint32_t permille);
uint64_t gprio_hist_mean(const struct gprio_hist *h);

/* Bucket index of a value and the range [lo, hi] a bucket covers (exposed for tests). */
uint32_t gprio_hist_bucket(uint64_t v);
void gprio_hist_bucket_range(uint32_t idx, uint64_t *lo, uint64_t *hi);

#endif
