/* The simulator's report: a side-by-side table (text) or one JSON document. Baseline columns come
 * from the same seed: online alone and offline alone. */
#include <stdio.h>
#include <string.h>

#include "gprio/mechanism.h"
#include "sim.h"

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

/* Throughput the online work leaves offline: alone x (1 - online's GPU busy share alone). */
static double left_for_offline(const struct sim_compare *c)
{
	double share = c->have_online ? c->online_alone.online_busy_share : 0;
	return c->offline_alone.offline_iter_per_s * (1.0 - share);
}

static const char *preempt_desc(const struct sim_scenario *sc)
{
	if (sc->profile.arch == SIM_ARCH_AMD_CPSCH)
		return sc->profile.preempt == SIM_AMD_PER_QUEUE ? "per-queue unmap (patched KFD)"
								: "device-wide unmap (stock KFD)";
	if (sc->profile.mode == SIM_NV_MPS)
		return sc->mech_auto ? "MPS client priority (mechanism mps: no gating)"
				     : "MPS, launch gating";
	return "TSG timeslice + launch gating";
}

#define COLS (SIM_MAX_VARIANTS + 1) /* alone, then each variant */

/* The baseline of process i: its own run alone (online alone or offline alone). */
static const struct sim_proc_result *alone_of(const struct sim_compare *c, const char *name)
{
	const struct sim_result *b[2] = {c->have_online ? &c->online_alone : NULL,
					 c->have_offline ? &c->offline_alone : NULL};
	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; b[k] && i < b[k]->nprocs; i++)
			if (strcmp(b[k]->procs[i].name, name) == 0)
				return &b[k]->procs[i];
	return NULL;
}

/* Starved: a process that made progress alone (requests online, iterations offline) and made
 * none in this run. Their names go to out (if given); returns how many. */
static uint32_t starved(const struct sim_compare *c, const struct sim_result *r, const char **out,
			uint32_t cap)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->nprocs; i++) {
		const struct sim_proc_result *p = &r->procs[i], *a = alone_of(c, p->name);
		bool online = p->klass == GPRIO_CLASS_ONLINE;
		uint64_t alone = a ? (online ? a->requests : a->iterations) : 0;
		uint64_t here = online ? p->requests : p->iterations;
		if (alone > 0 && here == 0) {
			if (out && n < cap)
				out[n] = p->name;
			n++;
		}
	}
	return n;
}

/* Per process and column: what it got done (requests online, iterations offline), its p99
 * (online), its share of the GPU, and STARVED where it got nothing it got alone. */
static void per_process(FILE *f, const struct sim_compare *c, const struct sim_result *const *col,
			const char *const *name, int n)
{
	const struct sim_result *any = NULL;
	for (int i = 0; i < n && !any; i++)
		any = col[i];
	if (!any || any->nprocs < 2)
		return;
	fprintf(f, "\nper process: done (requests or iterations), p99 ms, GPU share\n%-28s", "");
	for (int i = 0; i < n; i++)
		fprintf(f, "%24s", name[i]);
	fprintf(f, "\n");
	for (uint32_t k = 0; k < any->nprocs; k++) {
		const char *pname = any->procs[k].name;
		bool online = any->procs[k].klass == GPRIO_CLASS_ONLINE;
		fprintf(f, "%-20.20s %-7s", pname, online ? "online" : "offline");
		for (int i = 0; i < n; i++) {
			const struct sim_proc_result *p =
				col[i] ? &col[i]->procs[k] : alone_of(c, pname);
			char cell[64];
			if (!p) {
				fprintf(f, "%24s", "-");
				continue;
			}
			uint64_t done = online ? p->requests : p->iterations;
			const struct sim_proc_result *a = alone_of(c, pname);
			uint64_t alone = a ? (online ? a->requests : a->iterations) : 0;
			if (col[i] && alone > 0 && done == 0)
				snprintf(cell, sizeof(cell), "STARVED");
			else if (online && p->latency.count)
				snprintf(cell, sizeof(cell), "%llu %.2f %.3f",
					 (unsigned long long)done,
					 ms(gprio_hist_permille(&p->latency, 990)), p->busy_share);
			else
				snprintf(cell, sizeof(cell), "%llu - %.3f",
					 (unsigned long long)done, p->busy_share);
			fprintf(f, "%24s", cell);
		}
		fprintf(f, "\n");
	}
}

void sim_report_text(FILE *f, const struct sim_scenario *sc, const struct sim_compare *c)
{
	fprintf(f, "gprio sim %s\n", sc->path);
	fprintf(f, "  profile %s, %s; seed %llu; simulated %.1f s (+%.1f s warm-up)\n",
		sc->profile.name, preempt_desc(sc), (unsigned long long)sc->seed,
		(double)(sc->duration - sc->warmup) / 1e9, (double)sc->warmup / 1e9);
	fprintf(f, "  monitor: poll %.3f ms, %s, hysteresis %.3f ms", ms(sc->sched.poll),
		sc->sched.events ? "event wake-ups on" : "poll only",
		ms(sc->sched.policy.hysteresis));
	if (sc->die_at != GPRIO_NS_NEVER)
		fprintf(f, ", controller dies at %.3f s", (double)sc->die_at / 1e9);
	fprintf(f, "\n");
	for (uint32_t i = 0; i < c->nruns; i++)
		if (c->runs[i].ctl_name[0] && sim_stage_controller()) {
			fprintf(f, "%s", sim_stage_controller()->note);
			break;
		}
	for (uint32_t i = 0; i < c->nruns; i++)
		if (c->runs[i].monitor_cpu_share > 0) {
			fprintf(f,
				"  :stage3 = the in-kernel monitor (kernel/amdkfd/0005): the same "
				"policy in "
				"KFD, every %.3f ms, hysteresis %.3f ms, per-queue unmap, no "
				"system call; "
				"its CPU is modelled (%u ns a tick + %u ns a queue), not "
				"measured\n",
				ms(SIM_STAGE3_PERIOD), ms(SIM_STAGE3_HYSTERESIS),
				SIM_STAGE3_TICK_NS, SIM_STAGE3_QUEUE_NS);
			break;
		}
	fprintf(f, "\n");

	const struct sim_result *col[COLS];
	const char *name[COLS];
	int n = 0;
	if (c->have_online || c->have_offline) {
		col[n] = NULL;
		name[n++] = "alone";
	}
	for (uint32_t i = 0; i < c->nruns && n < COLS; i++) {
		col[n] = &c->runs[i];
		name[n++] = c->runs[i].policy;
	}
	fprintf(f, "%-28s", "");
	for (int i = 0; i < n; i++)
		fprintf(f, "%19s", name[i]);
	fprintf(f, "\n");

#define ROW(label, fmt, expr_alone, expr)                      \
	do {                                                   \
		fprintf(f, "%-28s", label);                    \
		for (int i = 0; i < n; i++) {                  \
			const struct sim_result *r = col[i];   \
			if (r)                                 \
				fprintf(f, fmt, (expr));       \
			else                                   \
				fprintf(f, fmt, (expr_alone)); \
		}                                              \
		fprintf(f, "\n");                              \
	} while (0)

/* A number where there is one to show, "-" where there is none (no samples, no baseline, or
 * a scheduler figure in the alone column): never a 0 that reads as a result. */
#define ROWD(label, fmt, have_alone, v_alone, have, v)                                \
	do {                                                                          \
		fprintf(f, "%-28s", label);                                           \
		for (int i = 0; i < n; i++) {                                         \
			const struct sim_result *r = col[i];                          \
			bool h_ = r ? (bool)(have) : (bool)(have_alone);              \
			if (h_)                                                       \
				fprintf(f, fmt, r ? (double)(v) : (double)(v_alone)); \
			else                                                          \
				fprintf(f, "%19s", "-");                              \
		}                                                                     \
		fprintf(f, "\n");                                                     \
	} while (0)

	const struct sim_result *on = &c->online_alone, *off = &c->offline_alone;
	double left = left_for_offline(c);
	if (c->have_online) {
		ROW("online requests", "%19llu", (unsigned long long)on->online_latency.count,
		    (unsigned long long)r->online_latency.count);
		ROWD("online p50 (ms)", "%19.3f", on->online_latency.count,
		     ms(gprio_hist_permille(&on->online_latency, 500)), r->online_latency.count,
		     ms(gprio_hist_permille(&r->online_latency, 500)));
		ROWD("online p90 (ms)", "%19.3f", on->online_latency.count,
		     ms(gprio_hist_permille(&on->online_latency, 900)), r->online_latency.count,
		     ms(gprio_hist_permille(&r->online_latency, 900)));
		ROWD("online p99 (ms)", "%19.3f", on->online_latency.count,
		     ms(gprio_hist_permille(&on->online_latency, 990)), r->online_latency.count,
		     ms(gprio_hist_permille(&r->online_latency, 990)));
		ROWD("online max (ms)", "%19.3f", on->online_latency.count,
		     ms(on->online_latency.max), r->online_latency.count,
		     ms(r->online_latency.max));
		double p99a = (double)gprio_hist_permille(&on->online_latency, 990);
		ROWD("online p99 / alone", "%19.2f", p99a > 0, 1.0,
		     p99a > 0 && r->online_latency.count,
		     (double)gprio_hist_permille(&r->online_latency, 990) / p99a);
		ROW("online GPU busy share", "%19.3f", on->online_busy_share, r->online_busy_share);
	}
	if (c->have_offline) {
		ROW("offline iterations/s", "%19.2f", off->offline_iter_per_s,
		    r->offline_iter_per_s);
		ROWD("offline / alone", "%19.3f", off->offline_iter_per_s > 0, 1.0,
		     off->offline_iter_per_s > 0, r->offline_iter_per_s / off->offline_iter_per_s);
		ROWD("offline / left by online", "%19.3f", left > 0, off->offline_iter_per_s / left,
		     left > 0, r->offline_iter_per_s / left);
	}
	ROWD("starved processes", "%19.0f", false, 0.0, true, (double)starved(c, r, NULL, 0));
	ROWD("suspend requests", "%19.0f", false, 0.0, true, (double)r->mon.suspends);
	ROWD("preempt latency p50 (us)", "%19.1f", false, 0.0, r->mon.preempt_lat.count,
	     us(gprio_hist_permille(&r->mon.preempt_lat, 500)));
	ROWD("preempt latency p99 (us)", "%19.1f", false, 0.0, r->mon.preempt_lat.count,
	     us(gprio_hist_permille(&r->mon.preempt_lat, 990)));
	ROWD("preempt latency max (us)", "%19.1f", false, 0.0, r->mon.preempt_lat.count,
	     us(r->mon.preempt_lat.max));
	ROW("hardware preemptions", "%19llu", 0ull, (unsigned long long)r->hw_preemptions);
	if (sc->profile.arch == SIM_ARCH_AMD_CPSCH)
		ROW("device-wide unmaps", "%19llu", 0ull, (unsigned long long)r->device_wide_ops);
	else
		ROW("context switches", "%19llu",
		    (unsigned long long)(on->ctx_switches + off->ctx_switches),
		    (unsigned long long)r->ctx_switches);
	if (sc->profile.arch == SIM_ARCH_NV_TSG && sc->mech_auto) {
		/* gpriod's per-GPU chooser: where it ended and how often it changed its mind */
		ROW("mechanism at the end", "%19s", "-",
		    r->mech_changes ? gprio_mech_name((enum gprio_mech)r->mech) : "-");
		ROW("mechanism changes", "%19u", 0u, r->mech_changes);
		ROWD("time under tsg (%)", "%19.1f", false, 0.0, r->sim_time,
		     100.0 * (double)r->mech_ns[GPRIO_USE_TSG] / (double)r->sim_time);
	}
	/* the controller's own counters: rows from the first run that has them (a run without
	 * a controller shows 0) */
	const struct sim_result *cr = NULL;
	for (uint32_t i = 0; i < c->nruns && !cr; i++)
		if (c->runs[i].nctl)
			cr = &c->runs[i];
	for (uint32_t k = 0; cr && k < cr->nctl; k++) {
		if (!cr->ctl[k].label)
			continue;
		const char *key = cr->ctl[k].key;
		ROW(cr->ctl[k].label, "%19llu", 0ull,
		    (unsigned long long)sim_result_counter(r, key));
	}
	ROWD("monitor ticks", "%19.0f", false, 0.0, true, (double)r->mon.ticks);
	ROWD("monitor event wake-ups", "%19.0f", false, 0.0, true, (double)r->mon.event_wakeups);
	ROWD("monitor CPU, modelled (%)", "%19.2f", false, 0.0, r->monitor_cpu_share > 0,
	     100.0 * r->monitor_cpu_share);
	ROWD("suspend timeouts", "%19.0f", false, 0.0, true, (double)r->mon.timeouts);
	ROW("GPU resets", "%19llu", (unsigned long long)(on->resets + off->resets),
	    (unsigned long long)r->resets);
	ROW("kernels completed", "%19llu", (unsigned long long)(on->completed + off->completed),
	    (unsigned long long)r->completed);
	ROW("work lost (kernels)", "%19llu", (unsigned long long)(on->lost + off->lost),
	    (unsigned long long)r->lost);
	ROW("order violations", "%19llu",
	    (unsigned long long)(on->order_violations + off->order_violations),
	    (unsigned long long)r->order_violations);
	ROW("queues held at end", "%19llu",
	    (unsigned long long)(on->held_at_end + off->held_at_end),
	    (unsigned long long)r->held_at_end);
	ROW("sim events", "%19llu", (unsigned long long)(on->events + off->events),
	    (unsigned long long)r->events);
	ROW("wall time (s)", "%19.3f", on->wall_s + off->wall_s, r->wall_s);
#undef ROW
#undef ROWD
	per_process(f, c, col, name, n);
}

static void json_hist(FILE *f, const struct gprio_hist *h)
{
	fprintf(f,
		"{\"count\": %llu, \"p50_ms\": %.6f, \"p90_ms\": %.6f, \"p99_ms\": %.6f, "
		"\"max_ms\": %.6f, \"mean_ms\": %.6f}",
		(unsigned long long)h->count, ms(gprio_hist_permille(h, 500)),
		ms(gprio_hist_permille(h, 900)), ms(gprio_hist_permille(h, 990)),
		ms(h->count ? h->max : 0), ms(gprio_hist_mean(h)));
}

/* A JSON string: quotes, backslashes and control characters escaped (names and paths come
 * from the user). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_result(FILE *f, const struct sim_compare *c, const struct sim_result *r,
			double left, double alone_tput, uint64_t alone_p99)
{
	fprintf(f, "{\"policy\": \"%s\", \"online_latency\": ", r->policy);
	json_hist(f, &r->online_latency);
	uint64_t p99 = gprio_hist_permille(&r->online_latency, 990);
	fprintf(f, ", \"online_p99_vs_alone\": %.4f",
		alone_p99 ? (double)p99 / (double)alone_p99 : 0);
	fprintf(f, ", \"online_busy_share\": %.4f", r->online_busy_share);
	fprintf(f, ", \"offline_iter_per_s\": %.4f", r->offline_iter_per_s);
	fprintf(f, ", \"offline_vs_alone\": %.4f",
		alone_tput > 0 ? r->offline_iter_per_s / alone_tput : 0);
	fprintf(f, ", \"offline_vs_left\": %.4f", left > 0 ? r->offline_iter_per_s / left : 0);
	/* processes that got nothing done here although they did alone (never in a baseline) */
	const char *names[SIM_MAX_PROCS];
	bool baseline = r == &c->online_alone || r == &c->offline_alone;
	uint32_t ns = baseline ? 0 : starved(c, r, names, SIM_MAX_PROCS);
	fprintf(f, ", \"starved_processes\": [");
	for (uint32_t i = 0; i < ns && i < SIM_MAX_PROCS; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, names[i]);
	}
	fprintf(f, "]");
	fprintf(f, ", \"processes\": [");
	for (uint32_t i = 0; i < r->nprocs; i++) {
		const struct sim_proc_result *p = &r->procs[i];
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		json_str(f, p->name);
		fprintf(f,
			", \"class\": \"%s\", \"requests\": %llu, "
			"\"iterations\": %llu, \"kernels\": %llu, \"busy_share\": %.4f, "
			"\"latency\": ",
			gprio_class_name(p->klass), (unsigned long long)p->requests,
			(unsigned long long)p->iterations, (unsigned long long)p->kernels,
			p->busy_share);
		json_hist(f, &p->latency);
		fprintf(f, "}");
	}
	fprintf(f,
		"], \"monitor\": {\"ticks\": %llu, \"event_wakeups\": %llu, \"inversions\": %llu, "
		"\"suspends\": %llu, \"resumes\": %llu, \"suspend_calls\": %llu, "
		"\"resume_calls\": %llu, \"timeouts\": %llu, \"failures\": %llu, "
		"\"share_releases\": %llu, \"preempt_latency_us\": {\"p50\": %.3f, \"p99\": %.3f, "
		"\"max\": %.3f}, \"cpu_share_modelled\": %.5f}",
		(unsigned long long)r->mon.ticks, (unsigned long long)r->mon.event_wakeups,
		(unsigned long long)r->mon.inversions, (unsigned long long)r->mon.suspends,
		(unsigned long long)r->mon.resumes, (unsigned long long)r->mon.suspend_calls,
		(unsigned long long)r->mon.resume_calls, (unsigned long long)r->mon.timeouts,
		(unsigned long long)r->mon.failures, (unsigned long long)r->mon.share_releases,
		us(gprio_hist_permille(&r->mon.preempt_lat, 500)),
		us(gprio_hist_permille(&r->mon.preempt_lat, 990)), us(r->mon.preempt_lat.max),
		r->monitor_cpu_share);
	fprintf(f,
		", \"hw_preemptions\": %llu, \"device_wide_unmaps\": %llu, \"context_switches\": "
		"%llu"
		", \"gpu_resets\": %llu, \"kernels_submitted\": %llu, \"kernels_completed\": %llu"
		", \"work_lost\": %llu, \"order_violations\": %llu, \"held_at_end\": %llu"
		", \"events\": %llu, \"wall_s\": %.4f",
		(unsigned long long)r->hw_preemptions, (unsigned long long)r->device_wide_ops,
		(unsigned long long)r->ctx_switches, (unsigned long long)r->resets,
		(unsigned long long)r->submitted, (unsigned long long)r->completed,
		(unsigned long long)r->lost, (unsigned long long)r->order_violations,
		(unsigned long long)r->held_at_end, (unsigned long long)r->events, r->wall_s);
	if (r->mech_changes)
		fprintf(f, ", \"mechanism\": {\"final\": \"%s\", \"changes\": %u, \"tsg_s\": %.3f}",
			gprio_mech_name((enum gprio_mech)r->mech), r->mech_changes,
			(double)r->mech_ns[GPRIO_USE_TSG] / 1e9);
	if (r->ctl_name[0]) {
		fprintf(f, ", \"%s\": {\"stage\": %d", r->ctl_name, r->ctl_stage);
		for (uint32_t k = 0; k < r->nctl; k++)
			if (r->ctl[k].json)
				fprintf(f, ", \"%s\": %llu", r->ctl[k].key,
					(unsigned long long)r->ctl[k].value);
		fprintf(f, "}");
	}
	fprintf(f, "}");
}

void sim_report_json(FILE *f, const struct sim_scenario *sc, const struct sim_compare *c)
{
	double left = left_for_offline(c);
	double alone_tput = c->have_offline ? c->offline_alone.offline_iter_per_s : 0;
	uint64_t alone_p99 =
		c->have_online ? gprio_hist_permille(&c->online_alone.online_latency, 990) : 0;
	fprintf(f, "{\"scenario\": ");
	json_str(f, sc->path);
	fprintf(f,
		", \"profile\": \"%s\", \"preemption\": \"%s\", \"seed\": "
		"%llu, "
		"\"simulated_s\": %.3f, \"warmup_s\": %.3f, \"poll_ms\": %.3f, \"events\": %s, "
		"\"hysteresis_ms\": %.3f, \"offline_left_by_online_iter_per_s\": %.4f",
		sc->profile.name, preempt_desc(sc), (unsigned long long)sc->seed,
		(double)(sc->duration - sc->warmup) / 1e9, (double)sc->warmup / 1e9,
		ms(sc->sched.poll), sc->sched.events ? "true" : "false",
		ms(sc->sched.policy.hysteresis), left);
	fprintf(f, ", \"online_alone\": ");
	if (c->have_online)
		json_result(f, c, &c->online_alone, left, alone_tput, alone_p99);
	else
		fprintf(f, "null");
	fprintf(f, ", \"offline_alone\": ");
	if (c->have_offline)
		json_result(f, c, &c->offline_alone, left, alone_tput, alone_p99);
	else
		fprintf(f, "null");
	fprintf(f, ", \"runs\": [");
	for (uint32_t i = 0; i < c->nruns; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_result(f, c, &c->runs[i], left, alone_tput, alone_p99);
	}
	fprintf(f, "]}\n");
}
