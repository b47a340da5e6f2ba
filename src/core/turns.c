/* Offline turns (see gprio/turns.h). */
#include "gprio/turns.h"

static bool others_wait(const struct gprio_turn_cand *c, size_t n, uint32_t turn)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].waiting && c[i].key + 1 != turn)
			return true;
	return false;
}

uint32_t gprio_turns_next(const struct gprio_turn_cand *c, size_t n, uint32_t last)
{
	uint32_t best = 0, low = 0;
	bool waiting = others_wait(c, n, GPRIO_TURN_ALL);
	for (size_t i = 0; i < n; i++) {
		uint32_t k = c[i].key + 1;
		if (waiting && !c[i].waiting)
			continue;
		if (!low || k < low)
			low = k;
		if (k > last && (!best || k < best))
			best = k;
	}
	return best ? best : low;
}

static bool holds(const struct gprio_turn_cand *c, size_t n, uint32_t turn)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].key + 1 == turn)
			return true;
	return false;
}

/* How many have work pending; *one: the key + 1 of one of them. */
static size_t pending(const struct gprio_turn_cand *c, size_t n, uint32_t *one)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (c[i].pending) {
			k++;
			*one = c[i].key + 1;
		}
	return k;
}

static uint32_t set(struct gprio_turns *t, uint32_t v, gprio_ns now)
{
	t->turn = v;
	t->since = now;
	if (v != GPRIO_TURN_ALL && v != GPRIO_TURN_NONE) {
		t->last = v;
		t->given++;
	}
	return v;
}

uint32_t gprio_turns_step(struct gprio_turns *t, bool on, const struct gprio_turn_cand *c, size_t n,
			  gprio_ns turn, gprio_ns drain, gprio_ns now)
{
	if (!on || n < 2) {
		t->last = 0;
		t->given = 0;
		t->mixed = false;
		return t->turn == GPRIO_TURN_ALL ? GPRIO_TURN_ALL : set(t, GPRIO_TURN_ALL, now);
	}
	gprio_ns held = now > t->since ? now - t->since : 0;
	if (t->turn == GPRIO_TURN_ALL)
		return set(t, GPRIO_TURN_NONE, now); /* work queued before turns drains first */
	uint32_t one = 0;
	size_t k = pending(c, n, &one);
	if (t->mixed && k <= 1)
		t->mixed = false; /* what was left beside the holder has drained */
	if (t->turn == GPRIO_TURN_NONE) {
		if (!k)
			return set(t, gprio_turns_next(c, n, t->last), now);
		if (held < drain)
			return t->turn;
		/* work that has not drained in `drain`: the next turn is given all the same (a
		 * queue deeper than that must not keep the others from the GPU), with two
		 * contexts' work on it until the older drains (mixed: the caller keeps offline at
		 * its floor meanwhile, not at 1 us) */
		t->mixed = true;
		return set(t, gprio_turns_next(c, n, t->last), now);
	}
	/* the holder went away (or stopped launching), or its time is up and another waits: the
	 * next, once its work has drained */
	if (!holds(c, n, t->turn) || (held >= turn && others_wait(c, n, t->turn)))
		return set(t, GPRIO_TURN_NONE, now);
	return t->turn;
}
