/* Scenario parsing: documented syntax accepted; every malformed input rejected with the file,
 * line and value in the message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/sim/sim.h"

static struct sim_scenario sc;
static char err[SIM_ERR_LEN];

static const char *good =
	"# comment\n"
	"[sim]\nprofile = h100\nduration = 2s\nwarmup = 100ms\nseed = 42\n"
	"[gpu]\nmode = mps\nctx_switch = 200us\n"
	"[scheduler]\npolicy = share\npoll = 1ms\nevents = off\nhysteresis = 300us\n"
	"share = 25%\nwindow = 50ms\n"
	"[process web]   # trailing comment\nclass = online\narrival = poisson 100/s\n"
	"kernels = 3\nkernel_time = uniform 10us 20us\nblocks = normal 10 2\ngap = exp 5us\n"
	"[process train]\nclass = offline\npriority = 3\nqueues = 2\narrival = continuous\n"
	"inflight = 6\ntimeslice = 1us\n";

static void parses_documented_syntax(void **s)
{
	(void)s;
	assert_int_equal(sim_scenario_parse(&sc, good, "good.scn", err, sizeof(err)), 0);
	assert_int_equal(sim_scenario_finalize(&sc, NULL, err, sizeof(err)), 0);
	assert_string_equal(sc.profile.name, "h100");
	assert_int_equal(sc.profile.mode, SIM_NV_MPS);
	assert_int_equal(sc.profile.ctx_switch, 200 * GPRIO_NS_PER_US);
	assert_int_equal(sc.duration, 2 * GPRIO_NS_PER_S);
	assert_int_equal(sc.seed, 42);
	assert_ptr_equal(sc.sched.policy.policy, gprio_policy_find("share"));
	assert_int_equal(sc.sched.policy.share_permille, 250);
	assert_false(sc.sched.events);
	assert_int_equal(sc.nprocs, 2);
	assert_int_equal(sc.procs[0].priority, 11);
	assert_int_equal(sc.procs[0].arrival, SIM_ARRIVE_POISSON);
	assert_true(sc.procs[0].rate == 100.0);
	assert_int_equal(sc.procs[0].kernel_time.kind, SIM_DIST_UNIFORM);
	assert_int_equal(sc.procs[1].priority, 3);
	assert_int_equal(sc.procs[1].queues, 2);
	assert_int_equal(sc.procs[1].timeslice, GPRIO_NS_PER_US);
	sim_scenario_free(&sc);
}

static void durations(void **s)
{
	(void)s;
	gprio_ns v;
	assert_int_equal(gprio_parse_duration("1.5s", &v), 0);
	assert_int_equal(v, 1500000000ull);
	assert_int_equal(gprio_parse_duration("250us", &v), 0);
	assert_int_equal(v, 250000ull);
	assert_int_equal(gprio_parse_duration("0", &v), 0);
	assert_int_equal(gprio_parse_duration("5", &v), -EINVAL);
	assert_int_equal(gprio_parse_duration("-1ms", &v), -EINVAL);
	assert_int_equal(gprio_parse_duration("1 ms", &v), -EINVAL);
	assert_int_equal(gprio_parse_duration("1h", &v), -EINVAL);
}

/* Each bad input: the error must name file:line and contain the offending text. */
static void expect_error(const char *text, const char *where, const char *what)
{
	memset(&sc, 0, sizeof(sc));
	int rc = sim_scenario_parse(&sc, text, "bad.scn", err, sizeof(err));
	if (rc)
		assert_int_equal(sc.nprocs, 0); /* a failed parse leaves nothing partial */
	else
		rc = sim_scenario_finalize(&sc, NULL, err, sizeof(err));
	if (rc == 0)
		fail_msg("accepted: %s", text);
	if (!strstr(err, where) || !strstr(err, what))
		fail_msg("message '%s' lacks '%s' or '%s'", err, where, what);
	sim_scenario_free(&sc);
}

#define P "[process a]\nclass = online\narrival = poisson 1/s\n"

static void rejects_bad_input(void **s)
{
	(void)s;
	expect_error("[sim]\nduration = 10 s\n" P, "bad.scn:2:", "'10 s'");
	expect_error("[sim]\nprofile = a100\n" P, "bad.scn:2:", "'a100'");
	expect_error("[simm]\n" P, "bad.scn:1:", "simm");
	expect_error("[sim]\nfoo = 1\n" P, "bad.scn:2:", "'foo'");
	expect_error("[sim]\nseed = -3\n" P, "bad.scn:2:", "'-3'");
	expect_error("duration = 1s\n" P, "bad.scn:1:", "duration");
	expect_error("[sim]\nthis is not a pair\n" P, "bad.scn:2:", "this is not a pair");
	expect_error("[scheduler]\npolicy = fifo\n" P, "bad.scn:2:", "'fifo'");
	expect_error("[scheduler]\nmechanism = tsg\n" P,
		     "bad.scn:2:", "unknown mechanism 'tsg' (known: auto, gate)");
	expect_error("[scheduler]\nshare = 150%\n" P, "bad.scn:2:", "'150%'");
	expect_error("[scheduler]\nevents = maybe\n" P, "bad.scn:2:", "'maybe'");
	expect_error("[scheduler]\npoll = 0\n" P, "bad.scn:2:", "'0'");
	expect_error(P "priority = 16\n", "bad.scn:4:", "'16'");
	expect_error(P "class = sometimes\n", "bad.scn:4:", "'sometimes'");
	expect_error(P "kernel_time = gamma 1ms\n", "bad.scn:4:", "'gamma 1ms'");
	expect_error(P "kernel_time = uniform 2ms 1ms\n", "bad.scn:4:", "'uniform 2ms 1ms'");
	/* found by scripts/fuzz.sh: a continuous job of empty kernels ran for hours */
	expect_error(P "kernel_time = normal 0ms 0us\n", "bad.scn:4:", "'normal 0ms 0us'");
	expect_error(P "kernel_time = 0us\n", "bad.scn:4:", "under 1us");
	expect_error(P "kernel_time = normal 501s 10us\n",
		     "bad.scn:4:", "'normal 501s 10us' reaches over 10s");
	expect_error(P "kernel_time = normal 1ms 20s\n", "bad.scn:4:", "reaches over 10s");
	expect_error(P "kernel_time = uniform 1ms 11s\n", "bad.scn:4:", "reaches over 10s");
	expect_error(P "blocks = 1324444444444444444444\n",
		     "bad.scn:4:", "blocks: '1324444444444444444444' reaches over 100000");
	expect_error(P "blocks = normal 100 200000\n", "bad.scn:4:", "reaches over 100000");
	expect_error(P "blocks = 0\n", "bad.scn:4:", "'0'");
	expect_error(P "queues = 0\n", "bad.scn:4:", "'0'");
	expect_error(P "timeslice = 2s\n", "bad.scn:4:", "'2s'");
	expect_error(P "startup = soon\n", "bad.scn:4:", "'soon'");
	expect_error(P "startup = 1s often 1ms\n", "bad.scn:4:", "'1s often 1ms'");
	expect_error(P "startup = 1s every 2s\n", "bad.scn:4:", "'2s'");
	expect_error(P "startup = 2h\n", "bad.scn:4:", "'2h'");
	expect_error("[process a]\nclass = offline\narrival = continuous\nstartup = 1s\n",
		     "bad.scn:1:", "'startup' needs requests");
	expect_error("[process a]\nclass = online\narrival = poisson fast\n",
		     "bad.scn:3:", "'poisson fast'");
	expect_error("[process a]\nclass = online\narrival = trace nope.txt\n",
		     "bad.scn:3:", "nope.txt");
	expect_error("[process a]\narrival = continuous\n", "bad.scn:1:", "'class'");
	expect_error("[process a]\nclass = offline\n", "bad.scn:1:", "'arrival'");
	expect_error(P P, "bad.scn:4:", "defined twice");
	expect_error("[sim]\nduration = 1s\n", "bad.scn", "no [process");
	expect_error("[sim]\nduration = 1s\nwarmup = 2s\n" P, "bad.scn:3:", "warmup");
	expect_error("[sim]\nwarmup = 2s\nduration = 1s\n" P, "bad.scn:3:", "warmup");
	/* no endless or unbounded inputs, no silent truncation, no negative versions */
	expect_error("[process a]\nclass = online\narrival = trace /dev/zero\n",
		     "bad.scn:3:", "not a regular file");
	expect_error("[process a]\nclass = online\narrival = trace /tmp\n",
		     "bad.scn:3:", "not a regular file");
	expect_error("[kfd]\nversion = -1.17\n" P, "bad.scn:2:", "'-1.17'");
	{
		static char text[1024];
		snprintf(text, sizeof(text),
			 "[process a]\nclass = online\narrival = poisson %0400d/s\n", 1);
		expect_error(text, "bad.scn:3:", "longer than 299");
		snprintf(text, sizeof(text), "[scheduler]\nshare = %060d\n" P, 5);
		expect_error(text, "bad.scn:2:", "percentage");
	}
	expect_error("[gpu]\npreempt = sometimes\n" P, "bad.scn:2:", "'sometimes'");
	expect_error("[gpu]\nmode = mps\n" P, "bad.scn:2:", "only for NVIDIA");
	expect_error("[gpu]\nslots = lots\n" P, "bad.scn:2:", "'lots'");
	expect_error("[gpu]\nwhatever = 1\n" P, "bad.scn:2:", "'whatever'");
	expect_error("[gpu]\nmps_offline_sm = 101\n" P, "bad.scn:2:", "1..100, got '101'");
}

static void trace_files(void **s)
{
	(void)s;
	char dir[] = "/tmp/gprio-test-XXXXXX", trace[64], scn[64];
	assert_non_null(mkdtemp(dir));
	snprintf(trace, sizeof(trace), "%s/test-trace.txt", dir);
	snprintf(scn, sizeof(scn), "%s/x.scn", dir); /* the trace resolves next to the scenario */
	FILE *f = fopen(trace, "w");
	assert_non_null(f);
	fputs("# arrivals\n0ms\n10ms\n10ms\n25.5ms\n", f);
	fclose(f);
	const char *text = "[process a]\nclass = online\narrival = trace test-trace.txt\n";
	assert_int_equal(sim_scenario_parse(&sc, text, scn, err, sizeof(err)), 0);
	assert_int_equal(sc.procs[0].ntrace, 4);
	assert_int_equal(sc.procs[0].trace[3], 25500000ull);
	sim_scenario_free(&sc);
	f = fopen(trace, "w");
	assert_non_null(f);
	fputs("0ms\n10ms\n5ms\n", f);
	fclose(f);
	assert_int_equal(sim_scenario_parse(&sc, text, scn, err, sizeof(err)), -EINVAL);
	remove(trace);
	rmdir(dir);
	assert_non_null(strstr(err, "test-trace.txt:3:"));
	assert_non_null(strstr(err, "'5ms'"));
}

static void shipped_examples_parse(void **s)
{
	(void)s;
	const char *ex[] = {"examples/mi308x-online-offline.scn",
			    "examples/h100-online-offline.scn", "examples/h100-launch-bound.scn",
			    "examples/mi308x-oversubscribed.scn"};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		if (sim_scenario_load(&sc, ex[i], err, sizeof(err)) ||
		    sim_scenario_finalize(&sc, NULL, err, sizeof(err)))
			fail_msg("%s", err);
		sim_scenario_free(&sc);
	}
	assert_int_equal(
		sim_scenario_parse(&sc, gprio_default_scenario, "default", err, sizeof(err)), 0);
	sim_scenario_free(&sc);
	assert_true(sim_scenario_load(&sc, "examples/does-not-exist.scn", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "does-not-exist.scn"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_documented_syntax), cmocka_unit_test(durations),
		cmocka_unit_test(rejects_bad_input),        cmocka_unit_test(trace_files),
		cmocka_unit_test(shipped_examples_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
