/* The launch gate: the in-process half of gpriod's policy (struct gprio_policy.gate), run before
 * every submission with no daemon round trip. A process that may publish marks its level hot;
 * a launch waits while the policy's gate is closed for it (a higher level is hot) or gpriod
 * holds it (override), and never once gpriod is gone (fail open). */
#include <time.h>

#include "gprio/gate.h"
#include "gprio/turns.h"
#include "shim.h"

gprio_ns shim_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gprio_ns)ts.tv_sec * GPRIO_NS_PER_S + (gprio_ns)ts.tv_nsec;
}

struct shim_binding *shim_binding(void)
{
	return atomic_load_explicit(&g_shim.b, memory_order_acquire);
}

bool shim_daemon_fresh(const struct shim_binding *b, gprio_ns now)
{
	gprio_ns hb = atomic_load_explicit(&b->shm->heartbeat_ns, memory_order_relaxed);
	return hb + GPRIO_SHM_STALE_NS > now;
}

/* gpriod runs a policy other than none (which passes everything through). */
bool shim_policy_active(const struct shim_binding *b)
{
	const struct gprio_policy *p = gprio_policy_at(atomic_load(&b->shm->policy));
	return p && p != &gprio_policy_none;
}

void shim_mech_set(uint32_t bits, bool on)
{
	struct shim_binding *b = shim_binding();
	if (!b)
		return;
	if (on)
		atomic_fetch_or(&b->stats->mechanisms, bits);
	else
		atomic_fetch_and(&b->stats->mechanisms, ~bits);
}

static struct gprio_shm_hot *hot_of(const struct shim_binding *b)
{
	return atomic_load_explicit(&b->hot, memory_order_acquire);
}

/* The GPU rows a process acts on: those it uses, or every row while gpriod has not listed
 * its GPUs yet. */
static uint32_t rows_of(const struct shim_binding *b)
{
	uint32_t rows = shim_gpu_rows(b);
	return rows ? rows : (uint32_t)((1ull << GPRIO_SHM_GPUS) - 1);
}

/* Each level's latest "hot until" over our GPUs. */
static void load_hot(const struct shim_binding *b, uint32_t rows, gprio_ns hot[GPRIO_PRIO_LEVELS])
{
	struct gprio_shm_hot *h = hot_of(b);
	for (int l = 0; l < GPRIO_PRIO_LEVELS; l++)
		hot[l] = 0;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		if (!(rows & 1u << g))
			continue;
		for (int l = 0; l < GPRIO_PRIO_LEVELS; l++) {
			gprio_ns v =
				atomic_load_explicit(&h->hot_until[g][l], memory_order_relaxed);
			if (v > hot[l])
				hot[l] = v;
		}
	}
}

/* Launch gating on for us: the configured switch, or (per-GPU mechanisms) one of our GPUs
 * gpriod chose gating for. */
static bool gating_on(const struct shim_binding *b, uint32_t rows)
{
	if (!atomic_load_explicit(&b->shm->mech_auto, memory_order_relaxed))
		return atomic_load_explicit(&b->shm->gating, memory_order_relaxed) != 0;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++)
		if ((rows & 1u << g) &&
		    atomic_load_explicit(&b->shm->gpus[g].gating, memory_order_relaxed))
			return true;
	return false;
}

/* How a held launch's wait ended. */
enum held_end { HELD_OPEN, HELD_DAEMON, HELD_GROUP };

/* A held launch waits in 20 us naps (well under a context switch) while still_held says so,
 * and never once gpriod is gone or its heartbeat stale (fail open), nor, for a member of a
 * group, longer than the group's bound (its peers' collectives must not time out: this launch
 * goes, the next one is held again). Counted as one gated launch; *now: when it ended. */
static enum held_end wait_held(struct shim_binding *b, gprio_ns *now,
			       bool (*still_held)(struct shim_binding *, gprio_ns, void *),
			       void *arg)
{
	const struct gprio_shm_proc *row = b->row;
	gprio_ns t0 = *now;
	enum held_end end;
	atomic_fetch_add(&b->stats->waiting, 1);
	for (;;) {
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
		*now = shim_now();
		if (!shim_daemon_fresh(b, *now) ||
		    !atomic_load_explicit(&g_shim.live, memory_order_relaxed)) {
			end = HELD_DAEMON;
			break;
		}
		gprio_ns most = atomic_load_explicit(&b->shm->group_hold_ns, memory_order_relaxed);
		if (atomic_load_explicit(&row->group_rows, memory_order_relaxed) && most &&
		    *now - t0 >= most) {
			end = HELD_GROUP;
			break;
		}
		if (!still_held(b, *now, arg)) {
			end = HELD_OPEN;
			break;
		}
	}
	atomic_fetch_sub(&b->stats->waiting, 1);
	atomic_fetch_add(&b->stats->gated_launches, 1);
	atomic_fetch_add(&b->stats->gate_wait_ns, *now - t0);
	return end;
}

/* TSG turns (gprio/turns.h): is the turn on one of our known GPUs someone else's? */
static bool turn_elsewhere(const struct shim_binding *b, uint32_t me)
{
	uint32_t rows = shim_gpu_rows(b);
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		if (!(rows & 1u << g))
			continue;
		uint32_t t = atomic_load_explicit(&b->shm->gpus[g].turn, memory_order_relaxed);
		if (t != GPRIO_TURN_ALL && t != me)
			return true;
	}
	return false;
}

static bool turn_held(struct shim_binding *b, gprio_ns now, void *me)
{
	(void)now;
	return turn_elsewhere(b, *(const uint32_t *)me);
}

/* An offline launch waits for its turn on its GPUs (wait_held's bounds). */
static void turn_wait(struct shim_binding *b, gprio_ns now)
{
	const struct gprio_shm_proc *row = b->row;
	uint32_t me = (uint32_t)(row - b->shm->procs) + 1;
	if (atomic_load_explicit(&row->klass, memory_order_relaxed) != GPRIO_CLASS_OFFLINE ||
	    !turn_elsewhere(b, me))
		return;
	gprio_ns t0 = now;
	enum held_end end = wait_held(b, &now, turn_held, &me);
	if (end == HELD_DAEMON)
		SHIM_LOG("turn wait released after %.3f ms: daemon gone\n",
			 (double)(now - t0) / 1e6);
	else if (end == HELD_GROUP)
		SHIM_LOG("turn wait: group member let through after %.3f ms\n",
			 (double)(now - t0) / 1e6);
}

/* The gate's state while it holds a launch: what it decided on, reread at each look. */
struct gate_look {
	const struct gprio_policy *pol;
	gprio_ns hot[GPRIO_PRIO_LEVELS];
	unsigned ov;
};

static bool gate_held(struct shim_binding *b, gprio_ns now, void *arg)
{
	struct gate_look *l = arg;
	const struct gprio_shm_proc *row = b->row;
	uint32_t group = atomic_load_explicit(&row->group_rows, memory_order_relaxed);
	load_hot(b, rows_of(b) | group, l->hot);
	l->ov = atomic_load_explicit(&row->gate_override, memory_order_relaxed);
	int prio = (int)atomic_load_explicit(&row->priority, memory_order_relaxed);
	return gprio_gate_closed(l->pol, l->hot, prio, l->ov, now);
}

/* Called before every submission. Cheap when inactive: one acquire load. */
void shim_launch_gate(void)
{
	if (!atomic_load_explicit(&g_shim.started, memory_order_relaxed))
		shim_start();
	if (!atomic_load_explicit(&g_shim.live, memory_order_acquire))
		return; /* pairs with the watcher's store after it registered */
	struct shim_binding *b = shim_binding();
	const struct gprio_shm_proc *row = b->row;
	gprio_ns now = shim_now();
	atomic_fetch_add_explicit(&b->stats->launches, 1, memory_order_relaxed);
	atomic_store_explicit(&b->stats->last_launch_ns, now, memory_order_relaxed);
	int prio = (int)atomic_load_explicit(&row->priority, memory_order_relaxed);
	gprio_ns hyst = atomic_load_explicit(&b->shm->hysteresis_ns, memory_order_relaxed);
	uint32_t rows = rows_of(b);
	if (prio > 0 && atomic_load_explicit(&b->hot_rw, memory_order_acquire)) {
		/* publish: this level is hot on our GPUs until now + hysteresis (never moves
		 * backwards) */
		for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
			if (!(rows & 1u << g))
				continue;
			_Atomic uint64_t *h = &hot_of(b)->hot_until[g][prio];
			gprio_ns cur = atomic_load_explicit(h, memory_order_relaxed);
			gprio_ns want = gprio_hot_extend(cur, now, hyst);
			while (want > cur &&
			       !atomic_compare_exchange_weak_explicit(
				       h, &cur, want, memory_order_release, memory_order_relaxed))
				want = gprio_hot_extend(cur, now, hyst);
		}
	}
	turn_wait(b, now);
	/* held as one with our group: while any of its GPUs is hot (publishing stays ours) */
	uint32_t group = atomic_load_explicit(&row->group_rows, memory_order_relaxed);
	rows |= group;
	if (!gating_on(b, rows))
		return;
	unsigned bound = shim_inflight_bound();
	if (bound)
		shim_inflight_wait(bound);
	struct gate_look l = {.pol = gprio_policy_at(
				      atomic_load_explicit(&b->shm->policy, memory_order_relaxed))};
	load_hot(b, rows, l.hot);
	l.ov = atomic_load_explicit(&row->gate_override, memory_order_relaxed);
	if (!gprio_gate_closed(l.pol, l.hot, prio, l.ov, now))
		return;
	/* held: wait for the level above to cool down, a release, or the daemon to vanish */
	gprio_ns t0 = now;
	enum held_end end = wait_held(b, &now, gate_held, &l);
	if (end == HELD_DAEMON)
		SHIM_LOG("gate released after %.3f ms: daemon %s\n", (double)(now - t0) / 1e6,
			 shim_daemon_fresh(b, now) ? "inactive or gone" : "heartbeat stale");
	else if (end == HELD_GROUP)
		SHIM_LOG("gate: group member let through after %.3f ms\n",
			 (double)(now - t0) / 1e6);
	else
		SHIM_LOG("gate opened after %.3f ms (hot level %d, override %u)\n",
			 (double)(now - t0) / 1e6, gprio_hot_level(l.hot, now), l.ov);
}
