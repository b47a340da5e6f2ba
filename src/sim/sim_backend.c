/* The `sim` backend: the gprio_backend_ops the monitor drives, implemented on the simulated
 * world. wait() is where simulated time passes: it runs GPU and workload events up to the
 * deadline, or until the model reports new work (event mode). */
#include <errno.h>

#include "sim_backend.h"

static int sb_refresh(void *be, struct gprio_table *t, gprio_ns now)
{
	struct sim_world *w = be;
	(void)now;
	if (w->pr->arch == SIM_ARCH_NV_TSG)
		sim_nv_mechanism_tick(w);
	for (uint32_t i = 0; i < w->nq; i++) {
		struct sim_q *q = &w->q[i];
		int idx = gprio_table_find_hint(t, q->id, q->row);
		if (idx < 0) {
			if (q->wptr == 0)
				continue; /* not created yet from the monitor's point of view */
			idx = gprio_table_add(t, q->id, q->proc, q->prio,
					      (enum gprio_class)q->klass, w->now);
			if (idx < 0)
				return idx;
			const struct sim_proc_spec *ps = w->p[q->proc].spec;
			t->q[idx].weight = ps->weight ? ps->weight : 1;
			t->q[idx].slo = ps->slo;
		}
		q->row = (uint32_t)idx;
		struct gprio_queue *r = &t->q[idx];
		r->wptr = q->wptr;
		r->rptr = q->rptr;
		/* stage 3 reads the AQL dispatch ids as KFD holds them: consumed, not finished
		 * (kfd_gprio_monitor.c, mon_refresh: done = rptr), as stages 1 and 2 do */
		r->done = w->sc->kernel_monitor ? q->rptr : q->done;
		r->hw_held = q->hw_held && q->hw_changed_at <= w->now;
		r->hw_changed_at = q->hw_changed_at;
	}
	return 0;
}

void sim_kick(struct sim_world *w)
{
	sim_mark_all(w);
	w->arch->changed(w);
	sim_dispatch(w);
}

static int sb_suspend(void *be, const uint64_t *keys, size_t n, gprio_ns grace, bool *failed)
{
	struct sim_world *w = be;
	(void)grace;
	for (size_t i = 0; i < n; i++)
		if (keys[i] >= w->nq)
			return -ENOENT;
	(void)failed;
	w->arch->suspend(w, keys, n);
	sim_kick(w);
	return w->err;
}

static int sb_resume(void *be, const uint64_t *keys, size_t n, bool *failed)
{
	struct sim_world *w = be;
	for (size_t i = 0; i < n; i++)
		if (keys[i] >= w->nq)
			return -ENOENT;
	(void)failed;
	w->arch->resume(w, keys, n);
	sim_kick(w);
	return w->err;
}

int sim_world_run_until(struct sim_world *w, gprio_ns deadline, bool stop_on_wake)
{
	struct sim_event e;
	for (;;) {
		if (w->err)
			return w->err;
		gprio_ns t = sim_evq_peek_time(&w->evq);
		if (t == GPRIO_NS_NEVER || t > deadline) {
			if (deadline != GPRIO_NS_NEVER && deadline > w->now)
				w->now = deadline;
			return GPRIO_WAIT_DEADLINE;
		}
		sim_evq_pop(&w->evq, &e);
		w->now = e.t;
		if (e.type == EV_WAKE)
			w->wake_pending = false;
		sim_handle(w, &e);
		if (e.type == EV_WAKE && stop_on_wake)
			return GPRIO_WAIT_EVENT;
	}
}

static int sb_wait(void *be, gprio_ns deadline)
{
	struct sim_world *w = be;
	if (w->now >= w->stop_at)
		return -ECANCELED;
	if (deadline > w->stop_at)
		deadline = w->stop_at;
	int rc = sim_world_run_until(w, deadline, true);
	if (rc == GPRIO_WAIT_DEADLINE && w->now >= w->stop_at)
		return -ECANCELED;
	return rc;
}

const struct gprio_backend_ops sim_backend_ops = {
	.name = "sim",
	.refresh = sb_refresh,
	.suspend = sb_suspend,
	.resume = sb_resume,
	.wait = sb_wait,
};

static gprio_ns sb_now(void *ctx)
{
	return ((struct sim_world *)ctx)->now;
}

void sim_clock_init(struct gprio_clock *c, struct sim_world *w)
{
	c->now = sb_now;
	c->ctx = w;
}
