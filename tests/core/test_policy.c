#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gprio/detector.h"
#include "gprio/policy.h"

#define MS GPRIO_NS_PER_MS

static struct gprio_table t;
static struct gprio_action act[16];
static struct gprio_policy_params p;

/* queue 0: online (11), queue 1: offline (0), queue 2: medium (7) */
static int setup(void **s)
{
	(void)s;
	gprio_table_init(&t);
	gprio_table_add(&t, 100, 1, 11, GPRIO_CLASS_ONLINE, 0);
	gprio_table_add(&t, 200, 2, 0, GPRIO_CLASS_OFFLINE, 0);
	gprio_table_add(&t, 300, 3, 7, GPRIO_CLASS_OFFLINE, 0);
	gprio_policy_defaults(&p);
	p.hysteresis = 2 * MS;
	return 0;
}

static void busy(int i, gprio_ns now)
{
	t.q[i].wptr = t.q[i].done + 3;
	t.q[i].last_busy = now;
}

static void idle(int i, gprio_ns last_busy)
{
	t.q[i].done = t.q[i].wptr;
	t.q[i].last_busy = last_busy;
}

static size_t decide(gprio_ns now, gprio_ns *recheck)
{
	return gprio_policy_decide(&p, &t, now, act, 16, recheck);
}

static void none_never_suspends_and_releases(void **s)
{
	(void)s;
	gprio_ns r;
	p.kind = GPRIO_POLICY_NONE;
	busy(0, 10 * MS);
	busy(1, 10 * MS);
	assert_int_equal(decide(10 * MS, &r), 0);
	t.q[1].state = GPRIO_Q_SUSPENDED; /* left over from another policy */
	assert_int_equal(decide(10 * MS, &r), 1);
	assert_int_equal(act[0].kind, GPRIO_ACT_RESUME);
	assert_int_equal(act[0].key, 200);
}

static void priority_suspends_everything_below(void **s)
{
	(void)s;
	gprio_ns r;
	busy(0, 10 * MS);
	busy(1, 10 * MS);
	/* queue 2 idle: still held, in the same batch */
	size_t n = decide(10 * MS, &r);
	assert_int_equal(n, 2);
	assert_int_equal(act[0].kind, GPRIO_ACT_SUSPEND);
	assert_int_equal(act[0].key, 200);
	assert_int_equal(act[0].reason, GPRIO_WHY_INVERSION);
	assert_int_equal(act[1].key, 300);
	struct gprio_inversion inv;
	gprio_detect(&t, 10 * MS, p.hysteresis, &inv);
	assert_int_equal(inv.level, 11);
	assert_int_equal(inv.victims, 1); /* only the busy one is an inversion */
}

static void equal_priority_never_preempts(void **s)
{
	(void)s;
	gprio_ns r;
	t.q[2].priority = 11;
	busy(0, 1 * MS);
	busy(2, 1 * MS);
	size_t n = decide(1 * MS, &r);
	assert_int_equal(n, 1);
	assert_int_equal(act[0].key, 200);
}

static void medium_preempts_low_when_online_idle(void **s)
{
	(void)s;
	gprio_ns r;
	busy(1, 1 * MS);
	busy(2, 1 * MS);
	assert_int_equal(decide(1 * MS, &r), 1);
	assert_int_equal(act[0].key, 200);
}

static void resume_only_after_hysteresis(void **s)
{
	(void)s;
	gprio_ns r;
	busy(1, 10 * MS);
	t.q[1].state = GPRIO_Q_SUSPENDED;
	t.q[2].state = GPRIO_Q_SUSPENDED;
	idle(0, 10 * MS); /* online went idle at 10 ms */
	assert_int_equal(decide(11 * MS, &r), 0);
	assert_int_equal(r, 12 * MS); /* told when to look again */
	size_t n = decide(12 * MS, &r);
	assert_int_equal(n, 2);
	assert_int_equal(act[0].kind, GPRIO_ACT_RESUME);
	assert_int_equal(act[0].reason, GPRIO_WHY_IDLE);
}

static void cap_bounds_output(void **s)
{
	(void)s;
	gprio_ns r;
	busy(0, 1 * MS);
	busy(1, 1 * MS);
	assert_int_equal(gprio_policy_decide(&p, &t, 1 * MS, act, 1, &r), 1);
}

static void share_releases_starved_queue(void **s)
{
	(void)s;
	gprio_ns r;
	p.kind = GPRIO_POLICY_SHARE;
	p.share_permille = 100; /* 10 % of 100 ms = 10 ms */
	p.window = 100 * MS;
	p.guard = 0;
	busy(0, 50 * MS);
	busy(1, 50 * MS);
	t.q[1].state = GPRIO_Q_SUSPENDED;
	t.q[1].win_start = 0;
	t.q[1].win_run = 0;
	t.q[2].priority = 11; /* only queue 1 is below */
	assert_int_equal(decide(50 * MS, &r), 0);
	assert_int_equal(r, 90 * MS); /* due when 10 ms are left in the window */
	assert_false(gprio_share_due(&p, &t.q[1], 89 * MS));
	assert_true(gprio_share_due(&p, &t.q[1], 90 * MS));
	assert_int_equal(decide(90 * MS, &r), 1);
	assert_int_equal(act[0].kind, GPRIO_ACT_RESUME);
	assert_int_equal(act[0].reason, GPRIO_WHY_SHARE);
	/* while it runs out its share it is not suspended again */
	t.q[1].state = GPRIO_Q_ACTIVE;
	t.q[1].win_run = 5 * MS;
	assert_int_equal(decide(95 * MS, &r), 0);
	/* a queue that already ran its share in this window is held */
	t.q[1].win_run = 20 * MS;
	assert_int_equal(decide(95 * MS, &r), 1);
	assert_int_equal(act[0].kind, GPRIO_ACT_SUSPEND);
}

static void names(void **s)
{
	(void)s;
	enum gprio_policy_kind k;
	assert_int_equal(gprio_policy_parse("share", &k), 0);
	assert_int_equal(k, GPRIO_POLICY_SHARE);
	assert_true(gprio_policy_parse("fifo", &k) < 0);
	assert_string_equal(gprio_policy_name(GPRIO_POLICY_PRIORITY), "priority");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(none_never_suspends_and_releases, setup),
		cmocka_unit_test_setup(priority_suspends_everything_below, setup),
		cmocka_unit_test_setup(equal_priority_never_preempts, setup),
		cmocka_unit_test_setup(medium_preempts_low_when_online_idle, setup),
		cmocka_unit_test_setup(resume_only_after_hysteresis, setup),
		cmocka_unit_test_setup(cap_bounds_output, setup),
		cmocka_unit_test_setup(share_releases_starved_queue, setup),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
