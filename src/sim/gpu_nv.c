/* NVIDIA model (H100): each process is a context whose time-slice group (TSG) the GPU runs for
 * its timeslice while another context has work; a switch saves the running context at
 * instruction level and costs ctx_switch. A context whose work runs dry hands the GPU over at
 * once (that switch is what launch-bound online work pays on its next kernel). Under MPS all
 * processes share one context: block-level dispatch priority only, no switching.
 * gprio's mechanism here is, with `mechanism = gate`, launch gating (a held queue starts no
 * new kernel) plus a tiny timeslice for the held context, so online work preempts what it
 * already has on the GPU; with `mechanism = auto` (gpriod's default) the law of
 * gprio/mechanism.h chooses at every monitor tick from what the shims would count (online
 * launches, restarts of a drained context, host waits at the end of each request) and sets
 * the timeslices (tsg), nothing (leave, idle, and mps: every process an MPS client, ordered
 * by the server's block-level priority), or gating (gate: where timeslices are refused). */
#include "world.h"

static bool nv_stalled(struct sim_world *w)
{
	return w->pr->mode == SIM_NV_TIMESLICE && w->switching;
}

static bool nv_eligible(struct sim_world *w, struct sim_q *q)
{
	return w->pr->mode == SIM_NV_MPS || (int)q->proc == w->cur;
}

static bool ctx_work(struct sim_world *w, int p)
{
	if (p < 0)
		return false;
	const struct sim_p *pp = &w->p[p];
	if (pp->linger_until > w->now)
		return true; /* a linger's hold keeps the context runnable */
	for (uint32_t i = 0; i < pp->nq; i++)
		if (sim_q_has_work(w, &w->q[pp->q0 + i]))
			return true;
	return false;
}

/* Lingering (gpriod --linger-us, shim/linger.c): a wait inside an online request leaves a hold
 * behind it while the context's timeslice is long; the context stays runnable until its next
 * launch (sim_submit ends the linger) or the bound. */
static void nv_host_synced(struct sim_world *w, uint32_t pi)
{
	struct sim_p *p = &w->p[pi];
	if (!w->sc->linger || w->pr->mode != SIM_NV_TIMESLICE ||
	    p->spec->klass != GPRIO_CLASS_ONLINE || p->ts < 100 * GPRIO_NS_PER_MS)
		return;
	p->linger_until = w->now + w->sc->linger;
	sim_push(w, p->linger_until, EV_DISPATCH, UINT32_MAX, 0); /* look again when it ends */
}

static bool ctx_held(struct sim_world *w, int p)
{
	const struct sim_p *pp = &w->p[p];
	for (uint32_t i = 0; i < pp->nq; i++)
		if (w->q[pp->q0 + i].held)
			return true;
	return false;
}

static gprio_ns ctx_slice(struct sim_world *w, int p)
{
	/* a process waiting for its turn is not held by the gate: its timeslice is its own */
	return ctx_held(w, p) && !w->p[p].turn_held ? w->pr->held_timeslice : w->p[p].ts;
}

/* Next context with work after `from`, round-robin, skipping `from` itself. */
static int next_ctx(struct sim_world *w, int from)
{
	for (uint32_t k = 1; k <= w->np; k++) {
		int p = (int)(((uint32_t)(from < 0 ? -1 : from) + k) % w->np);
		if (p != from && ctx_work(w, p))
			return p;
	}
	return -1;
}

static void begin_switch(struct sim_world *w, int to)
{
	if (w->cur >= 0) {
		const struct sim_p *pp = &w->p[w->cur];
		for (uint32_t i = 0; i < pp->nq; i++)
			if (sim_save_groups(w, &w->q[pp->q0 + i], w->now))
				w->hw_preemptions++;
	}
	w->switching = true;
	w->switch_to = to;
	w->slice_pending = false;
	w->slice_gen++;
	w->ctx_switches++;
	sim_push(w, w->now + w->pr->ctx_switch, EV_NV_SWITCH_DONE, 0, 0);
}

static void nv_changed(struct sim_world *w)
{
	if (w->pr->mode == SIM_NV_MPS || w->switching)
		return;
	if (!ctx_work(w, w->cur)) {
		int n = next_ctx(w, w->cur);
		if (n >= 0)
			begin_switch(w, n);
		return;
	}
	if (w->slice_pending || next_ctx(w, w->cur) < 0)
		return;
	/* contention: the current context keeps the GPU until its slice boundary */
	gprio_ns ts = ctx_slice(w, w->cur);
	gprio_ns el = w->now - w->slice_start;
	gprio_ns k = (el + ts - 1) / ts;
	/* the next boundary strictly after the slice began: a context just switched in always
	 * gets at least one whole slice */
	gprio_ns at = w->slice_start + (k ? k : 1) * ts;
	w->slice_pending = true;
	sim_push(w, at, EV_NV_SLICE, 0, ++w->slice_gen);
}

static void nv_event(struct sim_world *w, const struct sim_event *e)
{
	if (e->type == EV_NV_SWITCH_DONE) {
		w->switching = false;
		w->cur = w->switch_to;
		w->slice_start = w->now;
	} else if (e->type == EV_NV_SLICE && e->b == w->slice_gen && w->slice_pending) {
		w->slice_pending = false;
		int n = next_ctx(w, w->cur);
		if (n >= 0)
			begin_switch(w, n);
		else
			w->slice_start = w->now; /* nobody waiting: a fresh slice */
	}
}

static bool gating(const struct sim_world *w)
{
	return !w->sc->mech_auto || gprio_mech_gates(w->mst.mech);
}

/* A queue starts nothing while the monitor holds it where the mechanism gates (as the shims do
 * with gpriod's overrides), or while it is not its process's turn (TSG turns). */
static bool q_held(const struct sim_world *w, const struct sim_q *q)
{
	return (q->want_held && gating(w)) || w->p[q->proc].turn_held;
}

static void hold(struct sim_world *w, const uint64_t *keys, size_t n, bool held)
{
	for (size_t i = 0; i < n; i++) {
		struct sim_q *q = sim_q_by_key(w, keys[i]);
		if (!q || q->want_held == held)
			continue;
		/* the monitor's view follows its request; the queue as q_held says */
		q->want_held = held;
		sim_set_held(w, q, q_held(w, q));
		q->hw_held = held;
		q->hw_changed_at = w->now + (held ? w->pr->gate : 0);
	}
	/* the slice length of the current context may have changed */
	if (w->slice_pending && !w->switching) {
		w->slice_pending = false;
		w->slice_gen++;
	}
}

static void nv_suspend(struct sim_world *w, const uint64_t *keys, size_t n)
{
	hold(w, keys, n, true);
}

static void nv_resume(struct sim_world *w, const uint64_t *keys, size_t n)
{
	hold(w, keys, n, false);
}

static void nv_fail_open(struct sim_world *w)
{
	/* every shim sees its daemon socket close, releases its gate and puts its timeslices
	 * back */
	for (uint32_t i = 0; i < w->np; i++)
		w->p[i].turn_held = false; /* and waits for no turn */
	w->turns = (struct gprio_turns){0};
	for (uint32_t i = 0; i < w->nq; i++) {
		uint64_t k = i;
		hold(w, &k, 1, false);
		sim_set_held(w, &w->q[i], false);
	}
	for (uint32_t i = 0; i < w->np; i++)
		w->p[i].ts = w->p[i].ts0;
}

/* mechanism = auto: one monitor tick of gpriod's per-GPU chooser over the simulated GPU */
void sim_nv_mechanism_tick(struct sim_world *w)
{
	/* policy none: the shims pass everything through, gpriod chooses nothing */
	if (!w->sc->mech_auto || !w->mp.window || !w->controller ||
	    w->sc->sched.policy.policy == &gprio_policy_none)
		return;
	gprio_ns tick = w->mech_at && w->now > w->mech_at ? w->now - w->mech_at : 0;
	struct gprio_mech_obs o = {.timeslices_ok = w->pr->mode != SIM_NV_MPS,
				   .mps = w->pr->mode == SIM_NV_MPS,
				   .completions = true,
				   .last_work = w->on_last_work};
	/* as gpriod: the highest-priority online work decides (its waits, restarts, pending
	 * work); every online process counts as online work */
	int top = -1;
	for (uint32_t i = 0; i < w->np; i++) {
		const struct sim_p *p = &w->p[i];
		/* an online process idle for idle_after does not decide */
		bool active = p->mo_last && p->mo_last + w->mp.idle_after > w->now;
		if (p->spec->klass == GPRIO_CLASS_ONLINE && active && p->spec->priority > top)
			top = p->spec->priority;
	}
	for (uint32_t i = 0; i < w->np; i++) {
		struct sim_p *p = &w->p[i];
		if (p->spec->klass != GPRIO_CLASS_ONLINE) {
			o.offline = true;
			if (p->spec->start <= w->now) /* continuous from its start */
				o.offline_procs++;
			continue;
		}
		o.online = true;
		bool decides = p->spec->priority == top;
		o.all_starts += p->mo_starts;
		o.all_launches += p->mo_launches;
		if (decides) {
			/* as gpriod counts it: the tick was active if the work launched, waited, or
			 * is serving a request */
			if (p->mo_launches || p->mo_waits || p->serving)
				o.active = tick;
			o.waits += p->mo_waits;
			o.waited += p->mo_waited;
			o.starts += p->mo_starts;
			o.launches += p->mo_launches;
		}
		p->mo_waits = p->mo_starts = p->mo_launches = 0;
		p->mo_waited = 0;
		for (uint32_t k = 0; k < p->nq; k++)
			if (w->q[p->q0 + k].wptr != w->q[p->q0 + k].done)
				o.last_work = w->now;
		if (!decides)
			continue;
		if (p->serving && (!p->cur_left || p->syncing) && w->now - p->wait_from > o.current)
			o.current = w->now - p->wait_from;
		for (uint32_t k = 0; k < p->nq; k++) {
			const struct sim_q *q = &w->q[p->q0 + k];
			if (q->wptr == q->done)
				continue;
			/* the oldest submission not finished, as the completion counters show it */
			gprio_ns sub = q->ring[q->done & (q->cap - 1)].t_cpu;
			if (w->now > sub && w->now - sub > o.current)
				o.current = w->now - sub;
		}
	}
	o.sampled = o.launches;
	o.sampled_starts = o.starts;
	o.all_sampled = o.all_launches;
	o.all_sampled_starts = o.all_starts;
	enum gprio_mech was = w->mst.mech;
	if (sim_in_window(w, w->now))
		w->mech_ns[was] +=
			w->now - (w->mech_at > w->sc->warmup ? w->mech_at : w->sc->warmup);
	w->mech_at = w->now;
	bool changed = gprio_mech_choose(&w->mp, &o, &w->mst, w->now);
	if (changed)
		w->mech_changes++;
	/* TSG turns, as gpriod takes them: the offline processes started, in order, pending
	 * while a kernel of theirs runs, waiting while they have work they may not start */
	struct gprio_turn_cand c[64];
	size_t n = 0;
	for (uint32_t i = 0; i < w->np && n < 64; i++) {
		const struct sim_p *p = &w->p[i];
		if (p->spec->klass == GPRIO_CLASS_ONLINE || p->spec->start > w->now)
			continue;
		struct gprio_turn_cand x = {.key = i};
		for (uint32_t k = 0; k < p->nq; k++) {
			const struct sim_q *q = &w->q[p->q0 + k];
			x.pending = x.pending || q->rptr != q->done;
			x.waiting = x.waiting || (p->turn_held && q->wptr != q->rptr);
		}
		c[n++] = x;
	}
	bool single = gprio_turns_single(&w->turns);
	uint32_t turn = gprio_turns_step(&w->turns, w->mst.mech == GPRIO_USE_TSG_TURNS, c, n,
					 w->mp.offline_turn, w->mp.turn_drain, w->now);
	bool turns_changed = false;
	for (uint32_t i = 0; i < w->np; i++) {
		struct sim_p *p = &w->p[i];
		bool held = p->spec->klass != GPRIO_CLASS_ONLINE && turn != GPRIO_TURN_ALL &&
			    turn != i + 1;
		turns_changed = turns_changed || held != p->turn_held;
		p->turn_held = held;
	}
	if (!changed && !turns_changed && single == gprio_turns_single(&w->turns))
		return;
	enum gprio_mech m = w->mst.mech;
	/* offline's timeslice as gpriod publishes it (turns: the floor until the first turn, and
	 * while older work drains beside the holder's) */
	enum gprio_offline_slice off = gprio_mech_offline_slice(m, gprio_turns_single(&w->turns));
	for (uint32_t i = 0; i < w->np; i++) {
		struct sim_p *p = &w->p[i];
		bool online = p->spec->klass == GPRIO_CLASS_ONLINE;
		p->ts = online ? (gprio_mech_online_long(m) ? GPRIO_NS_PER_S : p->ts0)
			: off == GPRIO_SLICE_SHORT ? w->pr->held_timeslice
			: off == GPRIO_SLICE_FLOOR ? w->mp.offline_floor
						   : p->ts0;
	}
	for (uint32_t i = 0; i < w->nq; i++)
		sim_set_held(w, &w->q[i], q_held(w, &w->q[i]));
	if (w->slice_pending && !w->switching) {
		w->slice_pending = false;
		w->slice_gen++;
	}
	w->arch->changed(w);
}

const struct sim_arch_ops sim_arch_nv = {
	.eligible = nv_eligible,
	.stalled = nv_stalled,
	.suspend = nv_suspend,
	.resume = nv_resume,
	.changed = nv_changed,
	.event = nv_event,
	.fail_open = nv_fail_open,
	.host_synced = nv_host_synced,
};
