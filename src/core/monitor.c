#include "gprio/monitor.h"

#include "gprio/errno.h"

#include "gprio/detector.h"

void gprio_monitor_cfg_defaults(struct gprio_monitor_cfg *c)
{
	gprio_memset(c, 0, sizeof(*c));
	gprio_policy_defaults(&c->policy);
	c->poll = 5 * GPRIO_NS_PER_MS;
	c->events = true;
	c->grace = 1 * GPRIO_NS_PER_US;
	c->suspend_timeout = 100 * GPRIO_NS_PER_MS;
	c->resume_retry = 100 * GPRIO_NS_PER_MS;
	c->wptr_activity = true;
	c->policy.guard = 0; /* the policy's recheck timers release a share on time */
}

int gprio_monitor_init(struct gprio_monitor *m, const struct gprio_monitor_cfg *cfg,
		       const struct gprio_backend_ops *ops, void *be,
		       const struct gprio_clock *clock)
{
	if (!cfg || !ops || !clock || !ops->refresh || !ops->suspend || !ops->resume ||
	    !ops->wait || cfg->poll == 0 || cfg->suspend_timeout == 0 || cfg->resume_retry == 0)
		return -EINVAL;
	gprio_memset(&m->st, 0, sizeof(m->st));
	m->cfg = *cfg;
	m->ops = ops;
	m->be = be;
	m->clock = clock;
	m->last_tick = gprio_clock_now(clock);
	m->recheck_at = GPRIO_NS_NEVER;
	gprio_hist_init(&m->st.preempt_lat);
	gprio_hist_init(&m->st.resume_lat);
	gprio_table_init(&m->table);
	return 0;
}

static void set_state(struct gprio_queue *q, enum gprio_qevent ev, gprio_ns now)
{
	enum gprio_qstate next;
	if (gprio_preempt_next((enum gprio_qstate)q->state, ev, &next) == 0 && next != q->state) {
		q->state = (uint8_t)next;
		q->state_since = now;
	}
}

/* Fold what the backend observed into the state machine and the share accounting. */
static void observe(struct gprio_monitor *m, gprio_ns now)
{
	struct gprio_table *t = &m->table;
	gprio_ns dt = now > m->last_tick ? now - m->last_tick : 0;
	gprio_ns hyst = m->cfg.policy.hysteresis;

	/* wfq: a queue that gets work after an idle stretch starts no further back than the
	 * busy queues of its priority (CFS's place_entity): idling earns no credit. */
	gprio_ns floor_vrun[GPRIO_PRIO_LEVELS];
	for (int l = 0; l < GPRIO_PRIO_LEVELS; l++)
		floor_vrun[l] = GPRIO_NS_NEVER;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gprio_queue *q = &t->q[i];
		if (q->busy_since != GPRIO_NS_NEVER && q->vrun < floor_vrun[q->priority])
			floor_vrun[q->priority] = q->vrun;
	}

	for (uint32_t i = 0; i < t->n;) {
		struct gprio_queue *q = &t->q[i];
		if (q->vanished) {
			m->st.gone++;
			gprio_table_remove(t, i);
			continue; /* row i now holds the former last row */
		}
		if (q->state == GPRIO_Q_SUSPENDING && q->hw_held) {
			gprio_hist_add(&m->st.preempt_lat,
				       q->hw_changed_at >= q->state_since
					       ? q->hw_changed_at - q->state_since
					       : 0);
			set_state(q, GPRIO_EV_SUSPENDED, now);
		} else if (q->state == GPRIO_Q_RESUMING && !q->hw_held) {
			gprio_hist_add(&m->st.resume_lat,
				       q->hw_changed_at >= q->state_since
					       ? q->hw_changed_at - q->state_since
					       : 0);
			set_state(q, GPRIO_EV_RESUMED, now);
		}
		bool busy =
			gprio_queue_busy(q) || (m->cfg.wptr_activity && q->wptr != q->seen_wptr);
		q->seen_wptr = q->wptr;
		if (busy) {
			if (q->busy_since == GPRIO_NS_NEVER) {
				q->busy_since = now;
				gprio_ns fl = floor_vrun[q->priority];
				if (fl != GPRIO_NS_NEVER && q->vrun < fl)
					q->vrun = fl;
			}
			if (!q->hw_held) {
				q->win_run += dt;
				q->vrun += dt / (q->weight ? q->weight : 1);
			}
			q->last_busy = now;
		} else if (q->busy_since != GPRIO_NS_NEVER &&
			   (q->last_busy == GPRIO_NS_NEVER || now - q->last_busy >= hyst)) {
			q->busy_since = GPRIO_NS_NEVER; /* a gap longer than the hysteresis */
		}
		if (now - q->win_start >= m->cfg.policy.window) {
			/* roll to the window containing now, aligned to the queue's own windows */
			q->win_start = now - (now - q->win_start) % m->cfg.policy.window;
			q->win_run = 0;
		}
		i++;
	}
}

static int issue(struct gprio_monitor *m, enum gprio_action_kind kind, const struct gprio_action *a,
		 size_t n, gprio_ns now)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (a[i].kind == kind)
			m->keys[k++] = a[i].key;
	if (k == 0)
		return 0;
	gprio_memset(m->failed, 0, k * sizeof(bool));
	int rc = kind == GPRIO_ACT_SUSPEND
			 ? m->ops->suspend(m->be, m->keys, k, m->cfg.grace, m->failed)
			 : m->ops->resume(m->be, m->keys, k, m->failed);
	if (kind == GPRIO_ACT_SUSPEND)
		m->st.suspend_calls++;
	else
		m->st.resume_calls++;
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i].kind != kind)
			continue;
		struct gprio_queue *q = &m->table.q[a[i].idx];
		bool bad = rc < 0 || m->failed[k++];
		if (kind == GPRIO_ACT_SUSPEND) {
			set_state(q, GPRIO_EV_SUSPEND_REQ, now);
			if (bad) {
				m->st.failures++;
				set_state(q, GPRIO_EV_FAILED, now);
			} else {
				m->st.suspends++;
				q->preemptions++;
			}
		} else {
			set_state(q, GPRIO_EV_RESUME_REQ, now);
			if (bad)
				m->st.failures++; /* stays resuming: retried after resume_retry */
			else
				m->st.resumes++;
			if (a[i].reason == GPRIO_WHY_SHARE)
				m->st.share_releases++;
		}
	}
	return rc;
}

/* Fail-open timers: a suspend that does not land in time is abandoned; a resume that does not
 * land is asked for again. */
static size_t overdue(struct gprio_monitor *m, gprio_ns now, struct gprio_action *out, size_t cap)
{
	size_t n = 0;
	for (uint32_t i = 0; i < m->table.n && n < cap; i++) {
		struct gprio_queue *q = &m->table.q[i];
		gprio_ns age = now - q->state_since;
		if (q->state == GPRIO_Q_SUSPENDING && age >= m->cfg.suspend_timeout) {
			m->st.timeouts++;
			q->timeouts++;
			set_state(q, GPRIO_EV_TIMEOUT, now); /* -> resuming */
			out[n++] =
				(struct gprio_action){GPRIO_ACT_RESUME, GPRIO_WHY_IDLE, i, q->key};
		} else if (q->state == GPRIO_Q_RESUMING && age >= m->cfg.resume_retry) {
			q->state_since = now;
			out[n++] =
				(struct gprio_action){GPRIO_ACT_RESUME, GPRIO_WHY_IDLE, i, q->key};
		}
	}
	return n;
}

int gprio_monitor_tick(struct gprio_monitor *m)
{
	gprio_ns now = gprio_clock_now(m->clock);
	int rc = m->ops->refresh(m->be, &m->table, now);
	if (rc < 0)
		return rc;
	observe(m, now);
	m->st.ticks++;
	m->last_tick = now;

	struct gprio_inversion inv;
	gprio_detect(&m->table, now, m->cfg.policy.hysteresis, &inv);
	if (inv.victims)
		m->st.inversions++;

	size_t n = overdue(m, now, m->act, GPRIO_MAX_QUEUES);
	n += gprio_policy_decide(&m->cfg.policy, &m->table, &inv, now, m->act + n,
				 GPRIO_MAX_QUEUES - n, &m->recheck_at);
	/* Resumes first: a queue that is due must not wait behind a slow suspend. A refused request
	 * is recorded in the state machine and the stats; the timers retry it, so it does not end
	 * the loop. */
	issue(m, GPRIO_ACT_RESUME, m->act, n, now);
	issue(m, GPRIO_ACT_SUSPEND, m->act, n, now);
	return 0;
}

gprio_ns gprio_monitor_next_deadline(const struct gprio_monitor *m)
{
	gprio_ns d = m->last_tick + m->cfg.poll;
	if (m->recheck_at < d)
		d = m->recheck_at;
	/* in-flight transitions are checked against their timers */
	for (uint32_t i = 0; i < m->table.n; i++) {
		const struct gprio_queue *q = &m->table.q[i];
		if (q->state == GPRIO_Q_SUSPENDING && q->state_since + m->cfg.suspend_timeout < d)
			d = q->state_since + m->cfg.suspend_timeout;
	}
	return d;
}

int gprio_monitor_step(struct gprio_monitor *m)
{
	int rc = gprio_monitor_tick(m);
	if (rc < 0)
		return rc;
	rc = m->ops->wait(m->be, gprio_monitor_next_deadline(m));
	if (rc == GPRIO_WAIT_EVENT)
		m->st.event_wakeups++;
	return rc;
}

int gprio_monitor_release_all(struct gprio_monitor *m)
{
	gprio_ns now = gprio_clock_now(m->clock);
	size_t n = 0;
	for (uint32_t i = 0; i < m->table.n; i++) {
		struct gprio_queue *q = &m->table.q[i];
		if (q->state == GPRIO_Q_SUSPENDING || q->state == GPRIO_Q_SUSPENDED ||
		    q->state == GPRIO_Q_RESUMING) {
			m->act[n++] =
				(struct gprio_action){GPRIO_ACT_RESUME, GPRIO_WHY_IDLE, i, q->key};
		}
	}
	return issue(m, GPRIO_ACT_RESUME, m->act, n, now);
}
