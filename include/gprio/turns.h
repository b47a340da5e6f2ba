/* Offline turns: on a GPU whose online work is protected by TSG timeslices, two or more offline
 * processes take turns, one at a time. A pure function over the GPU's active offline processes
 * and a small state the caller keeps per GPU. No I/O, no clock.
 *
 * Why: at the 1 us offline timeslice that protects GPU-bound online work, two offline contexts
 * with work hand the GPU to each other every microsecond and make no progress (H200, the
 * CUDA-graph service next to two training jobs under static TSG: 220 and 235 launches in over
 * five minutes); at a longer offline timeslice online waits for it (1 ms: p99 2.17x alone, 250 us:
 * 1.30x, 100 us: 1.24x with offline at 0.12 of unmanaged). With one offline process at a time
 * the GPU holds what the single-offline case holds: online's long timeslice and one offline
 * context at 1 us.
 *
 * A turn lasts `turn`. At its end nobody may launch until the outgoing process's work has
 * drained (its completion counters show nothing pending), so that two offline contexts do not
 * both have work; then the next process in key order that is waiting
 * for its turn gets the GPU (the next in key order when none is). A turn whose time is up goes
 * on while no other process waits for one: the GPU is not handed to work that is not there.
 * Work that has not drained after `drain` (a queue deeper than that) does not keep the others
 * from the GPU: the next turn is given, and until the older work has drained the two contexts
 * both have work (mixed), where the caller keeps offline at its floor timeslice, not at 1 us.
 * Turns begin with the same drain for everyone (work queued before them). The caller gates the
 * others' launches (the shim waits before a launch while the GPU's turn is someone else's). */
#ifndef GPRIO_TURNS_H
#define GPRIO_TURNS_H

#include "gprio/types.h"

#define GPRIO_TURN_ALL  0u         /* no turns: every offline process launches */
#define GPRIO_TURN_NONE UINT32_MAX /* between turns: none launches (work drains) */

/* One active offline process on the GPU. */
struct gprio_turn_cand {
	uint32_t key; /* the caller's identity for it (a row); the turn published is key + 1 */
	bool pending; /* work submitted and not finished (or not known to be finished) */
	bool waiting; /* a launch of it is waiting for its turn */
};

/* Per GPU, kept by the caller (zero it to start). */
struct gprio_turns {
	uint32_t turn;  /* what is published: GPRIO_TURN_ALL, GPRIO_TURN_NONE or key + 1 */
	uint32_t last;  /* key + 1 of the latest turn's holder (0: none yet) */
	gprio_ns since; /* when `turn` took its value */
	uint64_t given; /* turns given since turns began (0: still draining before the first) */
	bool mixed;     /* a turn was given before the older work drained: two have work */
};

/* One offline context at most has work: the short offline timeslice is safe (after the first
 * turn, and not while older work drains beside the holder's). */
static inline bool gprio_turns_single(const struct gprio_turns *t)
{
	return t->given && !t->mixed;
}

/* The turn now: `on` whether the GPU's mechanism takes turns, c[0..n) its active offline
 * processes in any order (keys distinct). Returns the value to publish (also in t->turn). */
uint32_t gprio_turns_step(struct gprio_turns *t, bool on, const struct gprio_turn_cand *c, size_t n,
			  gprio_ns turn, gprio_ns drain, gprio_ns now);

/* The key + 1 after `last` in c's keys, cyclically (the smallest when none is larger), among
 * those waiting when any is. */
uint32_t gprio_turns_next(const struct gprio_turn_cand *c, size_t n, uint32_t last);

#endif
