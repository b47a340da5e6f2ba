/* The monitor against a scriptable fake backend: batching, asynchronous completion, latency
 * accounting, refused requests, suspend timeouts (fail open), vanished queues, release_all. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "gprio/monitor.h"

#define MS GPRIO_NS_PER_MS
#define US GPRIO_NS_PER_US

struct fake {
	gprio_ns now;
	uint32_t n;
	uint64_t wptr[8], done[8];
	int prio[8];
	bool held[8], want_held[8], gone[8], present[8];
	gprio_ns changed_at[8];
	bool async; /* completion only on apply() */
	bool refuse_suspend, refuse_key1;
	int refresh_err;
	int suspend_calls, resume_calls;
	size_t last_batch;
};

static struct fake f;
static struct gprio_monitor m;

static int f_refresh(void *be, struct gprio_table *t, gprio_ns now)
{
	struct fake *x = be;
	if (x->refresh_err)
		return x->refresh_err;
	for (uint32_t i = 0; i < x->n; i++) {
		int idx = gprio_table_find(t, i);
		if (!x->present[i])
			continue;
		if (idx < 0)
			idx = gprio_table_add(t, i, 100 + i, x->prio[i],
					      gprio_class_of_priority(x->prio[i]), now);
		struct gprio_queue *q = &t->q[idx];
		q->wptr = x->wptr[i];
		q->rptr = q->done = x->done[i];
		q->hw_held = x->held[i];
		q->hw_changed_at = x->changed_at[i];
		q->vanished = x->gone[i];
	}
	return 0;
}

static void apply(void)
{
	for (uint32_t i = 0; i < f.n; i++)
		if (f.held[i] != f.want_held[i]) {
			f.held[i] = f.want_held[i];
			f.changed_at[i] = f.now;
		}
}

static int act(const uint64_t *k, size_t n, bool held, bool *failed)
{
	f.last_batch = n;
	for (size_t i = 0; i < n; i++) {
		if (held && f.refuse_key1 && k[i] == 1) {
			failed[i] = true;
			continue;
		}
		f.want_held[k[i]] = held;
	}
	if (!f.async)
		apply();
	return 0;
}

static int f_suspend(void *be, const uint64_t *k, size_t n, gprio_ns g, bool *failed)
{
	(void)be;
	(void)g;
	f.suspend_calls++;
	if (f.refuse_suspend)
		return -EPERM;
	return act(k, n, true, failed);
}

static int f_resume(void *be, const uint64_t *k, size_t n, bool *failed)
{
	(void)be;
	f.resume_calls++;
	return act(k, n, false, failed);
}

static int f_wait(void *be, gprio_ns deadline)
{
	(void)be;
	f.now = deadline;
	return GPRIO_WAIT_DEADLINE;
}

static gprio_ns f_clock(void *c)
{
	(void)c;
	return f.now;
}

static const struct gprio_backend_ops ops = {.name = "fake",
					     .refresh = f_refresh,
					     .suspend = f_suspend,
					     .resume = f_resume,
					     .wait = f_wait};
static const struct gprio_clock clk = {f_clock, NULL};

static int setup(void **s)
{
	(void)s;
	memset(&f, 0, sizeof(f));
	f.n = 3;
	f.prio[0] = 11;
	f.prio[1] = 0;
	f.prio[2] = 0;
	for (int i = 0; i < 3; i++)
		f.present[i] = true;
	f.now = 1 * MS;
	struct gprio_monitor_cfg c;
	gprio_monitor_cfg_defaults(&c);
	c.policy.hysteresis = 1 * MS;
	c.suspend_timeout = 10 * MS;
	c.resume_retry = 10 * MS;
	assert_int_equal(gprio_monitor_init(&m, &c, &ops, &f, &clk), 0);
	return 0;
}

static int state_of(uint64_t key)
{
	int i = gprio_table_find(&m.table, key);
	assert_true(i >= 0);
	return m.table.q[i].state;
}

static void rejects_bad_config(void **s)
{
	(void)s;
	struct gprio_monitor_cfg c;
	gprio_monitor_cfg_defaults(&c);
	c.poll = 0;
	assert_int_equal(gprio_monitor_init(&m, &c, &ops, &f, &clk), -EINVAL);
	gprio_monitor_cfg_defaults(&c);
	assert_int_equal(gprio_monitor_init(&m, &c, NULL, &f, &clk), -EINVAL);
}

/* The accounting the wfq and slo policies decide on: busy_since spans gaps shorter than the
 * hysteresis; vrun grows by run time / weight; a queue that gets work after idling starts no
 * further back than the busy queues of its priority. */
static void accounts_busy_stretch_and_weighted_run(void **s)
{
	(void)s;
	f.wptr[1] = 1; /* row for key 1 busy from 1 ms */
	assert_int_equal(gprio_monitor_tick(&m), 0);
	int i1 = gprio_table_find(&m.table, 1), i2 = gprio_table_find(&m.table, 2);
	m.table.q[i1].weight = 2;
	assert_int_equal(m.table.q[i1].busy_since, 1 * MS);
	assert_int_equal(m.table.q[i2].busy_since, GPRIO_NS_NEVER);
	f.now += 4 * MS;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_int_equal(m.table.q[i1].vrun, 2 * MS); /* 4 ms at weight 2 */
	f.done[1] = 1; /* a gap shorter than the 1 ms hysteresis keeps the stretch */
	f.now += 500 * US;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	f.wptr[1] = 2;
	f.now += 400 * US;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_int_equal(m.table.q[i1].busy_since, 1 * MS);
	f.done[1] = 2; /* a longer gap ends it */
	f.now += 100 * US;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	f.now += 2 * MS;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_int_equal(m.table.q[i1].busy_since, GPRIO_NS_NEVER);
	/* key 2 has never run: when it gets work while key 1 is busy, it starts at key 1's vrun */
	f.wptr[1] = 3;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	gprio_ns v1 = m.table.q[i1].vrun;
	f.wptr[2] = 1;
	f.now += 1;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_true(m.table.q[i2].vrun >= v1);
}

static void batches_and_completes_async(void **s)
{
	(void)s;
	f.async = true;
	f.wptr[1] = f.wptr[2] = 5; /* offline busy */
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_int_equal(f.suspend_calls, 0);
	f.wptr[0] = 1; /* online gets work */
	f.now += 1 * MS;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_int_equal(f.suspend_calls, 1); /* one call for both */
	assert_int_equal(f.last_batch, 2);
	assert_int_equal(state_of(1), GPRIO_Q_SUSPENDING);
	f.now += 40 * US;
	apply(); /* the hardware finishes 40 us after the request */
	f.now += 1 * MS;
	gprio_monitor_tick(&m);
	assert_int_equal(state_of(1), GPRIO_Q_SUSPENDED);
	assert_int_equal(m.st.preempt_lat.count, 2);
	assert_int_equal(m.st.preempt_lat.max, 40 * US); /* measured to the hardware's time */
	/* online finishes; resumed only after the hysteresis */
	f.done[0] = 1;
	gprio_monitor_tick(&m);
	assert_int_equal(f.resume_calls, 0);
	assert_int_equal(gprio_monitor_next_deadline(&m), f.now + 1 * MS); /* hysteresis timer */
	f.now += 1 * MS;
	gprio_monitor_tick(&m);
	assert_int_equal(f.resume_calls, 1);
	assert_int_equal(state_of(1), GPRIO_Q_RESUMING);
	apply();
	gprio_monitor_tick(&m);
	assert_int_equal(state_of(1), GPRIO_Q_ACTIVE);
	assert_int_equal(m.st.suspends, 2);
	assert_int_equal(m.st.resumes, 2);
}

static void refused_suspend_keeps_queue_active(void **s)
{
	(void)s;
	f.refuse_suspend = true;
	f.wptr[0] = 1;
	f.wptr[1] = 1;
	assert_int_equal(gprio_monitor_tick(&m), 0);
	assert_int_equal(state_of(1), GPRIO_Q_ACTIVE);
	assert_int_equal(m.st.failures, 2);
	f.refuse_suspend = false;
	f.refuse_key1 = true; /* partial failure: only key 1 refused */
	gprio_monitor_tick(&m);
	gprio_monitor_tick(&m); /* completion is observed on the next refresh */
	assert_int_equal(state_of(1), GPRIO_Q_ACTIVE);
	assert_int_equal(state_of(2), GPRIO_Q_SUSPENDED);
}

static void suspend_timeout_fails_open(void **s)
{
	(void)s;
	f.async = true; /* the hardware never confirms */
	f.wptr[0] = 1;
	f.wptr[1] = 1;
	gprio_monitor_tick(&m);
	assert_int_equal(state_of(1), GPRIO_Q_SUSPENDING);
	assert_int_equal(gprio_monitor_next_deadline(&m), f.now + 5 * MS); /* poll before timeout */
	f.now += 10 * MS;
	gprio_monitor_tick(&m);
	assert_int_equal(m.st.timeouts, 2);
	assert_int_equal(state_of(1), GPRIO_Q_RESUMING);
	assert_true(f.resume_calls >= 1);
	assert_false(f.want_held[1]);
}

static void vanished_queue_leaves_table(void **s)
{
	(void)s;
	f.wptr[0] = 1;
	f.wptr[1] = 1;
	gprio_monitor_tick(&m);
	gprio_monitor_tick(&m);
	assert_int_equal(state_of(1), GPRIO_Q_SUSPENDED);
	f.gone[1] = true; /* process exits while suspended */
	gprio_monitor_tick(&m);
	assert_int_equal(gprio_table_find(&m.table, 1), -1);
	assert_int_equal(m.st.gone, 1);
	assert_int_equal(m.table.n, 2);
}

static void release_all_resumes_everything(void **s)
{
	(void)s;
	f.wptr[0] = 1;
	f.wptr[1] = f.wptr[2] = 1;
	gprio_monitor_tick(&m);
	assert_true(f.held[1] && f.held[2]);
	assert_int_equal(gprio_monitor_release_all(&m), 0);
	assert_false(f.held[1] || f.held[2]);
}

static void refresh_error_is_returned(void **s)
{
	(void)s;
	f.refresh_err = -EIO;
	assert_int_equal(gprio_monitor_tick(&m), -EIO);
	assert_int_equal(gprio_monitor_step(&m), -EIO);
}

/* Where done means consumed (AMD's AQL rptr), an online queue that keeps submitting is fully
 * consumed at most ticks: its wptr moving since the last tick is what shows it active, so the
 * offline queues stay held; without that rule (wptr_activity off, as NVIDIA's backend, which
 * stamps last launches itself, sets it) they are let go between its submissions. */
static void submissions_between_ticks_are_activity(void **s)
{
	(void)s;
	f.wptr[1] = f.done[1] = 1; /* offline: a long kernel running */
	f.wptr[2] = f.done[2] = 1;
	for (int k = 0; k < 8; k++) {
		/* online submitted since the last tick, all consumed by now */
		f.wptr[0] = f.done[0] = (uint64_t)k + 1;
		f.wptr[1]++; /* offline keeps feeding too */
		f.done[1]++;
		assert_int_equal(gprio_monitor_tick(&m), 0);
		f.now += 2 * MS; /* ticks further apart than the 1 ms hysteresis */
	}
	assert_int_equal(state_of(1), GPRIO_Q_SUSPENDED);
	assert_true(f.held[1]);
	/* the same run without the rule: the online queue never looks busy at a tick */
	struct gprio_monitor_cfg c = m.cfg;
	c.wptr_activity = false;
	memset(&f, 0, sizeof(f));
	setup(NULL);
	assert_int_equal(gprio_monitor_init(&m, &c, &ops, &f, &clk), 0);
	f.wptr[1] = f.done[1] = 1;
	for (int k = 0; k < 8; k++) {
		f.wptr[0] = f.done[0] = (uint64_t)k + 1;
		f.wptr[1]++;
		f.done[1]++;
		assert_int_equal(gprio_monitor_tick(&m), 0);
		f.now += 2 * MS;
	}
	assert_false(f.held[1]);
}

static void step_waits_until_poll(void **s)
{
	(void)s;
	gprio_ns t0 = f.now;
	assert_int_equal(gprio_monitor_step(&m), GPRIO_WAIT_DEADLINE);
	assert_int_equal(f.now, t0 + 5 * MS);
	assert_int_equal(m.st.ticks, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(rejects_bad_config, setup),
		cmocka_unit_test_setup(accounts_busy_stretch_and_weighted_run, setup),
		cmocka_unit_test_setup(batches_and_completes_async, setup),
		cmocka_unit_test_setup(refused_suspend_keeps_queue_active, setup),
		cmocka_unit_test_setup(suspend_timeout_fails_open, setup),
		cmocka_unit_test_setup(vanished_queue_leaves_table, setup),
		cmocka_unit_test_setup(release_all_resumes_everything, setup),
		cmocka_unit_test_setup(refresh_error_is_returned, setup),
		cmocka_unit_test_setup(step_waits_until_poll, setup),
		cmocka_unit_test_setup(submissions_between_ticks_are_activity, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
