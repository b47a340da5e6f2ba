/* Scenario tests through the simulator: the real monitor and policies against the GPU models. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/sim/sim.h"
#include "gprio/mechanism.h"

static struct sim_scenario sc;
static struct sim_result r1, r2;
static struct sim_compare cmp;
static char err[SIM_ERR_LEN];

static void load(const char *path, const char *duration)
{
	if (sim_scenario_load(&sc, path, err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	if (duration)
		assert_int_equal(gprio_parse_duration(duration, &sc.duration), 0);
}

static void parse(const char *text)
{
	if (sim_scenario_parse(&sc, text, "inline.scn", err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
}

static void run(struct sim_result *r)
{
	if (sim_run(&sc, r, err, sizeof(err)))
		fail_msg("%s", err);
}

static void assert_nothing_lost(const struct sim_result *r, const char *what)
{
	if (r->lost || r->order_violations || r->held_at_end || r->completed != r->submitted)
		fail_msg("%s/%s: lost %llu, out of order %llu, held at end %llu, %llu of %llu "
			 "completed",
			 what, r->policy, (unsigned long long)r->lost,
			 (unsigned long long)r->order_violations,
			 (unsigned long long)r->held_at_end, (unsigned long long)r->completed,
			 (unsigned long long)r->submitted);
}

/* A scenario's text run once: nothing lost, the scenario freed after. */
static void run_scn(const char *text, struct sim_result *r, const char *what)
{
	parse(text);
	run(r);
	assert_nothing_lost(r, what);
	sim_scenario_free(&sc);
}

/* Every example, every policy, both AMD preemption variants, event and poll monitoring: every
 * command completes exactly once and in order, and nothing stays held. */
static void exactly_once_in_order(void **s)
{
	(void)s;
	const char *ex[] = {"examples/mi308x-online-offline.scn",
			    "examples/h100-online-offline.scn", "examples/h100-launch-bound.scn",
			    "examples/mi308x-oversubscribed.scn"};
	uint64_t preemptions = 0;
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		for (int pol = 0; gprio_policies[pol]; pol++) {
			for (int variant = 0; variant < 2; variant++) {
				load(ex[i], "3s");
				sc.sched.policy.policy = gprio_policies[pol];
				if (sc.profile.arch == SIM_ARCH_AMD_CPSCH)
					sc.profile.preempt =
						variant ? SIM_AMD_PER_QUEUE : SIM_AMD_DEVICE_WIDE;
				else
					sc.sched.events = variant;
				run(&r1);
				assert_nothing_lost(&r1, ex[i]);
				assert_true(r1.completed > 1000);
				if (gprio_policies[pol] == &gprio_policy_none)
					assert_int_equal(r1.mon.suspends, 0);
				else
					assert_true(r1.mon.suspends > 0);
				preemptions += r1.hw_preemptions;
				sim_scenario_free(&sc);
			}
		}
	}
	assert_true(preemptions > 1000); /* the runs did preempt running work */
}

static void same_seed_same_report(void **s)
{
	(void)s;
	load("examples/mi308x-oversubscribed.scn", "2s");
	run(&r1);
	run(&r2);
	r1.wall_s = r2.wall_s = 0;
	assert_memory_equal(&r1, &r2, sizeof(r1));
	sc.seed = 8;
	run(&r2);
	r2.wall_s = 0;
	assert_true(memcmp(&r1.online_latency, &r2.online_latency, sizeof(r1.online_latency)) != 0);
	sim_scenario_free(&sc);
}

/* Stage 3, the in-kernel monitor, on the shipped MI308X example: online p99 within 1.10 x
 * alone with offline at least 0.85 of what online leaves, at a 1 ms period, per-queue
 * preemption and no system call, reading what KFD holds (AQL rptr: consumed, not finished);
 * its modelled CPU stays under 5 % of a core; the same policy polled every 5 ms from user
 * space (as stages 1 and 2 must; they run in test_amdkfd_sim, which links the simulated KFD)
 * stays above it. Not on an NVIDIA profile. */
static void mi308x_stage3(void **s)
{
	(void)s;
	if (sim_scenario_parse(&sc, gprio_default_scenario, "default", err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct sim_variant v[] = {{&gprio_policy_priority, 0, 0, false},
				  {&gprio_policy_priority, -1, 3, false}};
	assert_int_equal(sim_compare_run(&sc, v, 2, &cmp, err, sizeof(err)), 0);
	double alone99 = (double)gprio_hist_permille(&cmp.online_alone.online_latency, 990);
	double s2 = (double)gprio_hist_permille(&cmp.runs[0].online_latency, 990) / alone99;
	double s3 = (double)gprio_hist_permille(&cmp.runs[1].online_latency, 990) / alone99;
	double left =
		cmp.offline_alone.offline_iter_per_s * (1 - cmp.online_alone.online_busy_share);
	const struct sim_result *r3 = &cmp.runs[1];
	print_message("MI308X 5 ms poll p99 x%.2f, stage 3 p99 x%.2f, offline/left %.3f, monitor "
		      "CPU %.2f %%\n",
		      s2, s3, r3->offline_iter_per_s / left, 100 * r3->monitor_cpu_share);
	assert_string_equal(r3->policy, "priority:stage3");
	assert_true(s3 <= 1.10);
	assert_true(s2 > s3 + 0.1);
	assert_true(r3->offline_iter_per_s >= 0.85 * left);
	assert_int_equal(r3->device_wide_ops, 0);
	assert_true(r3->hw_preemptions > 0);
	assert_true(r3->monitor_cpu_share > 0 && r3->monitor_cpu_share < 0.05);
	assert_nothing_lost(r3, "stage3");
	sim_scenario_free(&sc);
	/* an NVIDIA profile has no KFD to patch */
	if (sim_scenario_parse(&sc, gprio_default_scenario, "default", err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, "h100", err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(sim_compare_run(&sc, v + 1, 1, &cmp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "stage 3 needs an AMD profile"));
	sim_scenario_free(&sc);
}

/* The bar on the shipped MI308X example: priority cuts online p99 at least 5x against
 * no scheduler, and offline keeps >= 80 % of what online leaves it. */
static void mi308x_priority_beats_none(void **s)
{
	(void)s;
	if (sim_scenario_parse(&sc, gprio_default_scenario, "default", err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct sim_variant v[] = {{&gprio_policy_none, -1, 0, false},
				  {&gprio_policy_priority, -1, 0, false}};
	assert_int_equal(sim_compare_run(&sc, v, 2, &cmp, err, sizeof(err)), 0);
	double none99 = (double)gprio_hist_permille(&cmp.runs[0].online_latency, 990);
	double prio99 = (double)gprio_hist_permille(&cmp.runs[1].online_latency, 990);
	double left =
		cmp.offline_alone.offline_iter_per_s * (1 - cmp.online_alone.online_busy_share);
	print_message("MI308X p99 none %.2f ms, priority %.2f ms (x%.1f); offline/left %.3f\n",
		      none99 / 1e6, prio99 / 1e6, none99 / prio99,
		      cmp.runs[1].offline_iter_per_s / left);
	assert_true(cmp.runs[1].online_latency.count > 1000);
	assert_true(none99 >= 5 * prio99);
	assert_true(cmp.runs[1].offline_iter_per_s >= 0.8 * left);
	assert_nothing_lost(&cmp.runs[0], "default");
	assert_nothing_lost(&cmp.runs[1], "default");
	/* stock KFD: every suspend and resume is a device-wide unmap; the patch: none */
	assert_true(cmp.runs[1].device_wide_ops >= cmp.runs[1].mon.suspend_calls);
	sc.profile.preempt = SIM_AMD_PER_QUEUE;
	sc.sched.policy.policy = &gprio_policy_priority;
	run(&r1);
	assert_int_equal(r1.device_wide_ops, 0);
	assert_true(r1.hw_preemptions > 0);
	/* per-queue preemption costs less than unmapping everything */
	assert_true(gprio_hist_permille(&r1.mon.preempt_lat, 500) <
		    gprio_hist_permille(&cmp.runs[1].mon.preempt_lat, 500));
	/* event wake-ups react sooner than the 5 ms poll */
	sc.profile.preempt = SIM_AMD_DEVICE_WIDE;
	sc.sched.events = false;
	run(&r2);
	assert_true(gprio_hist_permille(&r2.online_latency, 990) > prio99);
	assert_int_equal(r2.mon.event_wakeups, 0);
	sim_scenario_free(&sc);
}

/* Online always busy: priority starves offline; share guarantees it its slice. */
static const char *busy_online =
	"[sim]\nprofile = mi308x-cpsch\nduration = 3s\nwarmup = 100ms\n"
	"[gpu]\npreempt = per-queue\n"
	"[scheduler]\npolicy = priority\nshare = 20%\nwindow = 50ms\n"
	"[process online]\nclass = online\narrival = continuous\nkernel_time = 100us\nblocks = 80\n"
	"[process offline]\nclass = offline\narrival = continuous\nkernel_time = 200us\nblocks = "
	"80\n";

static void share_guarantees_offline(void **s)
{
	(void)s;
	parse(busy_online);
	run(&r1);
	sc.sched.policy.policy = gprio_policy_find("share");
	run(&r2);
	print_message("offline it/s: priority %.1f, share %.1f\n", r1.offline_iter_per_s,
		      r2.offline_iter_per_s);
	assert_true(r1.offline_iter_per_s < 50);  /* starved: alone it would do 5000 */
	assert_true(r2.offline_iter_per_s > 800); /* >= ~20 % of 5000 minus switching */
	assert_true(r2.mon.share_releases > 10);
	assert_nothing_lost(&r1, "priority");
	assert_nothing_lost(&r2, "share");
	sim_scenario_free(&sc);
}

/* Two online priorities under `share`: a held queue that is idle has a share "due" in the past;
 * that must not become a recheck at now + 1 ns (the loop spun millions of ticks per second). */
static void share_does_not_spin(void **s)
{
	(void)s;
	const char *two_online =
		"[sim]\nprofile = h100\nduration = 5s\nwarmup = 500ms\n"
		"[scheduler]\npolicy = share\nhysteresis = 500us\npoll = 5ms\n"
		"[process a]\nclass = online\npriority = 12\narrival = poisson 40/s\nkernels = 20\n"
		"kernel_time = normal 40us 8us\nblocks = 132\n"
		"[process b]\nclass = online\npriority = 11\narrival = poisson 40/s\nkernels = 20\n"
		"kernel_time = normal 40us 8us\nblocks = 132\n"
		"[process train]\nclass = offline\narrival = continuous\nkernels = 100\n"
		"kernel_time = normal 140us 30us\nblocks = 264\ninflight = 16\n";
	parse(two_online);
	run(&r1);
	/* 5.5 s at a 5 ms poll is 1100 polls; wake-ups for work and timers add a few hundred */
	print_message("share, two online priorities: %llu ticks (%llu event wake-ups)\n",
		      (unsigned long long)r1.mon.ticks, (unsigned long long)r1.mon.event_wakeups);
	assert_true(r1.mon.ticks < 5000);
	assert_nothing_lost(&r1, "share");
	sim_scenario_free(&sc);
}

/* mechanism = auto: the simulator runs gpriod's per-GPU chooser (gprio/mechanism.h) at every
 * monitor tick. Three co-location rows of docs/nvidia.md, each as together (no scheduler),
 * static TSG (online 1 s, offline 1 us, no gating) and gprio (priority, mechanism = auto),
 * next to GPU-filling training. What is asserted is the shape the H100/H200 measurements show,
 * with the tolerance given per line; the sizes differ (docs/model.md):
 *   GPU-bound (60 full-GPU kernels of 40 us per request, 40/s; measured: together 1.7-2.8x
 *   alone, static TSG 1.0-1.05x): together is far worse; gprio chooses tsg and equals static
 *   TSG within 5 % on p99 and offline.
 *   launch-bound (160 kernels of 15 us, 30 us apart, 20/s): gprio is never above together's p99.
 *   CPU-bound decode (1500 kernels of 8 us, 30 us apart, 10/s, online active ~60 % of the
 *   time; measured: static TSG left offline 6-29 % of alone, together 90-100 %): static TSG
 *   takes a large part of offline's throughput; gprio leaves the GPU alone and gets together's
 *   p99 within 10 % and its offline throughput within 10 % (this 10 s run holds two trials of
 *   protection, at 1 s and 5 s, which a longer run spreads: each failed trial doubles the
 *   time to the next).
 *   graph decode (32 steps of 10-390 us full-GPU work, each waited for, 30 us of host work
 *   between them, 20/s; measured (H200, cell gdecode): together overloaded, static TSG
 *   1.85-3.15x alone with offline 0.73 of alone): together is far worse than static TSG;
 *   gprio chooses tsg, not tsg-shared (its restarts are its own: with them counted as online
 *   work beside it, the floor gave p99 684 ms here against static TSG's 51, as part 18's
 *   134 ms p50 on the H200). Without a warm-up this model leaves nothing here, as gpriod did
 *   once copies were timed (H200 part 24); the warm-up that failed gpriod's trials there is
 *   warmup_leave_is_undone's. */
struct row {
	const char *name, *online;
	struct sim_result together, tsg, gprio;
};

static void colocate(struct row *w)
{
	static const char *const setups[] = {
		"[scheduler]\npolicy = none\n",
		"[scheduler]\npolicy = none\n",
		"[scheduler]\npolicy = priority\nmechanism = auto\n",
	};
	struct sim_result *out[] = {&w->together, &w->tsg, &w->gprio};
	for (int k = 0; k < 3; k++) {
		char text[1024];
		snprintf(text, sizeof(text),
			 "[sim]\nprofile = h100\nduration = 12s\nwarmup = 2s\nseed = 1\n%s"
			 "[process serve]\nclass = online\n%s%s"
			 "[process train]\nclass = offline\n%sarrival = continuous\nkernels = 100\n"
			 "kernel_time = normal 500us 100us\nblocks = 264\ninflight = 16\n",
			 setups[k], k == 1 ? "timeslice = 1s\n" : "", w->online,
			 k == 1 ? "timeslice = 1us\n" : "");
		run_scn(text, out[k], w->name);
	}
	print_message("%-12s p99 ms / offline it/s: together %.2f / %.2f, static TSG %.2f / %.2f, "
		      "gprio %.2f / %.2f (%s, %u changes)\n",
		      w->name, (double)gprio_hist_permille(&w->together.online_latency, 990) / 1e6,
		      w->together.offline_iter_per_s,
		      (double)gprio_hist_permille(&w->tsg.online_latency, 990) / 1e6,
		      w->tsg.offline_iter_per_s,
		      (double)gprio_hist_permille(&w->gprio.online_latency, 990) / 1e6,
		      w->gprio.offline_iter_per_s, gprio_mech_name((enum gprio_mech)w->gprio.mech),
		      w->gprio.mech_changes);
}

static double p99_of(const struct sim_result *r)
{
	return (double)gprio_hist_permille(&r->online_latency, 990);
}

static void mechanism_auto_rows(void **s)
{
	(void)s;
	static struct row gpu = {.name = "GPU-bound",
				 .online = "arrival = poisson 40/s\nkernels = 60\nkernel_time = "
					   "40us\nblocks = 132\n"},
			  eager = {.name = "launch-bound",
				   .online = "arrival = poisson 20/s\nkernels = 160\nkernel_time = "
					     "15us\nblocks = 16\ngap = 30us\n"},
			  decode = {.name = "decode",
				    .online =
					    "arrival = poisson 10/s\nkernels = 1500\nkernel_time = "
					    "8us\nblocks = 16\ngap = 30us\n"},
			  gdecode = {.name = "graph decode",
				     .online =
					     "arrival = poisson 20/s\nkernels = 32\nkernel_time = "
					     "uniform 10us 390us\nblocks = 132\ngap = 30us\n"
					     "sync_every = 1\n"};
	colocate(&gpu);
	assert_true(p99_of(&gpu.together) > 1.7 * p99_of(&gpu.tsg));
	assert_int_equal(gpu.gprio.mech, GPRIO_USE_TSG);
	assert_true(p99_of(&gpu.gprio) < 1.05 * p99_of(&gpu.tsg));
	assert_true(gpu.gprio.offline_iter_per_s > 0.95 * gpu.tsg.offline_iter_per_s);
	colocate(&eager);
	assert_true(p99_of(&eager.gprio) <= p99_of(&eager.together));
	assert_true(eager.gprio.mech_changes <= 3);
	colocate(&decode);
	assert_true(decode.tsg.offline_iter_per_s < 0.8 * decode.together.offline_iter_per_s);
	assert_int_equal(decode.gprio.mech, GPRIO_USE_LEAVE);
	assert_true(decode.gprio.offline_iter_per_s > 0.90 * decode.together.offline_iter_per_s);
	assert_true(p99_of(&decode.gprio) < 1.10 * p99_of(&decode.together));
	colocate(&gdecode);
	assert_true(p99_of(&gdecode.together) > 5 * p99_of(&gdecode.tsg));
	assert_int_equal(gdecode.gprio.mech, GPRIO_USE_TSG);
	assert_true(p99_of(&gdecode.gprio) < 1.10 * p99_of(&gdecode.tsg));
	assert_true(gdecode.gprio.offline_iter_per_s > 0.90 * gdecode.tsg.offline_iter_per_s);
}

/* The graph decoder of mechanism_auto_rows with a warm-up: after it starts it launches a
 * kernel every 500 us without waiting (eager warm-up before the graphs are captured), then
 * serves. Measured (H200, cell gdecode, parts 23 and 25): its warm-up failed the trial of
 * protection, gpriod left the GPU, and the decoder's requests queued behind the training job
 * for a second until a window judged leaving; p99 14-18x alone where protected from the start
 * it equals static TSG (part 26: protected throughout, p99 2.50x alone against static TSG's
 * 2.59x). Here: a warm-up of 500 ms without a wait judges nothing (a trial needs two waits),
 * so the requests are judged and keep protection; one longer than a window of trials (1.5
 * s) fails the last trial on its restarts, and then the leave trials (200 ms, or 50 ms once 20
 * waits fill the time; repeated while the verdict stands) find the first requests waiting most
 * of their time, and the GPU is protected again well within a second of leaving. */
static void warmup_run(const char *startup, struct sim_result *r)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "[sim]\nprofile = h100\nduration = 12s\nwarmup = 2s\nseed = 1\n"
		 "[scheduler]\npolicy = priority\nmechanism = auto\n"
		 "[process serve]\nclass = online\narrival = poisson 20/s\nkernels = 32\n"
		 "kernel_time = uniform 10us 390us\nblocks = 132\ngap = 30us\nsync_every = 1\n"
		 "start = 3s\nstartup = %s every 500us\n"
		 "[process train]\nclass = offline\narrival = continuous\nkernels = 100\n"
		 "kernel_time = normal 500us 100us\nblocks = 264\ninflight = 16\n",
		 startup);
	run_scn(text, r, "warm-up");
	print_message(
		"graph decode with a %s warm-up: %u changes, %.0f ms under leave, p99 %.2f ms, "
		"offline %.2f it/s\n",
		startup, r->mech_changes, (double)r->mech_ns[GPRIO_USE_LEAVE] / 1e6,
		(double)gprio_hist_permille(&r->online_latency, 990) / 1e6, r->offline_iter_per_s);
	assert_int_equal(r->mech, GPRIO_USE_TSG);
}

static void warmup_leave_is_undone(void **s)
{
	(void)s;
	warmup_run("500ms", &r1);
	assert_int_equal(r1.mech_changes, 1); /* idle -> tsg */
	assert_int_equal(r1.mech_ns[GPRIO_USE_LEAVE], 0);
	warmup_run("1500ms", &r1);
	assert_int_equal(r1.mech_changes, 3); /* idle -> tsg -> leave -> tsg */
	assert_in_range(r1.mech_ns[GPRIO_USE_LEAVE], 200 * GPRIO_NS_PER_MS, 800 * GPRIO_NS_PER_MS);
}

/* Lingering (gpriod --linger-us) under static TSG, the graph decoder of mechanism_auto_rows: a
 * wait inside a request leaves the context runnable until its next launch, so its gaps do not
 * hand the GPU to offline and back. Measured on an H200 (cell gdecode, part 21): p50 19.6 ->
 * 15.4 ms, p99 56.0 -> 40.3 ms, offline 24.6 -> 25.3 it/s. Asserted, as the shape: p99 lower
 * by at least 10 %, offline not lower by more than 5 %. */
static void linger_under_static_tsg(void **s)
{
	(void)s;
	struct sim_result r[2];
	for (int k = 0; k < 2; k++) {
		char text[1024];
		snprintf(
			text, sizeof(text),
			"[sim]\nprofile = h100\nduration = 12s\nwarmup = 2s\nseed = 1\n"
			"[scheduler]\npolicy = none\nlinger = %s\n"
			"[process serve]\nclass = online\ntimeslice = 1s\narrival = poisson 20/s\n"
			"kernels = 32\nkernel_time = uniform 10us 390us\nblocks = 132\ngap = 30us\n"
			"sync_every = 1\n"
			"[process train]\nclass = offline\ntimeslice = 1us\narrival = continuous\n"
			"kernels = 100\nkernel_time = normal 500us 100us\nblocks = 264\n"
			"inflight = 16\n",
			k ? "500us" : "0");
		run_scn(text, &r[k], k ? "linger" : "static TSG");
	}
	print_message("graph decode, static TSG: p99 %.2f ms, offline %.2f it/s; with linger 500 "
		      "us: %.2f ms, %.2f it/s\n",
		      p99_of(&r[0]) / 1e6, r[0].offline_iter_per_s, p99_of(&r[1]) / 1e6,
		      r[1].offline_iter_per_s);
	assert_true(p99_of(&r[1]) < 0.90 * p99_of(&r[0]));
	assert_true(r[1].offline_iter_per_s > 0.95 * r[0].offline_iter_per_s);
}

/* Two online services on one GPU (as gpriod): the highest-priority one decides. A GPU-bound
 * service at 11 beside a decode loop at 8 gets tsg (alone, the decode loop is left); the same
 * pair with the priorities swapped is left to the decode loop's needs. */
/* the mechanism at the end, and the share of the measured time under tsg or tsg-shared */
static enum gprio_mech mech_of_two_online(int graph_prio, int decode_prio, const char *extra,
					  double *tsg_share)
{
	char text[1400];
	snprintf(text, sizeof(text),
		 "[sim]\nprofile = h100\nduration = 14s\nwarmup = 1s\nseed = 1\n"
		 "[scheduler]\npolicy = priority\nmechanism = auto\n"
		 "[process graph]\nclass = online\npriority = %d\narrival = poisson 40/s\n"
		 "kernels = 60\nkernel_time = 40us\nblocks = 132\n"
		 "[process decode]\nclass = online\npriority = %d\narrival = poisson 10/s\n"
		 "kernels = 1500\nkernel_time = 8us\nblocks = 16\ngap = 30us\n"
		 "[process train]\nclass = offline\narrival = continuous\nkernels = 100\n"
		 "kernel_time = normal 500us 100us\nblocks = 264\ninflight = 16\n%s",
		 graph_prio, decode_prio, extra);
	parse(text);
	struct sim_result r;
	run(&r);
	sim_scenario_free(&sc);
	gprio_ns all = 0;
	for (int m = 0; m < GPRIO_USE_COUNT; m++)
		all += r.mech_ns[m];
	gprio_ns prot = r.mech_ns[GPRIO_USE_TSG] + r.mech_ns[GPRIO_USE_TSG_SHARED];
	*tsg_share = all ? (double)prot / (double)all : 0;
	print_message("graph at %d, decode at %d%s: %s at the end, %.0f %% under tsg (%u "
		      "changes)\n",
		      graph_prio, decode_prio, *extra ? ", a quiet service above" : "",
		      gprio_mech_name((enum gprio_mech)r.mech), 100 * *tsg_share, r.mech_changes);
	return (enum gprio_mech)r.mech;
}

static void highest_online_priority_decides(void **s)
{
	(void)s;
	double share;
	/* protected, with offline at its floor: the decode loop's restarts would each preempt a
	 * 1 us offline timeslice */
	assert_int_equal(mech_of_two_online(11, 8, "", &share), GPRIO_USE_TSG_SHARED);
	assert_true(share > 0.9);
	/* the decode loop decides: left, but for its failed trials */
	mech_of_two_online(8, 11, "", &share);
	assert_true(share < 0.2);
	/* a quiet service above both (its first request would come after 100 s) decides
	 * nothing: only online work active in the last idle_after (10 s) does */
	assert_int_equal(
		mech_of_two_online(11, 8,
				   "[process quiet]\nclass = online\npriority = 13\n"
				   "arrival = closed 100s\nkernels = 1\nkernel_time = 10us\n"
				   "blocks = 1\n",
				   &share),
		GPRIO_USE_TSG_SHARED);
}

/* Two training jobs next to a GPU-bound service (mechanism auto): at a 1 us offline timeslice
 * the two offline contexts hand the GPU to each other every microsecond, each switch 175 us of
 * context save (static TSG: next to nothing done); the law has them take turns (tsg-turns):
 * both jobs keep going, about equally, and the service waits for one offline context at 1 us,
 * not for two slices of 1 ms (p99 5.08 ms, 1.24x alone, at 8.75 it/s; the floor gave 10.29 ms,
 * 2.52x, at 7.75). */
static void two_offline_jobs_keep_going(void **s)
{
	(void)s;
	struct sim_result r[2];
	for (int k = 0; k < 2; k++) {
		char text[1200];
		snprintf(text, sizeof(text),
			 "[sim]\nprofile = h100\nduration = 10s\nwarmup = 2s\nseed = 1\n"
			 "[scheduler]\n%s\n"
			 "[process graph]\nclass = online\n%sarrival = poisson 40/s\nkernels = 3\n"
			 "kernel_time = normal 700us 50us\nblocks = 132\ngap = 20us\n"
			 "[process a]\nclass = offline\n%sarrival = continuous\nkernels = 100\n"
			 "kernel_time = normal 500us 100us\nblocks = 264\ninflight = 16\n"
			 "[process b]\nclass = offline\n%sarrival = continuous\nkernels = 100\n"
			 "kernel_time = normal 500us 100us\nblocks = 264\ninflight = 16\n",
			 k ? "policy = priority\nmechanism = auto" : "policy = none",
			 k ? "" : "timeslice = 1s\n", k ? "" : "timeslice = 1us\n",
			 k ? "" : "timeslice = 1us\n");
		run_scn(text, &r[k], k ? "auto" : "static TSG");
	}
	double p99 = (double)gprio_hist_permille(&r[1].online_latency, 990) / 1e6;
	print_message("two offline jobs, static TSG: %.2f it/s; gprio: %.2f it/s (%s), %llu and "
		      "%llu iterations, online p99 %.2f ms\n",
		      r[0].offline_iter_per_s, r[1].offline_iter_per_s,
		      gprio_mech_name((enum gprio_mech)r[1].mech),
		      (unsigned long long)r[1].procs[1].iterations,
		      (unsigned long long)r[1].procs[2].iterations, p99);
	assert_true(r[0].offline_iter_per_s < 0.5);
	assert_int_equal(r[1].mech, GPRIO_USE_TSG_TURNS);
	assert_true(r[1].offline_iter_per_s > 7.75);
	uint64_t a = r[1].procs[1].iterations, b = r[1].procs[2].iterations;
	assert_true(a > 20 && b > 20 && a < 2 * b && b < 2 * a);
	assert_true(r[1].mech_ns[GPRIO_USE_TSG_TURNS] > 9 * r[1].mech_ns[GPRIO_USE_TSG]);
	assert_true(p99 < 6.5); /* alone 4.08 ms; at the 1 ms floor 10.29 ms */
}

static const char *two_offline =
	"[sim]\nprofile = h100\nduration = 10s\nwarmup = 1s\n"
	"[scheduler]\npolicy = wfq\nhysteresis = 500us\n"
	"[process online]\nclass = online\narrival = poisson 20/s\nkernels = 60\n"
	"kernel_time = normal 40us 8us\nblocks = 132\n"
	"[process a]\nclass = offline\narrival = continuous\nkernels = 100\n"
	"kernel_time = normal 140us 30us\nblocks = 264\ninflight = 16\nweight = 3\n"
	"[process b]\nclass = offline\narrival = continuous\nkernels = 100\n"
	"kernel_time = normal 140us 30us\nblocks = 264\ninflight = 16\n";

/* wfq: two offline jobs at weights 3:1 next to an online service get 3:1 of what it leaves
 * (the hardware alone shares them 1:1), and online keeps its protection. */
static void wfq_divides_by_weight(void **s)
{
	(void)s;
	parse(two_offline);
	run(&r1);
	sc.sched.policy.policy = &gprio_policy_priority;
	run(&r2);
	double wfq = (double)r1.procs[1].iterations / (double)r1.procs[2].iterations;
	double prio = (double)r2.procs[1].iterations / (double)r2.procs[2].iterations;
	print_message("offline a:b iterations: wfq %llu:%llu (%.2f), priority %llu:%llu (%.2f); "
		      "online p99 %.2f ms vs %.2f ms\n",
		      (unsigned long long)r1.procs[1].iterations,
		      (unsigned long long)r1.procs[2].iterations, wfq,
		      (unsigned long long)r2.procs[1].iterations,
		      (unsigned long long)r2.procs[2].iterations, prio,
		      (double)gprio_hist_permille(&r1.online_latency, 990) / 1e6,
		      (double)gprio_hist_permille(&r2.online_latency, 990) / 1e6);
	assert_true(wfq > 2.7 && wfq < 3.3);
	assert_true(prio > 0.9 && prio < 1.1);
	/* online protection is the priority policy's (within 10 %) */
	assert_true(gprio_hist_permille(&r1.online_latency, 990) <
		    gprio_hist_permille(&r2.online_latency, 990) * 11 / 10);
	assert_nothing_lost(&r1, "wfq");
	sim_scenario_free(&sc);
}

/* slo: with an objective that sharing can meet, online stays inside it and offline keeps more
 * of its throughput than under `priority`; an objective sharing cannot meet degrades to
 * priority-like holding, not to missing it by the unscheduled margin. */
static void slo_trades_within_objective(void **s)
{
	(void)s;
	load("examples/h100-online-offline.scn", "10s");
	run(&r2); /* priority */
	sc.sched.policy.policy = &gprio_policy_none;
	struct sim_result *none = &cmp.runs[0];
	run(none);
	sc.sched.policy.policy = gprio_policy_find("slo");
	sc.procs[0].slo = 20 * GPRIO_NS_PER_MS;
	run(&r1);
	double p99 = (double)gprio_hist_permille(&r1.online_latency, 990) / 1e6;
	print_message("slo 20 ms: online p99 %.2f ms, offline %.2f it/s; priority p99 %.2f ms, "
		      "%.2f it/s; none p99 %.2f ms\n",
		      p99, r1.offline_iter_per_s,
		      (double)gprio_hist_permille(&r2.online_latency, 990) / 1e6,
		      r2.offline_iter_per_s,
		      (double)gprio_hist_permille(&none->online_latency, 990) / 1e6);
	assert_true(p99 < 20.0);
	assert_true(r1.offline_iter_per_s > r2.offline_iter_per_s);
	assert_true(r1.mon.suspends < r2.mon.suspends);
	assert_nothing_lost(&r1, "slo");
	sim_scenario_free(&sc);
}

/* The controller dies while offline is held: the mechanism's fail-open path resumes it. */
static void controller_death_fails_open(void **s)
{
	(void)s;
	for (int arch = 0; arch < 2; arch++) {
		parse(busy_online);
		if (arch) {
			assert_int_equal(sim_profile_get("h100", &sc.profile), 0);
		}
		sc.die_at = 1 * GPRIO_NS_PER_S;
		run(&r1);
		/* a queue left held by the dead controller could never drain: lost and held > 0 */
		assert_nothing_lost(&r1, "died");
		assert_true(r1.mon.suspends > 0);
		if (arch) {
			/* time slicing shares the GPU again once the gate is open: offline runs
			 * (it is starved, < 50 kernels, while the controller lives) */
			print_message("h100: offline kernels after the controller died: %llu\n",
				      (unsigned long long)r1.procs[1].kernels);
			assert_true(r1.procs[1].kernels > 1000);
		}
		sim_scenario_free(&sc);
	}
}

/* An unmap that never completes: after queue_preemption_timeout_ms the GPU resets and the work
 * in flight is lost; the report says so (the metric can fail). */
static void preemption_timeout_resets_gpu(void **s)
{
	(void)s;
	parse(busy_online);
	sc.profile.hang_rate = 0.5;
	sc.profile.preempt_timeout = 20 * GPRIO_NS_PER_MS;
	sc.sched.policy.policy = gprio_policy_find("share");
	run(&r1);
	assert_true(r1.resets > 0);
	assert_true(r1.lost > 0);
	assert_int_equal(r1.order_violations, 0);
	assert_int_equal(r1.held_at_end, 0);
	assert_int_equal(r1.completed + r1.lost, r1.submitted);
	sim_scenario_free(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exactly_once_in_order),
		cmocka_unit_test(same_seed_same_report),
		cmocka_unit_test(mi308x_priority_beats_none),
		cmocka_unit_test(share_guarantees_offline),
		cmocka_unit_test(controller_death_fails_open),
		cmocka_unit_test(share_does_not_spin),
		cmocka_unit_test(mechanism_auto_rows),
		cmocka_unit_test(two_offline_jobs_keep_going),
		cmocka_unit_test(warmup_leave_is_undone),
		cmocka_unit_test(linger_under_static_tsg),
		cmocka_unit_test(highest_online_priority_decides),
		cmocka_unit_test(mi308x_stage3),
		cmocka_unit_test(wfq_divides_by_weight),
		cmocka_unit_test(slo_trades_within_objective),
		cmocka_unit_test(preemption_timeout_resets_gpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
