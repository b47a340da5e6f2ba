#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "gprio/stats.h"

static struct gprio_hist h, h2;

static void buckets_cover_every_value(void **s)
{
	(void)s;
	uint64_t vals[] = {
		0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1ull << 40, (1ull << 47) + 5};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint32_t b = gprio_hist_bucket(vals[i]);
		uint64_t lo, hi;
		assert_true(b < GPRIO_HIST_BUCKETS);
		gprio_hist_bucket_range(b, &lo, &hi);
		assert_true(lo <= vals[i] && vals[i] <= hi);
		/* relative width under 1/64 */
		assert_true((hi - lo) * 64 <= lo || lo < GPRIO_HIST_SUB);
	}
	assert_int_equal(gprio_hist_bucket(1ull << 50), GPRIO_HIST_BUCKETS); /* overflow */
}

static void percentiles_of_uniform(void **s)
{
	(void)s;
	gprio_hist_init(&h);
	for (uint64_t v = 1; v <= 100000; v++)
		gprio_hist_add(&h, v * 1000); /* 1 us .. 100 ms */
	assert_int_equal(h.count, 100000);
	assert_int_equal(gprio_hist_permille(&h, 0), 1000);
	assert_int_equal(gprio_hist_permille(&h, 1000), 100000000);
	double p50 = (double)gprio_hist_permille(&h, 500),
	       p99 = (double)gprio_hist_permille(&h, 990);
	assert_true(p50 > 50e6 * 0.984 && p50 < 50e6 * 1.016);
	assert_true(p99 > 99e6 * 0.984 && p99 < 99e6 * 1.016);
	assert_int_equal(gprio_hist_mean(&h), 50000500);
}

static void merge_and_empty(void **s)
{
	(void)s;
	gprio_hist_init(&h);
	gprio_hist_init(&h2);
	assert_int_equal(gprio_hist_permille(&h, 990), 0);
	gprio_hist_add(&h, 10);
	gprio_hist_add(&h2, 1000000);
	gprio_hist_add(&h2, 1ull << 55);
	gprio_hist_merge(&h, &h2);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.min, 10);
	assert_int_equal(h.max, 1ull << 55);
	assert_int_equal(h.overflow, 1);
	uint64_t p = gprio_hist_permille(&h, 500);
	assert_true(p >= 1000000 * 0.984 && p <= 1000000 * 1.016);
	assert_int_equal(gprio_hist_permille(&h, 1000), 1ull << 55);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_cover_every_value),
		cmocka_unit_test(percentiles_of_uniform),
		cmocka_unit_test(merge_and_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
