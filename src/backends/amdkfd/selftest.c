/* gprio doctor --selftest (selftest.h). */
#include "selftest.h"

#include <errno.h>
#include <string.h>

#include "kfd.h"

void gprio_selftest_defaults(struct gprio_selftest_cfg *c)
{
	c->start_timeout = 60 * GPRIO_NS_PER_S; /* a HIP runtime's first start can be slow */
	c->step_timeout = 10 * GPRIO_NS_PER_S;
	c->watch = 200 * GPRIO_NS_PER_MS;
	c->dbg_fd = -1;
}

const char *gprio_selftest_step_name(enum gprio_selftest_step s)
{
	static const char *const n[GPRIO_ST_COUNT] = {"start",   "enable", "snapshot", "running",
						      "suspend", "resume", "disable",  "exit"};
	return (unsigned)s < GPRIO_ST_COUNT ? n[s] : "?";
}

struct run {
	const struct gprio_kfd_sys *sys;
	const struct gprio_selftest_cfg *cfg;
	struct gprio_selftest_result *r;
	FILE *out;
	uint32_t pid;
	uint32_t qid;
	uint64_t rptr_addr;
};

static gprio_ns now_of(const struct run *x)
{
	return x->sys->ops->now(x->sys->ctx);
}

static bool step(struct run *x, enum gprio_selftest_step s, bool ok, const char *what, int rc)
{
	x->r->ok[s] = ok;
	if (ok)
		snprintf(x->r->why[s], sizeof(x->r->why[s]), "%.150s", what);
	else
		snprintf(x->r->why[s], sizeof(x->r->why[s]), "%.90s%s%.60s", what, rc ? ": " : "",
			 rc ? strerror(-rc) : "");
	if (x->out)
		fprintf(x->out, "  %-8s %s  %s\n", gprio_selftest_step_name(s),
			ok ? "ok  " : "FAIL", x->r->why[s]);
	return ok;
}

/* How far the read pointer moves over the watch window (sleeping on the system's clock). */
static int rptr_moves(struct run *x, uint64_t *moved)
{
	uint64_t a, b;
	int rc = x->sys->ops->read_mem(x->sys->ctx, x->pid, x->rptr_addr, &a, sizeof(a));
	if (rc < 0)
		return rc;
	rc = x->sys->ops->sleep(x->sys->ctx, now_of(x) + x->cfg->watch);
	if (rc < 0)
		return rc;
	rc = x->sys->ops->read_mem(x->sys->ctx, x->pid, x->rptr_addr, &b, sizeof(b));
	if (rc < 0)
		return rc;
	*moved = b - a;
	return 0;
}

bool gprio_kfd_selftest(const struct gprio_kfd_sys *sys, const struct gprio_selftest_app *app,
			const struct gprio_selftest_cfg *cfg, struct gprio_selftest_result *r,
			FILE *out)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < GPRIO_ST_COUNT; i++) {
		r->ok[i] = -1;
		snprintf(r->why[i], sizeof(r->why[i]), "not run");
	}
	struct run x = {.sys = sys, .cfg = cfg, .r = r, .out = out};
	bool enabled = false, started = false, held = false;
	char msg[120];
	int rc = app->start(app->ctx, &x.pid, now_of(&x) + cfg->start_timeout);
	if (!step(&x, GPRIO_ST_START, rc == 0,
		  rc == 0 ? "the program said ready (its first kernel ran)" : "the program", rc))
		goto end;
	started = true;
	/* gpriod's way: attach, ENABLE, the exit permit, detach (kfd_chardev.c: the registered
	 * debugger may act after the detach on 6.12.103 and later) */
	rc = sys->ops->attach(sys->ctx, x.pid);
	if (rc == 0) {
		rc = gprio_kfd_dbg_enable(sys, x.pid, cfg->dbg_fd);
		sys->ops->detach(sys->ctx, x.pid);
	}
	if (rc == 0) {
		enabled = true;
		rc = gprio_kfd_dbg_arm_exit(sys, x.pid);
	}
	if (!step(&x, GPRIO_ST_ENABLE, rc == 0,
		  rc == 0 ? "ptrace attach, DBG_TRAP ENABLE, exit permit, detach"
			  : "attach / DBG_TRAP ENABLE / SEND_RUNTIME_EVENT",
		  rc))
		goto end;
	struct gprio_kfd_queue_snapshot snap[8];
	uint32_t n = 0;
	rc = gprio_kfd_snapshot(sys, x.pid, true, snap, 8, &n);
	bool found = false;
	for (uint32_t i = 0; rc == 0 && i < n && i < 8 && !found; i++)
		if (snap[i].read_pointer_address) {
			x.qid = snap[i].queue_id;
			x.rptr_addr = snap[i].read_pointer_address;
			found = true;
		}
	snprintf(msg, sizeof(msg), "%u queue(s); watching queue %u", n, x.qid);
	if (!step(&x, GPRIO_ST_SNAPSHOT, rc == 0 && found,
		  rc == 0 && !found ? "no queue with a read pointer" : msg, rc))
		goto end;
	rc = rptr_moves(&x, &r->rptr_moved_running);
	snprintf(msg, sizeof(msg), "rptr advanced by %llu packets in %.0f ms",
		 (unsigned long long)r->rptr_moved_running, (double)cfg->watch / 1e6);
	if (!step(&x, GPRIO_ST_RUNNING, rc == 0 && r->rptr_moved_running > 0,
		  rc == 0 && !r->rptr_moved_running ? "rptr did not move: the program is not "
						      "submitting (nothing to test)"
						    : msg,
		  rc))
		goto end;
	enum gprio_kfd_qresult res;
	rc = gprio_kfd_suspend(sys, x.pid, &x.qid, 1, 10, &res);
	held = rc == 1 && res == GPRIO_KFD_Q_OK;
	if (held) {
		/* what was in flight drains first: watch after one window */
		sys->ops->sleep(sys->ctx, now_of(&x) + cfg->watch);
		rc = rptr_moves(&x, &r->rptr_moved_suspended);
	}
	snprintf(msg, sizeof(msg), "%s: rptr moved by %llu packets in %.0f ms",
		 held ? "suspended" : "SUSPEND_QUEUES did not take the queue",
		 (unsigned long long)r->rptr_moved_suspended, (double)cfg->watch / 1e6);
	if (!step(&x, GPRIO_ST_SUSPEND, held && rc == 0 && r->rptr_moved_suspended == 0, msg,
		  held ? rc : (rc < 0 ? rc : 0)))
		goto end;
	rc = gprio_kfd_resume(sys, x.pid, &x.qid, 1, &res);
	bool resumed = rc == 1 && res == GPRIO_KFD_Q_OK;
	held = !resumed;
	if (resumed)
		rc = rptr_moves(&x, &r->rptr_moved_resumed);
	snprintf(msg, sizeof(msg), "%s: rptr advanced by %llu packets in %.0f ms",
		 resumed ? "resumed" : "RESUME_QUEUES did not take the queue",
		 (unsigned long long)r->rptr_moved_resumed, (double)cfg->watch / 1e6);
	if (!step(&x, GPRIO_ST_RESUME, resumed && rc == 0 && r->rptr_moved_resumed > 0, msg,
		  rc < 0 ? rc : 0))
		goto end;
	rc = gprio_kfd_dbg_disable(sys, x.pid);
	enabled = rc != 0;
	if (!step(&x, GPRIO_ST_DISABLE, rc == 0, "DBG_TRAP DISABLE", rc))
		goto end;
	int status = -1;
	rc = app->finish(app->ctx, now_of(&x) + cfg->step_timeout, &status);
	started = false;
	snprintf(msg, sizeof(msg), "exited with status %d", status);
	step(&x, GPRIO_ST_EXIT, rc == 0 && status == 0,
	     rc == -ETIMEDOUT ? "did not exit in time (killed): a hang in its runtime's shutdown"
	     : rc == 0        ? msg
			      : "waiting for it",
	     rc == -ETIMEDOUT ? 0 : rc);
end:
	/* leave nothing held: resume, disable, end the program */
	if (held) {
		enum gprio_kfd_qresult rr;
		gprio_kfd_resume(sys, x.pid, &x.qid, 1, &rr);
	}
	if (enabled)
		gprio_kfd_dbg_disable(sys, x.pid);
	if (started) {
		int st;
		app->finish(app->ctx, now_of(&x) + cfg->step_timeout, &st);
	}
	r->passed = true;
	for (int i = 0; i < GPRIO_ST_COUNT; i++)
		r->passed = r->passed && r->ok[i] == 1;
	if (out)
		for (int i = 0; i < GPRIO_ST_COUNT; i++)
			if (r->ok[i] == -1)
				fprintf(out, "  %-8s -     not run\n",
					gprio_selftest_step_name((enum gprio_selftest_step)i));
	return r->passed;
}
