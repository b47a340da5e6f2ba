/* The log-line budget for what untrusted users make gpriod print (src/util/loglimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/util/loglimit.h"

#define S GPRIO_NS_PER_S

/* a burst passes, the rest of the period is dropped and counted, and the first line of a
 * later period reports the count once */
static void burst_then_dropped_then_reported(void **s)
{
	(void)s;
	struct gprio_loglimit l = {.burst = 3, .period = 10 * S};
	unsigned long d = 99;
	for (int i = 0; i < 3; i++) {
		assert_true(gprio_loglimit_take(&l, 5 * S + (gprio_ns)i, &d));
		assert_int_equal(d, 0);
	}
	for (int i = 0; i < 7; i++)
		assert_false(gprio_loglimit_take(&l, 6 * S, &d));
	assert_int_equal(l.dropped, 7);
	assert_false(gprio_loglimit_take(&l, 15 * S - 1, &d)); /* still the first period */
	assert_true(gprio_loglimit_take(&l, 15 * S, &d));
	assert_int_equal(d, 8);
	assert_true(gprio_loglimit_take(&l, 15 * S + 1, &d));
	assert_int_equal(d, 0); /* reported once */
}

/* time 0 is a time like any other (an injected clock may start there) */
static void starts_at_zero(void **s)
{
	(void)s;
	struct gprio_loglimit l = {.burst = 1, .period = S};
	unsigned long d;
	assert_true(gprio_loglimit_take(&l, 0, &d));
	assert_false(gprio_loglimit_take(&l, 1, &d));
	assert_true(gprio_loglimit_take(&l, S + 1, &d));
	assert_int_equal(d, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_dropped_then_reported),
		cmocka_unit_test(starts_at_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
