/* Which preemption mechanism one GPU needs, decided from what its online work measurably does.
 * A pure function over observations (the backend gathers them: completion counters of each
 * process, what the driver accepted) and a small state it keeps per GPU. No I/O, no clock.
 *
 * The law, from measurements on an H100 and two H200 (docs/nvidia.md); the observations are
 * those of the GPU's highest-priority online work:
 *   - Online work whose host waits long for the GPU at its synchronisations (or inside a copy
 *     to pageable memory, which returns once the work ahead of it has run) while nothing
 *     protects it (a CUDA graph, a deep queue behind a neighbour's time slices: a window's
 *     mean wait of `gpu_bound`, or one wait in progress for `stuck`, where submitted work the
 *     GPU has not finished counts as a wait in progress) is protected:
 *     online gets a long timeslice and offline a short one (TSG), and the hardware switches
 *     to online within one context switch. Short waits under protection show it works, not
 *     that it is not needed: protection stays while its cost (below) is low.
 *   - Online work bound by its own CPU (the GPU keeps up and runs dry between its kernels:
 *     eager bs1, token by token decoding) is barely slowed by a neighbour, and each time it
 *     restarts the GPU under TSG priority offline pays a context switch pair (about 0.2 ms):
 *     at more than `max_starts` restarts per second while its waits under protection stay
 *     short (under `gpu_bound`: long ones are its own GPU time, GPU-bound work whose restarts
 *     are the price of protecting it; so are waits of at least `cpu_bound` that fill
 *     `busy_share` of the time the work was active: a CUDA-graph decoder waits 0.5 ms for
 *     each token and almost nothing for writing it back, a mean of 0.39 ms, for about two
 *     thirds of each request, where eager bs1 work waits 0.1 ms at the end of a 6 ms
 *     request), leave the GPU alone, and stay so for
 *     `recheck` before its waits may decide again (doubling at each failed trial, up to
 *     32 x: 4 s to 128 s), unless online's launches fall under `max_starts` a second, which
 *     its restarts cannot exceed (a program's eager warm-up before its CUDA graph is captured
 *     must not condemn the service that follows). Protection chosen from waits starts with
 *     a `trial`: its first 100 ms, in which the backend has every online launch sampled (so
 *     restarts are counted exactly, not estimated from a 20 ms sample a second) and which
 *     ends it at once when restarts are too many: CPU-bound online work pays a tenth of a
 *     second of TSG, not a whole window. (Its waits alone cannot tell: they grow
 *     behind a neighbour's timeslice and shrink under TSG priority, and its restarts are
 *     undercounted while a neighbour holds the GPU, since its work then does not drain.)
 *     A trial that saw fewer than `trial_launches` launches or `trial_waits` waits judges
 *     nothing and another follows, up to a window after the first that saw online work
 *     (silence, as between a program's warm-up and its first request, does not use up the
 *     window), and a window's restarts under protection that ended in a quarter window of
 *     silence (a warm-up, then the service) bring a trial, not a verdict. (H200: eager
 *     bs1's warm-up passes fill their time with waits, 343 of them in its first trial,
 *     87 %, and pass it as GPU-bound work would; its requests are judged by the trial that
 *     follows the pause.)
 *   - An online process with a stream that never drains (a busy side stream) would hold its
 *     request stream for a whole long timeslice: keep online's timeslice at the driver's, and
 *     offline's at `offline_floor` (TSG guarded): with online always runnable, a 1 us offline
 *     timeslice left offline nothing (H200: 0.3 iterations a second against 18.9 unmanaged),
 *     a floor of 1 ms leaves it about a third of the GPU and online waits at most that long.
 *   - GPU-bound online work protected next to two or more offline processes (each its own
 *     context): as TSG, but the offline processes take turns of `offline_turn`, one at a
 *     time, the others' launches waiting (TSG turns, gprio/turns.h): at 1 us two offline
 *     contexts with work hand the GPU to each other every microsecond (H200, the CUDA-graph
 *     service next to two training jobs under static TSG: 220 and 235 launches in five minutes),
 *     and at `offline_floor` online waits for their slices (p99 2.17x alone).
 *   - GPU-bound online work protected next to other online work (lower priorities; where
 *     there is none, its own restarts are its requests' price: a CUDA-graph decoder under
 *     static TSG ran at 2x alone with offline at 0.73 of alone, under the floor it was
 *     overloaded) when all online work restarts the GPU more than `max_starts` times a second: each of those restarts under a
 *     1 us offline timeslice preempts offline at once, a context switch pair each (H200: two
 *     offline jobs at 1.1 iterations a second against 16.8 + 15.6 unmanaged); online keeps its
 *     long timeslice and offline gets `offline_floor` (TSG shared), so the restarts wait for
 *     offline's slice instead of cutting it to nothing.
 *   - Where every program on the GPU, online and offline, is a client of one MPS server, MPS
 *     client priority orders them and nothing is switched (MPS) while online work is active,
 *     whatever its restarts and waits: no trial, no verdict (a restart costs offline no
 *     context switch there, and leaving would set nothing different).
 *   - Where timeslices cannot be set otherwise (the driver refused), GPU-bound online work is
 *     protected by launch gating instead (GATE).
 *   - No online work for a while, or no offline work: nothing to protect (IDLE). */
#ifndef GPRIO_MECHANISM_H
#define GPRIO_MECHANISM_H

#include "gprio/types.h"

enum gprio_mech {
	GPRIO_USE_IDLE = 0,    /* nothing to protect: driver defaults, no gating */
	GPRIO_USE_LEAVE,       /* online is CPU-bound: driver defaults, no gating */
	GPRIO_USE_TSG,         /* online long timeslice, offline short, no gating */
	GPRIO_USE_TSG_GUARDED, /* online driver default, offline short (busy side stream) */
	GPRIO_USE_GATE,        /* launch gating of lower priorities (no timeslices to use) */
	GPRIO_USE_TSG_SHARED,  /* online long timeslice, offline `offline_floor` (restarts) */
	GPRIO_USE_MPS,         /* all are clients of one MPS server: its client priority orders
				* them (and offline's SM share); no gating, no timeslices */
	GPRIO_USE_TSG_TURNS,   /* as TSG, two or more offline processes taking turns (turns.h) */
	GPRIO_USE_COUNT
};

/* What the backend saw on one GPU since the previous call. */
struct gprio_mech_obs {
	bool online;             /* an online process uses this GPU */
	bool offline;            /* an offline process uses this GPU */
	unsigned offline_procs;  /* offline processes here that launched within `idle_after`
				  * (each a context of its own, switched with the others) */
	bool timeslices_ok;      /* every process here accepts timeslices (no refusal, no MPS) */
	bool mps;                /* every process here, online and offline, is an MPS client */
	bool completions;        /* the online processes report completions (else: launches only) */
	uint64_t starts;         /* online submissions seen to find the GPU dry of its work */
	uint64_t launches;       /* online submissions */
	uint64_t sampled;        /* of those, in samples where each restart is seen */
	uint64_t sampled_starts; /* restarts among the sampled */
	uint64_t waits;          /* online host synchronisations that ended in this interval */
	gprio_ns waited;         /* their total length */
	gprio_ns current;      /* longest online wait in progress: a synchronisation, or the oldest
				* submission the GPU has not finished (0: none) */
	gprio_ns last_work;    /* last time online work was submitted or pending (0: never) */
	bool side_stream_busy; /* an online stream has not drained for `side_busy` */
	gprio_ns active;       /* of this interval, how long the deciding work was active
				* (launching, waiting, or with work pending) */
	/* restarts of all online work on the GPU, the deciding work's included (what TSG
	 * priority costs offline: every online restart preempts it) */
	uint64_t all_starts, all_launches, all_sampled, all_sampled_starts;
};

struct gprio_mech_params {
	gprio_ns gpu_bound;      /* mean wait at least this long over a window: GPU-bound */
	gprio_ns cpu_bound;      /* mean wait under this over a window: CPU-bound */
	unsigned busy_share;     /* % of its active time: waits of at least cpu_bound GPU-bound */
	gprio_ns stuck;          /* one wait in progress this long without protection: GPU-bound */
	gprio_ns window;         /* waits are averaged over windows this long */
	uint64_t max_starts;     /* online restarts per second above which TSG costs offline more */
	gprio_ns recheck;        /* how long a restart-bound verdict stands */
	gprio_ns idle_after;     /* no online work for this long: IDLE */
	gprio_ns side_busy;      /* a stream pending this long without draining */
	gprio_ns trial;          /* protection chosen from waits is first tried this long */
	uint64_t trial_launches; /* a trial that saw fewer online launches (all online work's)
				  * or fewer than `trial_waits` waits is followed by another, up
				  * to a window after the first that saw online launches */
	uint64_t trial_waits;
	gprio_ns leave_trial; /* leaving chosen from restarts is first judged after this long */
	gprio_ns leave_early; /* ... or after this long, once it saw `leave_early_waits` waits
				  * and they fill the work's time (judged hurting early) */
	uint64_t leave_early_waits;
	gprio_ns offline_floor; /* offline's timeslice where a shorter one would starve it */
	gprio_ns offline_turn;  /* TSG turns: how long one offline process has the GPU */
	gprio_ns turn_drain;    /* ... and the longest wait for its work to drain after */
};

/* Per GPU, kept by the caller between calls (zero it to start). */
struct gprio_mech_state {
	enum gprio_mech mech;
	gprio_ns since;     /* when mech was chosen */
	gprio_ns win_start; /* current averaging window */
	uint64_t win_waits, win_starts, win_launches, win_sampled, win_sampled_starts;
	uint64_t last_rate; /* online restarts per second in the last complete window */
	gprio_ns cpu_until; /* restart-bound verdict stands until then (0: none) */
	gprio_ns win_waited;
	gprio_ns last_mean;                /* mean wait of the last complete window (0: none yet) */
	gprio_ns win_active, trial_active; /* active time of the window, of the trial */
	unsigned last_share;               /* % of the last window's active time spent waiting */
	gprio_ns trial_start, trial_until; /* a trial of protection in progress (0: none) */
	gprio_ns trial_began;              /* the first of the trials that followed one another */
	uint64_t trial_starts, trial_launches, trial_sampled, trial_sampled_starts;
	uint64_t trial_waits;
	gprio_ns trial_waited; /* host waits under the trial's protection */
	unsigned strikes;      /* failed trials since online work appeared: recheck << strikes */
	gprio_ns rec_start, rec_first, rec_last; /* online launches per second while it launches */
	uint64_t rec_launches, rec_rate;
	uint64_t win_all[4],
		trial_all[4];     /* all online work: starts, launches, sampled, s.starts */
	uint64_t all_rate;        /* all online work's restarts per second (last window or trial) */
	uint64_t all_launch_rate; /* and its launches per second (last window) */
	bool others; /* online work besides the deciding work launched (last window or trial) */
	bool leave_hurts;   /* the leave trial or a whole window under LEAVE showed GPU-bound waits:
			   * protected from then on whatever its restarts, until the work goes idle
			   * or away */
	gprio_ns lt_until;  /* a leave trial in progress (0: none; it began leave_trial before);
			    * one follows another while the verdict stands */
	uint64_t lt_judged; /* leave trials that ended */
	uint64_t lt_kept;   /* of those, ended keeping LEAVE since it was chosen */
	uint64_t trials_judged;    /* trials of protection judged (the backend logs them) */
	uint64_t trial_rate;       /* the last judged trial's restarts per second */
	uint64_t trial_waits_seen; /* and its waits (judged_mean, judged_share: their mean) */
	uint64_t lt_waits;
	gprio_ns lt_waited, lt_active;
	gprio_ns judged_mean;  /* the mean wait of the last window or trial that ended */
	unsigned judged_share; /* and the % of its active time spent waiting */
	const char *why;       /* the reason for mech, a static string */
};

/* Leaving must not hurt: the first `leave_trial` under LEAVE (or `leave_early` of it, once it
 * has seen `leave_early_waits` waits), or a whole window, whose waits
 * are GPU-bound by share (at least `cpu_bound` on average, filling `busy_share` of the work's
 * active time: without protection the work waits for its neighbour most of the time; or at
 * least `gpu_bound` on average, filling half of that share: the CUDA graph service left at its
 * warm-up waited 2.4-2.8 ms for 34-41 % of its time, eager bs1 and a decode loop left wait
 * 0.4-1.8 ms for 1-12 %) ends the
 * restart verdict, and the work stays protected whatever its restarts until it goes idle or
 * away. (H200, a CUDA-graph decoder at 20 requests a second: its trials showed 1040 restarts a
 * second, and under LEAVE it was overloaded, p50 1-7 s, while static TSG gave 2x alone; judged
 * after a whole window, the one second it was left still cost it a p99 of 14x alone.)
 *
 * Defaults: a trial of 100 ms; GPU-bound at a mean wait of 500 us (several context switches
 * of about 0.2 ms), CPU-bound under 200 us, 1 s windows, one wait in progress of 2 ms
 * (longer than the driver's default timeslice of an offline neighbour), idle after
 * 10 s, side stream busy after 100 ms, 500 restarts per second (an estimate from the H200
 * runs' counters: a ResNet-50 bs16 CUDA graph service at 40 requests a second restarts the GPU
 * 1-3 times per request, so a burst of requests can pass 200 in a 100 ms trial; eager bs1
 * ResNet-50 and a token-by-token decoder restart it about 1700 and 600 times a second while
 * they work. Not shown by the runs: the graph service still failed two trials at 500, as it
 * did at 200; its gpriod logs have no times to tell whether in its warm-up), a restart-bound
 * verdict standing 4 s, doubled at each failed trial; leave trials of 200 ms, judged after
 * 50 ms once 20 waits were seen (in the simulator the graph decoder left at its warm-up was
 * protected again after 457 ms instead of 606; 20 waits of a request stream that fills its
 * time come within 50 ms at 20 requests a second); an offline floor of 1 ms (an H100 probe
 * saw online wait at most 0.26 ms next to 1 ms offline timeslices, 0.34 ms next to 100 us). */
void gprio_mech_defaults(struct gprio_mech_params *p);

/* Fold obs into st and choose. Returns true when st->mech changed (st->why says why). */
bool gprio_mech_choose(const struct gprio_mech_params *p, const struct gprio_mech_obs *obs,
		       struct gprio_mech_state *st, gprio_ns now);

const char *gprio_mech_name(enum gprio_mech m);
/* A trial is in progress: the backend should have every online launch sampled until then. */
static inline gprio_ns gprio_mech_sample_until(const struct gprio_mech_state *st, gprio_ns now)
{
	return st->trial_until > now ? st->trial_until : 0;
}
/* Does the mechanism protect online work (timeslices or gating)? */
static inline bool gprio_mech_protects(enum gprio_mech m)
{
	return m == GPRIO_USE_TSG || m == GPRIO_USE_TSG_GUARDED || m == GPRIO_USE_GATE ||
	       m == GPRIO_USE_TSG_SHARED || m == GPRIO_USE_MPS || m == GPRIO_USE_TSG_TURNS;
}
/* Online's long timeslice (TSG, shared or with turns)? */
static inline bool gprio_mech_online_long(enum gprio_mech m)
{
	return m == GPRIO_USE_TSG || m == GPRIO_USE_TSG_SHARED || m == GPRIO_USE_TSG_TURNS;
}
/* The offline timeslice a mechanism asks for: the driver's, the short one (TSG, and TSG turns
 * while at most one offline context has work: gprio_turns_single), or `offline_floor`
 * (guarded, shared, and turns otherwise). gpriod and the simulator map it to their values. */
enum gprio_offline_slice { GPRIO_SLICE_DRIVER, GPRIO_SLICE_SHORT, GPRIO_SLICE_FLOOR };
static inline enum gprio_offline_slice gprio_mech_offline_slice(enum gprio_mech m,
								bool turns_single)
{
	if (m == GPRIO_USE_TSG || (m == GPRIO_USE_TSG_TURNS && turns_single))
		return GPRIO_SLICE_SHORT;
	if (m == GPRIO_USE_TSG_GUARDED || m == GPRIO_USE_TSG_SHARED || m == GPRIO_USE_TSG_TURNS)
		return GPRIO_SLICE_FLOOR;
	return GPRIO_SLICE_DRIVER;
}
/* What the mechanism asks of the hardware. */
static inline bool gprio_mech_gates(enum gprio_mech m)
{
	return m == GPRIO_USE_GATE;
}

#endif
