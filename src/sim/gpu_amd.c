/* AMD CPSCH model (MI308X): the HWS runs a runlist of active queues on HQDs; the driver changes it
 * through the HIQ one packet at a time. A suspend is UNMAP_QUEUES (+ grace period, + CWSR save of
 * waves still running); a resume is MAP_QUEUES (+ CWSR restore). The stock KFD (device-wide)
 * unmaps every user queue and re-maps the survivors on each suspend/resume, online queues
 * included; the patched KFD (per-queue) touches only the given queues. An unmap that does not
 * finish within queue_preemption_timeout_ms resets the GPU: executing kernels are lost. When more
 * queues want to run than there are HQDs, the HWS rotates them every quantum (with CWSR). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

static bool amd_stalled(struct sim_world *w)
{
	return w->stall;
}

static bool amd_eligible(struct sim_world *w, struct sim_q *q)
{
	if (q->freeze_at != GPRIO_NS_NEVER)
		return false; /* being unmapped */
	if (!q->resident) {
		if (w->resident >= sim_profile_queue_hqds(w->pr) || !sim_q_has_work(w, q))
			return false;
		q->resident = true;
		q->resident_since = w->now;
		w->resident++;
	}
	return q->ready_at <= w->now;
}

static void start_op(struct sim_world *w);

static void queue_op(struct sim_world *w, bool suspend, const uint64_t *keys, size_t n)
{
	if (w->nops == w->opcap) {
		uint32_t cap = w->opcap ? w->opcap * 2 : 8;
		struct sim_amd_op *o = realloc(w->ops, cap * sizeof(*o));
		if (!o) {
			w->err = -ENOMEM;
			return;
		}
		w->ops = o;
		w->opcap = cap;
	}
	struct sim_amd_op *op = &w->ops[w->nops];
	op->q = malloc(n * sizeof(*op->q));
	if (!op->q) {
		w->err = -ENOMEM;
		return;
	}
	op->suspend = suspend;
	op->n = 0;
	for (size_t i = 0; i < n; i++)
		if (keys[i] < w->nq)
			op->q[op->n++] = (uint32_t)keys[i];
	w->nops++;
	if (suspend) /* the queues start nothing new from the moment the request is made */
		for (uint32_t i = 0; i < op->n; i++)
			sim_set_held(w, &w->q[op->q[i]], true);
	if (!w->op_busy)
		start_op(w);
}

/* Latest end among running groups of q, and whether any runs past `limit`. */
static gprio_ns latest_end(struct sim_world *w, struct sim_q *q, gprio_ns limit, bool *past)
{
	gprio_ns last = 0;
	for (uint32_t i = 0; i < q->ngroups; i++) {
		struct sim_group *g = &w->g[q->groups[i]];
		if (g->st != G_RUNNING)
			continue;
		if (g->end > last)
			last = g->end;
		if (g->end > limit)
			*past = true;
	}
	return last;
}

static bool has_saved(struct sim_world *w, struct sim_q *q)
{
	for (uint32_t i = 0; i < q->ngroups; i++)
		if (w->g[q->groups[i]].st == G_SAVED)
			return true;
	return false;
}

static bool in_op(const struct sim_amd_op *op, uint32_t qi)
{
	for (uint32_t i = 0; i < op->n; i++)
		if (op->q[i] == qi)
			return true;
	return false;
}

static void start_op(struct sim_world *w)
{
	if (w->nops == 0)
		return;
	struct sim_amd_op *op = &w->ops[0];
	const struct sim_profile *pr = w->pr;
	bool wide = pr->preempt == SIM_AMD_DEVICE_WIDE;
	gprio_ns t1 = w->now + pr->hiq, freeze = t1 + pr->grace, done;
	w->op_busy = true;
	w->op_gen++;
	w->op_hang = pr->hang_rate > 0 && sim_rng_unit(&w->p[0].rng) < pr->hang_rate;

	if (!op->suspend && !wide) {
		/* per-queue resume: MAP_QUEUES (+ restore of saved waves) */
		bool restore = false;
		for (uint32_t i = 0; i < op->n; i++)
			restore |= has_saved(w, &w->q[op->q[i]]);
		done = w->now + pr->map + (restore ? pr->cwsr_restore : 0);
		w->op_hang = false;
	} else {
		/* unmap: the given queues, or every queue (stock KFD) */
		bool past = false;
		gprio_ns last = t1;
		for (uint32_t i = 0; i < w->nq; i++) {
			struct sim_q *q = &w->q[i];
			if (!wide && !in_op(op, i))
				continue;
			q->freeze_at = freeze;
			gprio_ns e = latest_end(w, q, freeze, &past);
			if (e > last)
				last = e;
		}
		if (wide)
			w->stall = true;
		gprio_ns unmapped = past ? freeze + pr->cwsr_save : last;
		done = unmapped;
		if (wide) {
			/* MAP_QUEUES for every queue that stays (restore if it had waves saved) */
			bool restore = false;
			for (uint32_t i = 0; i < w->nq; i++) {
				struct sim_q *q = &w->q[i];
				bool stays = op->suspend ? !(q->held) : (!q->held || in_op(op, i));
				if (stays && (q->rptr != q->done))
					restore = true;
			}
			done += pr->map + (restore ? pr->cwsr_restore : 0);
		}
		if (w->op_hang)
			done = t1 + pr->preempt_timeout;
	}
	sim_push(w, done, EV_AMD_OP_DONE, 0, w->op_gen);
}

static void set_hw(struct sim_world *w, struct sim_q *q, bool held)
{
	if (q->hw_held != held) {
		q->hw_held = held;
		q->hw_changed_at = w->now;
	}
}

static void gpu_reset(struct sim_world *w)
{
	w->resets++;
	for (uint32_t i = 0; i < w->nq; i++) {
		struct sim_q *q = &w->q[i];
		q->freeze_at = GPRIO_NS_NEVER;
		sim_lose_kernel(w, q);
	}
}

static void finish_op(struct sim_world *w)
{
	struct sim_amd_op op = w->ops[0];
	bool wide = w->pr->preempt == SIM_AMD_DEVICE_WIDE;
	memmove(w->ops, w->ops + 1, (w->nops - 1) * sizeof(*w->ops));
	w->nops--;
	w->op_busy = false;

	if (w->op_hang) {
		gpu_reset(w);
	} else if (op.suspend || wide) {
		for (uint32_t i = 0; i < w->nq; i++) {
			struct sim_q *q = &w->q[i];
			if (q->freeze_at == GPRIO_NS_NEVER)
				continue;
			if (sim_save_groups(w, q, q->freeze_at))
				w->hw_preemptions++;
			q->freeze_at = GPRIO_NS_NEVER;
		}
	}
	if (wide) {
		w->device_wide_ops++;
		w->stall = false;
	}
	for (uint32_t i = 0; i < op.n; i++) {
		struct sim_q *q = &w->q[op.q[i]];
		sim_set_held(w, q, op.suspend);
		set_hw(w, q, op.suspend);
		if (!op.suspend)
			q->ready_at = w->now;
	}
	free(op.q);
	start_op(w);
}

static void amd_suspend(struct sim_world *w, const uint64_t *keys, size_t n)
{
	queue_op(w, true, keys, n);
}

static void amd_resume(struct sim_world *w, const uint64_t *keys, size_t n)
{
	queue_op(w, false, keys, n);
}

/* HWS oversubscription: more queues want an HQD than exist. Every quantum, queues that have
 * waited replace the longest-resident queues of the lowest priority (CWSR save + restore). */
static void rotate(struct sim_world *w)
{
	uint32_t cap = sim_profile_queue_hqds(w->pr), waiting = 0;
	w->rotate_pending = false;
	for (uint32_t i = 0; i < w->nq; i++) {
		struct sim_q *q = &w->q[i];
		if (q->resident && !sim_q_has_work(w, q) && q->ngroups == 0) {
			q->resident = false; /* idle: give the HQD back */
			w->resident--;
		}
	}
	for (uint32_t i = 0; i < w->nq; i++)
		if (!w->q[i].resident && !w->q[i].held && sim_q_has_work(w, &w->q[i]))
			waiting++;
	while (waiting && w->resident >= cap) {
		struct sim_q *victim = NULL;
		for (uint32_t i = 0; i < w->nq; i++) {
			struct sim_q *q = &w->q[i];
			if (!q->resident || q->freeze_at != GPRIO_NS_NEVER)
				continue;
			if (!victim || q->prio < victim->prio ||
			    (q->prio == victim->prio && q->resident_since < victim->resident_since))
				victim = q;
		}
		if (!victim)
			break;
		if (sim_save_groups(w, victim, w->now))
			w->hw_preemptions++;
		victim->resident = false;
		w->resident--;
		waiting--;
	}
	/* the queues that come in pay save + restore before they run */
	for (uint32_t i = 0; i < w->nq && w->resident < cap; i++) {
		struct sim_q *q = &w->q[i];
		if (q->resident || q->held || !sim_q_has_work(w, q))
			continue;
		q->resident = true;
		q->resident_since = w->now;
		q->ready_at = w->now + w->pr->cwsr_save + w->pr->cwsr_restore;
		w->resident++;
		sim_push(w, q->ready_at, EV_DISPATCH, q->id, 1);
	}
}

/* While queues outnumber HQDs the HWS rotates every quantum (a timer, not a per-event scan). */
static void amd_changed(struct sim_world *w)
{
	if (w->rotate_pending || sim_profile_queue_hqds(w->pr) >= w->nq)
		return;
	if (w->stopping && w->submitted == w->completed + w->lost)
		return; /* drained: let the event queue run dry */
	w->rotate_pending = true;
	sim_push(w, w->now + w->pr->oversub_quantum, EV_AMD_ROTATE, 0, 0);
}

static void amd_event(struct sim_world *w, const struct sim_event *e)
{
	if (e->type == EV_AMD_OP_DONE && e->b == w->op_gen && w->op_busy)
		finish_op(w);
	else if (e->type == EV_AMD_ROTATE)
		rotate(w);
}

static void amd_fail_open(struct sim_world *w)
{
	/* KFD disables debugging on the targets of a debugger that exits and resumes their queues */
	uint64_t *keys = malloc(w->nq * sizeof(*keys));
	size_t n = 0;
	if (!keys) {
		w->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < w->nq; i++)
		if (w->q[i].held || w->q[i].hw_held)
			keys[n++] = i;
	for (uint32_t i = 0; i < w->nops; i++)
		if (w->ops[i].suspend)
			for (uint32_t k = 0; k < w->ops[i].n; k++) {
				bool dup = false;
				for (size_t j = 0; j < n; j++)
					dup |= keys[j] == w->ops[i].q[k];
				if (!dup)
					keys[n++] = w->ops[i].q[k];
			}
	if (n)
		queue_op(w, false, keys, n);
	free(keys);
}

const struct sim_arch_ops sim_arch_amd = {
	.eligible = amd_eligible,
	.stalled = amd_stalled,
	.suspend = amd_suspend,
	.resume = amd_resume,
	.changed = amd_changed,
	.event = amd_event,
	.fail_open = amd_fail_open,
};
