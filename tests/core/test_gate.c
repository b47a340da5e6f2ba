#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gprio/gate.h"

static void only_higher_levels_close(void **s)
{
	(void)s;
	gprio_ns hot[GPRIO_PRIO_LEVELS] = {0};
	assert_int_equal(gprio_hot_level(hot, 100), -1);
	hot[11] = 200;
	assert_int_equal(gprio_hot_level(hot, 100), 11);
	assert_true(gprio_gate_closed(&gprio_policy_priority, hot, 0, 0, 100));
	assert_true(gprio_gate_closed(&gprio_policy_priority, hot, 10, 0, 100));
	assert_false(gprio_gate_closed(&gprio_policy_priority, hot, 11, 0,
				       100)); /* equal priority: never */
	assert_false(gprio_gate_closed(&gprio_policy_priority, hot, 15, 0, 100));
	assert_false(gprio_gate_closed(&gprio_policy_priority, hot, 0, 0,
				       200)); /* cooled down exactly then */
	assert_int_equal(gprio_hot_level(hot, 200), -1);
}

static void overrides_win(void **s)
{
	(void)s;
	gprio_ns hot[GPRIO_PRIO_LEVELS] = {0};
	hot[11] = 1000;
	assert_false(gprio_gate_closed(&gprio_policy_priority, hot, 0, 1,
				       10)); /* forced open (share release) */
	hot[11] = 0;
	assert_true(gprio_gate_closed(&gprio_policy_priority, hot, 0, 2,
				      10)); /* forced closed (daemon suspend) */
}

static void hot_never_moves_back(void **s)
{
	(void)s;
	assert_int_equal(gprio_hot_extend(0, 100, 50), 150);
	assert_int_equal(gprio_hot_extend(500, 100, 50), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_higher_levels_close),
		cmocka_unit_test(overrides_win),
		cmocka_unit_test(hot_never_moves_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
