#include "evq.h"

#include <errno.h>
#include <stdlib.h>

void sim_evq_init(struct sim_evq *q)
{
	q->h = NULL;
	q->n = q->cap = 0;
	q->seq = 0;
}

void sim_evq_free(struct sim_evq *q)
{
	free(q->h);
	sim_evq_init(q);
}

static bool before(const struct sim_event *x, const struct sim_event *y)
{
	return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

/* Put e at hole i, moving earlier-ordered parents down past it. */
static void sift_up(struct sim_evq *q, size_t i, struct sim_event e)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(&e, &q->h[p]))
			break;
		q->h[i] = q->h[p];
		i = p;
	}
	q->h[i] = e;
}

int sim_evq_push(struct sim_evq *q, gprio_ns t, uint32_t type, uint32_t a, uint64_t b)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		struct sim_event *h = realloc(q->h, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		q->h = h;
		q->cap = cap;
	}
	struct sim_event e = {t, q->seq++, type, a, b};
	sift_up(q, q->n++, e);
	return 0;
}

gprio_ns sim_evq_peek_time(const struct sim_evq *q)
{
	return q->n ? q->h[0].t : GPRIO_NS_NEVER;
}

bool sim_evq_pop(struct sim_evq *q, struct sim_event *e)
{
	if (q->n == 0)
		return false;
	*e = q->h[0];
	struct sim_event last = q->h[--q->n];
	size_t i = 0, n = q->n;
	if (n == 0)
		return true;
	/* bottom-up: the hole goes down to a leaf along the earlier children (one comparison a
	 * level), then the last event climbs back (rarely far: it came from the bottom) */
	for (size_t l = 1; l < n; l = 2 * i + 1) {
		size_t m = l + 1 < n && before(&q->h[l + 1], &q->h[l]) ? l + 1 : l;
		q->h[i] = q->h[m];
		i = m;
	}
	sift_up(q, i, last);
	return true;
}
