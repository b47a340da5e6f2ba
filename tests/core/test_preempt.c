#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gprio/preempt.h"

static enum gprio_qstate go(enum gprio_qstate s, enum gprio_qevent e)
{
	enum gprio_qstate n = GPRIO_Q_GONE;
	assert_int_equal(gprio_preempt_next(s, e, &n), 0);
	return n;
}

static void happy_path(void **st)
{
	(void)st;
	enum gprio_qstate s = GPRIO_Q_ACTIVE;
	s = go(s, GPRIO_EV_SUSPEND_REQ);
	assert_int_equal(s, GPRIO_Q_SUSPENDING);
	s = go(s, GPRIO_EV_SUSPENDED);
	assert_int_equal(s, GPRIO_Q_SUSPENDED);
	s = go(s, GPRIO_EV_RESUME_REQ);
	assert_int_equal(s, GPRIO_Q_RESUMING);
	s = go(s, GPRIO_EV_RESUMED);
	assert_int_equal(s, GPRIO_Q_ACTIVE);
}

static void fail_open_paths(void **st)
{
	(void)st;
	/* a suspend that times out, or is refused, never leaves the queue held */
	assert_int_equal(go(GPRIO_Q_SUSPENDING, GPRIO_EV_TIMEOUT), GPRIO_Q_RESUMING);
	assert_int_equal(go(GPRIO_Q_SUSPENDING, GPRIO_EV_FAILED), GPRIO_Q_ACTIVE);
	assert_int_equal(go(GPRIO_Q_SUSPENDING, GPRIO_EV_RESUME_REQ), GPRIO_Q_RESUMING);
	/* a resume that fails stays resuming (retried), never falls back to suspended */
	assert_int_equal(go(GPRIO_Q_RESUMING, GPRIO_EV_FAILED), GPRIO_Q_RESUMING);
	assert_int_equal(go(GPRIO_Q_RESUMING, GPRIO_EV_TIMEOUT), GPRIO_Q_RESUMING);
}

static void vanish_from_anywhere(void **st)
{
	(void)st;
	for (int s = GPRIO_Q_ACTIVE; s <= GPRIO_Q_RESUMING; s++)
		assert_int_equal(go((enum gprio_qstate)s, GPRIO_EV_VANISHED), GPRIO_Q_GONE);
}

static void illegal_events_change_nothing(void **st)
{
	(void)st;
	enum gprio_qstate n = GPRIO_Q_SUSPENDED;
	assert_int_equal(gprio_preempt_next(GPRIO_Q_ACTIVE, GPRIO_EV_SUSPENDED, &n), -EINVAL);
	assert_int_equal(n, GPRIO_Q_SUSPENDED);
	assert_int_equal(gprio_preempt_next(GPRIO_Q_ACTIVE, GPRIO_EV_RESUMED, &n), -EINVAL);
	assert_int_equal(gprio_preempt_next(GPRIO_Q_SUSPENDED, GPRIO_EV_SUSPEND_REQ, &n), -EINVAL);
	assert_int_equal(gprio_preempt_next(GPRIO_Q_GONE, GPRIO_EV_RESUME_REQ, &n), -EINVAL);
	assert_string_equal(gprio_qstate_name(GPRIO_Q_SUSPENDING), "suspending");
	assert_string_equal(gprio_qevent_name(GPRIO_EV_TIMEOUT), "timeout");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(happy_path),
		cmocka_unit_test(fail_open_paths),
		cmocka_unit_test(vanish_from_anywhere),
		cmocka_unit_test(illegal_events_change_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
