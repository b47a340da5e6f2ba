/* The architecture-independent GPU model: queues of in-order commands (kernels of N blocks, each
 * block running block_ns), a pool of execution slots (CUs / SMs), and a dispatcher that hands
 * free slots to eligible queues in priority order. A preemption freezes a queue's running block
 * groups into saved groups with their remaining time, so work is delayed, never lost. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

bool sim_in_window(const struct sim_world *w, gprio_ns t)
{
	return t >= w->sc->warmup && t <= w->end;
}

void sim_push(struct sim_world *w, gprio_ns t, enum sim_ev type, uint32_t a, uint64_t b)
{
	if (sim_evq_push(&w->evq, t, (uint32_t)type, a, b) && !w->err)
		w->err = -ENOMEM;
}

struct sim_q *sim_q_by_key(struct sim_world *w, uint64_t key)
{
	return key < w->nq ? &w->q[key] : NULL;
}

/* qsort has no context argument: the world being sorted, for the comparator (init is single
 * threaded) */
static const struct sim_world *sort_world;

/* Dispatch order: pipe priority, then queue priority, then id. */
static int cmp_order(const void *a, const void *b)
{
	const struct sim_world *w = sort_world;
	const struct sim_q *x = &w->q[*(const uint32_t *)a], *y = &w->q[*(const uint32_t *)b];
	int px = gprio_pipe_priority(x->prio), py = gprio_pipe_priority(y->prio);
	if (px != py)
		return py - px;
	if (x->prio != y->prio)
		return y->prio - x->prio;
	return x->id < y->id ? -1 : x->id > y->id;
}

int sim_world_init(struct sim_world *w, const struct sim_scenario *sc)
{
	memset(w, 0, sizeof(*w));
	w->sc = sc;
	w->pr = &sc->profile;
	w->arch = sc->profile.arch == SIM_ARCH_AMD_CPSCH ? &sim_arch_amd : &sim_arch_nv;
	sim_evq_init(&w->evq);
	w->end = sc->duration;
	w->stop_at = sc->die_at < sc->duration ? sc->die_at : sc->duration;
	w->controller = true;
	w->free_slots = sc->profile.slots;
	/* MPS with an SM share for offline clients: they hold at most that many slots */
	uint32_t share = sc->profile.mode == SIM_NV_MPS && sc->profile.arch == SIM_ARCH_NV_TSG
				 ? sc->profile.mps_offline_sm
				 : 0;
	w->offline_cap = share && share < 100
				 ? (uint32_t)((uint64_t)sc->profile.slots * share / 100)
				 : UINT32_MAX;
	if (w->offline_cap == 0)
		w->offline_cap = 1;
	w->cur = -1;
	w->gfree = UINT32_MAX;
	gprio_mech_defaults(&w->mp);
	w->np = sc->nprocs;
	w->p = calloc(w->np, sizeof(*w->p));
	for (uint32_t i = 0; i < sc->nprocs; i++)
		w->nq += sc->procs[i].queues;
	w->q = calloc(w->nq, sizeof(*w->q));
	w->order = calloc(w->nq, sizeof(*w->order));
	w->band_end = calloc(w->nq, sizeof(*w->band_end));
	w->ready = calloc((w->nq + 63) / 64, sizeof(*w->ready));
	if (!w->p || !w->q || !w->order || !w->band_end || !w->ready)
		return -ENOMEM;
	uint32_t qi = 0;
	for (uint32_t i = 0; i < sc->nprocs; i++) {
		const struct sim_proc_spec *ps = &sc->procs[i];
		struct sim_p *p = &w->p[i];
		p->spec = ps;
		p->q0 = qi;
		p->nq = ps->queues;
		p->ts = p->ts0 = ps->timeslice ? ps->timeslice : sc->profile.timeslice;
		/* per-process stream: a process sees the same arrivals and kernels in every run of
		 * the same seed, alone or co-located */
		uint64_t h = sc->seed * 0x9e3779b97f4a7c15ull;
		for (const char *c = ps->name; *c; c++)
			h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
		sim_rng_seed(&p->rng, h);
		gprio_hist_init(&p->lat);
		p->iter_pos = calloc(ps->queues, sizeof(*p->iter_pos));
		p->launch_pending = calloc(ps->queues, sizeof(*p->launch_pending));
		p->last_launch = calloc(ps->queues, sizeof(*p->last_launch));
		if (!p->iter_pos || !p->launch_pending || !p->last_launch)
			return -ENOMEM;
		for (uint32_t k = 0; k < ps->queues; k++, qi++) {
			struct sim_q *q = &w->q[qi];
			q->id = qi;
			q->proc = i;
			q->prio = (uint8_t)ps->priority;
			q->klass = (uint8_t)ps->klass;
			q->cap = 64;
			q->ring = calloc(q->cap, sizeof(*q->ring));
			q->freeze_at = GPRIO_NS_NEVER;
			q->dispatch_at = GPRIO_NS_NEVER;
			if (!q->ring)
				return -ENOMEM;
			w->order[qi] = qi;
		}
	}
	sim_world_reorder(w);
	return 0;
}

void sim_world_reorder(struct sim_world *w)
{
	sort_world = w;
	qsort(w->order, w->nq, sizeof(*w->order), cmp_order);
	for (uint32_t i = 0; i < w->nq; i++)
		w->q[w->order[i]].rank = i;
	for (uint32_t i = w->nq; i-- > 0;)
		w->band_end[i] =
			(i + 1 < w->nq && w->q[w->order[i + 1]].prio == w->q[w->order[i]].prio)
				? w->band_end[i + 1]
				: i + 1;
}

void sim_mark(struct sim_world *w, const struct sim_q *q)
{
	w->ready[q->rank / 64] |= 1ull << (q->rank % 64);
}

void sim_mark_all(struct sim_world *w)
{
	uint32_t words = (w->nq + 63) / 64;
	memset(w->ready, 0xff, words * sizeof(*w->ready));
	if (w->nq % 64)
		w->ready[words - 1] = (1ull << (w->nq % 64)) - 1;
}

static uint32_t serve(struct sim_world *w, struct sim_q *q);

/* The first ready rank in [from, to), or `to`. Read afresh each time: serving one queue can
 * mark others. */
static uint32_t next_ready(const struct sim_world *w, uint32_t from, uint32_t to)
{
	while (from < to) {
		uint64_t bits = w->ready[from / 64] >> (from % 64);
		if (bits) {
			uint32_t r = from + (uint32_t)__builtin_ctzll(bits);
			return r < to ? r : to;
		}
		from = (from / 64 + 1) * 64;
	}
	return to;
}

/* Visit ready rank idx of the band: serve it if it may run; take it off the ready set when it
 * has nothing to hand out or may not run (a completion, a visible command, a save, an
 * eligibility change or the end of its hold marks it again). A held queue between kernels
 * starts nothing: left in the set, it was visited at every dispatch for nothing (10 visits a
 * dispatch in the oversubscribed MI308X example, most of the run's time). */
static void visit(struct sim_world *w, uint32_t idx)
{
	struct sim_q *q = &w->q[w->order[idx]];
	/* eligible() answers the same until something changes (serving, time, an event): asked
	 * again only after serving */
	if (!w->arch->eligible(w, q) || (serve(w, q), !w->arch->eligible(w, q)) ||
	    (q->nsaved == 0 && !q->undispatched &&
	     (q->rptr != q->done || q->wptr == q->rptr || q->held)))
		w->ready[idx / 64] &= ~(1ull << (idx % 64));
}

void sim_set_held(struct sim_world *w, struct sim_q *q, bool held)
{
	if (q->held && !held)
		sim_mark(w, q); /* taken off the ready set while held (visit) */
	q->held = held;
}

/* Make sure the dispatcher runs when q's head command becomes visible. */
static void dispatch_when_visible(struct sim_world *w, struct sim_q *q, gprio_ns t)
{
	if (q->dispatch_at == t)
		return;
	q->dispatch_at = t;
	sim_push(w, t, EV_DISPATCH, q->id, 0);
}

void sim_world_free(struct sim_world *w)
{
	for (uint32_t i = 0; i < w->nq && w->q; i++) {
		free(w->q[i].ring);
		free(w->q[i].groups);
	}
	for (uint32_t i = 0; i < w->np && w->p; i++) {
		free(w->p[i].pending);
		free(w->p[i].iter_pos);
		free(w->p[i].launch_pending);
		free(w->p[i].last_launch);
	}
	for (uint32_t i = 0; i < w->nops; i++)
		free(w->ops[i].q);
	free(w->ops);
	free(w->q);
	free(w->order);
	free(w->band_end);
	free(w->ready);
	free(w->p);
	free(w->g);
	sim_evq_free(&w->evq);
}

bool sim_q_has_work(const struct sim_world *w, const struct sim_q *q)
{
	if (q->rptr != q->done)
		return true; /* a kernel is executing (running or saved blocks) */
	if (q->held || q->wptr == q->rptr)
		return false;
	return q->ring[q->rptr & (q->cap - 1)].visible_at <= w->now;
}

void sim_submit(struct sim_world *w, struct sim_q *q, gprio_ns block_ns, uint32_t blocks, bool last)
{
	if (q->wptr - q->done == q->cap) {
		uint32_t ncap = q->cap * 2;
		struct sim_cmd *r = calloc(ncap, sizeof(*r));
		if (!r) {
			w->err = -ENOMEM;
			return;
		}
		for (uint64_t s = q->done; s < q->wptr; s++)
			r[s & (ncap - 1)] = q->ring[s & (q->cap - 1)];
		free(q->ring);
		q->ring = r;
		q->cap = ncap;
	}
	bool was_idle = q->wptr == q->done;
	if (q->klass == GPRIO_CLASS_ONLINE) {
		/* what the shim's counters see: a launch, and whether it restarts a drained
		 * context (every queue of the process idle) */
		struct sim_p *pp = &w->p[q->proc];
		/* a linger's hold kept it resident: not dry; the hold ends once this launch is
		 * visible to the GPU (the shim releases it after the launch is queued) */
		bool dry = pp->linger_until <= w->now;
		pp->linger_until = dry ? 0 : w->now + w->pr->launch;
		for (uint32_t i = 0; i < pp->nq && dry; i++)
			dry = w->q[pp->q0 + i].wptr == w->q[pp->q0 + i].done;
		pp->mo_launches++;
		pp->mo_starts += dry;
		pp->mo_last = w->now;
		w->on_last_work = w->now;
	}
	struct sim_cmd *c = &q->ring[q->wptr & (q->cap - 1)];
	c->seq = q->wptr;
	c->sync = 0;
	c->block_ns = block_ns ? block_ns : 1;
	c->blocks = blocks ? blocks : 1;
	c->t_cpu = w->now;
	c->visible_at = w->now + w->pr->launch;
	c->last = last;
	q->wptr++;
	w->submitted++;
	/* A queue with a kernel executing starts the next one when that completes; only an idle
	 * queue needs waking when the command becomes visible. */
	if (was_idle)
		dispatch_when_visible(w, q, c->visible_at);
	if (was_idle && w->controller && w->sc->sched.events && !w->wake_pending) {
		w->wake_pending = true;
		sim_push(w, w->now + w->sc->event_latency, EV_WAKE, 0, 0);
	}
	/* event-driven stages 1 and 2: an online program's HSA shim sees the doorbell store and
	 * sends gpriod a work note, at most one a millisecond (hsa_shim.c, rang()); gpriod's
	 * monitor wakes event_latency later (the note's send and the daemon's wake-up) */
	struct sim_p *owner = &w->p[q->proc];
	if (w->kfd_notes && w->controller && !w->wake_pending &&
	    owner->spec->klass == GPRIO_CLASS_ONLINE &&
	    (!owner->last_note || w->now - owner->last_note >= GPRIO_NS_PER_MS)) {
		owner->last_note = w->now;
		w->wake_pending = true;
		sim_push(w, w->now + w->sc->event_latency, EV_WAKE, 0, 0);
	}
}

static uint32_t group_new(struct sim_world *w)
{
	if (w->gfree != UINT32_MAX) {
		uint32_t id = w->gfree;
		w->gfree = w->g[id].next_free;
		return id;
	}
	if (w->ng == w->gcap) {
		uint32_t cap = w->gcap ? w->gcap * 2 : 256;
		struct sim_group *g = realloc(w->g, cap * sizeof(*g));
		if (!g) {
			w->err = -ENOMEM;
			return UINT32_MAX;
		}
		memset(g + w->gcap, 0, (cap - w->gcap) * sizeof(*g));
		w->g = g;
		w->gcap = cap;
	}
	return w->ng++;
}

static void group_free(struct sim_world *w, struct sim_q *q, uint32_t id)
{
	for (uint32_t i = 0; i < q->ngroups; i++)
		if (q->groups[i] == id) {
			q->groups[i] = q->groups[--q->ngroups];
			break;
		}
	w->g[id].st = G_FREE;
	w->g[id].gen++;
	w->g[id].next_free = w->gfree;
	w->gfree = id;
}

/* Slots taken or given back by a queue's blocks (offline ones count against the MPS share). */
static void slots_take(struct sim_world *w, const struct sim_q *q, uint32_t n)
{
	w->free_slots -= n;
	if (q->klass != GPRIO_CLASS_ONLINE)
		w->offline_used += n;
}

static void slots_give(struct sim_world *w, const struct sim_q *q, uint32_t n)
{
	w->free_slots += n;
	if (q->klass != GPRIO_CLASS_ONLINE)
		w->offline_used -= n;
}

/* Slots this queue may take now. */
static uint32_t room(const struct sim_world *w, const struct sim_q *q)
{
	if (q->klass == GPRIO_CLASS_ONLINE || w->offline_cap == UINT32_MAX)
		return w->free_slots;
	uint32_t left = w->offline_cap > w->offline_used ? w->offline_cap - w->offline_used : 0;
	return left < w->free_slots ? left : w->free_slots;
}

static void group_run(struct sim_world *w, struct sim_q *q, uint32_t id, uint32_t blocks,
		      gprio_ns dur)
{
	struct sim_group *g = &w->g[id];
	g->q = q->id;
	g->blocks = blocks;
	g->end = w->now + dur;
	g->st = G_RUNNING;
	slots_take(w, q, blocks);
	sim_push(w, g->end, EV_GROUP_DONE, id, g->gen);
}

static bool group_attach(struct sim_world *w, struct sim_q *q, uint32_t id)
{
	if (q->ngroups == q->gcap) {
		uint32_t cap = q->gcap ? q->gcap * 2 : 8;
		uint32_t *g = realloc(q->groups, cap * sizeof(*g));
		if (!g) {
			w->err = -ENOMEM;
			return false;
		}
		q->groups = g;
		q->gcap = cap;
	}
	q->groups[q->ngroups++] = id;
	return true;
}

uint32_t sim_save_groups(struct sim_world *w, struct sim_q *q, gprio_ns at)
{
	uint32_t saved = 0;
	for (uint32_t i = 0; i < q->ngroups; i++) {
		struct sim_group *g = &w->g[q->groups[i]];
		if (g->st != G_RUNNING || g->end <= at)
			continue;
		g->remaining = g->end - at;
		g->st = G_SAVED;
		q->nsaved++;
		sim_mark(w, q);
		g->gen++; /* its completion event is now stale */
		slots_give(w, q, g->blocks);
		saved++;
	}
	return saved;
}

static void proc_exec(struct sim_world *w, struct sim_q *q, int delta)
{
	struct sim_p *p = &w->p[q->proc];
	gprio_ns lo = w->sc->warmup, hi = w->end;
	gprio_ns now = w->now < lo ? lo : w->now > hi ? hi : w->now;
	if (delta > 0 && p->executing++ == 0)
		p->busy_since = now;
	if (delta < 0 && --p->executing == 0)
		p->busy_ns += now - p->busy_since;
	if (q->klass != GPRIO_CLASS_ONLINE)
		return;
	if (delta > 0 && w->online_exec++ == 0)
		w->online_busy_since = now;
	if (delta < 0 && --w->online_exec == 0)
		w->online_busy_ns += now - w->online_busy_since;
}

static void kernel_complete(struct sim_world *w, struct sim_q *q, bool lost)
{
	struct sim_cmd c = q->ring[q->done & (q->cap - 1)];
	if (c.seq != q->done)
		w->order_violations++;
	q->done++;
	if (lost)
		w->lost++;
	else
		w->completed++;
	proc_exec(w, q, -1);
	sim_mark(w, q);
	w->wl->kernel_done(w, q, &c, lost);
}

void sim_lose_kernel(struct sim_world *w, struct sim_q *q)
{
	while (q->ngroups) {
		uint32_t id = q->groups[0];
		if (w->g[id].st == G_RUNNING)
			slots_give(w, q, w->g[id].blocks);
		group_free(w, q, id);
	}
	q->nsaved = 0;
	q->undispatched = 0;
	if (q->rptr != q->done)
		kernel_complete(w, q, true);
}

static uint32_t serve(struct sim_world *w, struct sim_q *q)
{
	uint32_t given = 0;
	/* saved blocks first: they hold the oldest work of the queue */
	for (uint32_t i = 0; q->nsaved && i < q->ngroups && room(w, q); i++) {
		uint32_t id = q->groups[i];
		struct sim_group *g = &w->g[id];
		if (g->st != G_SAVED)
			continue;
		uint32_t free = room(w, q);
		uint32_t n = g->blocks <= free ? g->blocks : free;
		gprio_ns rem = g->remaining;
		/* cppcheck-suppress knownConditionTrueFalse ; true whenever free_slots < blocks */
		if (n < g->blocks) { /* split: the rest stays saved */
			uint32_t nid = group_new(w);
			if (nid == UINT32_MAX)
				return given;
			g = &w->g[id]; /* the pool may have moved */
			g->blocks -= n;
			if (!group_attach(w, q, nid))
				return given;
			group_run(w, q, nid, n, rem);
		} else {
			q->nsaved--;
			group_run(w, q, id, n, rem);
		}
		given += n;
	}
	if (q->rptr == q->done && q->wptr != q->rptr && !q->held) {
		struct sim_cmd *c = &q->ring[q->rptr & (q->cap - 1)];
		if (c->visible_at > w->now) {
			dispatch_when_visible(w, q, c->visible_at);
			return given;
		}
		q->rptr++;
		q->undispatched = c->blocks;
		q->block_ns = c->block_ns;
		proc_exec(w, q, +1);
	}
	if (q->rptr != q->done && q->undispatched && room(w, q)) {
		uint32_t free = room(w, q);
		uint32_t n = q->undispatched <= free ? q->undispatched : free;
		uint32_t id = group_new(w);
		if (id == UINT32_MAX || !group_attach(w, q, id))
			return given;
		q->undispatched -= n;
		group_run(w, q, id, n, q->block_ns);
		given += n;
	}
	return given;
}

void sim_dispatch(struct sim_world *w)
{
	if (w->arch->stalled(w))
		return;
	/* Strict priority between bands; round-robin inside a band so equal queues share: the
	 * band is visited from its round-robin start to its end, then from its beginning to the
	 * start, ready ranks only (a bit set: most are not). */
	uint32_t i = 0;
	while (i < w->nq && w->free_slots) {
		uint32_t j = w->band_end[i];
		uint32_t band = j - i, start = i + (band > 1 ? w->rr % band : 0);
		for (uint32_t idx = next_ready(w, start, j); idx < j && w->free_slots;
		     idx = next_ready(w, idx + 1, j))
			visit(w, idx);
		for (uint32_t idx = next_ready(w, i, start); idx < start && w->free_slots;
		     idx = next_ready(w, idx + 1, start))
			visit(w, idx);
		i = j;
	}
	w->rr++;
}

static void group_done(struct sim_world *w, uint32_t id, uint64_t gen)
{
	if (id >= w->ng)
		return;
	struct sim_group *g = &w->g[id];
	if (g->st != G_RUNNING || g->gen != gen)
		return; /* saved or reused since: stale */
	struct sim_q *q = &w->q[g->q];
	if (q->freeze_at != GPRIO_NS_NEVER && g->end > q->freeze_at)
		return; /* being CWSR-saved: the unmap completion converts it */
	slots_give(w, q, g->blocks);
	group_free(w, q, id);
	if (q->undispatched == 0 && q->ngroups == 0 && q->rptr != q->done)
		kernel_complete(w, q, false);
}

void sim_handle(struct sim_world *w, const struct sim_event *e)
{
	w->events++;
	switch ((enum sim_ev)e->type) {
	case EV_GROUP_DONE: group_done(w, e->a, e->b); break;
	case EV_ARRIVAL:
	case EV_LAUNCH:
		/* a launch is not visible to the GPU yet (EV_DISPATCH follows at visible_at) */
		w->wl->event(w, e);
		w->arch->changed(w);
		return;
	case EV_WAKE:
	case EV_END: return;
	case EV_DISPATCH:
		if (e->a < w->nq) {
			if (w->q[e->a].dispatch_at == e->t)
				w->q[e->a].dispatch_at = GPRIO_NS_NEVER;
			sim_mark(w, &w->q[e->a]);
		}
		break;
	default:
		w->arch->event(w, e);
		sim_mark_all(w); /* an architecture event can change who is eligible */
		break;
	}
	w->arch->changed(w);
	sim_dispatch(w);
}
