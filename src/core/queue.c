#include "gprio/queue.h"

#include "gprio/errno.h"

void gprio_table_init(struct gprio_table *t)
{
	t->n = 0;
}

int gprio_table_find(const struct gprio_table *t, uint64_t key)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->q[i].key == key)
			return (int)i;
	return -1;
}

int gprio_table_find_hint(const struct gprio_table *t, uint64_t key, uint32_t hint)
{
	if (hint < t->n && t->q[hint].key == key)
		return (int)hint;
	return gprio_table_find(t, key);
}

int gprio_table_add(struct gprio_table *t, uint64_t key, uint32_t pid, int priority,
		    enum gprio_class klass, gprio_ns now)
{
	if (!gprio_priority_valid(priority))
		return -EINVAL;
	if (gprio_table_find(t, key) >= 0)
		return -EEXIST;
	if (t->n >= GPRIO_MAX_QUEUES)
		return -ENOSPC;
	struct gprio_queue *q = &t->q[t->n];
	gprio_memset(q, 0, sizeof(*q));
	q->key = key;
	q->pid = pid;
	q->priority = (uint8_t)priority;
	q->klass = (uint8_t)klass;
	q->state = GPRIO_Q_ACTIVE;
	q->state_since = now;
	q->last_busy = GPRIO_NS_NEVER;
	q->busy_since = GPRIO_NS_NEVER;
	q->weight = 1;
	q->win_start = now;
	return (int)t->n++;
}

void gprio_table_remove(struct gprio_table *t, uint32_t idx)
{
	if (idx >= t->n)
		return;
	t->n--;
	if (idx != t->n)
		t->q[idx] = t->q[t->n];
}
