/* The mechanism chooser: one GPU's observations in, the mechanism and its reason out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "gprio/mechanism.h"

#define MS GPRIO_NS_PER_MS
#define US GPRIO_NS_PER_US

static struct gprio_mech_params P;

/* Offline processes seen active on the GPU (0: as a backend that does not count them). Set by
 * the tests of more than one. */
static unsigned offline_procs;

static struct gprio_mech_obs both(gprio_ns now)
{
	struct gprio_mech_obs o = {.online = true,
				   .offline = true,
				   .offline_procs = offline_procs,
				   .timeslices_ok = true,
				   .completions = true,
				   .last_work = now};
	return o;
}

/* CPU-bound work: its waits are long only behind a neighbour; under protection they are its
 * own short GPU time (150 us). Set by the tests of such work. */
static bool waits_shrink;

/* Feed one window of n waits of `len` each and `starts` GPU restarts per tick, in 10 ms ticks;
 * returns the time after it. */
static gprio_ns window_starts(struct gprio_mech_state *st, gprio_ns t, unsigned n, gprio_ns len,
			      uint64_t starts)
{
	for (int k = 0; k < 100; k++) {
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = o.launches = starts;
		if (k < (int)n) { /* one wait per tick, up to n */
			o.waits = 1;
			o.waited = waits_shrink && gprio_mech_protects(st->mech) ? 150 * US : len;
		}
		if (o.waits || o.launches)
			o.active = 10 * MS; /* as gpriod counts it: its whole tick */
		gprio_mech_choose(&P, &o, st, t);
	}
	return t;
}

/* One 10 ms tick of a fast launcher sampled in full: 90 launches, 30 of them restarts (3000 a
 * second, as an eager bs1 service or a decode loop), and one wait of `waited` (0: none).
 * Returns the time after it. */
static gprio_ns restart_tick(struct gprio_mech_state *st, gprio_ns t, gprio_ns waited)
{
	t += 10 * MS;
	struct gprio_mech_obs o = both(t);
	if (waited) {
		o.waits = 1;
		o.waited = waited;
	}
	o.launches = o.sampled = 90;
	o.starts = o.sampled_starts = 30;
	gprio_mech_choose(&P, &o, st, t);
	return t;
}

/* One 5 ms tick of a CUDA graph service: every fifth tick one graph launch (a restart) whose
 * wait is seen in progress (`waited` so far), and finished at `waited` on the tick after.
 * Returns the time after it. */
static gprio_ns graph_tick(struct gprio_mech_state *st, gprio_ns t, gprio_ns waited)
{
	t += 5 * MS;
	struct gprio_mech_obs o = both(t);
	if ((t / (5 * MS)) % 5 == 0) {
		o.launches = o.sampled = o.starts = o.sampled_starts = 1;
		o.current = waited;
	} else if ((t / (5 * MS)) % 5 == 1) {
		o.waits = 1;
		o.waited = waited;
	}
	gprio_mech_choose(&P, &o, st, t);
	return t;
}

static gprio_ns window(struct gprio_mech_state *st, gprio_ns t, unsigned n, gprio_ns len)
{
	return window_starts(st, t, n, len, 1);
}

static void nothing_to_protect_is_idle(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	struct gprio_mech_obs o = both(1 * MS);
	o.offline = false;
	gprio_mech_choose(&P, &o, &st, 1 * MS);
	assert_int_equal(st.mech, GPRIO_USE_IDLE);
	assert_string_equal(st.why, "no offline work on this GPU");
	o = both(1 * MS);
	o.online = false;
	gprio_mech_choose(&P, &o, &st, 2 * MS);
	assert_int_equal(st.mech, GPRIO_USE_IDLE);
	/* online registered but silent for longer than idle_after */
	o = both(1 * MS);
	assert_true(gprio_mech_choose(&P, &o, &st, 2 * MS)); /* active: protected first */
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_true(gprio_mech_choose(&P, &o, &st, 1 * MS + P.idle_after + 1));
	assert_int_equal(st.mech, GPRIO_USE_IDLE);
}

static void gpu_bound_gets_tsg_at_once(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	/* online work appears next to offline work: protected at once, on trial */
	struct gprio_mech_obs o = both(5 * MS);
	assert_true(gprio_mech_choose(&P, &o, &st, 5 * MS));
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_int_equal(st.since, 5 * MS);
	assert_string_equal(
		st.why, "online work appeared: protected first while its restarts are measured");
	assert_true(gprio_mech_sample_until(&st, 5 * MS) == 5 * MS + P.trial);
	/* a graph service's few restarts pass the trial (too few launches in 100 ms to judge:
	 * trials follow one another up to a window), and a window of 2.4 ms waits (ResNet-50
	 * bs16 graph at 40/s) keeps it */
	gprio_ns t = 5 * MS;
	while (t < 5 * MS + 2 * P.trial)
		t = graph_tick(&st, t, 2400 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_true(gprio_mech_sample_until(&st, t) > t);
	while (t < 5 * MS + P.window + P.trial)
		t = graph_tick(&st, t, 2400 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_true(gprio_mech_sample_until(&st, t) == 0);
	window(&st, t, 40, 2400 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_int_equal(st.last_mean, 2400 * US);
}

/* Where it first loads its model (300 ms launching nothing), the trial is judged on what
 * follows, within the trial after the loading. */
static void loading_newcomer_is_judged_after_loading(void **s)
{
	(void)s;
	struct gprio_mech_state ld = {0};
	struct gprio_mech_obs q = both(5 * MS);
	gprio_mech_choose(&P, &q, &ld, 5 * MS);
	gprio_ns u = 5 * MS;
	while (u < 5 * MS + 300 * MS) {
		u += 10 * MS;
		q = both(u);
		gprio_mech_choose(&P, &q, &ld, u);
	}
	assert_int_equal(ld.mech, GPRIO_USE_TSG);
	while (ld.mech == GPRIO_USE_TSG && u < P.window)
		u = restart_tick(&ld, u, 50 * US);
	assert_int_equal(ld.mech, GPRIO_USE_LEAVE);
	assert_true(u <= 5 * MS + 300 * MS + 2 * P.trial + 10 * MS);
}
/* Online work silent (nothing launched or pending since `last`) until `end` in 10 ms ticks,
 * protection kept throughout; returns the time after it. */
static gprio_ns silent_until(struct gprio_mech_state *st, gprio_ns t, gprio_ns end, gprio_ns last)
{
	while (t < end) {
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.last_work = last;
		gprio_mech_choose(&P, &o, st, t);
		assert_int_equal(st->mech, GPRIO_USE_TSG);
	}
	return t;
}

/* A service's start: warm-up passes back to back and one long wait at their end, a second of
 * silence, then requests restarting the GPU thousands of times a second with short waits. The
 * warm-up's single wait judges nothing (a trial needs `trial_waits`), the silence neither (it
 * does not use up the window of trials), and the requests' first trials end protection, not
 * a window (H200, eager bs1: its first second of requests under TSG held three of its five
 * slowest requests; its real warm-up fills its time with waits and passes as GPU-bound, and
 * the rule that helps there is the silence's: a window ending in it brings a trial). */
static void warmup_wait_and_silence_judge_nothing(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 5 * MS;
	struct gprio_mech_obs o = both(t);
	gprio_mech_choose(&P, &o, &st, t);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	for (int k = 0; k < 6; k++) /* warm-up passes: 3000 restarts a second, no wait */
		t = restart_tick(&st, t, 0);
	t += 10 * MS; /* their synchronisation: 20 ms */
	o = both(t);
	o.waits = 1;
	o.waited = 20 * MS;
	o.active = 10 * MS;
	gprio_mech_choose(&P, &o, &st, t);
	t = silent_until(&st, t, t + P.window + 50 * MS, t); /* a second of silence */
	/* the first request waits 3 ms (a trial of it alone judges nothing, and the trials
	 * that follow are not cut short by the silence before it), then 90 ms without a wait
	 * and the rest with short ones */
	gprio_ns requests = t;
	t = restart_tick(&st, t, 3 * MS);
	for (int k = 0; k < 9; k++)
		t = restart_tick(&st, t, 0);
	while (st.mech == GPRIO_USE_TSG && t < requests + P.window)
		t = restart_tick(&st, t, 50 * US);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	assert_true(t - requests <= 3 * P.trial + 10 * MS);
}

/* A window of a graph service's start (eager warm-up passes and the capture: many restarts,
 * short waits but for the first passes' long ones) that ends in silence (the service's first
 * request a second later) is not judged on its restarts: a trial judges what follows, and the
 * service's 40 restarts a second keep protection (H200, ResNet-50 bs16 graph service: the
 * window counted 3714 restarts a second and 810 ms of LEAVE followed its first requests). */
static void warmup_window_ending_in_silence_is_tried(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 5 * MS;
	struct gprio_mech_obs o = both(t);
	gprio_mech_choose(&P, &o, &st, t);
	while (t < 5 * MS + P.trial) /* first passes: long waits, the trial passes */
		t = restart_tick(&st, t, 900 * US);
	while (t < 5 * MS + 3 * P.trial) /* later passes and the capture: short waits */
		t = restart_tick(&st, t, 100 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	t = silent_until(&st, t, t + P.window, t); /* silence until the first request */
	assert_true(st.last_rate > P.max_starts);  /* the window's rate was the warm-up's */
	gprio_ns serve = t;
	while (t < serve + 3 * P.window) {
		t = graph_tick(&st, t, 2 * MS);
		assert_int_equal(st.mech, GPRIO_USE_TSG);
	}
}

/* Protected first does not mean protected regardless: online work that restarts the GPU
 * thousands of times a second (eager bs1, a decode loop) leaves the trial within it. */
static void cpu_bound_newcomer_leaves_its_first_trial(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	struct gprio_mech_obs o = both(5 * MS);
	gprio_mech_choose(&P, &o, &st, 5 * MS);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	gprio_ns t = 5 * MS;
	while (st.mech == GPRIO_USE_TSG && t < 5 * MS + 2 * P.trial)
		t = restart_tick(&st, t, 50 * US);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	assert_true(t <= 5 * MS + P.trial + 10 * MS);
	assert_non_null(strstr(st.why, "restarts the GPU"));
	assert_true(st.cpu_until > t);
}

static void waits_decide_only_without_protection(void **s)
{
	(void)s;
	/* left alone, with no verdict standing (as after a restart-bound verdict expired) */
	struct gprio_mech_state st = {.mech = GPRIO_USE_LEAVE, .why = "left"};
	struct gprio_mech_obs o = both(5 * MS);
	gprio_mech_choose(&P, &o, &st, 5 * MS);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	/* a full window of 40 us waits next to the neighbour: it is not slowed, leave it */
	gprio_ns t = window(&st, 5 * MS, 100, 40 * US);
	t = window(&st, t, 100, 40 * US);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	assert_string_equal(
		st.why, "online CPU-bound (the GPU keeps up with it): a neighbour barely slows it");
	/* a mean between the thresholds does not flap */
	t = window(&st, t, 100, 300 * US);
	t = window(&st, t, 100, 300 * US);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	/* waits grown to 800 us behind the neighbour: protect */
	struct gprio_mech_state w = st;
	gprio_ns tw = window(&w, t, 100, 800 * US);
	assert_int_equal(w.mech, GPRIO_USE_TSG);
	(void)tw;
	/* so does one wait in progress for `stuck`, whatever the last mean: online work pending
	 * while the GPU runs something else; it is a trial (every launch sampled) */
	struct gprio_mech_obs o2 = both(t);
	o2.current = P.stuck - 1;
	assert_false(gprio_mech_choose(&P, &o2, &st, t + 1));
	o2.current = P.stuck;
	assert_true(gprio_mech_choose(&P, &o2, &st, t + 2));
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_true(gprio_mech_sample_until(&st, t + 2) == t + 2 + P.trial);
	/* under protection they shrink to 100 us: that is it working; it stays (its 100
	 * restarts a second cost offline little) */
	t = window(&st, t, 100, 100 * US);
	t = window(&st, t, 100, 100 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	(void)t;
}

/* Host waits grow behind a neighbour's timeslice: a decode loop that restarts the GPU 2000
 * times a second stays left alone however long its waits look (under TSG each restart would
 * cost offline a context switch pair) */
static void many_restarts_are_cpu_bound(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	waits_shrink = true;
	gprio_ns t = window_starts(&st, 5 * MS, 100, 900 * US, 20);
	t = window_starts(&st, t, 100, 900 * US, 20);
	assert_in_range(st.last_rate, 1900, 2100);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	assert_non_null(strstr(st.why, "restarts the GPU"));
	/* the verdict stands: long waits (grown behind the neighbour's timeslice, as under leave
	 * they do) do not bring TSG back before `recheck`... */
	gprio_ns verdict = st.cpu_until;
	assert_true(verdict > t);
	while (t + 10 * MS < verdict)
		t = window_starts(&st, t, 40, 2 * MS, 0) - 0;
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	/* ... nor after it: 2 ms waits in a fifth of its active time are not what leaving costs
	 * a service that restarts the GPU that often (they are long, not many) ... */
	for (int k = 0; k < 5; k++)
		t = window_starts(&st, t, 40, 2 * MS, 0);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	/* ... but once it launches under 500 times a second (a CUDA graph service after its
	 * warm-up) its past restarts are forgotten: long waits at 100 launches a second are a
	 * GPU-bound service */
	t = window_starts(&st, t, 40, 2 * MS, 1);
	window_starts(&st, t, 40, 2 * MS, 1);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	waits_shrink = false;
}

/* Protection chosen from waits is tried first: its first 250 ms have every launch sampled
 * (gprio_mech_sample_until), and a CPU-bound service's restarts end it then, not after a
 * whole window; each failed trial doubles the time before the next. */
static void trial_ends_protection_early(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	/* long waits behind the neighbour, few restarts seen (undercounted) */
	gprio_ns t = 5 * MS;
	while (st.mech != GPRIO_USE_TSG && t < 3 * P.window) {
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.waits = 1;
		o.waited = 900 * US;
		gprio_mech_choose(&P, &o, &st, t);
	}
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	gprio_ns entered = t;
	assert_true(gprio_mech_sample_until(&st, t) == entered + P.trial);
	/* under TSG every launch is sampled: 90 launches per 10 ms tick, 30 of them restarts
	 * (3000 a second) */
	while (st.mech == GPRIO_USE_TSG && t < entered + 2 * P.window)
		t = restart_tick(&st, t, 100 * US);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	assert_true(t - entered <= P.trial + 10 * MS); /* a trial, not a window */
	assert_in_range(st.last_rate, 2900, 3100);
	assert_int_equal(gprio_mech_sample_until(&st, t), 0);
	gprio_ns first = st.cpu_until - t;
	assert_true(first == P.recheck);
	/* after the verdict, waits of 0.9 ms in each 10 ms tick (9 % of its active time) do not
	 * bring protection back to work that restarts the GPU that often... */
	for (int k = 0; k < 8; k++)
		t = window_starts(&st, t, 100, 900 * US, 0);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	/* ... waits filling most of its active time do, and then its restarts are the price */
	for (int k = 0; k < 2; k++)
		t = window_starts(&st, t, 100, 6 * MS, 0);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_non_null(strstr(st.why, "slowed without protection"));
	entered = t;
	while (t < entered + 2 * P.window)
		t = restart_tick(&st, t, 0);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	/* a GPU-bound service passes its trial and keeps protection */
	struct gprio_mech_state g = {0};
	t = window_starts(&g, 5 * MS, 100, 900 * US, 0);
	t = window_starts(&g, t, 100, 900 * US, 0);
	assert_int_equal(g.mech, GPRIO_USE_TSG);
	t = window_starts(&g, t, 40, 2 * MS, 0);
	assert_int_equal(g.mech, GPRIO_USE_TSG);
	assert_int_equal(gprio_mech_sample_until(&g, t), 0);
}

/* A program's eager warm-up (thousands of launches a second, most restarts) fails the first
 * trial; the CUDA graph service that follows launches 40 times a second, so its restarts
 * cannot cost what the verdict feared: its long waits bring protection back within a couple
 * of quarter windows, not after the verdict's 4 s. */
static void warmup_does_not_condemn_a_graph_service(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 5 * MS;
	while (st.mech != GPRIO_USE_TSG && t < 3 * P.window) { /* warm-up: long waits */
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.waits = 1;
		o.waited = 900 * US;
		o.launches = o.sampled = 30;
		gprio_mech_choose(&P, &o, &st, t);
	}
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	while (st.mech == GPRIO_USE_TSG &&
	       t < 10 * P.window) /* the trial: 3000 restarts a second */
		t = restart_tick(&st, t, 0);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	gprio_ns failed = t;
	assert_true(st.cpu_until >= failed + P.recheck);
	/* the rest of the warm-up (capture): short waits, which make the last window's mean */
	while (t < failed + P.window + 10 * MS)
		t = restart_tick(&st, t, 100 * US);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
	assert_true(st.last_mean < P.gpu_bound);
	failed = t;
	/* the service: one graph launch (a restart) and one 2 ms wait every 25 ms; the verdict
	 * lifts at the first quarter window without the warm-up's launches, and the next wait
	 * in progress brings protection (not the next full window's mean: at 40 requests a
	 * second a window unprotected is 40 slow requests) */
	while (st.mech != GPRIO_USE_TSG && t < failed + P.recheck)
		t = graph_tick(&st, t, 2 * MS);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_true(t - failed <= P.window / 2 + 25 * MS);
	/* and it passes the next trial: 40 restarts a second */
	gprio_ns back = t;
	while (t < back + 2 * P.window)
		t = graph_tick(&st, t, 200 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
}

/* A CUDA graph service restarts the GPU a few times per request (input copy, graph, output
 * copy, each after a synchronisation) and its requests come in bursts: 400 restarts a second
 * through a trial is still a GPU-bound service, protected (measured on an H200: 120 a second
 * on average for ResNet-50 bs16 at 40 requests a second, 3 per request) */
static void a_bursty_graph_service_keeps_protection(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 5 * MS;
	for (int k = 0; k < 300; k++) { /* 3 s: 4 restarts and one 3 ms wait per 10 ms tick */
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.launches = o.sampled = o.starts = o.sampled_starts = 4;
		o.waits = 1;
		o.waited = 3 * MS;
		o.current = k % 2 ? 3 * MS : 0;
		gprio_mech_choose(&P, &o, &st, t);
		if (k > 10)
			assert_int_equal(st.mech, GPRIO_USE_TSG);
	}
	assert_int_equal(st.strikes, 0);
}

/* A fast launcher's restarts mostly go unseen (its launches are not all marked): the sampled
 * fraction of restarts times its launches estimates them */
static void sampled_restarts(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 5 * MS;
	for (int w = 0; w < 2; w++)
		for (int k = 0; k < 100; k++) {
			t += 10 * MS;
			struct gprio_mech_obs o = both(t);
			o.waits = 1;
			/* long waits behind the neighbour: would look GPU-bound; short under
			 * protection (its own GPU time) */
			o.waited = gprio_mech_protects(st.mech) ? 150 * US : 900 * US;
			o.starts = 1; /* 100 a second seen */
			o.launches = 100;
			if (k < 2) { /* 2 of 100 ticks sampled: 80 % restarts */
				o.sampled = 50;
				o.sampled_starts = 40;
			}
			gprio_mech_choose(&P, &o, &st, t);
		}
	assert_in_range(st.last_rate, 7600, 8400);
	assert_int_equal(st.mech, GPRIO_USE_LEAVE);
}

/* A CPU-bound process leaves, half a window in; a GPU-bound one comes: the restarts of the
 * first must not count against the second */
static void idle_forgets_the_window(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = window_starts(&st, 5 * MS, 100, 50 * US, 30);
	for (int k = 0; k < 50; k++) { /* half a window of 3000 restarts a second */
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = 30;
		gprio_mech_choose(&P, &o, &st, t);
	}
	struct gprio_mech_obs none = both(t);
	none.online = false;
	gprio_mech_choose(&P, &none, &st, t += 10 * MS);
	assert_int_equal(st.mech, GPRIO_USE_IDLE);
	/* the GPU-bound service: one 3 ms wait and one restart per 10 ms tick */
	for (int k = 0; k < 150; k++) {
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = 1;
		o.waits = 1;
		o.waited = 3 * MS;
		gprio_mech_choose(&P, &o, &st, t);
		assert_true(k < 100 || st.mech == GPRIO_USE_TSG);
		assert_true(st.mech != GPRIO_USE_LEAVE || !strstr(st.why, "restarts"));
	}
}

static void side_stream_and_refusals(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	struct gprio_mech_obs o = both(5 * MS);
	o.current = 300 * MS;
	o.side_stream_busy = true;
	gprio_mech_choose(&P, &o, &st, 5 * MS);
	assert_int_equal(st.mech, GPRIO_USE_TSG_GUARDED);
	o.side_stream_busy = false;
	o.timeslices_ok = false;
	assert_true(gprio_mech_choose(&P, &o, &st, 6 * MS));
	assert_int_equal(st.mech, GPRIO_USE_GATE);
	assert_true(gprio_mech_gates(st.mech));
	/* every program here an MPS client (timeslices unavailable too): MPS's client priority
	 * orders them, nothing is gated; one program outside the server: gating again */
	o.mps = true;
	assert_true(gprio_mech_choose(&P, &o, &st, 7 * MS));
	assert_int_equal(st.mech, GPRIO_USE_MPS);
	assert_false(gprio_mech_gates(st.mech));
	assert_true(gprio_mech_protects(st.mech));
	o.mps = false;
	assert_true(gprio_mech_choose(&P, &o, &st, 8 * MS));
	assert_int_equal(st.mech, GPRIO_USE_GATE);
	/* no completion counters: the latency-safe choice, and it says why */
	struct gprio_mech_state st2 = {0};
	o = both(5 * MS);
	o.completions = false;
	gprio_mech_choose(&P, &o, &st2, 5 * MS);
	assert_int_equal(st2.mech, GPRIO_USE_TSG);
	assert_string_equal(st2.why, "no completion counters from online work: assumed GPU-bound");
}

/* A GPU-bound service at the top next to a lower-priority online service that restarts the
 * GPU 3000 times a second: protection stays (its own restarts are few), but offline gets its
 * floor instead of 1 us (each of the other's restarts would preempt it); when the other goes
 * quiet, plain TSG again. */
/* Two offline contexts with work at a 1 us timeslice would switch between themselves: GPU-bound
 * online work next to two or more gets them taking turns (tsg-turns), next to one plain tsg,
 * and back again when the second one goes. */
static void two_offline_processes_take_turns(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	offline_procs = 2;
	struct gprio_mech_obs o = both(5 * MS);
	gprio_mech_choose(&P, &o, &st, 5 * MS);
	assert_int_equal(st.mech, GPRIO_USE_TSG_TURNS);
	assert_true(gprio_mech_protects(st.mech) && gprio_mech_online_long(st.mech));
	assert_false(gprio_mech_gates(st.mech));
	gprio_ns t = 5 * MS;
	while (t < 5 * MS + P.window + P.trial)
		t = graph_tick(&st, t, 2400 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG_TURNS);
	assert_non_null(strstr(st.why, "two or more offline processes"));
	assert_non_null(strstr(st.why, "taking turns"));
	offline_procs = 1;
	t = graph_tick(&st, t, 2400 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	offline_procs = 3;
	graph_tick(&st, t, 2400 * US);
	assert_int_equal(st.mech, GPRIO_USE_TSG_TURNS);
}

static int one_offline_process(void **s)
{
	(void)s;
	offline_procs = 0;
	return 0;
}

/* Under MPS (every program a client of one server) nothing switches: restarts cost offline no
 * context switch, so fast-launching online work is neither tried nor left; it stays `mps`, no
 * launch sampled. */
static void mps_clients_are_not_tried(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 5 * MS;
	for (int k = 0; k < 300; k++, t += 10 * MS) { /* 3 s of 3000 restarts a second */
		struct gprio_mech_obs o = both(t);
		o.mps = true;
		o.timeslices_ok = false;
		o.launches = o.sampled = 90;
		o.starts = o.sampled_starts = 30;
		o.waits = 1;
		o.waited = 50 * US;
		o.active = 10 * MS;
		gprio_mech_choose(&P, &o, &st, t);
		assert_int_equal(st.mech, GPRIO_USE_MPS);
		assert_int_equal(gprio_mech_sample_until(&st, t), 0);
	}
	assert_non_null(strstr(st.why, "MPS"));
	assert_int_equal(st.cpu_until, 0);
}

static void restarts_below_the_decider_give_offline_its_floor(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns t = 0;
	for (int k = 0; k < 150; k++) { /* 1.5 s */
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = o.launches = o.sampled = o.sampled_starts = 1; /* the graph service */
		o.waits = 1;
		o.waited = 2400 * US;
		o.all_starts = o.all_sampled_starts = 31; /* and the eager one below it */
		o.all_launches = o.all_sampled = 91;
		gprio_mech_choose(&P, &o, &st, t);
		if (t >= P.trial + 20 * MS)
			assert_int_equal(st.mech, GPRIO_USE_TSG_SHARED);
	}
	assert_in_range(st.all_rate, 2900, 3200);
	assert_non_null(strstr(st.why, "offline at its floor"));
	for (int k = 0; k < 250; k++) { /* its restarts seen fall to 200 a second as its work
					   now waits for offline's slice; it still launches 3000 */
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = o.launches = 1;
		o.all_starts = 2;
		o.all_launches = 31;
		o.waits = 1;
		o.waited = 2400 * US;
		gprio_mech_choose(&P, &o, &st, t);
	}
	assert_int_equal(st.mech, GPRIO_USE_TSG_SHARED);
	for (int k = 0; k < 250; k++) { /* it stops: after a window, TSG */
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = o.launches = o.all_starts = o.all_launches = 1;
		o.waits = 1;
		o.waited = 2400 * US;
		gprio_mech_choose(&P, &o, &st, t);
	}
	assert_int_equal(st.mech, GPRIO_USE_TSG);
}

/* A GPU-bound service whose requests restart the GPU several times each (a copy, the graph, a
 * copy) crosses 500 restarts a second in a burst: its waits under protection stay long (its own
 * GPU time), so it keeps protection; the same restarts with short waits are CPU-bound work. */
/* `ticks` ticks of 10 ms, each seeing `tick` (from both(), its online work last seen now):
 * whether the GPU was left at some point */
static bool run_ticks(struct gprio_mech_state *st, struct gprio_mech_obs tick, int ticks)
{
	gprio_ns t = 0;
	bool left = false;
	for (int k = 0; k < ticks; k++) {
		t += 10 * MS;
		struct gprio_mech_obs o = tick;
		o.last_work = t;
		gprio_mech_choose(&P, &o, st, t);
		left = left || st->mech == GPRIO_USE_LEAVE;
	}
	return left;
}

/* 1.5 s at 600 restarts a second, one wait of `waited` each tick */
static bool burst_run(struct gprio_mech_state *st, gprio_ns waited)
{
	struct gprio_mech_obs o = both(0);
	o.starts = o.launches = o.sampled = o.sampled_starts = 6;
	o.all_starts = o.all_launches = o.all_sampled = o.all_sampled_starts = 6;
	o.waits = 1;
	o.waited = waited;
	return run_ticks(st, o, 150);
}

static void long_waits_under_protection_are_gpu_bound(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	bool left;
	left = burst_run(&st, 2400 * US);
	assert_false(left);
	assert_true(st.mech == GPRIO_USE_TSG || st.mech == GPRIO_USE_TSG_SHARED);
	struct gprio_mech_state cpu = {0};
	left = burst_run(&cpu, 50 * US);
	assert_true(left);
	assert_int_equal(cpu.mech, GPRIO_USE_LEAVE);
}

/* A CUDA-graph decoder (H200, bench cell gdecode): each token a graph replay it waits 0.5 ms
 * for, then a write-back it waits almost nothing for: 1000 restarts a second, a mean wait of
 * 0.4 ms (under gpu_bound), but waits fill most of the time it is active. Protection stays
 * (leaving it overloaded the service: p50 1-7 s against 9.5 ms alone). The same mean wait
 * filling a tenth of its active time is CPU-bound work: left. */
/* 3 s, alone online: 1000 restarts a second, `waits` waits of 0.4 ms in each 10 ms active tick */
static bool decoder_run(struct gprio_mech_state *st, uint64_t waits)
{
	struct gprio_mech_obs o = both(0);
	o.starts = o.sampled_starts = o.all_starts = o.all_sampled_starts = 10;
	o.launches = o.sampled = o.all_launches = o.all_sampled = 26;
	o.waits = waits;
	o.waited = waits * 400 * US;
	o.active = 10 * MS;
	return run_ticks(st, o, 300);
}

static void waits_filling_active_time_are_gpu_bound(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	bool left;
	left = decoder_run(&st, 16); /* waits: 64 % of its active time */
	assert_false(left);
	/* its own 1000 restarts a second: the price of its requests, not online work beside it
	 * (under offline's 1 ms floor the decoder was overloaded; static TSG: 2x alone) */
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_in_range(st.last_share, 60, 70);
	struct gprio_mech_state cpu = {0};
	left = decoder_run(&cpu, 2); /* the same mean wait: 8 % of it */
	assert_true(left);
	assert_int_equal(cpu.mech, GPRIO_USE_LEAVE);
}

/* Work that looks CPU-bound under protection (1000 restarts a second, waits of 50 us) but
 * waits for its neighbour without it: under LEAVE `waits_left` waits of `wait_left` in each
 * 10 ms active tick, after `late` under LEAVE (before it: 2 of 0.9 ms). 6 s; returns how long
 * it was left. */
static gprio_ns left_run_shaped(struct gprio_mech_state *st, uint64_t waits_left,
				gprio_ns wait_left, gprio_ns late)
{
	gprio_ns t = 0, left = 0;
	for (int k = 0; k < 600; k++) {
		t += 10 * MS;
		struct gprio_mech_obs o = both(t);
		o.starts = o.sampled_starts = o.all_starts = o.all_sampled_starts = 10;
		o.launches = o.sampled = o.all_launches = o.all_sampled = 10;
		o.active = 10 * MS;
		bool prot = gprio_mech_protects(st->mech);
		o.waits = prot ? 2 : left < late ? 2 : waits_left;
		o.waited = o.waits * (prot ? 50 * US : left < late ? 900 * US : wait_left);
		gprio_mech_choose(&P, &o, st, t);
		if (st->mech == GPRIO_USE_LEAVE)
			left += 10 * MS;
	}
	return left;
}

static gprio_ns left_run(struct gprio_mech_state *st, uint64_t waits_left)
{
	return left_run_shaped(st, waits_left, 900 * US, 0);
}

/* Leaving must not hurt: a leave trial (200 ms under LEAVE; judged after 50 ms once it saw
 * 20 waits) in which the work waited for its neighbour most of its active time (H200, the
 * CUDA-graph decoder: its trials saw 1040 restarts a second and short waits, and under LEAVE
 * it was overloaded) ends the verdict; it stays protected whatever its restarts. So do waits
 * of a GPU-bound mean filling a quarter of it (the CUDA graph service left at its warm-up:
 * 2.4-2.8 ms waits filling 34-41 %). Waits of 0.9 ms filling a fifth of its active time
 * under LEAVE: it stays left. */
static void leaving_that_hurts_is_undone(void **s)
{
	(void)s;
	struct gprio_mech_state st = {0};
	gprio_ns left = left_run(&st, 8); /* 72 % of its active time waiting */
	assert_in_range(left, P.leave_early, P.leave_early + 10 * MS); /* 40 waits by then */
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	/* two waits of 4 ms a tick: 20 of them only after 100 ms */
	struct gprio_mech_state few = {0};
	left = left_run_shaped(&few, 2, 4 * MS, 0);
	assert_in_range(left, 100 * MS, 110 * MS);
	assert_true(few.leave_hurts);
	assert_int_equal(st.mech, GPRIO_USE_TSG);
	assert_true(st.leave_hurts);
	assert_non_null(strstr(st.why, "slowed without protection"));
	assert_in_range(st.judged_mean, 40 * US, 60 * US); /* its trial's: short, protected */
	struct gprio_mech_state cpu = {0};
	left = left_run(&cpu, 2); /* 18 % */
	assert_true(left >= 4 * P.window);
	assert_int_equal(cpu.mech, GPRIO_USE_LEAVE);
	assert_false(cpu.leave_hurts);
	assert_true(cpu.lt_judged >= 10); /* judged again and again while the verdict stood */
	/* one 3.5 ms wait a tick, 35 % of its active time: undone at the first trial's end */
	struct gprio_mech_state graph = {0};
	left = left_run_shaped(&graph, 1, 3500 * US, 0);
	assert_in_range(left, P.leave_trial, P.leave_trial + 10 * MS);
	assert_true(graph.leave_hurts);
	assert_int_equal(graph.mech, GPRIO_USE_TSG);
	/* waits that grow only after 300 ms under LEAVE: the trial then in progress sees them
	 * (its waits pass a quarter of the time after 10 ms of the growth) */
	struct gprio_mech_state late = {0};
	left = left_run_shaped(&late, 8, 900 * US, 300 * MS);
	assert_in_range(left, 300 * MS, 2 * P.leave_trial);
	assert_true(late.leave_hurts);
}

static void names(void **s)
{
	(void)s;
	assert_string_equal(gprio_mech_name(GPRIO_USE_TSG_GUARDED), "tsg-guarded");
	assert_string_equal(gprio_mech_name(GPRIO_USE_TSG_SHARED), "tsg-shared");
	assert_string_equal(gprio_mech_name(GPRIO_USE_MPS), "mps");
	assert_string_equal(gprio_mech_name(GPRIO_USE_TSG_TURNS), "tsg-turns");
	assert_string_equal(gprio_mech_name(GPRIO_USE_COUNT), "?");
}

int main(void)
{
	gprio_mech_defaults(&P);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_to_protect_is_idle),
		cmocka_unit_test(gpu_bound_gets_tsg_at_once),
		cmocka_unit_test(cpu_bound_newcomer_leaves_its_first_trial),
		cmocka_unit_test(warmup_wait_and_silence_judge_nothing),
		cmocka_unit_test(warmup_window_ending_in_silence_is_tried),
		cmocka_unit_test(loading_newcomer_is_judged_after_loading),
		cmocka_unit_test(waits_decide_only_without_protection),
		cmocka_unit_test(many_restarts_are_cpu_bound),
		cmocka_unit_test(sampled_restarts),
		cmocka_unit_test(trial_ends_protection_early),
		cmocka_unit_test(warmup_does_not_condemn_a_graph_service),
		cmocka_unit_test(a_bursty_graph_service_keeps_protection),
		cmocka_unit_test(idle_forgets_the_window),
		cmocka_unit_test(side_stream_and_refusals),
		cmocka_unit_test_teardown(two_offline_processes_take_turns, one_offline_process),
		cmocka_unit_test(mps_clients_are_not_tried),
		cmocka_unit_test(restarts_below_the_decider_give_offline_its_floor),
		cmocka_unit_test(long_waits_under_protection_are_gpu_bound),
		cmocka_unit_test(waits_filling_active_time_are_gpu_bound),
		cmocka_unit_test(leaving_that_hurts_is_undone),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
