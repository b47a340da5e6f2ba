#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gprio/priority.h"
#include "gprio/queue.h"

static void pipe_mapping_matches_kfd(void **s)
{
	(void)s;
	for (int p = 0; p <= 6; p++)
		assert_int_equal(gprio_pipe_priority(p), GPRIO_PIPE_LOW);
	for (int p = 7; p <= 10; p++)
		assert_int_equal(gprio_pipe_priority(p), GPRIO_PIPE_MEDIUM);
	for (int p = 11; p <= 15; p++)
		assert_int_equal(gprio_pipe_priority(p), GPRIO_PIPE_HIGH);
}

static void classes(void **s)
{
	(void)s;
	enum gprio_class c;
	assert_int_equal(gprio_class_parse("online", &c), 0);
	assert_int_equal(c, GPRIO_CLASS_ONLINE);
	assert_int_equal(gprio_class_parse("offline", &c), 0);
	assert_int_equal(c, GPRIO_CLASS_OFFLINE);
	assert_int_equal(gprio_class_parse("Online", &c), -EINVAL);
	assert_int_equal(gprio_class_parse(NULL, &c), -EINVAL);
	assert_int_equal(gprio_class_default_priority(GPRIO_CLASS_ONLINE), 11);
	assert_int_equal(gprio_class_default_priority(GPRIO_CLASS_OFFLINE), 0);
	assert_int_equal(gprio_class_of_priority(11), GPRIO_CLASS_ONLINE);
	assert_int_equal(gprio_class_of_priority(10), GPRIO_CLASS_OFFLINE);
	assert_true(gprio_priority_valid(0) && gprio_priority_valid(15));
	assert_false(gprio_priority_valid(-1) || gprio_priority_valid(16));
}

static void table_add_find_remove(void **s)
{
	(void)s;
	static struct gprio_table t;
	gprio_table_init(&t);
	assert_int_equal(gprio_table_add(&t, 7, 1, 11, GPRIO_CLASS_ONLINE, 5), 0);
	assert_int_equal(gprio_table_add(&t, 8, 1, 0, GPRIO_CLASS_OFFLINE, 5), 1);
	assert_int_equal(gprio_table_add(&t, 7, 1, 0, GPRIO_CLASS_OFFLINE, 5), -EEXIST);
	assert_int_equal(gprio_table_add(&t, 9, 1, 16, GPRIO_CLASS_OFFLINE, 5), -EINVAL);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.q[0].priority, 11); /* the refused duplicate changed nothing */
	assert_int_equal(gprio_table_find(&t, 8), 1);
	assert_int_equal(gprio_table_find(&t, 99), -1);
	gprio_table_remove(&t, 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(gprio_table_find(&t, 8), 0);
	for (uint64_t k = 100; t.n < GPRIO_MAX_QUEUES; k++)
		assert_true(gprio_table_add(&t, k, 1, 0, GPRIO_CLASS_OFFLINE, 0) >= 0);
	assert_int_equal(gprio_table_add(&t, 5000, 1, 0, GPRIO_CLASS_OFFLINE, 0), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipe_mapping_matches_kfd),
		cmocka_unit_test(classes),
		cmocka_unit_test(table_add_find_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
