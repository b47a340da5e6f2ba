/* The amdkfd backend (the real code gpriod runs on AMD) against the simulated KFD, end to end
 * through the monitor: both stages, and every condition the backend must survive: no HWS, an old
 * KFD, an existing debugger, a process without RUNTIME_ENABLE, no root, a process exiting and a
 * queue being destroyed while suspended, queues created mid-run, the daemon dying. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/sim/sim.h"
#include "../../src/backends/amdkfd/kfd.h"
#include "../../src/sim/sim_kfd.h"

static struct sim_scenario sc;
static struct sim_result r, base;
static char err[SIM_ERR_LEN];

/* online service + offline trainer with two queues, 3 s */
static const char *const WORLD =
	"[sim]\nprofile = mi308x-cpsch\nduration = 3s\nwarmup = 200ms\nseed = 7\n"
	"[scheduler]\npolicy = priority\npoll = 2ms\nhysteresis = 500us\n"
	"[process web]\nclass = online\npriority = 11\narrival = poisson 40/s\nkernels = 40\n"
	"kernel_time = normal 20us 5us\nblocks = uniform 8 80\ngap = 40us\n"
	"[process train]\nclass = offline\npriority = 0\narrival = continuous\nkernels = 50\n"
	"kernel_time = normal 1ms 300us\nblocks = 160\nqueues = 2\ninflight = 8\n";

static void setup_run(const char *extra, int stage, struct sim_result *out, int want_rc)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", WORLD, extra ? extra : "");
	if (sim_scenario_parse(&sc, text, "kfd.scn", err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	sc.kfd.stage = stage;
	if (stage) {
		sc.profile.preempt = stage == 1 ? SIM_AMD_DEVICE_WIDE : SIM_AMD_PER_QUEUE;
		sc.sched.events = false;
	}
	int rc = sim_run(&sc, out, err, sizeof(err));
	sim_scenario_free(&sc);
	if (rc != want_rc)
		fail_msg("sim_run returned %d, wanted %d: %s", rc, want_rc, err);
}

static void nothing_lost(const struct sim_result *x)
{
	if (x->lost || x->order_violations || x->held_at_end || x->completed != x->submitted)
		fail_msg("%s: lost %llu, out of order %llu, held at end %llu", x->policy,
			 (unsigned long long)x->lost, (unsigned long long)x->order_violations,
			 (unsigned long long)x->held_at_end);
}

static uint64_t p99(const struct sim_result *x)
{
	return gprio_hist_permille(&x->online_latency, 990);
}

static void baseline(void)
{
	static bool done;
	if (done)
		return;
	setup_run("[scheduler]\npolicy = none\n", 0, &base, 0);
	done = true;
}

/* Stage 1 preempts through DBG_TRAP: every call is a device-wide unmap; online latency drops. */
static void stage1_works(void **s)
{
	(void)s;
	baseline();
	setup_run(NULL, 1, &r, 0);
	nothing_lost(&r);
	assert_int_equal(r.ctl_stage, 1);
	assert_true(r.mon.suspends > 10);
	assert_int_equal(r.mon.failures, 0);
	assert_int_equal(sim_result_counter(&r, "refused_calls"), 0);
	assert_int_equal(sim_result_counter(&r, "blocked_processes"), 0);
	/* one ENABLE for the offline process, one for observing the online one */
	assert_int_equal(sim_result_counter(&r, "enables"), 2);
	assert_true(r.device_wide_ops >= r.mon.suspend_calls);
	/* poll-only (KFD has no new-work event) and every call is a device-wide hiccup: a modest gain
	 * in this small world (3.5x alone vs 4.8x without gprio) */
	if ((double)p99(&r) >= 0.85 * (double)p99(&base))
		fail_msg("p99 %.3f ms vs %.3f ms without gprio", p99(&r) / 1e6, p99(&base) / 1e6);
}

/* Stage 2 uses the patch's ioctl: per-queue unmaps only, no debugger, no device-wide hiccup. */
static void stage2_works(void **s)
{
	(void)s;
	baseline();
	setup_run(NULL, 2, &r, 0);
	nothing_lost(&r);
	assert_int_equal(r.ctl_stage, 2);
	assert_true(r.mon.suspends > 10);
	assert_int_equal(r.mon.failures, 0);
	assert_int_equal(sim_result_counter(&r, "enables"), 0);
	assert_int_equal(r.device_wide_ops, 0);
	if ((double)p99(&r) >= 0.6 * (double)p99(&base))
		fail_msg("p99 %.3f ms vs %.3f ms without gprio", p99(&r) / 1e6, p99(&base) / 1e6);
}

/* Stage 3 on the simulated patched KFD: gpriod hands KFD's in-kernel monitor both managed
 * processes, once (the set does not change), issues no suspend or resume itself, and stops the
 * monitor as it closes (fail open). Without root: a clear refusal. What the monitor then does
 * to the queues is the simulator's priority:stage3 model (tests/sim). */
static void stage3_configures_kfd(void **s)
{
	(void)s;
	setup_run(NULL, 3, &r, 0);
	nothing_lost(&r);
	assert_int_equal(r.ctl_stage, 3);
	assert_int_equal(sim_result_counter(&r, "monitor_processes"), 2);
	assert_true(sim_result_counter(&r, "monitor_calls") >= 1);
	assert_true(sim_result_counter(&r, "monitor_calls") <= 3); /* as processes appear */
	assert_int_equal(sim_result_counter(&r, "monitor_running"), 0);
	assert_int_equal(r.mon.suspends, 0);
	assert_int_equal(sim_result_counter(&r, "enables"), 0);
	setup_run("[kfd]\nroot = no\n", 3, &r, -EPERM);
	assert_non_null(strstr(err, "CAP_SYS_ADMIN"));
}

/* Event-driven stages 1 and 2 (:stage1ev, :stage2ev) on the shipped MI308X example: the online
 * program's HSA shim sends a work note on its doorbell store (at most one a millisecond), which
 * ends the 5 ms poll's wait; online p99 comes down towards alone (stage 2: to within 5 %), and
 * every run still loses nothing. */
static void work_notes_make_stages_event_driven(void **s)
{
	(void)s;
	static struct sim_compare cmp;
	if (sim_scenario_parse(&sc, gprio_default_scenario, "default", err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct sim_variant v[4];
	assert_int_equal(sim_variant_parse("priority:stage1", &v[0]), 0);
	assert_int_equal(sim_variant_parse("priority:stage1ev", &v[1]), 0);
	assert_int_equal(sim_variant_parse("priority:stage2", &v[2]), 0);
	assert_int_equal(sim_variant_parse("priority:stage2ev", &v[3]), 0);
	assert_int_equal(sim_compare_run(&sc, v, 4, &cmp, err, sizeof(err)), 0);
	sim_scenario_free(&sc);
	double alone = (double)p99(&cmp.online_alone);
	double x[4];
	for (int i = 0; i < 4; i++) {
		x[i] = (double)p99(&cmp.runs[i]) / alone;
		nothing_lost(&cmp.runs[i]);
	}
	print_message("p99 / alone: stage1 %.2f, stage1ev %.2f, stage2 %.2f, stage2ev %.2f; event "
		      "wake-ups %llu / %llu\n",
		      x[0], x[1], x[2], x[3], (unsigned long long)cmp.runs[1].mon.event_wakeups,
		      (unsigned long long)cmp.runs[3].mon.event_wakeups);
	assert_string_equal(cmp.runs[1].policy, "priority:stage1ev");
	assert_string_equal(cmp.runs[3].policy, "priority:stage2ev");
	assert_int_equal(cmp.runs[0].mon.event_wakeups, 0);
	assert_true(cmp.runs[1].mon.event_wakeups > 100);
	assert_true(x[1] < x[0] - 0.05);
	assert_true(x[3] < x[2] - 0.05);
	assert_true(x[3] <= 1.05);
}

static void old_kfd_refused(void **s)
{
	(void)s;
	setup_run("[kfd]\nversion = 1.11\n", 1, &r, -EPROTO);
	assert_non_null(strstr(err, "1.11"));
	assert_non_null(strstr(err, "needs >= 1.13"));
}

/* Stage 2 asked for on a machine whose daemon is not root: a clear refusal, not a silent stage 1. */
static void stage2_needs_root(void **s)
{
	(void)s;
	setup_run("[kfd]\nroot = no\n", 2, &r, -EPERM);
	assert_non_null(strstr(err, "CAP_SYS_ADMIN"));
}

/* No HWS: DBG_TRAP answers EINVAL. Nobody can be controlled; nothing breaks, nothing is held. */
static void no_hws(void **s)
{
	(void)s;
	setup_run("[kfd]\nhws = off\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "blocked_processes") > 0);
	assert_int_equal(r.mon.suspends, 0);
}

/* gdb holds the offline process: ptrace attach is refused (one tracer per process); that process
 * is left alone, the rest works. */
static void existing_debugger(void **s)
{
	(void)s;
	setup_run("[kfd]\ndebugger = train\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "blocked_processes") > 0);
	assert_int_equal(r.mon.suspends, 0); /* hw preemptions happen: the runlist refreshes */
}

/* No RUNTIME_ENABLE: SUSPEND answers EPERM; the monitor records failures and keeps going. */
static void no_runtime_enable(void **s)
{
	(void)s;
	setup_run("[kfd]\nno_runtime_enable = train\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "refused_calls") > 0);
	assert_true(r.mon.failures > 0);
	assert_int_equal(r.mon.suspends, 0);
}

/* Not root: no ptrace and no process_vm_readv for other processes. */
static void unprivileged(void **s)
{
	(void)s;
	setup_run("[kfd]\nroot = no\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "blocked_processes") > 0);
	assert_int_equal(r.mon.suspends, 0);
}

/* The offline process exits at 1.5 s, very likely while suspended: its rows go, nothing stays
 * held, later ticks do not trip over it. Its exit shuts its runtime down first, and KFD's
 * runtime_disable() blocks a debug-enabled process until its debugger sends the runtime event:
 * the permit gprio gives right after ENABLE lets it exit (without it, stage 1 left every
 * managed HIP process hanging at exit). */
static void process_exits_mid_preemption(void **s)
{
	for (int stage = 1; stage <= 2; stage++) {
		(void)s;
		setup_run("[kfd]\nexit = train at 1500ms\n", stage, &r, 0);
		nothing_lost(&r);
		assert_int_equal(sim_result_counter(&r, "hung_at_exit"), 0);
		assert_true(r.mon.gone >= 2);
		assert_int_equal(sim_result_counter(&r, "refused_calls"), 0);
	}
}

/* A queue destroyed while suspended disappears once resumed; the other queue keeps working. */
static void queue_destroyed_mid_preemption(void **s)
{
	(void)s;
	for (int stage = 1; stage <= 2; stage++) {
		setup_run("[kfd]\ndestroy = train 1 at 1s\n", stage, &r, 0);
		nothing_lost(&r);
		assert_int_equal(r.mon.gone, 1);
		assert_true(r.mon.suspends > 10);
	}
}

/* A second offline process creates its queues at 1 s, while the first one is being preempted:
 * it is discovered, its EC_QUEUE_NEW cleared, and it is preempted too. */
static void queues_created_mid_run(void **s)
{
	(void)s;
	setup_run("[process late]\nclass = offline\npriority = 0\narrival = continuous\nkernels = "
		  "20\n"
		  "kernel_time = normal 1ms 300us\nblocks = 160\nstart = 1s\n",
		  1, &r, 0);
	nothing_lost(&r);
	assert_int_equal(sim_result_counter(&r, "enables"), 3);
	assert_int_equal(sim_result_counter(&r, "refused_calls"), 0);
	assert_int_equal(r.mon.failures, 0);
}

/* The daemon dies at 1.2 s: KFD disables debugging on its targets and resumes their queues. */
static void daemon_dies(void **s)
{
	(void)s;
	for (int stage = 1; stage <= 2; stage++) {
		setup_run("[scheduler]\ndie_at = 1200ms\n", stage, &r, 0);
		nothing_lost(&r);
	}
}

/* In-process mode: both processes run the HSA shim, the daemon is not root. No ptrace and no
 * CAP_SYS_PTRACE, yet stage 1 works: each shim runs DBG_TRAP on itself for the daemon (through
 * the real wire code) and grants it process_vm_readv with PR_SET_PTRACER. */
static void in_process_without_root(void **s)
{
	(void)s;
	baseline();
	setup_run("[kfd]\nroot = no\nshim = train\nshim = web\n", 1, &r, 0);
	nothing_lost(&r);
	assert_int_equal(sim_result_counter(&r, "blocked_processes"), 0);
	assert_int_equal(sim_result_counter(&r, "refused_calls"), 0);
	assert_true(sim_result_counter(&r, "agent_calls") > 10);
	assert_true(r.mon.suspends > 10);
	assert_int_equal(sim_result_counter(&r, "enables"), 2);
	if ((double)p99(&r) >= 0.85 * (double)p99(&base))
		fail_msg("p99 %.3f ms vs %.3f ms without gprio", p99(&r) / 1e6, p99(&base) / 1e6);
}

/* The offline process's shim loses gpriod at 1 s (it resumes its queues and disables debugging
 * on itself). As root the daemon falls back to ptrace and keeps preempting; without root that
 * process is left alone, blocked with the reason. Nothing is lost either way. */
static void shim_lost_falls_back(void **s)
{
	(void)s;
	setup_run("[kfd]\nshim = train\nshim_lost = train at 1s\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "agent_calls") > 0);
	assert_true(sim_result_counter(&r, "enables") >=
		    3); /* web observed, train in-process, train through ptrace */
	assert_true(r.mon.suspends > 10);
	uint64_t before = r.mon.suspends;
	setup_run("[kfd]\nroot = no\nshim = train\nshim_lost = train at 1s\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "blocked_processes") > 0);
	assert_true(r.mon.suspends < before);
}

/* A kernel before the 6.12.103 stable fix refuses every DBG_TRAP op but DISABLE from a
 * registered debugger that left ptrace (kfd_ioctl_set_debug_trap()). On 6.12.90 gprio knows it
 * from the release and never enables a process through ptrace; on a series it cannot judge
 * (6.6.50, modelled without a backport) it learns it from the first refusal, disables
 * debugging again and tries nobody else. Either way no process stays debug-enabled, none
 * hangs at exit, nothing is lost, and a process with its HSA shim is still preempted. */
static void old_kernel_detach_rule(void **s)
{
	(void)s;
	setup_run("[kfd]\nkernel = 6.12.90\nexit = train at 1500ms\n", 1, &r, 0);
	nothing_lost(&r);
	assert_int_equal(sim_result_counter(&r, "enables"), 0);
	assert_true(sim_result_counter(&r, "detach_refused") >= 2);
	assert_int_equal(sim_result_counter(&r, "hung_at_exit"), 0);
	assert_int_equal(r.mon.suspends, 0);

	setup_run("[kfd]\nkernel = 6.6.50\nexit = train at 1500ms\n", 1, &r, 0);
	nothing_lost(&r);
	assert_int_equal(sim_result_counter(&r, "enables"), 1); /* the one that taught it */
	assert_true(sim_result_counter(&r, "detach_refused") >= 1);
	assert_int_equal(sim_result_counter(&r, "hung_at_exit"), 0);
	assert_int_equal(r.mon.suspends, 0);

	setup_run("[kfd]\nkernel = 6.12.90\nshim = train\nshim = web\n", 1, &r, 0);
	nothing_lost(&r);
	assert_int_equal(sim_result_counter(&r, "detach_refused"), 0);
	assert_true(r.mon.suspends > 10);

	setup_run("[kfd]\nkernel = 6.12.103\n", 1, &r, 0);
	assert_int_equal(sim_result_counter(&r, "detach_refused"), 0);
	assert_true(r.mon.suspends > 10);
}

static void detach_rule_by_release(void **s)
{
	(void)s;
	assert_int_equal(gprio_kfd_detach_rule("6.12.117"), GPRIO_KFD_DETACH_OK);
	assert_int_equal(gprio_kfd_detach_rule("6.12.103-amd64"), GPRIO_KFD_DETACH_OK);
	assert_int_equal(gprio_kfd_detach_rule("6.12.102"), GPRIO_KFD_DETACH_OLD);
	assert_int_equal(gprio_kfd_detach_rule("6.12.0-28-generic"), GPRIO_KFD_DETACH_OLD);
	assert_int_equal(gprio_kfd_detach_rule("6.12"), GPRIO_KFD_DETACH_OLD);
	assert_int_equal(gprio_kfd_detach_rule("6.1.0-41-amd64"), GPRIO_KFD_DETACH_UNKNOWN);
	assert_int_equal(gprio_kfd_detach_rule("6.16.3"), GPRIO_KFD_DETACH_UNKNOWN);
	assert_int_equal(gprio_kfd_detach_rule("x"), GPRIO_KFD_DETACH_UNKNOWN);
	assert_int_equal(gprio_kfd_detach_rule("6."), GPRIO_KFD_DETACH_UNKNOWN);
	assert_int_equal(gprio_kfd_detach_rule("6.12.9999999"), GPRIO_KFD_DETACH_UNKNOWN);
	assert_int_equal(gprio_kfd_detach_rule(NULL), GPRIO_KFD_DETACH_UNKNOWN);
}

/* The daemon dies while in-process processes are suspended: each shim sees the socket close and
 * resumes itself. */
static void daemon_dies_in_process(void **s)
{
	(void)s;
	setup_run("[scheduler]\ndie_at = 1200ms\n[kfd]\nshim = train\nshim = web\n", 1, &r, 0);
	nothing_lost(&r);
	assert_true(sim_result_counter(&r, "agent_calls") > 0);
}

static void variant_names(void **s)
{
	(void)s;
	struct sim_variant v;
	assert_int_equal(sim_variant_parse("priority:stage1", &v), 0);
	assert_int_equal(v.stage, 1);
	assert_int_equal(sim_variant_parse("share:stage2", &v), 0);
	assert_int_equal(v.stage, 2);
	assert_ptr_equal(v.policy, gprio_policy_find("share"));
	assert_int_equal(sim_variant_parse("priority:stage3", &v), 0);
	assert_int_equal(v.stage, 3);
	assert_int_equal(sim_variant_parse("priority:stage4", &v), -EINVAL);
}

/* [kfd] errors name the place and the value. */
static void kfd_section_errors(void **s)
{
	(void)s;
	static const struct {
		const char *text, *want;
	} bad[] = {
		{"[kfd]\nhws = maybe\n", "kfd.scn:28: hws: expected on or off, got 'maybe'"},
		{"[kfd]\nexit = nobody at 1s\n", "kfd.scn:28: [kfd]: no process named 'nobody'"},
		{"[kfd]\ndestroy = train 5 at 1s\n",
		 "kfd.scn:28: [kfd]: process 'train' has 2 queue(s), no queue 5"},
		{"[kfd]\nexit = train 1s\n",
		 "kfd.scn:28: exit: expected 'PROCESS at TIME', got 'train 1s'"},
		{"[kfd]\nversion = one\n",
		 "kfd.scn:28: version: expected MAJOR.MINOR such as 1.17, got 'one'"},
		{"[kfd]\nkernel = six\n",
		 "kfd.scn:28: kernel: expected a release such as 6.12.117 (uname -r), got 'six'"},
		{"[kfd]\nstage = 2\n", "kfd.scn:28: unknown key 'stage' in [kfd]"},
		{"[kfd]\nshim_lost = train\n",
		 "kfd.scn:28: shim_lost: expected 'PROCESS at TIME', got 'train'"},
		{"[kfd]\nshim = train web\n",
		 "kfd.scn:28: shim: expected 'PROCESS', got 'train web'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[4096];
		snprintf(text, sizeof(text), "%s%s", WORLD, bad[i].text);
		assert_int_equal(sim_scenario_parse(&sc, text, "kfd.scn", err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, bad[i].want))
			fail_msg("got '%s', wanted '%s'", err, bad[i].want);
	}
}

int main(void)
{
	sim_kfd_register();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stage1_works),
		cmocka_unit_test(stage2_works),
		cmocka_unit_test(stage3_configures_kfd),
		cmocka_unit_test(work_notes_make_stages_event_driven),
		cmocka_unit_test(old_kfd_refused),
		cmocka_unit_test(stage2_needs_root),
		cmocka_unit_test(no_hws),
		cmocka_unit_test(existing_debugger),
		cmocka_unit_test(no_runtime_enable),
		cmocka_unit_test(unprivileged),
		cmocka_unit_test(process_exits_mid_preemption),
		cmocka_unit_test(queue_destroyed_mid_preemption),
		cmocka_unit_test(queues_created_mid_run),
		cmocka_unit_test(daemon_dies),
		cmocka_unit_test(in_process_without_root),
		cmocka_unit_test(shim_lost_falls_back),
		cmocka_unit_test(daemon_dies_in_process),
		cmocka_unit_test(old_kernel_detach_rule),
		cmocka_unit_test(detach_rule_by_release),
		cmocka_unit_test(variant_names),
		cmocka_unit_test(kfd_section_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
