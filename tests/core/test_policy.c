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
	struct gprio_inversion inv;
	gprio_detect(&t, now, p.hysteresis, &inv);
	return gprio_policy_decide(&p, &t, &inv, now, act, 16, recheck);
}

static void none_never_suspends_and_releases(void **s)
{
	(void)s;
	gprio_ns r;
	p.policy = &gprio_policy_none;
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
	struct gprio_inversion inv;
	gprio_detect(&t, 1 * MS, p.hysteresis, &inv);
	assert_int_equal(gprio_policy_decide(&p, &t, &inv, 1 * MS, act, 1, &r), 1);
}

static void share_releases_starved_queue(void **s)
{
	(void)s;
	gprio_ns r;
	p.policy = gprio_policy_find("share");
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

/* wfq: two busy offline queues of equal priority at weights 3:1 take turns; the one on the GPU
 * keeps it until it is a quantum ahead in weighted run time. */
static void wfq_takes_turns_by_weight(void **s)
{
	(void)s;
	gprio_ns r;
	p.policy = gprio_policy_find("wfq");
	p.quantum = 10 * MS;
	t.q[2].priority = 0; /* rows 1 and 2: both offline at 0 */
	t.q[1].weight = 3;
	t.q[2].weight = 1;
	busy(1, 1 * MS);
	busy(2, 1 * MS);
	/* equal vrun: the first row runs, the other is held */
	assert_int_equal(decide(1 * MS, &r), 1);
	assert_int_equal(act[0].kind, GPRIO_ACT_SUSPEND);
	assert_int_equal(act[0].key, 300);
	assert_int_equal(act[0].reason, GPRIO_WHY_FAIR);
	/* the runner (weight 3) is a quantum ahead after 30 ms of running */
	assert_int_equal(r, 1 * MS + 30 * MS);
	t.q[2].state = GPRIO_Q_SUSPENDED;
	t.q[1].vrun = 9 * MS; /* 27 ms of run time: not yet */
	assert_int_equal(decide(28 * MS, &r), 0);
	assert_int_equal(r, 28 * MS + 3 * MS);
	t.q[1].vrun = 10 * MS;
	assert_int_equal(decide(31 * MS, &r), 2);
	assert_int_equal(act[0].kind, GPRIO_ACT_SUSPEND);
	assert_int_equal(act[0].key, 200);
	assert_int_equal(act[1].kind, GPRIO_ACT_RESUME);
	assert_int_equal(act[1].key, 300);
	assert_int_equal(act[1].reason, GPRIO_WHY_FAIR);
	/* online work above still holds both */
	t.q[1].state = GPRIO_Q_SUSPENDED;
	t.q[2].state = GPRIO_Q_ACTIVE;
	busy(0, 32 * MS);
	assert_int_equal(decide(32 * MS, &r), 1);
	assert_int_equal(act[0].key, 300);
	assert_int_equal(act[0].reason, GPRIO_WHY_INVERSION);
}

/* wfq with one busy queue at the level holds nobody at that level. */
static void wfq_alone_runs(void **s)
{
	(void)s;
	gprio_ns r;
	p.policy = gprio_policy_find("wfq");
	t.q[2].priority = 0;
	busy(1, 1 * MS);
	t.q[2].state = GPRIO_Q_SUSPENDED; /* idle and held from before: released */
	assert_int_equal(decide(1 * MS, &r), 1);
	assert_int_equal(act[0].kind, GPRIO_ACT_RESUME);
	assert_int_equal(act[0].key, 300);
}

/* slo: lower queues run beside online work until it has waited slo_permille of its objective,
 * then they are held; the policy asks to be woken at that moment. */
static void slo_holds_only_when_objective_at_risk(void **s)
{
	(void)s;
	gprio_ns r;
	p.policy = gprio_policy_find("slo");
	p.slo_permille = 500;
	t.q[0].slo = 20 * MS;
	busy(0, 10 * MS);
	t.q[0].busy_since = 10 * MS;
	busy(1, 10 * MS);
	assert_int_equal(decide(12 * MS, &r), 0);
	assert_int_equal(r, 20 * MS);
	assert_int_equal(decide(20 * MS, &r), 2);
	assert_int_equal(act[0].kind, GPRIO_ACT_SUSPEND);
	assert_int_equal(act[0].key, 200);
	assert_int_equal(act[0].reason, GPRIO_WHY_SLO);
	assert_int_equal(act[1].key, 300);
	/* idle again: released at once (no hysteresis hold for an objective) */
	t.q[1].state = GPRIO_Q_SUSPENDED;
	t.q[2].state = GPRIO_Q_SUSPENDED;
	idle(0, 21 * MS);
	t.q[0].busy_since = GPRIO_NS_NEVER;
	assert_int_equal(decide(21 * MS, &r), 2);
	assert_int_equal(act[0].kind, GPRIO_ACT_RESUME);
	/* without an objective, slo is priority */
	t.q[0].slo = 0;
	t.q[1].state = GPRIO_Q_ACTIVE;
	t.q[2].state = GPRIO_Q_ACTIVE;
	busy(0, 30 * MS);
	assert_int_equal(decide(30 * MS, &r), 2);
	assert_int_equal(act[0].reason, GPRIO_WHY_INVERSION);
}

static void names(void **s)
{
	(void)s;
	assert_string_equal(gprio_policy_find("share")->name, "share");
	assert_null(gprio_policy_find("fifo"));
	assert_null(gprio_policy_find(NULL));
	assert_string_equal(gprio_policy_name(&gprio_policy_priority), "priority");
	char buf[128];
	gprio_policy_names(buf, sizeof(buf));
	assert_string_equal(buf, "none, priority, share, wfq, slo");
	/* every row has a name, help and a decision, and names are unique */
	for (int i = 0; gprio_policies[i]; i++) {
		assert_non_null(gprio_policies[i]->help);
		assert_non_null(gprio_policies[i]->decide);
		assert_int_equal(gprio_policy_index(gprio_policies[i]), i);
		assert_ptr_equal(gprio_policy_find(gprio_policies[i]->name), gprio_policies[i]);
	}
	/* a truncated buffer stays terminated */
	assert_int_equal(gprio_policy_names(buf, 5), 4);
	assert_string_equal(buf, "none");
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
		cmocka_unit_test_setup(wfq_takes_turns_by_weight, setup),
		cmocka_unit_test_setup(wfq_alone_runs, setup),
		cmocka_unit_test_setup(slo_holds_only_when_objective_at_risk, setup),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
