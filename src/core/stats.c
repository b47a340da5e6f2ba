#include "gprio/stats.h"

#include "gprio/errno.h"

void gprio_hist_init(struct gprio_hist *h)
{
	gprio_memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned msb64(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

uint32_t gprio_hist_bucket(uint64_t v)
{
	if (v < GPRIO_HIST_SUB)
		return (uint32_t)v;
	unsigned shift = msb64(v) - (GPRIO_HIST_SUB_BITS - 1); /* >= 1 */
	uint64_t m = v >> shift;                               /* in [SUB/2, SUB) */
	uint64_t idx = GPRIO_HIST_SUB + (uint64_t)(shift - 1) * (GPRIO_HIST_SUB / 2) +
		       (m - GPRIO_HIST_SUB / 2);
	return idx < GPRIO_HIST_BUCKETS ? (uint32_t)idx : GPRIO_HIST_BUCKETS;
}

void gprio_hist_bucket_range(uint32_t idx, uint64_t *lo, uint64_t *hi)
{
	if (idx < GPRIO_HIST_SUB) {
		*lo = *hi = idx;
		return;
	}
	uint32_t rel = idx - GPRIO_HIST_SUB;
	unsigned shift = rel / (GPRIO_HIST_SUB / 2) + 1;
	uint64_t m = rel % (GPRIO_HIST_SUB / 2) + GPRIO_HIST_SUB / 2;
	*lo = m << shift;
	*hi = ((m + 1) << shift) - 1;
}

void gprio_hist_add(struct gprio_hist *h, uint64_t v)
{
	uint32_t idx = gprio_hist_bucket(v);
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	if (idx < GPRIO_HIST_BUCKETS)
		h->b[idx]++;
	else
		h->overflow++;
}

void gprio_hist_merge(struct gprio_hist *dst, const struct gprio_hist *src)
{
	dst->count += src->count;
	dst->sum += src->sum;
	dst->overflow += src->overflow;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (uint32_t i = 0; i < GPRIO_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

uint64_t gprio_hist_permille(const struct gprio_hist *h, uint32_t permille)
{
	if (h->count == 0)
		return 0;
	if (permille == 0)
		return h->min;
	if (permille >= 1000)
		return h->max;
	/* rank = ceil(permille/1000 * count), at least 1, in integers without overflow */
	uint64_t rank = h->count / 1000 * permille + (h->count % 1000 * permille + 999) / 1000;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < GPRIO_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t lo, hi;
			gprio_hist_bucket_range(i, &lo, &hi);
			uint64_t mid = lo + (hi - lo) / 2;
			/* never report outside what was recorded */
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}

uint64_t gprio_hist_mean(const struct gprio_hist *h)
{
	return h->count ? h->sum / h->count : 0;
}
