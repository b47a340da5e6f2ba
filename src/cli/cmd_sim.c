/* gprio sim / gprio profiles. The report is printed only once every run succeeded, so an error
 * never leaves partial output on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/sim_kfd.h"
#include "cmd.h"
#include "../sim/sim.h"
#include "../util/number.h"

static int usage_err(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "gprio sim: %s: %s%s%s\n", opt, want, val ? ", got " : "", val ? val : "");
	return 2;
}

/* The policies (from the policy table) and the variants a --compare column may carry. */
static const char *variant_help(void)
{
	static char buf[256];
	char names[128];
	gprio_policy_names(names, sizeof(names));
	snprintf(buf, sizeof(buf),
		 "expected one of %s, optionally with :poll, :events, :stage1, :stage2, :stage1ev, "
		 ":stage2ev or "
		 ":stage3",
		 names);
	return buf;
}

static const char *variant_limit(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "at most %d policies", SIM_MAX_VARIANTS);
	return buf;
}

static void emit_line(void *ctx, const char *line)
{
	fprintf((FILE *)ctx, "%s\n", line);
}

int gprio_cmd_profiles(int argc, char **argv)
{
	const char *const *names = sim_profile_names();
	for (int i = 0; names[i]; i++) {
		if (argc > 1 && strcmp(argv[1], names[i]) != 0)
			continue;
		struct sim_profile p;
		sim_profile_get(names[i], &p);
		sim_profile_describe(&p, emit_line, stdout);
	}
	if (argc > 1) {
		struct sim_profile p;
		if (sim_profile_get(argv[1], &p)) {
			fprintf(stderr, "gprio profiles: unknown profile '%s'\n", argv[1]);
			return 2;
		}
	}
	return 0;
}

int gprio_cmd_sim(int argc, char **argv)
{
	const char *path = NULL, *profile = NULL, *policy = NULL, *compare = NULL, *seed = NULL;
	const char *duration = NULL, *poll = NULL, *poll_t = NULL, *events = NULL, *preempt = NULL;
	sim_kfd_register(); /* stages 1 and 2: the amdkfd backend on the simulated KFD */
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--json") == 0) {
			json = true;
			continue;
		}
		if (strcmp(a, "--profile") == 0)
			slot = &profile;
		else if (strcmp(a, "--policy") == 0)
			slot = &policy;
		else if (strcmp(a, "--compare") == 0)
			slot = &compare;
		else if (strcmp(a, "--seed") == 0)
			slot = &seed;
		else if (strcmp(a, "--duration") == 0)
			slot = &duration;
		else if (strcmp(a, "--poll-ms") == 0)
			slot = &poll;
		else if (strcmp(a, "--poll") == 0)
			slot = &poll_t;
		else if (strcmp(a, "--events") == 0)
			slot = &events;
		else if (strcmp(a, "--preempt") == 0)
			slot = &preempt;
		else if (a[0] == '-' && a[1])
			return usage_err(a, NULL, "unknown option (see 'gprio help')");
		else if (path)
			return usage_err(a, NULL, "only one scenario file can be given");
		else {
			path = a;
			continue;
		}
		if (i + 1 >= argc)
			return usage_err(a, NULL, "needs a value");
		*slot = argv[++i];
	}
	if (policy && compare)
		return usage_err("--policy", policy, "give either --policy or --compare, not both");

	static struct sim_scenario sc;
	char err[SIM_ERR_LEN];
	int rc = path ? sim_scenario_load(&sc, path, err, sizeof(err))
		      : sim_scenario_parse(&sc, gprio_default_scenario, gprio_default_scenario_name,
					   err, sizeof(err));
	if (rc) {
		fprintf(stderr, "gprio sim: %s\n", err);
		return 1;
	}
	int status = 0;
	if (sim_scenario_finalize(&sc, profile, err, sizeof(err))) {
		fprintf(stderr, "gprio sim: %s\n", err);
		status = profile ? 2 : 1;
	}
	if (!status && seed) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(seed, &end, 10);
		if (errno || *end || seed[0] == '-' || !*seed)
			status = usage_err("--seed", seed, "expected a non-negative integer");
		else
			sc.seed = v;
	}
	if (!status && duration) {
		gprio_ns d;
		if (gprio_parse_duration(duration, &d) || d <= sc.warmup)
			status = usage_err("--duration", duration,
					   "expected a duration longer than the warm-up, e.g. 30s");
		else
			sc.duration = d;
	}
	if (!status && poll_t) {
		if (gprio_parse_duration_in(poll_t, GPRIO_NS_PER_US, 10 * GPRIO_NS_PER_S,
					    &sc.sched.poll))
			status = usage_err("--poll", poll_t,
					   "expected a duration 1us..10s, e.g. 5ms");
	}
	if (!status && poll) {
		double v;
		if (!gprio_parse_number(poll, 0.001, 10000, &v))
			status = usage_err("--poll-ms", poll, "expected milliseconds 0.001..10000");
		else
			sc.sched.poll = (gprio_ns)(v * 1e6);
	}
	if (!status && events) {
		if (strcmp(events, "on") == 0)
			sc.sched.events = true;
		else if (strcmp(events, "off") == 0)
			sc.sched.events = false;
		else
			status = usage_err("--events", events, "expected on or off");
	}
	if (!status && preempt) {
		if (sc.profile.arch != SIM_ARCH_AMD_CPSCH)
			status = usage_err("--preempt", preempt,
					   "only AMD profiles have a preemption variant");
		else if (strcmp(preempt, "device-wide") == 0)
			sc.profile.preempt = SIM_AMD_DEVICE_WIDE;
		else if (strcmp(preempt, "per-queue") == 0)
			sc.profile.preempt = SIM_AMD_PER_QUEUE;
		else
			status = usage_err("--preempt", preempt,
					   "expected device-wide or per-queue");
	}
	struct sim_variant v[SIM_MAX_VARIANTS];
	uint32_t nv = 0;
	if (!status) {
		const char *list = compare ? compare : policy;
		if (!list) {
			v[nv++] = (struct sim_variant){sc.sched.policy.policy, -1, 0, false};
		} else {
			char buf[256];
			snprintf(buf, sizeof(buf), "%s", list);
			for (char *t = strtok(buf, ","); t && !status; t = strtok(NULL, ",")) {
				if (nv == SIM_MAX_VARIANTS)
					status = usage_err(compare ? "--compare" : "--policy", list,
							   variant_limit());
				else if (sim_variant_parse(t, &v[nv++]))
					status = usage_err(compare ? "--compare" : "--policy", t,
							   variant_help());
			}
			if (!status && nv == 0)
				status = usage_err("--compare", list, "expected a policy list");
		}
	}
	if (!status) {
		static struct sim_compare cmp;
		if (sim_compare_run(&sc, v, nv, &cmp, err, sizeof(err))) {
			fprintf(stderr, "gprio sim: %s\n", err);
			status = 1;
		} else if (json) {
			sim_report_json(stdout, &sc, &cmp);
		} else {
			sim_report_text(stdout, &sc, &cmp);
		}
	}
	sim_scenario_free(&sc);
	return status;
}
