#include "amdkfd_backend.h"

#include <errno.h>
#include <string.h>

#include "kfd.h"
#include "kfd_agent.h"

#define KFD_QUEUE_TYPE_COMPUTE 0u /* sysfs "type": the AQL compute queues the design is about */
#define RETRY_BLOCKED          (1 * GPRIO_NS_PER_S)

void gprio_amdkfd_cfg_defaults(struct gprio_amdkfd_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->stage = 0;
	c->mon_period_us = 1000;
	c->mon_hysteresis_us = 1000;
	c->sclk_mhz = 2100; /* MI308X peak engine clock */
	/* A process nobody classified is treated as online at normal priority: gprio never
	 * preempts what it was not told is offline, and such work still counts as hot. */
	c->unknown_class = GPRIO_CLASS_ONLINE;
	c->unknown_priority = 7;
	c->dbg_fd = -1;
}

static uint64_t key_of(uint32_t pid, uint32_t qid)
{
	return (uint64_t)pid << 32 | qid;
}

static gprio_ns now_of(const struct gprio_amdkfd *b)
{
	return b->sys.ops->now(b->sys.ctx);
}

static int ioctl_count(struct gprio_amdkfd *b, int rc)
{
	b->st.ioctls++;
	return rc;
}

int gprio_amdkfd_open(struct gprio_amdkfd *b, const struct gprio_kfd_sys *sys,
		      const struct gprio_amdkfd_cfg *cfg, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->sys = *sys;
	b->cfg = *cfg;
	b->detach = cfg->detach;
	b->self = sys->ops->self(sys->ctx);
	if (cfg->stage < 0 || cfg->stage > 3 || cfg->sclk_mhz == 0 ||
	    !gprio_priority_valid(cfg->unknown_priority)) {
		snprintf(err, errlen,
			 "amdkfd: bad configuration (stage %d, sclk %u MHz, priority %d)",
			 cfg->stage, cfg->sclk_mhz, cfg->unknown_priority);
		return -EINVAL;
	}
	int rc = gprio_kfd_version(&b->sys, &b->major, &b->minor);
	if (rc == -EPROTO) {
		snprintf(err, errlen, "amdkfd: KFD ioctl API %u.%u has no DBG_TRAP: needs >= %u.%u",
			 b->major, b->minor, GPRIO_KFD_MIN_MAJOR, GPRIO_KFD_MIN_MINOR_DBG);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "amdkfd: GET_VERSION on /dev/kfd failed: %s", strerror(-rc));
		return rc;
	}
	int s2 = gprio_kfd_has_stage2(&b->sys);
	if (cfg->stage == 2 && s2 == -EPERM) {
		snprintf(err, errlen,
			 "amdkfd: stage 2: PREEMPT_QUEUES refused (EPERM): gpriod needs "
			 "CAP_SYS_ADMIN (run it as root)");
		return -EPERM;
	}
	if (cfg->stage == 2 && s2 != 1) {
		snprintf(err, errlen,
			 "amdkfd: stage 2 asked for, but this KFD has no PREEMPT_QUEUES "
			 "ioctl (load the kernel/amdkfd patch series)");
		return -EOPNOTSUPP;
	}
	/* stage 3: the module parameter first (a number alone cannot say whose ioctl it is),
	 * then an empty set, which also proves CAP_SYS_ADMIN (kfd_ioctl_gprio_monitor) */
	int v3 = b->sys.ops->stage3_version ? b->sys.ops->stage3_version(b->sys.ctx) : -ENOENT;
	int s3 = v3 == GPRIO_KFD_MONITOR_IFACE ? gprio_kfd_monitor(&b->sys, NULL, 0, 0, 0) : v3;
	if (v3 == GPRIO_KFD_MONITOR_IFACE)
		b->st.ioctls++;
	if (cfg->stage == 3 && s3 == -EPERM) {
		snprintf(err, errlen,
			 "amdkfd: stage 3: GPRIO_MONITOR refused (EPERM): gpriod needs "
			 "CAP_SYS_ADMIN (run it as root)");
		return -EPERM;
	}
	if (cfg->stage == 3 && s3 != 0) {
		snprintf(err, errlen,
			 "amdkfd: stage 3 asked for, but this KFD has no in-kernel monitor "
			 "(amdgpu.gprio_monitor_version %s; load the kernel/amdkfd patch series "
			 "through 0005)",
			 v3 == -ENOENT ? "absent"
			 : v3 < 0      ? "unreadable"
				       : "of another version");
		return -EOPNOTSUPP;
	}
	if (cfg->stage == 3 && (cfg->mon_period_us < 100 || cfg->mon_period_us > 100000 ||
				cfg->mon_hysteresis_us > 1000000)) {
		snprintf(err, errlen,
			 "amdkfd: stage 3: period %u us (100..100000) or hysteresis %u us "
			 "(at most 1000000) out of range",
			 cfg->mon_period_us, cfg->mon_hysteresis_us);
		return -EINVAL;
	}
	b->stage = cfg->stage ? cfg->stage : s3 == 0 ? 3 : s2 == 1 ? 2 : 1;
	return 0;
}

static bool mon_same(const struct gprio_amdkfd *b, const struct gprio_kfd_monitor_proc *m,
		     uint32_t n)
{
	return b->mon_rc == 0 && n == b->nmon && memcmp(m, b->mon, n * sizeof(*m)) == 0;
}

/* Stage 3: keep KFD's monitor running with the processes that asked to be managed (their
 * environment says so: `gprio run`); anyone else is never named to KFD. A set that failed
 * (a process exited between the listing and the call: ESRCH) is tried again next time. */
static int refresh3(struct gprio_amdkfd *b, const uint32_t *pids, int n)
{
	struct gprio_kfd_monitor_proc m[GPRIO_KFD_MONITOR_MAX_PROCS];
	uint32_t nm = 0;
	b->nprocs = 0;
	for (int i = 0; i < n; i++) {
		if (pids[i] == b->self)
			continue;
		enum gprio_class k;
		int prio;
		if (b->sys.ops->classify(b->sys.ctx, pids[i], &k, &prio) < 0)
			continue; /* unmanaged: left alone */
		if (b->nprocs < AMDKFD_MAX_PROCS) {
			struct amdkfd_proc *p = &b->procs[b->nprocs++];
			memset(p, 0, sizeof(*p));
			p->pid = pids[i];
			p->klass = k;
			p->prio = prio;
			p->mode = AMDKFD_P_KERNEL;
		}
		if (nm < GPRIO_KFD_MONITOR_MAX_PROCS)
			m[nm++] = (struct gprio_kfd_monitor_proc){
				.pid = pids[i],
				.priority = (uint32_t)prio,
				.online = k == GPRIO_CLASS_ONLINE,
			};
	}
	if (mon_same(b, m, nm))
		return 0;
	int rc = ioctl_count(b, gprio_kfd_monitor(&b->sys, m, nm, b->cfg.mon_period_us,
						  b->cfg.mon_hysteresis_us));
	b->st.monitor_calls++;
	b->mon_rc = rc;
	if (rc == 0) {
		memcpy(b->mon, m, nm * sizeof(*m));
		b->nmon = nm;
	}
	for (uint32_t i = 0; i < b->nprocs; i++)
		snprintf(b->procs[i].why, sizeof(b->procs[i].why), "%s",
			 rc == 0 ? "KFD's monitor" : "not handed to KFD yet");
	return rc == -ESRCH ? 0 : rc; /* gone meanwhile: the next listing */
}

static struct amdkfd_proc *proc_find(struct gprio_amdkfd *b, uint32_t pid)
{
	for (uint32_t i = 0; i < b->nprocs; i++)
		if (b->procs[i].pid == pid)
			return &b->procs[i];
	return NULL;
}

static struct amdkfd_q *q_find(struct amdkfd_proc *p, uint32_t qid)
{
	for (uint32_t i = 0; i < p->nq; i++)
		if (p->q[i].qid == qid)
			return &p->q[i];
	return NULL;
}

/* The KFD p's calls go to: our own /dev/kfd, or p's in-process agent (its HSA shim). */
static const struct gprio_kfd_sys *psys(struct gprio_amdkfd *b, const struct amdkfd_proc *p,
					struct gprio_kfd_agent_view *v, struct gprio_kfd_sys *out)
{
	if (!p->agent)
		return &b->sys;
	v->base = &b->sys;
	v->pid = p->pid;
	gprio_kfd_agent_sys(v, out);
	b->st.agent_calls++;
	return out;
}

/* A call through p's shim failed because the shim is gone or stuck. Such a shim resumes its own
 * queues and disables debugging on itself, so nothing of ours is held there any more. */
static bool agent_lost(const struct amdkfd_proc *p, int rc)
{
	return p->agent &&
	       (rc == -ENOENT || rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EPROTO);
}

static void block(struct gprio_amdkfd *b, struct amdkfd_proc *p, int rc, const char *what)
{
	p->mode = AMDKFD_P_BLOCKED;
	p->err = -rc;
	p->retry_at = now_of(b) + RETRY_BLOCKED;
	b->st.blocked++;
	const char *hint = rc == -EPERM
				   ? " (another tracer such as a debugger, or no ptrace rights)"
			   : rc == -EALREADY ? " (already debugged through KFD)"
			   : rc == -EINVAL   ? " (no HWS: sched_policy must be 0)"
			   : rc == -ENOENT || rc == -ETIMEDOUT || rc == -ECONNRESET
				   ? " (its HSA shim went away or stopped answering)"
				   : "";
	snprintf(p->why, sizeof(p->why), "%s: %s%s", what, strerror(-rc), hint);
}

/* After ENABLE: give KFD the permit its runtime_disable() waits for at the process's exit, so
 * the process never hangs on us (kfd.c, gprio_kfd_dbg_arm_exit). Without it the process must
 * not stay debug-enabled: debugging is disabled again and the process left alone. */
static int arm_exit(struct gprio_amdkfd *b, struct amdkfd_proc *p, const struct gprio_kfd_sys *s)
{
	int rc = ioctl_count(b, gprio_kfd_dbg_arm_exit(s, p->pid));
	if (rc < 0) {
		ioctl_count(b, gprio_kfd_dbg_disable(s, p->pid));
		block(b, p, rc, "DBG_TRAP SEND_RUNTIME_EVENT (exit permit)");
		return rc;
	}
	p->mode = AMDKFD_P_DEBUGGER;
	return 0;
}

/* Stage 1: become pid's KFD debugger. ENABLE needs us to be its ptrace parent; after it KFD
 * knows us as the registered debugger, so we detach at once and never hold the process in
 * ptrace (its signals, and a later gdb, are not our business). */
static int become_debugger(struct gprio_amdkfd *b, struct amdkfd_proc *p)
{
	struct gprio_kfd_agent_view v;
	struct gprio_kfd_sys as;
	if (p->agent) { /* the shim enables debugging on itself: KFD needs no ptrace for that */
		const struct gprio_kfd_sys *s = psys(b, p, &v, &as);
		int rc = ioctl_count(b, gprio_kfd_dbg_enable(s, p->pid, -1));
		if (rc < 0) {
			block(b, p, rc, "DBG_TRAP ENABLE (in-process)");
			return rc;
		}
		b->st.enables++;
		return arm_exit(b, p, s);
	}
	if (b->detach == GPRIO_KFD_DETACH_OLD) {
		/* every op after the detach would be refused (kfd_ioctl_set_debug_trap()), and
		 * staying its ptrace parent would take its signals: only its HSA shim can do it */
		if (!p->err)
			b->st.detach_refused++;
		block(b, p, -EPERM, "stage 1 by ptrace");
		snprintf(p->why, sizeof(p->why),
			 "kernel lacks the 6.12.103 KFD detach fix: start it with gprio run");
		return -EPERM;
	}
	int rc = b->sys.ops->attach(b->sys.ctx, p->pid);
	if (rc < 0) {
		block(b, p, rc, "ptrace attach");
		return rc;
	}
	rc = ioctl_count(b, gprio_kfd_dbg_enable(&b->sys, p->pid, b->cfg.dbg_fd));
	b->sys.ops->detach(b->sys.ctx, p->pid);
	if (rc < 0) {
		block(b, p, rc, "DBG_TRAP ENABLE");
		return rc;
	}
	b->st.enables++;
	rc = arm_exit(b, p, &b->sys);
	if (rc == -EPERM && b->detach != GPRIO_KFD_DETACH_OK) {
		/* the first op after the detach refused: this kernel lacks the fix; arm_exit has
		 * disabled debugging again (DISABLE is allowed), and no process is tried again */
		b->detach = GPRIO_KFD_DETACH_OLD;
		b->st.detach_refused++;
		snprintf(p->why, sizeof(p->why),
			 "kernel lacks the 6.12.103 KFD detach fix: start it with gprio run");
	}
	return rc;
}

/* Addresses of pid's queues, clearing EC_QUEUE_NEW so SUSPEND takes them. */
static int snapshot(struct gprio_amdkfd *b, struct amdkfd_proc *p)
{
	struct gprio_kfd_queue_snapshot s[AMDKFD_MAX_QPP];
	struct gprio_kfd_agent_view v;
	struct gprio_kfd_sys as;
	uint32_t n = 0;
	int rc = ioctl_count(
		b, gprio_kfd_snapshot(psys(b, p, &v, &as), p->pid, true, s, AMDKFD_MAX_QPP, &n));
	if (rc < 0)
		return rc;
	b->st.snapshots++;
	if (n > AMDKFD_MAX_QPP)
		n = AMDKFD_MAX_QPP;
	for (uint32_t i = 0; i < n; i++) {
		struct amdkfd_q *q = q_find(p, s[i].queue_id);
		if (!q)
			continue; /* created after our sysfs listing: next refresh */
		q->rptr_addr = s[i].read_pointer_address;
		q->wptr_addr = s[i].write_pointer_address;
		q->addr_known = q->rptr_addr && q->wptr_addr;
		q->fresh = false;
	}
	return 0;
}

/* Stage 1 set-up for queues we cannot read yet. Offline processes stay debug-enabled (we suspend
 * them); online ones are only observed: debugging goes off again once we have the addresses
 * (each ENABLE/DISABLE costs a device-wide runlist refresh, so this happens per new queue, not
 * per tick). */
static void setup_stage1(struct gprio_amdkfd *b, struct amdkfd_proc *p, gprio_ns now)
{
	bool need = false;
	for (uint32_t i = 0; i < p->nq; i++)
		need |= p->q[i].present && (!p->q[i].addr_known || p->q[i].fresh);
	if (p->mode == AMDKFD_P_BLOCKED && now < p->retry_at)
		return;
	if (!need && p->mode != AMDKFD_P_NEW && p->mode != AMDKFD_P_BLOCKED)
		return;
	if (p->nq == 0)
		return; /* nothing to debug yet */
	if (p->mode == AMDKFD_P_NEW || p->mode == AMDKFD_P_BLOCKED)
		p->agent = b->sys.ops->has_agent && b->sys.ops->has_agent(b->sys.ctx, p->pid);
	if (p->mode != AMDKFD_P_DEBUGGER && become_debugger(b, p) < 0)
		return;
	int rc = snapshot(b, p);
	if (rc < 0) {
		block(b, p, rc, "GET_QUEUE_SNAPSHOT");
		return;
	}
	p->err = 0;
	p->why[0] = '\0';
	if (p->klass == GPRIO_CLASS_ONLINE) {
		struct gprio_kfd_agent_view v;
		struct gprio_kfd_sys as;
		ioctl_count(b, gprio_kfd_dbg_disable(psys(b, p, &v, &as), p->pid));
		p->mode = AMDKFD_P_OBSERVED;
	}
}

static void drop_row(struct gprio_table *t, uint32_t pid, struct amdkfd_q *q)
{
	int idx = gprio_table_find_hint(t, key_of(pid, q->qid), q->row);
	if (idx >= 0)
		t->q[idx].vanished = 1;
}

static void proc_remove(struct gprio_amdkfd *b, struct gprio_table *t, uint32_t i)
{
	struct amdkfd_proc *p = &b->procs[i];
	for (uint32_t k = 0; k < p->nq; k++)
		drop_row(t, p->pid, &p->q[k]);
	b->procs[i] = b->procs[--b->nprocs];
}

/* Bring p's queue list in line with sysfs. -ENOENT when the process is gone. */
static int sync_queues(struct gprio_amdkfd *b, struct gprio_table *t, struct amdkfd_proc *p)
{
	struct gprio_kfd_sysq sq[AMDKFD_MAX_QPP];
	int n = b->sys.ops->list_queues(b->sys.ctx, p->pid, sq, AMDKFD_MAX_QPP);
	if (n < 0)
		return n;
	for (uint32_t i = 0; i < p->nq; i++)
		p->q[i].present = false;
	for (int i = 0; i < n; i++) {
		if (sq[i].type != KFD_QUEUE_TYPE_COMPUTE)
			continue;
		struct amdkfd_q *q = q_find(p, sq[i].qid);
		if (!q) {
			if (p->nq == AMDKFD_MAX_QPP)
				continue;
			q = &p->q[p->nq++];
			memset(q, 0, sizeof(*q));
			q->qid = sq[i].qid;
			q->fresh = true;
			q->row = UINT32_MAX;
		}
		q->present = true;
		if (sq[i].has_ptrs) {
			q->rptr = sq[i].rptr;
			q->wptr = sq[i].wptr;
			if (q->held != sq[i].suspended)
				q->changed_at = now_of(b);
			q->held = sq[i].suspended;
		}
	}
	for (uint32_t i = 0; i < p->nq;) {
		if (!p->q[i].present) {
			drop_row(t, p->pid, &p->q[i]); /* destroyed: the monitor forgets it */
			p->q[i] = p->q[--p->nq];
			continue;
		}
		i++;
	}
	if (b->stage == 2 && n > 0 && !sq[0].has_ptrs) {
		p->mode = AMDKFD_P_BLOCKED;
		snprintf(p->why, sizeof(p->why),
			 "sysfs has no rptr/wptr: stage-2 patch not loaded");
	} else if (b->stage == 2) {
		p->mode = AMDKFD_P_SYSFS;
	}
	return 0;
}

static int read_ptrs(struct gprio_amdkfd *b, struct amdkfd_proc *p)
{
	for (uint32_t i = 0; i < p->nq; i++) {
		struct amdkfd_q *q = &p->q[i];
		if (!q->addr_known)
			continue;
		uint64_t r, w;
		int rc = b->sys.ops->read_mem(b->sys.ctx, p->pid, q->rptr_addr, &r, sizeof(r));
		if (rc == 0)
			rc = b->sys.ops->read_mem(b->sys.ctx, p->pid, q->wptr_addr, &w, sizeof(w));
		if (rc == -ESRCH)
			return rc;
		if (rc == 0) {
			q->rptr = r;
			q->wptr = w;
		}
	}
	return 0;
}

static int publish(struct gprio_table *t, const struct amdkfd_proc *p, struct amdkfd_q *q,
		   gprio_ns now)
{
	uint64_t key = key_of(p->pid, q->qid);
	int idx = gprio_table_find_hint(t, key, q->row);
	if (idx < 0) {
		idx = gprio_table_add(t, key, p->pid, p->prio, p->klass, now);
		if (idx < 0)
			return idx;
	}
	q->row = (uint32_t)idx;
	struct gprio_queue *r = &t->q[idx];
	r->wptr = q->wptr;
	r->rptr = q->rptr;
	r->done = q->rptr; /* AMD's rptr means consumed; nothing tells us more */
	r->hw_held = q->held;
	r->hw_changed_at = q->changed_at;
	return 0;
}

static int ak_refresh(void *be, struct gprio_table *t, gprio_ns now)
{
	struct gprio_amdkfd *b = be;
	uint32_t pids[256];
	int n = b->sys.ops->list_procs(b->sys.ctx, pids, 256);
	if (n < 0)
		return n;
	if (b->stage == 3) {
		(void)t;
		(void)now;
		return refresh3(b, pids, n);
	}
	for (uint32_t i = 0; i < b->nprocs; i++)
		b->procs[i].seen = false;
	for (int i = 0; i < n; i++) {
		if (pids[i] == b->self)
			continue;
		struct amdkfd_proc *p = proc_find(b, pids[i]);
		if (!p && b->nprocs < AMDKFD_MAX_PROCS) {
			p = &b->procs[b->nprocs++];
			memset(p, 0, sizeof(*p));
			p->pid = pids[i];
			if (b->sys.ops->classify(b->sys.ctx, p->pid, &p->klass, &p->prio) < 0) {
				p->klass = b->cfg.unknown_class;
				p->prio = b->cfg.unknown_priority;
				/* stage 1 acts on a process only as its KFD debugger (ptrace seize,
				 * DBG_TRAP ENABLE, snapshots): only for processes that asked */
				p->unmanaged = b->stage == 1;
			}
		}
		if (p)
			p->seen = true;
	}
	for (uint32_t i = 0; i < b->nprocs;) {
		struct amdkfd_proc *p = &b->procs[i];
		if (p->unmanaged) {
			/* remembered so its environment is read once, never touched */
			if (p->seen)
				i++;
			else
				b->procs[i] = b->procs[--b->nprocs];
			continue;
		}
		int rc = p->seen ? sync_queues(b, t, p) : -ENOENT;
		if (rc == 0 && b->stage == 1) {
			setup_stage1(b, p, now);
			rc = read_ptrs(b, p);
		}
		if (rc == -ENOENT || rc == -ESRCH) {
			proc_remove(
				b, t,
				i); /* exited, possibly mid-preemption: KFD destroyed its queues */
			continue;
		}
		for (uint32_t k = 0; k < p->nq; k++) {
			struct amdkfd_q *q = &p->q[k];
			bool known = b->stage == 2 ? p->mode == AMDKFD_P_SYSFS : q->addr_known;
			if (!q->present || !known)
				continue;
			int prc = publish(t, p, q, now);
			if (prc < 0)
				return prc;
		}
		i++;
	}
	return 0;
}

/* One process's share of a suspend/resume batch. */
static int proc_op(struct gprio_amdkfd *b, struct amdkfd_proc *p, bool suspend,
		   const uint32_t *qids, uint32_t n, gprio_ns grace, enum gprio_kfd_qresult *res)
{
	uint32_t units = gprio_kfd_grace_units(grace, b->cfg.sclk_mhz);
	struct gprio_kfd_agent_view v;
	struct gprio_kfd_sys as;
	const struct gprio_kfd_sys *s = psys(b, p, &v, &as);
	int rc;
	if (b->stage == 2)
		rc = gprio_kfd_preempt2(&b->sys, p->pid, qids, n,
					suspend ? GPRIO_KFD_PREEMPT : GPRIO_KFD_RESUME, units, res);
	else if (suspend)
		rc = gprio_kfd_suspend(s, p->pid, qids, n, units, res);
	else
		rc = gprio_kfd_resume(s, p->pid, qids, n, res);
	ioctl_count(b, rc);
	if (rc < 0 || !suspend || b->stage == 2)
		return rc;
	/* SUSPEND skips queues still flagged EC_QUEUE_NEW (left invalid): clear the flag with a
	 * snapshot and ask once more for those */
	uint32_t again[GPRIO_KFD_MAX_BATCH], pos[GPRIO_KFD_MAX_BATCH], m = 0;
	for (uint32_t i = 0; i < n; i++)
		if (res[i] == GPRIO_KFD_Q_INVALID && q_find(p, qids[i])) {
			pos[m] = i;
			again[m++] = qids[i];
		}
	if (m == 0 || snapshot(b, p) < 0)
		return rc;
	b->st.ebusy_retries += m;
	enum gprio_kfd_qresult r2[GPRIO_KFD_MAX_BATCH];
	int rc2 = ioctl_count(b, gprio_kfd_suspend(s, p->pid, again, m, units, r2));
	if (rc2 < 0)
		return rc;
	for (uint32_t i = 0; i < m; i++)
		res[pos[i]] = r2[i];
	return rc + rc2;
}

static int ak_act(struct gprio_amdkfd *b, bool suspend, const uint64_t *keys, size_t n,
		  gprio_ns grace, bool *failed)
{
	bool handled[GPRIO_MAX_QUEUES]; /* keys already sent with their process's batch */
	if (n > GPRIO_MAX_QUEUES)
		return -E2BIG;
	if (b->stage == 3)
		return -EOPNOTSUPP; /* KFD's monitor preempts; no queue is in the table */
	memset(handled, 0, n * sizeof(bool));
	int first_err = 0;
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		if (handled[i])
			continue;
		uint32_t pid = (uint32_t)(keys[i] >> 32);
		uint32_t qids[GPRIO_KFD_MAX_BATCH];
		size_t idx[GPRIO_KFD_MAX_BATCH];
		uint32_t m = 0;
		for (size_t j = i; j < n && m < GPRIO_KFD_MAX_BATCH; j++)
			if (!handled[j] && (uint32_t)(keys[j] >> 32) == pid) {
				handled[j] = true;
				idx[m] = j;
				qids[m++] = (uint32_t)keys[j];
			}
		struct amdkfd_proc *p = proc_find(b, pid);
		bool usable = p && (b->stage == 2 ? p->mode == AMDKFD_P_SYSFS
						  : p->mode == AMDKFD_P_DEBUGGER);
		enum gprio_kfd_qresult res[GPRIO_KFD_MAX_BATCH];
		int rc = usable ? proc_op(b, p, suspend, qids, m, grace, res) : -EPERM;
		bool lost = p && agent_lost(p, rc);
		if (lost) {
			/* its shim is gone or stuck: a shim that loses us resumes its own queues, so
			 * nothing stays held; set the process up again (ptrace, or blocked) */
			snprintf(p->why, sizeof(p->why), "HSA shim lost (%s)", strerror(-rc));
			p->mode = AMDKFD_P_NEW;
			p->agent = false;
			for (uint32_t k = 0; k < p->nq; k++)
				if (p->q[k].held) {
					p->q[k].held = false;
					p->q[k].changed_at = now_of(b);
				}
			if (!suspend) { /* what we asked for is what the shim did */
				ok += m;
				continue;
			}
		}
		if (rc < 0) {
			b->st.call_errors++;
			if (!first_err)
				first_err = rc;
			if (p && !lost) {
				p->err = -rc;
				snprintf(p->why, sizeof(p->why), "%s: %s",
					 suspend ? "suspend" : "resume", strerror(-rc));
				if (rc == -EINVAL && b->stage == 1 && p->mode == AMDKFD_P_DEBUGGER)
					p->mode =
						AMDKFD_P_NEW; /* debugging was switched off: set up again */
			}
			for (uint32_t k = 0; k < m; k++)
				if (failed)
					failed[idx[k]] = true;
			continue;
		}
		gprio_ns t = now_of(b); /* the ioctl returns once the unmap/map is done */
		for (uint32_t k = 0; k < m; k++) {
			struct amdkfd_q *q = q_find(p, qids[k]);
			bool good = res[k] == GPRIO_KFD_Q_OK ||
				    (!suspend &&
				     res[k] == GPRIO_KFD_Q_INVALID); /* gone: nothing to resume */
			if (res[k] == GPRIO_KFD_Q_ERROR)
				b->st.queue_errors++;
			if (!good) {
				if (failed)
					failed[idx[k]] = true;
				continue;
			}
			ok++;
			if (q && q->held != suspend) {
				q->held = suspend;
				q->changed_at = t;
			}
		}
	}
	if (suspend)
		b->st.suspend_calls++;
	else
		b->st.resume_calls++;
	/* a call that changed nothing reports its error; otherwise the per-queue flags say it */
	return ok == 0 && first_err ? first_err : 0;
}

static int ak_suspend(void *be, const uint64_t *keys, size_t n, gprio_ns grace, bool *failed)
{
	return ak_act(be, true, keys, n, grace, failed);
}

static int ak_resume(void *be, const uint64_t *keys, size_t n, bool *failed)
{
	return ak_act(be, false, keys, n, 0, failed);
}

static int ak_wait(void *be, gprio_ns deadline)
{
	struct gprio_amdkfd *b = be;
	int rc = b->sys.ops->sleep(b->sys.ctx, deadline);
	/* > 0: woken before the deadline (an HSA shim's work note, or the simulated one) */
	return rc < 0 ? rc : rc > 0 ? GPRIO_WAIT_EVENT : GPRIO_WAIT_DEADLINE;
}

int gprio_amdkfd_close(struct gprio_amdkfd *b)
{
	int first = 0;
	if (b->stage == 3) { /* fail open: KFD maps back what its monitor holds */
		first = b->nmon ? ioctl_count(b, gprio_kfd_monitor(&b->sys, NULL, 0, 0, 0)) : 0;
		b->nmon = 0;
		b->nprocs = 0;
		return first;
	}
	for (uint32_t i = 0; i < b->nprocs; i++) {
		struct amdkfd_proc *p = &b->procs[i];
		uint32_t qids[GPRIO_KFD_MAX_BATCH], m = 0;
		for (uint32_t k = 0; k < p->nq && m < GPRIO_KFD_MAX_BATCH; k++)
			if (p->q[k].held)
				qids[m++] = p->q[k].qid;
		if (m) {
			enum gprio_kfd_qresult res[GPRIO_KFD_MAX_BATCH];
			int rc = proc_op(b, p, false, qids, m, 0, res);
			if (rc < 0 && !first && rc != -ESRCH && !agent_lost(p, rc))
				first = rc;
			for (uint32_t k = 0; k < p->nq; k++)
				p->q[k].held = false;
		}
		if (b->stage == 1 && p->mode == AMDKFD_P_DEBUGGER) {
			/* DISABLE also resumes anything still suspended */
			struct gprio_kfd_agent_view v;
			struct gprio_kfd_sys as;
			int rc = ioctl_count(b, gprio_kfd_dbg_disable(psys(b, p, &v, &as), p->pid));
			if (rc < 0 && !first && rc != -ESRCH && !agent_lost(p, rc))
				first = rc;
		}
	}
	b->nprocs = 0;
	return first;
}

static const char *mode_name(enum amdkfd_pmode m)
{
	switch (m) {
	case AMDKFD_P_NEW: return "new";
	case AMDKFD_P_DEBUGGER: return "debugger";
	case AMDKFD_P_OBSERVED: return "observed";
	case AMDKFD_P_SYSFS: return "sysfs";
	case AMDKFD_P_BLOCKED: return "blocked";
	case AMDKFD_P_KERNEL: return "kernel";
	}
	return "?";
}

void gprio_amdkfd_print(const struct gprio_amdkfd *b, FILE *f)
{
	fprintf(f, "amdkfd: KFD %u.%u, stage %d (%s)\n", b->major, b->minor, b->stage,
		b->stage == 3   ? "in-kernel monitor: per-queue unmap from KFD"
		: b->stage == 2 ? "PREEMPT_QUEUES: per-queue unmap"
				: "DBG_TRAP suspend/resume: device-wide unmap");
	if (b->stage == 3)
		fprintf(f,
			"amdkfd: KFD's monitor: %u process(es), period %u us, hysteresis %u us, "
			"%llu call(s), last %s\n",
			b->nmon, b->cfg.mon_period_us, b->cfg.mon_hysteresis_us,
			(unsigned long long)b->st.monitor_calls,
			b->mon_rc ? strerror(-b->mon_rc) : "ok");
	if (b->stage == 1)
		fprintf(f, "amdkfd: kernel %s\n", gprio_kfd_detach_name(b->detach));
	fprintf(f, "%-8s %-8s %4s %-9s %-6s %6s %5s  %s\n", "PID", "CLASS", "PRIO", "MODE", "VIA",
		"QUEUES", "HELD", "NOTE");
	for (uint32_t i = 0; i < b->nprocs; i++) {
		const struct amdkfd_proc *p = &b->procs[i];
		uint32_t held = 0;
		for (uint32_t k = 0; k < p->nq; k++)
			held += p->q[k].held;
		fprintf(f, "%-8u %-8s %4d %-9s %-6s %6u %5u  %s\n", p->pid,
			gprio_class_name(p->klass), p->prio, mode_name(p->mode),
			b->stage == 3   ? "kfd"
			: b->stage == 2 ? "sysfs"
			: p->agent      ? "shim"
					: "ptrace",
			p->nq, held, p->why);
	}
	fprintf(f,
		"ioctls %llu, suspend calls %llu, resume calls %llu, snapshots %llu, enables %llu, "
		"EC_QUEUE_NEW retries %llu, queue errors %llu, refused calls %llu, in-process "
		"calls %llu, left alone for the detach rule %llu\n",
		(unsigned long long)b->st.ioctls, (unsigned long long)b->st.suspend_calls,
		(unsigned long long)b->st.resume_calls, (unsigned long long)b->st.snapshots,
		(unsigned long long)b->st.enables, (unsigned long long)b->st.ebusy_retries,
		(unsigned long long)b->st.queue_errors, (unsigned long long)b->st.call_errors,
		(unsigned long long)b->st.agent_calls, (unsigned long long)b->st.detach_refused);
}

const struct gprio_backend_ops gprio_amdkfd_ops = {
	.name = "amdkfd",
	.refresh = ak_refresh,
	.suspend = ak_suspend,
	.resume = ak_resume,
	.wait = ak_wait,
};
