#include "sim_kfd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/amdkfd/kfd_uapi.h"
#include "../backends/amdkfd/kfd_agent.h"
#include "sim_backend.h"

#define ADDR_BASE 0x7f0000000000ull

static uint64_t q_addr(uint32_t pid, uint32_t qid, unsigned field)
{
	return ADDR_BASE + ((uint64_t)pid << 20) + (uint64_t)qid * 0x100 + field;
}

int sim_kfd_init(struct sim_kfd *k, struct sim_world *w, const struct sim_kfd_cfg *cfg)
{
	memset(k, 0, sizeof(*k));
	k->w = w;
	k->cfg = cfg;
	k->stage2 = cfg->stage >= 2; /* patch 0005 comes with 0001-0004 */
	k->stage3 = cfg->stage == 3;
	w->kfd_notes = cfg->notes;
	/* the kernel's own rule, read apart from gprio's parser: releases before 6.12.103 (the
	 * stable fix) keep the old check; later series are modelled with the fix */
	unsigned ma = 0, mi = 0, pa = 0;
	if (sscanf(cfg->kernel, "%u.%u.%u", &ma, &mi, &pa) >= 2)
		k->pre_detach_fix = ma < 6 || (ma == 6 && (mi < 12 || (mi == 12 && pa < 103)));
	k->np = w->np;
	k->p = calloc(w->np ? w->np : 1, sizeof(*k->p));
	k->q = calloc(w->nq ? w->nq : 1, sizeof(*k->q));
	if (!k->p || !k->q) {
		sim_kfd_free(k);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < w->np; i++)
		k->p[i].runtime_enabled = true; /* ROCr does RUNTIME_ENABLE at start-up */
	for (uint32_t i = 0; i < cfg->nev; i++) {
		const struct sim_kfd_event *e = &cfg->ev[i];
		if (e->kind == SIM_KFD_DEBUGGER) {
			k->p[e->proc_idx].tracer = SIM_KFD_OTHER_DEBUGGER;
			k->p[e->proc_idx].debugger = SIM_KFD_OTHER_DEBUGGER;
			k->p[e->proc_idx].debug = true;
		} else if (e->kind == SIM_KFD_NO_RUNTIME) {
			k->p[e->proc_idx].runtime_enabled = false;
		} else if (e->kind == SIM_KFD_SHIM) {
			k->p[e->proc_idx].shim = true;
		}
	}
	return 0;
}

void sim_kfd_free(struct sim_kfd *k)
{
	free(k->p);
	free(k->q);
	k->p = NULL;
	k->q = NULL;
}

/* The ioctl blocks until the HIQ work it started is done: run the world until then. */
static void run_ops(struct sim_kfd *k)
{
	struct sim_world *w = k->w;
	while ((w->nops || w->op_busy) && !w->err) {
		gprio_ns t = sim_evq_peek_time(&w->evq);
		if (t == GPRIO_NS_NEVER)
			break;
		sim_world_run_until(w, t, false);
	}
}

static void hw(struct sim_kfd *k, bool suspend, const uint64_t *keys, size_t n)
{
	struct sim_world *w = k->w;
	if (suspend)
		w->arch->suspend(w, keys, n);
	else
		w->arch->resume(w, keys, n);
	sim_kick(w);
	run_ops(k);
}

/* kfd_dbg_trap_activate/deactivate: debug_refresh_runlist = execute_queues_cpsch. */
static void refresh_runlist(struct sim_kfd *k)
{
	k->runlist_refreshes++;
	hw(k, false, NULL, 0);
}

static struct sim_kfd_p *proc_of(struct sim_kfd *k, uint32_t pid, uint32_t *idx)
{
	if (pid < SIM_KFD_PID0 || pid - SIM_KFD_PID0 >= k->np)
		return NULL;
	*idx = pid - SIM_KFD_PID0;
	return k->p[*idx].exited ? NULL : &k->p[*idx];
}

/* Queue qid of process idx (its world index), if it exists for KFD. */
static bool queue_of(struct sim_kfd *k, uint32_t idx, uint32_t qid, uint32_t *wq)
{
	const struct sim_p *sp = &k->w->p[idx];
	if (qid >= sp->nq)
		return false;
	*wq = sp->q0 + qid;
	return k->q[*wq].exists && !k->q[*wq].destroyed;
}

static void destroy_now(struct sim_kfd *k, uint32_t wq)
{
	k->q[wq].destroyed = true;
	k->q[wq].destroy_pending = false;
}

static void shim_fail_open(struct sim_kfd *k, uint32_t idx);

/* The kernel's own value, kept apart from gprio's definition (kfd_uapi.h) so that a wrong one
 * there fails here: include/uapi/linux/kfd_ioctl.h (6.12), enum kfd_dbg_trap_exception_code,
 * EC_QUEUE_NEW = 31; an exception mask has bit (code - 1) (KFD_EC_MASK). */
#define KERNEL_EC_QUEUE_NEW_MASK (1ull << (31 - 1))
/* EC_PROCESS_RUNTIME = 48, likewise */
#define KERNEL_EC_PROCESS_RUNTIME_MASK (1ull << (48 - 1))

/* Process teardown destroys its queues, suspended or not. */
static void exit_now(struct sim_kfd *k, uint32_t idx)
{
	const struct sim_p *sp = &k->w->p[idx];
	uint64_t keys[64];
	size_t n = 0;
	k->p[idx].exited = true;
	for (uint32_t j = 0; j < sp->nq; j++) {
		struct sim_kfd_q *q = &k->q[sp->q0 + j];
		if ((q->dbg_suspended || q->preempted) && n < 64)
			keys[n++] = sp->q0 + j;
		q->dbg_suspended = q->preempted = false;
		destroy_now(k, sp->q0 + j);
	}
	if (n)
		hw(k, false, keys, n);
}

/* Queues come into being when first used; timed [kfd] events happen when due. */
static void sync(struct sim_kfd *k)
{
	struct sim_world *w = k->w;
	for (uint32_t i = 0; i < w->nq; i++)
		if (!k->q[i].exists && w->q[i].wptr > 0) {
			k->q[i].exists = true;
			/* kfd_process_queue_manager.c, init_user_queue(): exception_status =
			 * KFD_EC_MASK(EC_QUEUE_NEW) for every new user queue */
			k->q[i].is_new = true;
		}
	for (uint32_t i = 0; i < k->cfg->nev; i++) {
		const struct sim_kfd_event *e = &k->cfg->ev[i];
		if (k->ev_done[i] || e->at > w->now ||
		    (e->kind != SIM_KFD_EXIT && e->kind != SIM_KFD_DESTROY &&
		     e->kind != SIM_KFD_SHIM_LOST))
			continue;
		k->ev_done[i] = true;
		if (e->kind == SIM_KFD_SHIM_LOST) {
			shim_fail_open(k, e->proc_idx);
			continue;
		}
		const struct sim_p *sp = &w->p[e->proc_idx];
		if (e->kind == SIM_KFD_EXIT) {
			struct sim_kfd_p *p = &k->p[e->proc_idx];
			/* a normal exit shuts the runtime down first (ROCr: hsaKmtRuntimeDisable):
			 * kfd_chardev.c runtime_disable() blocks a debug-enabled process on
			 * runtime_enable_sema until its debugger sends SEND_RUNTIME_EVENT */
			if (p->debug && p->runtime_enabled && p->runtime_permits == 0) {
				p->exit_waiting = true;
				continue;
			}
			if (p->debug && p->runtime_enabled)
				p->runtime_permits--;
			exit_now(k, e->proc_idx);
		} else {
			struct sim_kfd_q *q = &k->q[sp->q0 + e->queue];
			if (q->dbg_suspended || q->preempted)
				q->destroy_pending = true; /* blocks until resumed */
			else
				destroy_now(k, sp->q0 + e->queue);
		}
	}
	/* a permit that arrives late releases a process waiting in runtime_disable() */
	for (uint32_t i = 0; i < k->np; i++)
		if (k->p[i].exit_waiting && k->p[i].runtime_permits) {
			k->p[i].runtime_permits--;
			k->p[i].exit_waiting = false;
			exit_now(k, i);
		}
}

/* kfd_chardev.c, kfd_ioctl_set_debug_trap(): the caller must be the target's ptrace parent, or
 * (from the 6.12.103 stable fix on) its registered debugger; before that fix only DISABLE is
 * allowed to a registered debugger that has left ptrace. */
static bool may_debug(const struct sim_kfd *k, const struct sim_kfd_p *p, uint32_t caller,
		      uint32_t op)
{
	if (p->tracer == caller)
		return true;
	return p->debugger == caller && (!k->pre_detach_fix || op == GPRIO_KFD_DBG_DISABLE);
}

/* One queue array of SUSPEND/RESUME_QUEUES (stage2 false: the debugger's is_suspended) or of
 * PREEMPT_QUEUES (stage2 true: the patch's is_gprio_preempted). Entries start invalid and are
 * cleared on success, as KFD does; the count of queues done is returned. */
static int queue_array_op(struct sim_kfd *k, uint32_t idx, bool stage2, bool suspend, uint32_t *arr,
			  uint32_t n)
{
	uint64_t keys[GPRIO_MAX_QUEUES];
	size_t nk = 0;
	int count = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t qid = arr[i], wq;
		arr[i] = qid | GPRIO_KFD_QUEUE_INVALID;
		if (!queue_of(k, idx, qid, &wq))
			continue;
		struct sim_kfd_q *q = &k->q[wq];
		bool *mine = stage2 ? &q->preempted : &q->dbg_suspended;
		bool other = stage2 ? q->dbg_suspended : q->preempted;
		if (!stage2 && suspend && (q->is_new || q->destroy_pending))
			continue; /* -EBUSY inside KFD: left invalid, not counted */
		if (*mine != suspend && nk < GPRIO_MAX_QUEUES)
			keys[nk++] = wq;
		*mine = suspend;
		if (!suspend && q->destroy_pending && !other)
			destroy_now(k, wq); /* the blocked destroy completes */
		arr[i] = qid;
		count++;
	}
	if (nk)
		hw(k, suspend, keys, nk);
	return count;
}

/* DBG_TRAP as process `me` (the daemon, or a process acting on itself through its shim). */
static int sk_dbg_trap(struct sim_kfd *k, uint32_t me, struct gprio_kfd_dbg_trap *a)
{
	if (k->cfg->no_hws)
		return -EINVAL;
	uint32_t idx;
	struct sim_kfd_p *p = proc_of(k, a->pid, &idx);
	if (!p)
		return -ESRCH;
	if (!may_debug(k, p, me, a->op) && a->pid != me)
		return -EPERM;
	if (a->op != GPRIO_KFD_DBG_ENABLE && !(p->debug && p->debugger == me))
		return -EINVAL;
	bool queue_op =
		a->op == GPRIO_KFD_DBG_SUSPEND_QUEUES || a->op == GPRIO_KFD_DBG_RESUME_QUEUES;
	if (queue_op && !p->runtime_enabled)
		return -EPERM;
	switch (a->op) {
	case GPRIO_KFD_DBG_ENABLE:
		if (p->debug)
			return -EALREADY;
		if (p->tracer != me && a->pid != me)
			return -EPERM; /* ENABLE itself needs the ptrace relationship (or to be the target) */
		p->debug = true;
		p->debugger = me;
		if (p->runtime_enabled)
			refresh_runlist(k);
		return 0;
	case GPRIO_KFD_DBG_SEND_RUNTIME_EVENT:
		/* kfd_debug.c, kfd_dbg_send_exception_to_runtime(): the EC_PROCESS_RUNTIME bit is
		 * an up() on runtime_enable_sema, whether or not anyone waits yet */
		if (a->send_runtime.exception_mask & KERNEL_EC_PROCESS_RUNTIME_MASK)
			p->runtime_permits++;
		return 0;
	case GPRIO_KFD_DBG_DISABLE: {
		/* deactivation resumes what the debugger left suspended */
		const struct sim_p *sp = &k->w->p[idx];
		uint32_t arr[64], n = 0;
		for (uint32_t j = 0; j < sp->nq && n < 64; j++)
			if (k->q[sp->q0 + j].dbg_suspended)
				arr[n++] = j;
		p->debug = false;
		p->debugger = 0;
		if (n)
			queue_array_op(k, idx, false, false, arr, n);
		else if (p->runtime_enabled)
			refresh_runlist(k);
		return 0;
	}
	case GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT: {
		const struct sim_p *sp = &k->w->p[idx];
		struct gprio_kfd_queue_snapshot *out =
			(struct gprio_kfd_queue_snapshot *)(uintptr_t)a->snapshot.snapshot_buf_ptr;
		uint32_t cap = a->snapshot.num_queues, n = 0;
		if (a->snapshot.entry_size < sizeof(*out) && cap)
			return -EINVAL;
		/* kfd_device_queue_manager.c, set_queue_snapshot_entry(): the snapshot clears
		 * the exception bits the caller names */
		bool clear = a->snapshot.exception_mask & KERNEL_EC_QUEUE_NEW_MASK;
		for (uint32_t j = 0; j < sp->nq; j++) {
			struct sim_kfd_q *q = &k->q[sp->q0 + j];
			if (!q->exists || q->destroyed)
				continue;
			if (n < cap) {
				memset(&out[n], 0, sizeof(out[n]));
				out[n].exception_status = q->is_new ? KERNEL_EC_QUEUE_NEW_MASK : 0;
				out[n].ring_base_address = q_addr(a->pid, j, 0x80);
				out[n].read_pointer_address = q_addr(a->pid, j, 0);
				out[n].write_pointer_address = q_addr(a->pid, j, 8);
				out[n].ctx_save_restore_address = q_addr(a->pid, j, 0xc0);
				out[n].queue_id = j;
				out[n].gpu_id = 1;
				out[n].ring_size = 1u << 20;
				if (clear)
					q->is_new = false;
			}
			n++;
		}
		a->snapshot.num_queues = n;
		a->snapshot.entry_size = sizeof(*out);
		return 0;
	}
	case GPRIO_KFD_DBG_SUSPEND_QUEUES:
		return queue_array_op(k, idx, false, true,
				      (uint32_t *)(uintptr_t)a->suspend.queue_array_ptr,
				      a->suspend.num_queues);
	case GPRIO_KFD_DBG_RESUME_QUEUES:
		return queue_array_op(k, idx, false, false,
				      (uint32_t *)(uintptr_t)a->resume.queue_array_ptr,
				      a->resume.num_queues);
	default: return -EINVAL;
	}
}

static int sk_preempt(struct sim_kfd *k, struct gprio_kfd_preempt_queues *a)
{
	if (!k->stage2)
		return -ENOTTY; /* a stock KFD has no such ioctl */
	if (k->cfg->unprivileged)
		return -EPERM;
	if (a->num_queues == 0)
		return 0;
	if (a->op > GPRIO_KFD_RESUME)
		return -EINVAL;
	uint32_t idx;
	if (!proc_of(k, a->pid, &idx))
		return -ESRCH;
	return queue_array_op(k, idx, true, a->op == GPRIO_KFD_PREEMPT,
			      (uint32_t *)(uintptr_t)a->queue_array_ptr, a->num_queues);
}

/* kfd_ioctl_gprio_monitor (kernel/amdkfd/0005, kfd_gprio_monitor.c): its checks in its order;
 * num_procs = 0 stops the monitor (kfd_gprio_monitor_stop) */
static int sk_monitor(struct sim_kfd *k, const struct gprio_kfd_monitor *a)
{
	if (!k->stage3)
		return -ENOTTY;
	if (k->cfg->unprivileged)
		return -EPERM; /* capable(CAP_SYS_ADMIN) */
	if (a->num_procs == 0) {
		k->nmon = 0;
		k->mon_calls++;
		return 0;
	}
	if (a->num_procs > GPRIO_KFD_MONITOR_MAX_PROCS || a->period_us < 100 ||
	    a->period_us > 100000 || a->hysteresis_us > 1000000)
		return -EINVAL;
	const struct gprio_kfd_monitor_proc *in = (const void *)(uintptr_t)a->procs_ptr;
	for (uint32_t i = 0; i < a->num_procs; i++) {
		uint32_t idx;
		if (in[i].priority > 15)
			return -EINVAL;
		/* kfd_lookup_process_by_pid: a live KFD process, not the caller's own */
		if (in[i].pid == SIM_KFD_DAEMON_PID || !proc_of(k, in[i].pid, &idx))
			return -ESRCH;
	}
	memcpy(k->mon, in, a->num_procs * sizeof(*in));
	k->nmon = a->num_procs;
	k->mon_most = k->nmon > k->mon_most ? k->nmon : k->mon_most;
	k->mon_period_us = a->period_us;
	k->mon_hysteresis_us = a->hysteresis_us;
	k->mon_calls++;
	return 0;
}

static int sk_ioctl(void *ctx, unsigned long req, void *arg)
{
	struct sim_kfd *k = ctx;
	k->ioctls++;
	sync(k);
	if (req == GPRIO_KFD_GET_VERSION) {
		struct gprio_kfd_version *v = arg;
		v->major = k->cfg->major;
		v->minor = k->cfg->minor;
		return 0;
	}
	if (req == GPRIO_KFD_DBG_TRAP)
		return sk_dbg_trap(k, SIM_KFD_DAEMON_PID, arg);
	if (req == GPRIO_KFD_PREEMPT_QUEUES)
		return sk_preempt(k, arg);
	if (req == GPRIO_KFD_GPRIO_MONITOR)
		return sk_monitor(k, arg);
	return -ENOTTY;
}

static int sk_list_procs(void *ctx, uint32_t *pids, size_t cap)
{
	struct sim_kfd *k = ctx;
	sync(k);
	size_t n = 0;
	if (n < cap)
		pids[n++] =
			SIM_KFD_DAEMON_PID; /* opening /dev/kfd made the daemon a KFD process too */
	for (uint32_t i = 0; i < k->np && n < cap; i++) {
		bool any = false;
		const struct sim_p *sp = &k->w->p[i];
		for (uint32_t j = 0; j < sp->nq; j++)
			any |= k->q[sp->q0 + j].exists;
		if (any && !k->p[i].exited)
			pids[n++] = SIM_KFD_PID0 + i;
	}
	return (int)n;
}

static int sk_list_queues(void *ctx, uint32_t pid, struct gprio_kfd_sysq *out, size_t cap)
{
	struct sim_kfd *k = ctx;
	sync(k);
	if (pid == SIM_KFD_DAEMON_PID)
		return 0;
	uint32_t idx;
	if (!proc_of(k, pid, &idx))
		return -ENOENT;
	const struct sim_p *sp = &k->w->p[idx];
	size_t n = 0;
	for (uint32_t j = 0; j < sp->nq && n < cap; j++) {
		uint32_t wq = sp->q0 + j;
		const struct sim_kfd_q *q = &k->q[wq];
		if (!q->exists || q->destroyed)
			continue;
		struct gprio_kfd_sysq *s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->qid = j;
		s->gpu_id = 1;
		s->type = 0;
		if (k->stage2) { /* the patch's sysfs fields */
			s->has_ptrs = true;
			s->rptr = k->w->q[wq].rptr;
			s->wptr = k->w->q[wq].wptr;
			s->suspended = q->preempted;
			s->active = !q->preempted && !q->dbg_suspended;
		}
	}
	return (int)n;
}

static int sk_read_mem(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	struct sim_kfd *k = ctx;
	sync(k);
	uint32_t idx;
	struct sim_kfd_p *p = proc_of(k, pid, &idx);
	if (!p)
		return -ESRCH;
	if (k->cfg->unprivileged && p->tracer != SIM_KFD_DAEMON_PID && !p->shim)
		return -EPERM; /* process_vm_readv needs CAP_SYS_PTRACE, the ptrace relationship, or
				* the target's PR_SET_PTRACER (which the HSA shim grants) */
	uint64_t base = q_addr(pid, 0, 0);
	if (addr < base || len != sizeof(uint64_t))
		return -EFAULT;
	uint32_t qid = (uint32_t)((addr - base) / 0x100), field = (uint32_t)((addr - base) % 0x100);
	uint32_t wq;
	if ((field != 0 && field != 8) || !queue_of(k, idx, qid, &wq))
		return -EFAULT;
	uint64_t v = field == 0 ? k->w->q[wq].rptr : k->w->q[wq].wptr;
	memcpy(buf, &v, sizeof(v));
	return 0;
}

static int sk_attach(void *ctx, uint32_t pid)
{
	struct sim_kfd *k = ctx;
	sync(k);
	uint32_t idx;
	struct sim_kfd_p *p = proc_of(k, pid, &idx);
	if (!p)
		return -ESRCH;
	if (k->cfg->unprivileged || (p->tracer && p->tracer != SIM_KFD_DAEMON_PID))
		return -EPERM; /* one tracer per process; yama/uid checks */
	p->tracer = SIM_KFD_DAEMON_PID;
	return 0;
}

static int sk_detach(void *ctx, uint32_t pid)
{
	struct sim_kfd *k = ctx;
	uint32_t idx;
	struct sim_kfd_p *p = proc_of(k, pid, &idx);
	if (!p)
		return -ESRCH;
	if (p->tracer != SIM_KFD_DAEMON_PID)
		return -ESRCH;
	p->tracer = 0;
	return 0;
}

static int sk_classify(void *ctx, uint32_t pid, enum gprio_class *klass, int *prio)
{
	struct sim_kfd *k = ctx;
	uint32_t idx;
	if (!proc_of(k, pid, &idx))
		return -ENOENT;
	*klass = k->w->p[idx].spec->klass;
	*prio = k->w->p[idx].spec->priority;
	return 0;
}

static uint32_t sk_self(void *ctx)
{
	(void)ctx;
	return SIM_KFD_DAEMON_PID;
}

static gprio_ns sk_now(void *ctx)
{
	return ((struct sim_kfd *)ctx)->w->now;
}

static int sk_sleep(void *ctx, gprio_ns deadline)
{
	struct sim_kfd *k = ctx;
	struct sim_world *w = k->w;
	if (w->now >= w->stop_at)
		return -ECANCELED;
	if (deadline > w->stop_at)
		deadline = w->stop_at;
	/* event-driven stages: a work note ends the sleep (1), as on the real daemon's loop */
	int rc = sim_world_run_until(w, deadline, k->cfg->notes);
	if (rc < 0)
		return rc;
	if (w->now >= w->stop_at)
		return -ECANCELED;
	return rc == GPRIO_WAIT_EVENT ? 1 : 0;
}

/* In-process mode: the shim inside process `pid`, with its own view of KFD (caller = pid). */
struct sim_agent_ctx {
	struct sim_kfd *k;
	uint32_t pid;
};

static int sa_ioctl(void *ctx, unsigned long req, void *arg)
{
	struct sim_agent_ctx *a = ctx;
	a->k->ioctls++;
	sync(a->k);
	return req == GPRIO_KFD_DBG_TRAP ? sk_dbg_trap(a->k, a->pid, arg) : -ENOTTY;
}

static uint32_t sa_self(void *ctx)
{
	return ((struct sim_agent_ctx *)ctx)->pid;
}

static const struct gprio_kfd_sys_ops sim_agent_ops = {.ioctl = sa_ioctl, .self = sa_self};

static bool sk_has_agent(void *ctx, uint32_t pid)
{
	struct sim_kfd *k = ctx;
	sync(k);
	uint32_t idx;
	struct sim_kfd_p *p = proc_of(k, pid, &idx);
	return p && p->shim;
}

/* The daemon's side of the wire: encode, the shim serves it on itself, decode. */
static int sk_agent_ioctl(void *ctx, uint32_t pid, unsigned long req, void *arg)
{
	struct sim_kfd *k = ctx;
	if (!sk_has_agent(k, pid))
		return -ENOENT;
	if (req != GPRIO_KFD_DBG_TRAP)
		return -EOPNOTSUPP;
	static struct gprio_kfd_agent_msg m;
	int rc = gprio_kfd_agent_encode(arg, &m);
	if (rc < 0)
		return rc;
	struct sim_agent_ctx a = {k, pid};
	struct gprio_kfd_sys local = {&sim_agent_ops, &a};
	gprio_kfd_agent_serve(&local, 3 /* the shim's own eventfd */, &m);
	return gprio_kfd_agent_decode(&m, arg);
}

/* What the shim does when it loses the daemon: resume what it holds, disable debugging. */
static void shim_fail_open(struct sim_kfd *k, uint32_t idx)
{
	struct sim_kfd_p *p = &k->p[idx];
	uint32_t pid = SIM_KFD_PID0 + idx;
	if (!p->shim || p->exited)
		return;
	p->shim = false;
	if (p->debug && p->debugger == pid) {
		struct gprio_kfd_dbg_trap a;
		memset(&a, 0, sizeof(a));
		a.pid = pid;
		a.op = GPRIO_KFD_DBG_DISABLE; /* resumes what is suspended */
		sk_dbg_trap(k, pid, &a);
	}
}

/* kfd_chardev.c with gprio's patch 0003: the read-only module parameter gprio_preempt_version */
static int sk_stage2_version(void *ctx)
{
	const struct sim_kfd *k = ctx;
	return k->stage2 ? 1 : -ENOENT;
}

/* patch 0005: the read-only module parameter gprio_monitor_version */
static int sk_stage3_version(void *ctx)
{
	const struct sim_kfd *k = ctx;
	return k->stage3 ? 1 : -ENOENT;
}

static const struct gprio_kfd_sys_ops sim_kfd_ops = {
	.ioctl = sk_ioctl,
	.list_procs = sk_list_procs,
	.list_queues = sk_list_queues,
	.read_mem = sk_read_mem,
	.attach = sk_attach,
	.detach = sk_detach,
	.classify = sk_classify,
	.self = sk_self,
	.now = sk_now,
	.sleep = sk_sleep,
	.has_agent = sk_has_agent,
	.agent_ioctl = sk_agent_ioctl,
	.stage2_version = sk_stage2_version,
	.stage3_version = sk_stage3_version,
};

void sim_kfd_sys(struct sim_kfd *k, struct gprio_kfd_sys *out)
{
	out->ops = &sim_kfd_ops;
	out->ctx = k;
}

void sim_kfd_controller_died(struct sim_kfd *k)
{
	for (uint32_t i = 0; i < k->np; i++)
		shim_fail_open(k, i); /* each shim sees gpriod's socket close */
	for (uint32_t i = 0; i < k->np; i++)
		if (k->p[i].debugger == SIM_KFD_DAEMON_PID) {
			k->p[i].debug = false;
			k->p[i].debugger = 0;
		}
	for (uint32_t i = 0; i < k->w->nq; i++) {
		k->q[i].dbg_suspended = k->q[i].preempted = false;
		if (k->q[i].destroy_pending)
			destroy_now(k, i);
	}
	/* the queues themselves go back through the architecture's fail-open path (run.c) */
}
