/* Choosing the preemption mechanism of one GPU (see gprio/mechanism.h for the law). */
#include "gprio/mechanism.h"

void gprio_mech_defaults(struct gprio_mech_params *p)
{
	p->gpu_bound = 500 * GPRIO_NS_PER_US;
	p->cpu_bound = 200 * GPRIO_NS_PER_US;
	p->busy_share = 50;
	p->stuck = 2 * GPRIO_NS_PER_MS;
	p->window = GPRIO_NS_PER_S;
	p->idle_after = 10 * GPRIO_NS_PER_S;
	p->side_busy = 100 * GPRIO_NS_PER_MS;
	p->max_starts = 500;
	p->recheck = 4 * GPRIO_NS_PER_S;
	p->trial = 100 * GPRIO_NS_PER_MS;
	p->trial_launches = 20;
	p->trial_waits = 2;
	p->leave_trial = 200 * GPRIO_NS_PER_MS;
	p->leave_early = 50 * GPRIO_NS_PER_MS;
	p->leave_early_waits = 20;
	p->offline_floor = GPRIO_NS_PER_MS;
	p->offline_turn = 200 * GPRIO_NS_PER_MS;
	p->turn_drain = 500 * GPRIO_NS_PER_MS;
}

const char *gprio_mech_name(enum gprio_mech m)
{
	static const char *const names[GPRIO_USE_COUNT] = {
		"idle", "leave", "tsg", "tsg-guarded", "gate", "tsg-shared", "mps", "tsg-turns"};
	return (unsigned)m < GPRIO_USE_COUNT ? names[m] : "?";
}

/* The mechanism that protects GPU-bound online work here. */
static enum gprio_mech protect(const struct gprio_mech_params *p, const struct gprio_mech_obs *o,
			       const struct gprio_mech_state *st, const char **why)
{
	if (o->mps) {
		/* gating offline would throw away what MPS does well (H200, side-stream service
		 * next to training under gpriod --mps on: gating gave offline 8.3 it/s, MPS
		 * priority alone 26.9) */
		*why = "all programs here are clients of one MPS server: its client priority "
		       "orders them (offline below normal); nothing gated, no timeslice switched";
		return GPRIO_USE_MPS;
	}
	if (!o->timeslices_ok) {
		*why = "online GPU-bound, timeslices unavailable: launch gating";
		return GPRIO_USE_GATE;
	}
	if (o->side_stream_busy) {
		*why = "online GPU-bound with a stream that never drains: online at the driver's "
		       "timeslice, offline at its floor (a shorter one would starve it)";
		return GPRIO_USE_TSG_GUARDED;
	}
	/* two offline contexts with work at a 1 us timeslice hand the GPU to each other every
	 * microsecond and make no progress (H200, cell twooff, the CUDA-graph service next to
	 * two training jobs under static TSG: 220 and 235 launches in five minutes); at a longer
	 * offline timeslice online waits for theirs (part 35: 1 ms, p99 2.17x alone with offline
	 * at 0.90 of unmanaged; 250 us, 1.30x and 0.54; 100 us, 1.24x and 0.12). One at a time
	 * (turns) the GPU holds what it holds next to one offline job. */
	if (o->offline_procs >= 2) {
		*why = "online GPU-bound next to two or more offline processes: online long "
		       "timeslice, offline short, the offline processes taking turns (two at 1 us "
		       "would spend their time switching between themselves)";
		return GPRIO_USE_TSG_TURNS;
	}
	/* once shared, shared while online launches often enough to restart the GPU that often:
	 * under the floor its work waits for offline's slice instead of draining, so its
	 * restarts are undercounted (the simulator's cell `two` switched tsg <-> tsg-shared
	 * every second or two on restarts alone, and every return to tsg starves offline) */
	if (st->others && (st->all_rate > p->max_starts || (st->mech == GPRIO_USE_TSG_SHARED &&
							    st->all_launch_rate > p->max_starts))) {
		*why = "online GPU-bound next to online work that restarts the GPU too often: "
		       "online long timeslice, offline at its floor (each restart would preempt "
		       "a shorter one)";
		return GPRIO_USE_TSG_SHARED;
	}
	*why = "online GPU-bound: online long timeslice, offline short";
	return GPRIO_USE_TSG;
}

/* Nothing to protect: what was measured belongs to work that is gone (a window half full of
 * an earlier process's restarts must not decide for the next one). */
static void forget(struct gprio_mech_state *st, gprio_ns now)
{
	st->last_mean = 0;
	st->last_rate = 0;
	st->cpu_until = 0;
	st->win_start = now;
	st->win_waits = st->win_starts = st->win_launches = 0;
	st->win_sampled = st->win_sampled_starts = 0;
	st->win_waited = 0;
	st->win_active = st->trial_active = 0;
	st->last_share = 0;
	st->trial_start = st->trial_until = 0;
	st->strikes = 0;
	st->rec_start = now;
	st->rec_launches = 0;
	st->rec_rate = 0;
	st->all_rate = st->all_launch_rate = 0;
	st->others = false;
	st->leave_hurts = false;
	st->lt_until = 0;
	for (int k = 0; k < 4; k++)
		st->win_all[k] = st->trial_all[k] = 0;
}

/* Waits of some length that fill most of the time the work was active: its steps' own GPU
 * time between short host gaps under protection, waiting for its neighbour without it. */
static bool waits_fill(const struct gprio_mech_params *p, gprio_ns mean, unsigned share)
{
	return mean >= p->cpu_bound && share >= p->busy_share;
}

/* Waits without protection that show leaving hurts: they fill the work's time, or they are
 * GPU-bound long on average and fill a quarter of it (H200, the ResNet-50 CUDA graph service
 * left at its warm-up window: 2359-2804 us waits filling 34-41 % of its time kept `leave` for
 * 0.6-0.8 s of its first requests in parts 26, 28 and 33, p99 1.050-1.057x alone, against
 * 1.033x in part 27 where it was not left; eager bs1 and the decode loop, which lose nothing
 * to leaving, wait 0.4-1.8 ms for 1-12 % of their time there) */
static bool leaving_hurts(const struct gprio_mech_params *p, gprio_ns mean, unsigned share)
{
	return waits_fill(p, mean, share) || (mean >= p->gpu_bound && share >= p->busy_share / 2);
}

/* Waits that make work GPU-bound: long on average, or filling its active time. */
static bool waits_gpu_bound(const struct gprio_mech_params *p, gprio_ns mean, unsigned share)
{
	return mean >= p->gpu_bound || waits_fill(p, mean, share);
}

static unsigned share_of(gprio_ns waited, gprio_ns active)
{
	if (!active)
		return 0;
	uint64_t pct = waited * 100 / active;
	return pct > 1000 ? 1000u : (unsigned)pct; /* several threads may wait at once */
}

/* Restarts per second over a stretch: the sampled fraction of all launches where samples
 * exist (most restarts of a fast launcher go unseen outside them), else those seen. */
static uint64_t restart_rate(uint64_t starts, uint64_t launches, uint64_t sampled,
			     uint64_t sampled_starts, gprio_ns len)
{
	uint64_t restarts = starts;
	if (sampled) {
		uint64_t est = launches * sampled_starts / sampled;
		restarts = est > restarts ? est : restarts;
	}
	return len ? restarts * GPRIO_NS_PER_S / len : 0;
}

/* A trial of leaving from now: its waits judged at its end. */
static void leave_trial_begin(const struct gprio_mech_params *p, struct gprio_mech_state *st,
			      gprio_ns now)
{
	st->lt_until = now + p->leave_trial;
	st->lt_waits = 0;
	st->lt_waited = st->lt_active = 0;
}

/* A trial of protection from now: every online launch sampled until its end. */
static void trial_begin(const struct gprio_mech_params *p, struct gprio_mech_state *st,
			gprio_ns now)
{
	st->trial_start = now;
	st->trial_until = now + p->trial;
	st->trial_starts = st->trial_launches = st->trial_waits = 0;
	st->trial_waited = 0;
	st->trial_active = 0;
	st->trial_sampled = st->trial_sampled_starts = 0;
	for (int k = 0; k < 4; k++)
		st->trial_all[k] = 0;
}

/* Fold one interval's observations into the window, the launch rate while launching, and the
 * trials in progress. */
static void fold(const struct gprio_mech_params *p, const struct gprio_mech_obs *o,
		 struct gprio_mech_state *st, gprio_ns now)
{
	if (!st->win_start)
		st->win_start = now;
	st->win_waits += o->waits;
	st->win_waited += o->waited;
	st->win_active += o->active;
	st->win_starts += o->starts;
	st->win_launches += o->launches;
	st->win_sampled += o->sampled;
	st->win_sampled_starts += o->sampled_starts;
	const uint64_t all[4] = {o->all_starts, o->all_launches, o->all_sampled,
				 o->all_sampled_starts};
	for (int k = 0; k < 4; k++)
		st->win_all[k] += all[k];
	/* online launches per second while it launches (over the span of the last quarter
	 * window that had launches; idle gaps between requests do not dilute it): restarts
	 * cannot outnumber them */
	if (!st->rec_start)
		st->rec_start = now;
	if (o->launches) {
		if (!st->rec_launches)
			st->rec_first = now;
		st->rec_last = now;
		st->rec_launches += o->launches;
	}
	if (now - st->rec_start >= p->window / 4) {
		if (st->rec_launches) {
			gprio_ns span = st->rec_last - st->rec_first, least = p->window / 40;
			st->rec_rate =
				st->rec_launches * GPRIO_NS_PER_S / (span > least ? span : least);
		}
		st->rec_start = now;
		st->rec_launches = 0;
	}
	if (st->trial_until) {
		st->trial_starts += o->starts;
		st->trial_launches += o->launches;
		st->trial_waits += o->waits;
		st->trial_waited += o->waited;
		st->trial_active += o->active;
		st->trial_sampled += o->sampled;
		st->trial_sampled_starts += o->sampled_starts;
		for (int k = 0; k < 4; k++)
			st->trial_all[k] += all[k];
	}
	if (st->lt_until) {
		st->lt_waits += o->waits;
		st->lt_waited += o->waited;
		st->lt_active += o->active;
	}
}

/* A leave trial in progress: judged at its end, or early once its waits show leaving hurts;
 * leaving that hurts sets leave_hurts. */
static void judge_leave_trial(const struct gprio_mech_params *p, struct gprio_mech_state *st,
			      gprio_ns now)
{
	if (!st->lt_until)
		return;
	gprio_ns mean = st->lt_waits ? st->lt_waited / st->lt_waits : 0;
	unsigned share = share_of(st->lt_waited, st->lt_active);
	bool hurts = st->lt_waits && leaving_hurts(p, mean, share);
	/* enough waits, all showing it: judged now, not at the trial's end (each tick of a
	 * queue building behind the neighbour is part of the p99) */
	bool early = hurts && st->lt_waits >= p->leave_early_waits &&
		     now >= st->lt_until - p->leave_trial + p->leave_early;
	if (now >= st->lt_until || early) {
		st->lt_until = 0;
		st->lt_judged++;
		if (st->mech == GPRIO_USE_LEAVE && st->lt_waits) {
			st->judged_mean = mean;
			st->judged_share = share;
			if (hurts)
				st->leave_hurts = true;
			else
				st->lt_kept++;
		}
		/* judged again while the verdict stands: a queue behind the neighbour
		 * may take longer than one trial to build (H200, the CUDA-graph decoder
		 * left at its warm-up: a whole window passed before it was protected) */
		if (st->mech == GPRIO_USE_LEAVE && !st->leave_hurts && now < st->cpu_until)
			leave_trial_begin(p, st, now);
	}
}

/* A window that ran its course: its mean wait, share and restart rates become the last ones.
 * Returns whether it ended now. */
static bool close_window(const struct gprio_mech_params *p, struct gprio_mech_state *st,
			 gprio_ns now)
{
	if (now - st->win_start < p->window)
		return false;
	/* a window with no finished wait keeps the last mean (online idle, or in one long
	 * wait, which `current` shows) */
	if (st->win_waits) {
		st->last_mean = st->win_waited / st->win_waits;
		st->last_share = share_of(st->win_waited, st->win_active);
		st->judged_mean = st->last_mean;
		st->judged_share = st->last_share;
		/* the whole window without protection, and the work waited for its
		 * neighbour most of the time it was active: leaving hurts it */
		if (st->mech == GPRIO_USE_LEAVE && st->since <= st->win_start &&
		    leaving_hurts(p, st->last_mean, st->last_share))
			st->leave_hurts = true;
	}
	st->last_rate = restart_rate(st->win_starts, st->win_launches, st->win_sampled,
				     st->win_sampled_starts, now - st->win_start);
	st->all_rate = restart_rate(st->win_all[0], st->win_all[1], st->win_all[2], st->win_all[3],
				    now - st->win_start);
	st->all_launch_rate = st->win_all[1] * GPRIO_NS_PER_S / (now - st->win_start);
	st->others = st->win_all[1] > st->win_launches;
	st->win_start = now;
	st->win_waits = st->win_starts = st->win_launches = 0;
	st->win_sampled = st->win_sampled_starts = 0;
	st->win_waited = 0;
	st->win_active = 0;
	for (int k = 0; k < 4; k++)
		st->win_all[k] = 0;
	return true;
}

/* A trial of protection that ran its course: its restarts, every launch sampled, decide.
 * Returns true when it failed (too many restarts, waits not GPU-bound). */
static bool judge_trial(const struct gprio_mech_params *p, struct gprio_mech_state *st,
			gprio_ns now, bool protecting)
{
	if (!st->trial_until || now < st->trial_until)
		return false;
	uint64_t trial_seen =
		st->trial_all[1] > st->trial_launches ? st->trial_all[1] : st->trial_launches;
	if (protecting && (trial_seen < p->trial_launches || st->trial_waits < p->trial_waits) &&
	    (now - st->trial_began < p->window || (!trial_seen && !st->trial_waits))) {
		/* too few online launches or waits to judge (a program still loading its model;
		 * one wait is no mean): the next trial judges instead, up to a window after the
		 * first that saw online launches; a silent trial does not count against that
		 * window (a program's warm-up, then a pause before its first request: the
		 * requests are judged, not the pause) */
		if (!trial_seen && !st->trial_waits)
			st->trial_began = now; /* online silent: nothing to judge yet */
		trial_begin(p, st, now);
		return false;
	}
	uint64_t rate = restart_rate(st->trial_starts, st->trial_launches, st->trial_sampled,
				     st->trial_sampled_starts, now - st->trial_start);
	/* waits that stay long under protection are the work's own GPU time (a CUDA
	 * graph of several ms): GPU-bound, and its restarts (a copy, the graph, a copy
	 * per request, 400 a second for ResNet-50 bs16 at 40 requests a second, over 500
	 * in a burst) are the price of protecting it, not a sign of CPU-bound work, whose
	 * waits under protection are short (H200: the graph service failed trials and
	 * flapped between leave and tsg) */
	bool gpu_bound =
		st->trial_waits && waits_gpu_bound(p, st->trial_waited / st->trial_waits,
						   share_of(st->trial_waited, st->trial_active));
	if (st->trial_waits) {
		st->judged_mean = st->trial_waited / st->trial_waits;
		st->judged_share = share_of(st->trial_waited, st->trial_active);
	}
	bool failed = protecting && rate > p->max_starts && !gpu_bound && !st->leave_hurts;
	st->all_rate = restart_rate(st->trial_all[0], st->trial_all[1], st->trial_all[2],
				    st->trial_all[3], now - st->trial_start);
	st->all_launch_rate = now > st->trial_start
				      ? st->trial_all[1] * GPRIO_NS_PER_S / (now - st->trial_start)
				      : 0;
	st->others = st->trial_all[1] > st->trial_launches;
	st->trial_start = st->trial_until = 0;
	st->trials_judged++;
	st->trial_rate = rate;
	st->trial_waits_seen = st->trial_waits;
	if (failed)
		st->last_rate = rate;
	return failed;
}

/* Does the window that just ended condemn the work on its restarts (more than `max_starts` a
 * second, and under protection waits that are not GPU-bound)? */
static bool window_restarts(const struct gprio_mech_params *p, const struct gprio_mech_obs *o,
			    struct gprio_mech_state *st, gprio_ns now, bool window_done,
			    bool protecting)
{
	/* a window's restarts under protection that ended with the work falling silent (a
	 * quarter window without online work) were a phase, not the service: tried on what
	 * comes next, every launch sampled, rather than judged (H200, the ResNet-50 CUDA graph
	 * service: a window of its eager warm-up and graph capture counted 3714 restarts a
	 * second, then a second of silence, and 810 ms of LEAVE followed its first requests
	 * before their waits brought protection back; they restart the GPU 400 times a second) */
	bool restarts = window_done && st->last_rate > p->max_starts &&
			!(protecting && waits_gpu_bound(p, st->last_mean, st->last_share));
	if (restarts && protecting && p->trial && o->last_work &&
	    now - o->last_work >= p->window / 4) {
		if (!st->trial_until) {
			trial_begin(p, st, now);
			st->trial_began = now;
		}
		return false;
	}
	return restarts;
}

/* A restart verdict lifted: online now launches too slowly for its restarts to cost what the
 * verdict feared (a program's eager warm-up is over and its CUDA graph service runs); the
 * failed trials were the warm-up's, not this work's. */
static void lift_verdict(const struct gprio_mech_params *p, struct gprio_mech_state *st)
{
	if ((st->cpu_until || st->strikes) && st->rec_rate && st->rec_rate <= p->max_starts) {
		st->cpu_until = 0;
		st->strikes = 0;
	}
}

/* The mechanism wanted now (and why), from the verdicts of this call and the state. */
static enum gprio_mech decide(const struct gprio_mech_params *p, const struct gprio_mech_obs *o,
			      struct gprio_mech_state *st, gprio_ns now, bool protecting,
			      bool restart_verdict, const char **why_out)
{
	enum gprio_mech want = st->mech;
	const char *why = st->why;
	static const char restarts[] =
		"online restarts the GPU too often (CPU-bound): each restart "
		"under TSG priority would cost offline a context switch pair";
	static const char slowed[] =
		"online slowed without protection (its waits for its neighbour filled much of the "
		"time it was active): protected whatever its restarts";
	if (!o->online || !o->offline) {
		want = GPRIO_USE_IDLE;
		why = !o->online ? "no online work on this GPU" : "no offline work on this GPU";
		forget(st, now);
	} else if (!o->last_work || now - o->last_work > p->idle_after) {
		want = GPRIO_USE_IDLE;
		why = "online work idle";
		forget(st, now);
	} else if (o->mps) {
		/* every program here is a client of one MPS server: they run side by side, ordered
		 * by client priority, and no timeslice is switched, so online's restarts cost offline
		 * no context switch and leaving would set nothing different; nothing to try or judge
		 * (H200, eager bs1 under gpriod --mps on: the law left it for 5854 restarts a second
		 * under a reason about TSG priority, and trials sampled every launch for nothing) */
		want = protect(p, o, st, &why);
		st->trial_start = st->trial_until = 0;
		st->lt_until = 0;
		st->cpu_until = 0;
		st->strikes = 0;
	} else if (!o->completions) {
		/* launches only: waits cannot be told apart; the latency-safe choice */
		want = protect(p, o, st, &why);
		why = "no completion counters from online work: assumed GPU-bound";
	} else if (st->leave_hurts && !protecting) {
		/* leaving was tried and measured: the work waited for its neighbour most of the
		 * time; its restarts are the price of protecting it */
		st->cpu_until = 0;
		st->strikes = 0;
		want = protect(p, o, st, &why);
		if (want == GPRIO_USE_TSG)
			why = slowed;
	} else if (!st->leave_hurts && restart_verdict && o->current < p->side_busy) {
		/* what TSG priority costs offline, measured where it runs (and a lower bound where
		 * it does not: a neighbour holding the GPU keeps online's work from draining);
		 * each failed trial doubles the time before the next (up to 32 x): a program's
		 * start (eager warm-up before a CUDA graph is captured) fails one short verdict,
		 * a CPU-bound service ends up tried once a minute */
		want = GPRIO_USE_LEAVE;
		why = restarts;
		st->cpu_until = now + (p->recheck << st->strikes);
		if (protecting && st->strikes < 5)
			st->strikes++;
		if (protecting && p->leave_trial) {
			leave_trial_begin(p, st, now); /* judged by what leaving does to it, soon */
			st->lt_kept = 0;
		}
	} else if (now < st->cpu_until && o->current < p->side_busy &&
		   st->rec_rate > p->max_starts) {
		/* the verdict stands while online launches fast enough to restart the GPU that
		 * often (a program's eager warm-up fails a trial; the CUDA graph service that
		 * follows launches 40 times a second and is judged by its waits again) */
		want = GPRIO_USE_LEAVE;
		why = restarts;
	} else if (protecting) {
		/* short waits under protection show it works, not that it is not needed: keep it
		 * (while its cost in restarts is low), following refusals and side streams */
		want = protect(p, o, st, &why);
		if (st->leave_hurts && want == GPRIO_USE_TSG)
			why = slowed;
	} else if (((st->last_mean >= p->gpu_bound || o->current >= p->stuck) && !st->strikes) ||
		   (want == GPRIO_USE_IDLE && !st->last_mean)) {
		/* waits measured without protection: long ones are what a neighbour costs, and one
		 * in progress for `stuck` is online work pending while the GPU does something else
		 * (the design's priority inversion), whatever the last window's mean (after a lifted
		 * verdict that mean is the warm-up's); work that failed a trial and still launches
		 * as fast is protected again only where leaving hurts it (its waits fill half of its
		 * active time: leave_hurts), not on long waits that take little of its time (H200,
		 * eager bs1: 640 us waits filling 4 % of it brought it back under TSG for 6 s,
		 * offline at 21.4 it/s against 25.8 left alone); the protection is tried first
		 * (every online launch sampled). Online work that appears next to offline work
		 * is protected first, then measured: its first requests are not left to a
		 * neighbour while its waits are measured (probe next to 1 ms offline kernels on
		 * an H200: p99 1.73 ms when it started unprotected, 0.26 ms under static TSG);
		 * the trial ends it within 100 ms if it restarts the GPU too often */
		bool first = want == GPRIO_USE_IDLE;
		want = protect(p, o, st, &why);
		if (first && o->current < p->stuck && st->last_mean < p->gpu_bound)
			why = "online work appeared: protected first while its restarts are "
			      "measured";
		if (p->trial && gprio_mech_protects(want)) {
			trial_begin(p, st, now);
			st->trial_began = now;
		}
	} else if (st->last_mean && st->last_mean < p->cpu_bound) {
		want = GPRIO_USE_LEAVE;
		why = "online CPU-bound (the GPU keeps up with it): a neighbour barely slows it";
	}
	*why_out = why;
	return want;
}

bool gprio_mech_choose(const struct gprio_mech_params *p, const struct gprio_mech_obs *o,
		       struct gprio_mech_state *st, gprio_ns now)
{
	fold(p, o, st, now);
	judge_leave_trial(p, st, now);
	bool window_done = close_window(p, st, now);
	bool protecting = gprio_mech_protects(st->mech);
	bool trial_failed = judge_trial(p, st, now, protecting);
	bool restarts = window_restarts(p, o, st, now, window_done, protecting);
	lift_verdict(p, st);
	const char *why;
	enum gprio_mech want = decide(p, o, st, now, protecting, trial_failed || restarts, &why);
	if (want == st->mech && st->why) {
		st->why = why;
		return false;
	}
	bool changed = want != st->mech;
	st->mech = want;
	st->why = why;
	if (changed)
		st->since = now;
	return changed;
}
