/* Running a scenario: the world in virtual time, driven by the real monitor (src/core) through
 * the sim backend, exactly as gpriod drives a real backend. Then the checks every run reports:
 * work lost, completions out of order, queues left held. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_backend.h"

static double wall_now(void)
{
	/* wall time only for the report's "how fast did the simulator run": never in the model */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void snapshot(struct sim_world *w, struct sim_result *r)
{
	const struct sim_scenario *sc = w->sc;
	double secs = (double)(sc->duration - sc->warmup) / 1e9;
	gprio_ns end = w->end;
	r->sim_time = sc->duration - sc->warmup;
	r->nprocs = w->np;
	gprio_hist_init(&r->online_latency);
	r->offline_iter_per_s = 0;
	for (uint32_t i = 0; i < w->np; i++) {
		struct sim_p *p = &w->p[i];
		struct sim_proc_result *pr = &r->procs[i];
		snprintf(pr->name, sizeof(pr->name), "%s", p->spec->name);
		pr->klass = p->spec->klass;
		pr->latency = p->lat;
		pr->requests = p->requests;
		pr->iterations = p->iterations;
		pr->kernels = p->kernels;
		gprio_ns busy = p->busy_ns;
		if (p->executing && end > p->busy_since)
			busy += end - p->busy_since;
		pr->busy_share = secs > 0 ? (double)busy / 1e9 / secs : 0;
		if (p->spec->klass == GPRIO_CLASS_ONLINE)
			gprio_hist_merge(&r->online_latency, &p->lat);
		else
			r->offline_iter_per_s += (double)p->iterations / secs;
	}
	gprio_ns ob = w->online_busy_ns;
	if (w->online_exec && end > w->online_busy_since)
		ob += end - w->online_busy_since;
	r->online_busy_share = secs > 0 ? (double)ob / 1e9 / secs : 0;
}

static const struct sim_controller *g_stage_controller;

void sim_register_stage_controller(const struct sim_controller *c)
{
	g_stage_controller = c;
}

const struct sim_controller *sim_stage_controller(void)
{
	return g_stage_controller;
}

uint64_t sim_result_counter(const struct sim_result *r, const char *key)
{
	for (uint32_t i = 0; i < r->nctl; i++)
		if (strcmp(r->ctl[i].key, key) == 0)
			return r->ctl[i].value;
	return 0;
}

/* The controller under test: the sim backend, or a registered one (the amdkfd backend on the
 * simulated KFD). */
struct controller {
	const struct gprio_backend_ops *ops;
	void *be;
	const struct sim_controller *c; /* NULL: the sim backend */
	void *st;
};

static int controller_init(struct controller *c, struct sim_world *w, const struct sim_scenario *sc,
			   char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->ops = &sim_backend_ops;
	c->be = w;
	if (sc->kfd.stage == 0)
		return 0;
	if (!g_stage_controller) {
		snprintf(err, errlen,
			 "%s: stage %d needs the simulated KFD, which this program does not "
			 "include",
			 sc->path, sc->kfd.stage);
		return -ENOTSUP;
	}
	int rc = g_stage_controller->init(&c->st, w, sc, &c->ops, &c->be, err, errlen);
	if (rc)
		return rc;
	c->c = g_stage_controller;
	return 0;
}

static void controller_free(struct controller *c)
{
	if (c->c) {
		c->c->free(c->st);
		c->c = NULL;
	}
}

int sim_run(const struct sim_scenario *sc, struct sim_result *res, char *err, size_t errlen)
{
	double t0 = wall_now();
	struct sim_world w;
	struct gprio_clock clk;
	struct controller ctl;
	struct gprio_monitor *m = calloc(1, sizeof(*m));
	memset(res, 0, sizeof(*res));
	int rc = m ? sim_world_init(&w, sc) : -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "out of memory building the simulated world");
		free(m);
		return rc;
	}
	rc = controller_init(&ctl, &w, sc, err, errlen);
	if (rc == 0) {
		sim_clock_init(&clk, &w);
		/* as gpriod's backends configure it: NVIDIA stamps its last launches itself */
		struct gprio_monitor_cfg mc = sc->sched;
		if (sc->profile.arch == SIM_ARCH_NV_TSG)
			mc.wptr_activity = false;
		rc = gprio_monitor_init(m, &mc, ctl.ops, ctl.be, &clk);
		if (rc) {
			snprintf(err, errlen, "%s: bad scheduler configuration", sc->path);
			controller_free(&ctl);
		}
	}
	if (rc) {
		sim_world_free(&w);
		free(m);
		return rc;
	}
	w.wl = &sim_workload_ops;
	sim_workload_start(&w);
	sim_push(&w, sc->duration, EV_END, 0, 0);

	while ((rc = gprio_monitor_step(m)) >= 0)
		;
	if (rc == -ECANCELED && w.now < w.end) {
		/* the controller died: the mechanism's own fail-open path puts everything back */
		w.controller = false;
		if (ctl.c)
			ctl.c->died(ctl.st);
		w.arch->fail_open(&w);
		rc = sim_world_run_until(&w, w.end, false);
	} else if (rc == -ECANCELED) {
		rc = gprio_monitor_release_all(m);
		/* and the offline turns end, as gpriod's do when it stops (NVIDIA only) */
		if (w.turns.turn != GPRIO_TURN_ALL)
			w.arch->fail_open(&w);
		if (ctl.c) {
			int rc2 = ctl.c->close(ctl.st);
			rc = rc < 0 ? rc : rc2;
		}
	}
	if (rc < 0 && rc != -ECANCELED) {
		snprintf(err, errlen, "simulation failed: %s", strerror(-rc));
		controller_free(&ctl);
		sim_world_free(&w);
		free(m);
		return rc;
	}
	snapshot(&w, res);
	res->mon = m->st;
	if (ctl.c) {
		snprintf(res->ctl_name, sizeof(res->ctl_name), "%s", ctl.c->name);
		ctl.c->results(ctl.st, res);
	}

	/* drain: no new work; everything submitted must complete, in order, and nothing stay held */
	w.stopping = true;
	rc = sim_world_run_until(&w, GPRIO_NS_NEVER, false);
	if (rc < 0) {
		snprintf(err, errlen, "simulation failed while draining: %s", strerror(-rc));
		controller_free(&ctl);
		sim_world_free(&w);
		free(m);
		return rc;
	}
	snprintf(res->policy, sizeof(res->policy), "%s%s%s",
		 gprio_policy_name(sc->sched.policy.policy),
		 sc->kfd.stage || sc->kernel_monitor ? ""
		 : sc->sched.events                  ? ""
						     : ":poll",
		 sc->kfd.stage == 1   ? (sc->kfd.notes ? ":stage1ev" : ":stage1")
		 : sc->kfd.stage == 2 ? (sc->kfd.notes ? ":stage2ev" : ":stage2")
		 : sc->kernel_monitor ? ":stage3"
				      : "");
	snprintf(res->profile, sizeof(res->profile), "%s", sc->profile.name);
	res->seed = sc->seed;
	res->poll_only = !sc->sched.events;
	if (sc->kernel_monitor && res->sim_time) {
		/* the modelled CPU of the in-kernel monitor over the measured window */
		double per_tick = SIM_STAGE3_TICK_NS + (double)SIM_STAGE3_QUEUE_NS * w.nq;
		double ticks = (double)res->sim_time / (double)sc->sched.poll;
		res->monitor_cpu_share = ticks * per_tick / (double)res->sim_time;
	}
	res->poll = sc->sched.poll;
	res->events = w.events;
	res->device_wide_ops = w.device_wide_ops;
	res->hw_preemptions = w.hw_preemptions;
	res->ctx_switches = w.ctx_switches;
	res->mech = (int)w.mst.mech;
	res->mech_changes = w.mech_changes;
	for (int mi = 0; mi < GPRIO_USE_COUNT; mi++)
		res->mech_ns[mi] = w.mech_ns[mi];
	res->resets = w.resets;
	res->submitted = w.submitted;
	res->completed = w.completed;
	res->lost = w.submitted - w.completed;
	res->order_violations = w.order_violations;
	for (uint32_t i = 0; i < w.nq; i++)
		if (w.q[i].held || w.q[i].hw_held)
			res->held_at_end++;
	controller_free(&ctl);
	sim_world_free(&w);
	free(m);
	res->wall_s = wall_now() - t0;
	return 0;
}

/* A copy of the scenario with only the processes of one class, scheduler off. */
static bool only_class(const struct sim_scenario *sc, enum gprio_class k, struct sim_scenario *out)
{
	*out = *sc;
	out->nprocs = 0;
	for (uint32_t i = 0; i < sc->nprocs; i++)
		if (sc->procs[i].klass == k)
			out->procs[out->nprocs++] = sc->procs[i];
	out->sched.policy.policy = &gprio_policy_none;
	return out->nprocs > 0;
}

int sim_variant_parse(const char *s, struct sim_variant *v)
{
	char buf[32];
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	char *colon = strchr(buf, ':');
	v->events = -1;
	v->stage = 0;
	v->notes = false;
	if (colon) {
		*colon++ = '\0';
		if (strcmp(colon, "poll") == 0)
			v->events = 0;
		else if (strcmp(colon, "events") == 0)
			v->events = 1;
		else if (strcmp(colon, "stage1") == 0)
			v->stage = 1;
		else if (strcmp(colon, "stage2") == 0)
			v->stage = 2;
		else if (strcmp(colon, "stage1ev") == 0 || strcmp(colon, "stage2ev") == 0) {
			v->stage = colon[5] - '0';
			v->notes = true;
		} else if (strcmp(colon, "stage3") == 0)
			v->stage = 3;
		else
			return -EINVAL;
	}
	v->policy = gprio_policy_find(buf);
	return v->policy ? 0 : -EINVAL;
}

int sim_compare_run(const struct sim_scenario *sc, const struct sim_variant *variants,
		    uint32_t npolicies, struct sim_compare *cmp, char *err, size_t errlen)
{
	static struct sim_scenario tmp; /* large; the CLI is single-threaded */
	int rc;
	memset(cmp, 0, sizeof(*cmp));
	if (npolicies == 0 || npolicies > sizeof(cmp->runs) / sizeof(cmp->runs[0])) {
		snprintf(err, errlen, "between 1 and %d policies can be compared, got %u",
			 SIM_MAX_VARIANTS, npolicies);
		return -EINVAL;
	}
	if (only_class(sc, GPRIO_CLASS_ONLINE, &tmp)) {
		if ((rc = sim_run(&tmp, &cmp->online_alone, err, errlen)))
			return rc;
		cmp->have_online = true;
	}
	if (only_class(sc, GPRIO_CLASS_OFFLINE, &tmp)) {
		if ((rc = sim_run(&tmp, &cmp->offline_alone, err, errlen)))
			return rc;
		cmp->have_offline = true;
	}
	for (uint32_t i = 0; i < npolicies; i++) {
		tmp = *sc;
		tmp.sched.policy.policy = variants[i].policy;
		if (variants[i].events >= 0)
			tmp.sched.events = variants[i].events;
		if (variants[i].stage == 3) {
			/* the in-kernel monitor: the core's policy in KFD (the sim backend stands
			 * for it), per-queue preemption, polled on an hrtimer */
			if (sc->profile.arch != SIM_ARCH_AMD_CPSCH) {
				snprintf(err, errlen, "%s: stage 3 needs an AMD profile, not '%s'",
					 sc->path, sc->profile.name);
				return -EINVAL;
			}
			tmp.kernel_monitor = true;
			tmp.profile.preempt = SIM_AMD_PER_QUEUE;
			tmp.sched.events = false;
			tmp.sched.poll = SIM_STAGE3_PERIOD;
			tmp.sched.policy.hysteresis = SIM_STAGE3_HYSTERESIS;
		} else if (variants[i].stage) {
			/* the amdkfd backend on the simulated KFD: stock KFD (device-wide unmap) or the
			 * patched one (per-queue); KFD reports no new work, so it polls */
			tmp.kfd.stage = variants[i].stage;
			tmp.kfd.notes = variants[i].notes;
			tmp.profile.preempt =
				variants[i].stage == 1 ? SIM_AMD_DEVICE_WIDE : SIM_AMD_PER_QUEUE;
			tmp.sched.events = false;
		}
		if ((rc = sim_run(&tmp, &cmp->runs[i], err, errlen)))
			return rc;
		cmp->nruns++;
	}
	return 0;
}
