/* The amdkfd backend's error handling against a scripted KFD (cases the simulated KFD cannot
 * produce on demand: a queue SUSPEND skips as new, per-queue error bits, a process vanishing
 * between calls), and the real Linux port's parsing of KFD's sysfs and /proc on a fake tree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/backends/amdkfd/amdkfd_backend.h"
#include "../../src/backends/amdkfd/kfd.h"
#include "../../src/backends/amdkfd/kfd_sys_linux.h"
#include "../../src/backends/amdkfd/selftest.h"

/* --- scripted KFD: process 100 (offline, queues 0 and 1), process 200 (online, queue 0) --- */
struct fake {
	uint64_t rptr[2][2], wptr[2][2];
	bool gone100;
	int suspend_calls, resume_calls, snapshots, disables, enables;
	bool q1_new;          /* queue 1 of 100 is skipped by SUSPEND until a snapshot */
	bool error_q0;        /* SUSPEND sets the error bit on queue 0 */
	int suspend_rc;       /* forced return of SUSPEND (0: normal) */
	bool unclassified200; /* 200 was not started by gprio run */
	int arms;             /* SEND_RUNTIME_EVENT exit permits given */
	int dbg_calls_200, attach_200;
	int stage2_version;  /* what the module parameter says; 0: no such parameter */
	bool ioctl_7e_taken; /* a newer kernel where 0x7e is someone else's ioctl (answers 0) */
	int preempt_ioctls;
	/* the self-test: 100's queue 0 runs (rptr advances at each sleep) unless suspended */
	bool busy_q0, held_q0, suspend_ignored;
	/* stage 3, as kfd_ioctl_gprio_monitor (kernel/amdkfd/0005) answers */
	int stage3_version;   /* 0: no such parameter */
	bool not_admin;       /* EPERM: no CAP_SYS_ADMIN */
	bool gone_at_monitor; /* 100 exits between the listing and the call: ESRCH */
	int monitor_calls;
	struct gprio_kfd_monitor_proc mon[8];
	uint32_t nmon, mon_period, mon_hyst;
	gprio_ns now;
};
static struct fake F;

static int pidx(uint32_t pid)
{
	return pid == 100 ? 0 : pid == 200 ? 1 : -1;
}

static int f_ioctl(void *ctx, unsigned long req, void *arg)
{
	(void)ctx;
	if (req == GPRIO_KFD_GET_VERSION) {
		struct gprio_kfd_version *v = arg;
		v->major = 1;
		v->minor = 15;
		return 0;
	}
	if (req == GPRIO_KFD_GPRIO_MONITOR) {
		struct gprio_kfd_monitor *m = arg;
		F.monitor_calls++;
		if (F.stage3_version != 1)
			return -ENOTTY;
		if (F.not_admin)
			return -EPERM;
		if (m->num_procs > 8 ||
		    (m->num_procs &&
		     (m->period_us < 100 || m->period_us > 100000 || m->hysteresis_us > 1000000)))
			return -EINVAL;
		const struct gprio_kfd_monitor_proc *in = (void *)(uintptr_t)m->procs_ptr;
		for (uint32_t i = 0; i < m->num_procs; i++)
			if (in[i].pid == 7 || in[i].priority > 15 ||
			    (in[i].pid == 100 && F.gone_at_monitor))
				return in[i].priority > 15 ? -EINVAL : -ESRCH;
		if (m->num_procs)
			memcpy(F.mon, in, m->num_procs * sizeof(*in));
		F.nmon = m->num_procs;
		F.mon_period = m->period_us;
		F.mon_hyst = m->hysteresis_us;
		return 0;
	}
	if (req == GPRIO_KFD_PREEMPT_QUEUES) {
		F.preempt_ioctls++;
		return F.ioctl_7e_taken || F.stage2_version == 1 ? 0 : -ENOTTY;
	}
	if (req != GPRIO_KFD_DBG_TRAP)
		return -ENOTTY;
	struct gprio_kfd_dbg_trap *a = arg;
	F.dbg_calls_200 += a->pid == 200;
	if (a->pid == 100 && F.gone100)
		return -ESRCH;
	int p = pidx(a->pid);
	uint32_t *arr;
	switch (a->op) {
	case GPRIO_KFD_DBG_ENABLE: F.enables++; return 0;
	case GPRIO_KFD_DBG_SEND_RUNTIME_EVENT:
		/* the exit permit: only the EC_PROCESS_RUNTIME bit */
		F.arms += a->send_runtime.exception_mask ==
			  GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_PROCESS_RUNTIME);
		return 0;
	case GPRIO_KFD_DBG_DISABLE: F.disables++; return 0;
	case GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT: {
		struct gprio_kfd_queue_snapshot *s =
			(void *)(uintptr_t)a->snapshot.snapshot_buf_ptr;
		uint32_t n = p == 0 ? 2 : 1;
		for (uint32_t i = 0; i < n && i < a->snapshot.num_queues; i++) {
			memset(&s[i], 0, sizeof(s[i]));
			s[i].queue_id = i;
			s[i].read_pointer_address = 0x1000 + (uint64_t)p * 0x100 + i * 0x10;
			s[i].write_pointer_address = s[i].read_pointer_address + 8;
		}
		a->snapshot.num_queues = n;
		F.snapshots++;
		if (a->snapshot.exception_mask & GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_QUEUE_NEW) &&
		    F.snapshots > 2)
			F.q1_new = false;
		return 0;
	}
	case GPRIO_KFD_DBG_SUSPEND_QUEUES:
		F.suspend_calls++;
		if (F.suspend_rc)
			return F.suspend_rc;
		arr = (void *)(uintptr_t)a->suspend.queue_array_ptr;
		for (uint32_t i = 0; i < a->suspend.num_queues; i++) {
			F.held_q0 = F.held_q0 || (a->pid == 100 && arr[i] == 0);
			if (arr[i] == 1 && F.q1_new)
				arr[i] |= GPRIO_KFD_QUEUE_INVALID;
			else if (arr[i] == 0 && F.error_q0)
				arr[i] |= GPRIO_KFD_QUEUE_ERROR;
		}
		return (int)a->suspend.num_queues;
	case GPRIO_KFD_DBG_RESUME_QUEUES:
		F.resume_calls++;
		if (a->pid == 100)
			F.held_q0 = false;
		return (int)a->resume.num_queues;
	}
	return -EINVAL;
}

static int f_list_procs(void *ctx, uint32_t *pids, size_t cap)
{
	(void)ctx;
	size_t n = 0;
	if (!F.gone100 && n < cap)
		pids[n++] = 100;
	if (n < cap)
		pids[n++] = 200;
	if (n < cap)
		pids[n++] = 7; /* ourselves */
	return (int)n;
}

static int f_list_queues(void *ctx, uint32_t pid, struct gprio_kfd_sysq *q, size_t cap)
{
	(void)ctx;
	if ((pid == 100 && F.gone100) || pidx(pid) < 0)
		return -ENOENT;
	uint32_t n = pid == 100 ? 2 : 1;
	for (uint32_t i = 0; i < n && i < cap; i++) {
		memset(&q[i], 0, sizeof(q[i]));
		q[i].qid = i;
	}
	return (int)n;
}

static int f_read_mem(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	int p = pidx(pid);
	if (p < 0 || len != 8)
		return -EFAULT;
	uint64_t off = addr - 0x1000 - (uint64_t)p * 0x100;
	uint64_t v = (off & 8) ? F.wptr[p][off / 0x10] : F.rptr[p][off / 0x10];
	memcpy(buf, &v, 8);
	return 0;
}

static int f_ok(void *ctx, uint32_t pid)
{
	(void)ctx;
	(void)pid;
	return 0;
}

static int f_attach(void *ctx, uint32_t pid)
{
	(void)ctx;
	F.attach_200 += pid == 200;
	return 0;
}

static int f_classify(void *ctx, uint32_t pid, enum gprio_class *k, int *prio)
{
	(void)ctx;
	if (F.unclassified200 && pid == 200)
		return -ENOENT; /* not started by gprio run */
	*k = pid == 100 ? GPRIO_CLASS_OFFLINE : GPRIO_CLASS_ONLINE;
	*prio = pid == 100 ? 0 : 11;
	return 0;
}

static uint32_t f_self(void *ctx)
{
	(void)ctx;
	return 7;
}

static gprio_ns f_now(void *ctx)
{
	(void)ctx;
	return F.now;
}

static int f_sleep(void *ctx, gprio_ns d)
{
	(void)ctx;
	F.now = d;
	if (F.busy_q0 && (F.suspend_ignored || !F.held_q0))
		F.rptr[0][0] += 7; /* queue 0 of 100 consumes packets while it runs */
	return 0;
}

static int f_stage2_version(void *ctx)
{
	(void)ctx;
	return F.stage2_version ? F.stage2_version : -ENOENT;
}

static int f_stage3_version(void *ctx)
{
	(void)ctx;
	return F.stage3_version ? F.stage3_version : -ENOENT;
}

static const struct gprio_kfd_sys_ops fake_ops = {
	f_ioctl,
	f_list_procs,
	f_list_queues,
	f_read_mem,
	f_attach,
	f_ok,
	f_classify,
	f_self,
	f_now,
	f_sleep,
	NULL,
	NULL, /* no in-process agents */
	f_stage2_version,
	f_stage3_version,
};

/* Stage 3: the in-kernel monitor is recognised by its module parameter and an empty set (which
 * proves CAP_SYS_ADMIN); gpriod hands it exactly the processes started by gprio run (never
 * itself, never an unmanaged one), again only when that set changes, retries a set refused
 * because a process exited meanwhile, takes no queue into the user-space table, and stops the
 * monitor when it closes (fail open). */
static void stage3_hands_the_set_to_kfd(void **s)
{
	(void)s;
	static struct gprio_amdkfd b;
	static struct gprio_table t;
	struct gprio_kfd_sys sys = {&fake_ops, NULL};
	struct gprio_amdkfd_cfg cfg;
	char err[300];
	gprio_amdkfd_cfg_defaults(&cfg);
	memset(&F, 0, sizeof(F));
	cfg.stage = 3;
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "gprio_monitor_version absent"));
	assert_int_equal(F.monitor_calls, 0); /* no parameter: the number is never tried */
	F.stage3_version = 1;
	F.not_admin = true;
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "CAP_SYS_ADMIN"));
	F.not_admin = false;
	cfg.stage = 0; /* the best this kernel offers */
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), 0);
	assert_int_equal(b.stage, 3);
	gprio_table_init(&t);
	F.unclassified200 = true;
	assert_int_equal(gprio_amdkfd_ops.refresh(&b, &t, 1000), 0);
	assert_int_equal(F.nmon, 1); /* 100 only: 200 and gpriod itself are not named */
	assert_int_equal(F.mon[0].pid, 100);
	assert_int_equal(F.mon[0].online, 0);
	assert_int_equal(F.mon_period, 1000);
	assert_int_equal(F.mon_hyst, 1000);
	assert_int_equal(t.n, 0); /* KFD preempts; nothing for the user-space monitor */
	int calls = F.monitor_calls;
	assert_int_equal(gprio_amdkfd_ops.refresh(&b, &t, 2000), 0);
	assert_int_equal(F.monitor_calls, calls); /* same set: no call */
	F.unclassified200 = false;
	F.gone_at_monitor = true; /* 200 arrives, 100 exits before the call */
	assert_int_equal(gprio_amdkfd_ops.refresh(&b, &t, 3000), 0);
	assert_int_equal(b.mon_rc, -ESRCH);
	F.gone_at_monitor = false;
	F.gone100 = true;
	assert_int_equal(gprio_amdkfd_ops.refresh(&b, &t, 4000), 0);
	assert_int_equal(F.nmon, 1);
	assert_int_equal(F.mon[0].pid, 200);
	assert_int_equal(F.mon[0].priority, 11);
	assert_int_equal(F.mon[0].online, 1);
	uint64_t key = 0;
	bool failed;
	assert_int_equal(gprio_amdkfd_ops.suspend(&b, &key, 1, 0, &failed), -EOPNOTSUPP);
	assert_int_equal(gprio_amdkfd_close(&b), 0);
	assert_int_equal(F.nmon, 0); /* stopped: KFD maps back what it held */
}

/* Stage 2 is recognised by the version the patched KFD publishes, never by trying ioctl 0x7e:
 * on a kernel where that number is someone else's ioctl (it answers 0), gprio issues nothing
 * there and stays at stage 1; a version it does not know (2) is not taken for its own. */
static void stage2_by_version(void **s)
{
	(void)s;
	struct gprio_amdkfd b;
	struct gprio_kfd_sys sys = {&fake_ops, NULL};
	struct gprio_amdkfd_cfg cfg;
	char err[200];
	gprio_amdkfd_cfg_defaults(&cfg);
	memset(&F, 0, sizeof(F));
	F.ioctl_7e_taken = true;
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), 0);
	assert_int_equal(b.stage, 1);
	assert_int_equal(F.preempt_ioctls, 0);
	cfg.stage = 2;
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), -EOPNOTSUPP);
	assert_int_equal(F.preempt_ioctls, 0);
	F.stage2_version = 2;
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), -EOPNOTSUPP);
	assert_int_equal(F.preempt_ioctls, 0);
	F.stage2_version = 1;
	F.ioctl_7e_taken = false;
	cfg.stage = 0;
	assert_int_equal(gprio_amdkfd_open(&b, &sys, &cfg, err, sizeof(err)), 0);
	assert_int_equal(b.stage, 2);
	assert_int_equal(F.preempt_ioctls, 1); /* the probe, for EPERM */
}

/* --- gprio doctor --selftest's steps against the scripted KFD: the program is process 100 --- */
static struct {
	int start_rc, finish_rc, status, finishes;
} A;

static int a_start(void *ctx, uint32_t *pid, gprio_ns deadline)
{
	(void)ctx;
	(void)deadline;
	*pid = 100;
	return A.start_rc;
}

static int a_finish(void *ctx, gprio_ns deadline, int *status)
{
	(void)ctx;
	(void)deadline;
	A.finishes++;
	*status = A.status;
	return A.finish_rc;
}

static bool selftest(struct gprio_selftest_result *r)
{
	struct gprio_kfd_sys sys = {&fake_ops, NULL};
	struct gprio_selftest_app app = {a_start, a_finish, NULL};
	struct gprio_selftest_cfg cfg;
	gprio_selftest_defaults(&cfg);
	return gprio_kfd_selftest(&sys, &app, &cfg, r, NULL);
}

static void selftest_reports_what_happened(void **s)
{
	(void)s;
	struct gprio_selftest_result r;
	memset(&F, 0, sizeof(F));
	memset(&A, 0, sizeof(A));
	F.busy_q0 = true;
	assert_true(selftest(&r));
	for (int i = 0; i < GPRIO_ST_COUNT; i++)
		assert_int_equal(r.ok[i], 1);
	assert_true(r.rptr_moved_running > 0 && r.rptr_moved_resumed > 0);
	assert_int_equal(r.rptr_moved_suspended, 0);
	assert_int_equal(F.enables, 1);
	assert_int_equal(F.arms, 1); /* the exit permit, or the program would hang at exit */
	assert_int_equal(F.disables, 1);
	assert_int_equal(A.finishes, 1);
	/* a KFD whose suspend leaves the queue running: FAIL at suspend, never "passed"; the
	 * queue is resumed, debugging disabled and the program ended anyway */
	memset(&F, 0, sizeof(F));
	memset(&A, 0, sizeof(A));
	F.busy_q0 = F.suspend_ignored = true;
	assert_false(selftest(&r));
	assert_int_equal(r.ok[GPRIO_ST_RUNNING], 1);
	assert_int_equal(r.ok[GPRIO_ST_SUSPEND], 0);
	assert_true(r.rptr_moved_suspended > 0);
	assert_int_equal(r.ok[GPRIO_ST_RESUME], -1);
	assert_int_equal(r.ok[GPRIO_ST_EXIT], -1);
	assert_int_equal(F.resume_calls, 1);
	assert_int_equal(F.disables, 1);
	assert_int_equal(A.finishes, 1);
	/* a program that does not submit: nothing to test, said so; no suspend tried */
	memset(&F, 0, sizeof(F));
	memset(&A, 0, sizeof(A));
	assert_false(selftest(&r));
	assert_int_equal(r.ok[GPRIO_ST_RUNNING], 0);
	assert_non_null(strstr(r.why[GPRIO_ST_RUNNING], "did not move"));
	assert_int_equal(F.suspend_calls, 0);
	/* a program that hangs in its runtime's shutdown */
	memset(&F, 0, sizeof(F));
	memset(&A, 0, sizeof(A));
	F.busy_q0 = true;
	A.finish_rc = -ETIMEDOUT;
	assert_false(selftest(&r));
	assert_int_equal(r.ok[GPRIO_ST_DISABLE], 1);
	assert_int_equal(r.ok[GPRIO_ST_EXIT], 0);
	assert_non_null(strstr(r.why[GPRIO_ST_EXIT], "did not exit in time"));
	/* a program that never says ready: nothing enabled, nothing else run */
	memset(&F, 0, sizeof(F));
	memset(&A, 0, sizeof(A));
	A.start_rc = -ETIMEDOUT;
	assert_false(selftest(&r));
	assert_int_equal(r.ok[GPRIO_ST_START], 0);
	assert_int_equal(r.ok[GPRIO_ST_ENABLE], -1);
	assert_int_equal(F.enables, 0);
	assert_int_equal(A.finishes, 0);
}

static struct gprio_amdkfd B;
static struct gprio_table T;

static void open_fake(void)
{
	memset(&F, 0, sizeof(F));
	F.now = 1000;
	struct gprio_kfd_sys sys = {&fake_ops, NULL};
	struct gprio_amdkfd_cfg cfg;
	char err[200];
	gprio_amdkfd_cfg_defaults(&cfg);
	assert_int_equal(gprio_amdkfd_open(&B, &sys, &cfg, err, sizeof(err)), 0);
	assert_int_equal(B.stage, 1); /* no PREEMPT_QUEUES here */
	gprio_table_init(&T);
}

static int row(uint32_t pid, uint32_t qid)
{
	return gprio_table_find(&T, (uint64_t)pid << 32 | qid);
}

/* Stage 1 never becomes the debugger of a process that did not ask to be managed: no ptrace,
 * no DBG_TRAP on its pid, no rows (before: it was seized, enabled and snapshotted as "online
 * priority 7", and every ENABLE/DISABLE preempted every queue on the device). */
static void unmanaged_untouched(void **s)
{
	(void)s;
	open_fake();
	F.unclassified200 = true;
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now + 1000), 0);
	assert_true(row(100, 0) >= 0);
	assert_int_equal(row(200, 0), -1);
	assert_int_equal(F.dbg_calls_200, 0);
	assert_int_equal(F.attach_200, 0);
}

static void discovery_and_pointers(void **s)
{
	(void)s;
	open_fake();
	F.wptr[0][1] = 5;
	F.rptr[0][1] = 3;
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	assert_int_equal(T.n, 3); /* not our own pid 7 */
	int i = row(100, 1);
	assert_true(i >= 0);
	assert_int_equal(T.q[i].wptr, 5);
	assert_int_equal(T.q[i].rptr, 3);
	assert_int_equal(T.q[i].done, 3);
	assert_int_equal(T.q[i].klass, GPRIO_CLASS_OFFLINE);
	/* the online process was only observed: debugging enabled, then disabled again */
	assert_int_equal(F.enables, 2);
	assert_int_equal(F.disables, 1);
	assert_int_equal(
		B.procs[0].mode == AMDKFD_P_DEBUGGER || B.procs[1].mode == AMDKFD_P_DEBUGGER, 1);
}

/* SUSPEND skips a queue still flagged EC_QUEUE_NEW: the backend clears it and asks again. */
static void ec_queue_new_retry(void **s)
{
	(void)s;
	open_fake();
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	F.q1_new = true;
	uint64_t keys[2] = {(uint64_t)100 << 32, (uint64_t)100 << 32 | 1};
	bool failed[2] = {false, false};
	assert_int_equal(gprio_amdkfd_ops.suspend(&B, keys, 2, 1000, failed), 0);
	assert_false(failed[0]);
	assert_false(failed[1]);
	assert_int_equal(F.suspend_calls, 2);
	assert_int_equal(B.st.ebusy_retries, 1);
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	assert_true(T.q[row(100, 0)].hw_held);
	assert_true(T.q[row(100, 1)].hw_held);
}

static void error_bit_fails_that_queue(void **s)
{
	(void)s;
	open_fake();
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	F.error_q0 = true;
	uint64_t keys[2] = {(uint64_t)100 << 32, (uint64_t)100 << 32 | 1};
	bool failed[2] = {false, false};
	assert_int_equal(gprio_amdkfd_ops.suspend(&B, keys, 2, 1000, failed), 0);
	assert_true(failed[0]);
	assert_false(failed[1]);
	assert_int_equal(B.st.queue_errors, 1);
}

/* Online processes are not debug-enabled: asking to suspend them fails cleanly. A refused call
 * changes nothing and reports its errno. */
static void refused_calls(void **s)
{
	(void)s;
	open_fake();
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	uint64_t on = (uint64_t)200 << 32;
	bool failed[1] = {false};
	assert_int_equal(gprio_amdkfd_ops.suspend(&B, &on, 1, 1000, failed), -EPERM);
	assert_true(failed[0]);
	F.suspend_rc = -EPERM; /* e.g. RUNTIME_ENABLE never happened */
	uint64_t off = (uint64_t)100 << 32;
	failed[0] = false;
	assert_int_equal(gprio_amdkfd_ops.suspend(&B, &off, 1, 1000, failed), -EPERM);
	assert_true(failed[0]);
	assert_false(T.q[row(100, 0)].hw_held);
}

/* The process exits while suspended: ESRCH, then its rows vanish; nothing is left behind. */
static void process_vanishes(void **s)
{
	(void)s;
	open_fake();
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	uint64_t keys[2] = {(uint64_t)100 << 32, (uint64_t)100 << 32 | 1};
	assert_int_equal(gprio_amdkfd_ops.suspend(&B, keys, 2, 1000, NULL), 0);
	F.gone100 = true;
	assert_int_equal(gprio_amdkfd_ops.resume(&B, keys, 2, NULL), -ESRCH);
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	assert_true(T.q[row(100, 0)].vanished);
	assert_true(T.q[row(100, 1)].vanished);
	assert_int_equal(B.nprocs, 1);
}

/* Fail open on exit: held queues resumed, debugging disabled. */
static void close_resumes(void **s)
{
	(void)s;
	open_fake();
	assert_int_equal(gprio_amdkfd_ops.refresh(&B, &T, F.now), 0);
	uint64_t keys[1] = {(uint64_t)100 << 32 | 1};
	assert_int_equal(gprio_amdkfd_ops.suspend(&B, keys, 1, 1000, NULL), 0);
	int disables = F.disables;
	assert_int_equal(gprio_amdkfd_close(&B), 0);
	assert_int_equal(F.resume_calls, 1);
	assert_int_equal(F.disables, disables + 1);
	assert_int_equal(B.nprocs, 0);
}

static void grace_units(void **s)
{
	(void)s;
	assert_int_equal(gprio_kfd_grace_units(0, 2100), 1);
	assert_int_equal(gprio_kfd_grace_units(1000, 2100), 3); /* 1 us = 2100 clocks */
	/* 1 ms would be 2100 units: the 8-bit field would keep 52 of them, and 256 would become
	 * 0 (wait forever, then a GPU reset): clamped to the field's largest value */
	assert_int_equal(gprio_kfd_grace_units(1000000, 2100), 255);
	assert_int_equal(gprio_kfd_grace_units(121000, 2100), 255);
	assert_int_equal(gprio_kfd_grace_units(100000, 2100), 210);
}

/* --- the real Linux port on a fake sysfs/proc tree --- */
static void put(const char *dir, const char *name, const char *text, size_t len)
{
	char p[1100];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fwrite(text, 1, len, f);
	fclose(f);
}

static void linux_port_parsing(void **s)
{
	(void)s;
	char root[] = "/tmp/gprio-kfd-XXXXXX";
	assert_non_null(mkdtemp(root));
	char d[512];
	snprintf(d, sizeof(d), "%s/kfd", root);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/kfd/4242", root);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/kfd/4242/queues", root);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/kfd/4242/queues/0", root);
	mkdir(d, 0755);
	put(d, "type", "0\n", 2);
	put(d, "gpuid", "54321\n", 6);
	snprintf(d, sizeof(d), "%s/kfd/4242/queues/3", root);
	mkdir(d, 0755);
	put(d, "type", "0\n", 2);
	put(d, "gpuid", "54321\n", 6);
	put(d, "rptr", "17\n", 3);
	put(d, "wptr", "20\n", 3);
	put(d, "active", "0\n", 2);
	put(d, "suspended", "1\n", 2);
	snprintf(d, sizeof(d), "%s/kfd/notapid", root);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/proc/4242", root);
	char pd[512];
	snprintf(pd, sizeof(pd), "%s/proc", root);
	mkdir(pd, 0755);
	mkdir(d, 0755);
	static const char env[] = "PATH=/bin\0GPRIO_CLASS=offline\0GPRIO_PRIORITY=3\0";
	put(d, "environ", env, sizeof(env) - 1);

	struct gprio_kfd_linux l;
	assert_int_equal(gprio_kfd_linux_init(&l, NULL), 0);
	snprintf(l.kfd_proc, sizeof(l.kfd_proc), "%s/kfd", root);
	snprintf(l.proc, sizeof(l.proc), "%s/proc", root);
	struct gprio_kfd_sys sys;
	gprio_kfd_linux_sys(&l, &sys);

	uint32_t pids[8];
	assert_int_equal(sys.ops->list_procs(sys.ctx, pids, 8), 1);
	assert_int_equal(pids[0], 4242);
	struct gprio_kfd_sysq q[8];
	int n = sys.ops->list_queues(sys.ctx, 4242, q, 8);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		assert_int_equal(q[i].gpu_id, 54321);
		if (q[i].qid == 3) {
			assert_true(q[i].has_ptrs);
			assert_int_equal(q[i].rptr, 17);
			assert_int_equal(q[i].wptr, 20);
			assert_true(q[i].suspended);
			assert_false(q[i].active);
		} else {
			assert_int_equal(q[i].qid, 0);
			assert_false(q[i].has_ptrs); /* stock KFD: no pointers in sysfs */
		}
	}
	assert_int_equal(sys.ops->list_queues(sys.ctx, 999, q, 8), -ENOENT);
	enum gprio_class k;
	int prio;
	assert_int_equal(sys.ops->classify(sys.ctx, 4242, &k, &prio), 0);
	assert_int_equal(k, GPRIO_CLASS_OFFLINE);
	assert_int_equal(prio, 3);
	assert_int_equal(sys.ops->classify(sys.ctx, 999, &k, &prio), -ENOENT);
	/* with gpriod's allowlist: a process of uid 65534 asking for online 15 in its own
	 * environment runs as offline 0 (before: any process got what it asked) */
	static const char env2[] = "GPRIO_CLASS=online\0GPRIO_PRIORITY=15\0";
	put(d, "environ", env2, sizeof(env2) - 1);
	put(d, "status", "Name:\tx\nUid:\t65534\t65534\t65534\t65534\n", 37);
	struct gprio_auth auth = {.daemon_uid = 0};
	l.auth = &auth;
	assert_int_equal(sys.ops->classify(sys.ctx, 4242, &k, &prio), 0);
	assert_int_equal(k, GPRIO_CLASS_OFFLINE);
	assert_int_equal(prio, 0);
	auth.uids[auth.n++] = 65534; /* gpriod --allow 65534 */
	assert_int_equal(sys.ops->classify(sys.ctx, 4242, &k, &prio), 0);
	assert_int_equal(k, GPRIO_CLASS_ONLINE);
	assert_int_equal(prio, 15);
	/* process_vm_readv on ourselves needs no privilege */
	uint64_t secret = 0x1234567890abcdefull, got = 0;
	assert_int_equal(sys.ops->read_mem(sys.ctx, (uint32_t)getpid(),
					   (uint64_t)(uintptr_t)&secret, &got, sizeof(got)),
			 0);
	assert_true(got == secret);
	/* no /dev/kfd opened: ioctls refuse */
	struct gprio_kfd_version v;
	assert_int_equal(sys.ops->ioctl(sys.ctx, GPRIO_KFD_GET_VERSION, &v), -ENODEV);
	gprio_kfd_linux_close(&l);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stage2_by_version),
		cmocka_unit_test(discovery_and_pointers),
		cmocka_unit_test(unmanaged_untouched),
		cmocka_unit_test(ec_queue_new_retry),
		cmocka_unit_test(error_bit_fails_that_queue),
		cmocka_unit_test(refused_calls),
		cmocka_unit_test(process_vanishes),
		cmocka_unit_test(close_resumes),
		cmocka_unit_test(grace_units),
		cmocka_unit_test(stage3_hands_the_set_to_kfd),
		cmocka_unit_test(selftest_reports_what_happened),
		cmocka_unit_test(linux_port_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
