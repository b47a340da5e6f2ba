/* NVIDIA model (H100): each process is a context whose time-slice group (TSG) the GPU runs for
 * its timeslice while another context has work; a switch saves the running context at
 * instruction level and costs ctx_switch. A context whose work runs dry hands the GPU over at
 * once (that switch is what launch-bound online work pays on its next kernel). Under MPS all
 * processes share one context: block-level dispatch priority only, no switching.
 * gprio's mechanism here is launch gating (a held queue starts no new kernel) plus a tiny
 * timeslice for the held context, so online work preempts what it already has on the GPU. */
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
	for (uint32_t i = 0; i < pp->nq; i++)
		if (sim_q_has_work(w, &w->q[pp->q0 + i]))
			return true;
	return false;
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
	return ctx_held(w, p) ? w->pr->held_timeslice : w->p[p].ts;
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

static void hold(struct sim_world *w, const uint64_t *keys, size_t n, bool held)
{
	for (size_t i = 0; i < n; i++) {
		struct sim_q *q = sim_q_by_key(w, keys[i]);
		if (!q || q->held == held)
			continue;
		q->held = held;
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
	/* every shim sees its daemon socket close and releases its gate */
	for (uint32_t i = 0; i < w->nq; i++) {
		uint64_t k = i;
		hold(w, &k, 1, false);
	}
}

const struct sim_arch_ops sim_arch_nv = {
	.eligible = nv_eligible,
	.stalled = nv_stalled,
	.suspend = nv_suspend,
	.resume = nv_resume,
	.changed = nv_changed,
	.event = nv_event,
	.fail_open = nv_fail_open,
};
