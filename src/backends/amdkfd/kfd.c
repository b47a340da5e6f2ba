#include "kfd.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int gprio_kfd_version(const struct gprio_kfd_sys *s, uint32_t *major, uint32_t *minor)
{
	struct gprio_kfd_version v = {0, 0};
	int rc = s->ops->ioctl(s->ctx, GPRIO_KFD_GET_VERSION, &v);
	if (rc < 0)
		return rc;
	*major = v.major;
	*minor = v.minor;
	if (v.major < GPRIO_KFD_MIN_MAJOR ||
	    (v.major == GPRIO_KFD_MIN_MAJOR && v.minor < GPRIO_KFD_MIN_MINOR_DBG))
		return -EPROTO;
	return 0;
}

int gprio_kfd_has_stage2(const struct gprio_kfd_sys *s)
{
	/* a kernel that does not say it has gprio's interface gets no ioctl from us: 0x7e may be
	 * something else there one day */
	if (!s->ops->stage2_version || s->ops->stage2_version(s->ctx) != GPRIO_KFD_PREEMPT_IFACE)
		return 0;
	struct gprio_kfd_preempt_queues a;
	memset(&a, 0, sizeof(a));
	a.pid = s->ops->self(s->ctx);
	int rc = s->ops->ioctl(s->ctx, GPRIO_KFD_PREEMPT_QUEUES, &a);
	return rc == 0 ? 1 : rc == -EPERM ? -EPERM : 0;
}

static int dbg(const struct gprio_kfd_sys *s, struct gprio_kfd_dbg_trap *a)
{
	return s->ops->ioctl(s->ctx, GPRIO_KFD_DBG_TRAP, a);
}

int gprio_kfd_dbg_enable(const struct gprio_kfd_sys *s, uint32_t pid, int dbg_fd)
{
	uint8_t rinfo[16]; /* struct kfd_runtime_info: r_debug, runtime_state, ttmp_setup */
	struct gprio_kfd_dbg_trap a;
	memset(&a, 0, sizeof(a));
	a.pid = pid;
	a.op = GPRIO_KFD_DBG_ENABLE;
	a.enable.exception_mask = 0; /* we want no exception events, only the queue ops */
	a.enable.rinfo_ptr = (uint64_t)(uintptr_t)rinfo;
	a.enable.rinfo_size = sizeof(rinfo);
	a.enable.dbg_fd = (uint32_t)dbg_fd;
	return dbg(s, &a);
}

/* kfd_chardev.c, runtime_disable(): when the runtime of a debug-enabled process shuts down
 * (ROCr's hsaKmtRuntimeDisable, on every normal HIP exit), KFD raises EC_PROCESS_RUNTIME and
 * waits on the process's runtime_enable_sema until its debugger sends SEND_RUNTIME_EVENT with
 * that bit (kfd_debug.c, kfd_dbg_send_exception_to_runtime(): up() on the semaphore). gprio
 * sends it once right after ENABLE: the semaphore then holds the one permit that exit will
 * take, so the process never waits on gpriod (alive, slow, or gone). */
int gprio_kfd_dbg_arm_exit(const struct gprio_kfd_sys *s, uint32_t pid)
{
	struct gprio_kfd_dbg_trap a;
	memset(&a, 0, sizeof(a));
	a.pid = pid;
	a.op = GPRIO_KFD_DBG_SEND_RUNTIME_EVENT;
	a.send_runtime.exception_mask = GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_PROCESS_RUNTIME);
	return dbg(s, &a);
}

int gprio_kfd_dbg_disable(const struct gprio_kfd_sys *s, uint32_t pid)
{
	struct gprio_kfd_dbg_trap a;
	memset(&a, 0, sizeof(a));
	a.pid = pid;
	a.op = GPRIO_KFD_DBG_DISABLE;
	return dbg(s, &a);
}

int gprio_kfd_snapshot(const struct gprio_kfd_sys *s, uint32_t pid, bool clear_new,
		       struct gprio_kfd_queue_snapshot *buf, uint32_t cap, uint32_t *n)
{
	struct gprio_kfd_dbg_trap a;
	memset(&a, 0, sizeof(a));
	a.pid = pid;
	a.op = GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT;
	a.snapshot.exception_mask = clear_new ? GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_QUEUE_NEW) : 0;
	a.snapshot.snapshot_buf_ptr = (uint64_t)(uintptr_t)buf;
	a.snapshot.num_queues = cap;
	a.snapshot.entry_size = sizeof(*buf);
	int rc = dbg(s, &a);
	if (rc < 0)
		return rc;
	if (a.snapshot.entry_size != sizeof(*buf))
		return -EPROTO; /* a kernel with another entry layout: do not guess */
	*n = a.snapshot.num_queues;
	return 0;
}

static void results(const uint32_t *arr, uint32_t n, enum gprio_kfd_qresult *res)
{
	for (uint32_t i = 0; i < n; i++)
		res[i] = (arr[i] & GPRIO_KFD_QUEUE_ERROR)     ? GPRIO_KFD_Q_ERROR
			 : (arr[i] & GPRIO_KFD_QUEUE_INVALID) ? GPRIO_KFD_Q_INVALID
							      : GPRIO_KFD_Q_OK;
}

static int queue_op(const struct gprio_kfd_sys *s, uint32_t pid, uint32_t op, const uint32_t *qids,
		    uint32_t n, uint32_t grace_units, enum gprio_kfd_qresult *res)
{
	uint32_t arr[GPRIO_KFD_MAX_BATCH];
	if (n == 0 || n > GPRIO_KFD_MAX_BATCH)
		return -EINVAL;
	memcpy(arr, qids, n * sizeof(*arr));
	struct gprio_kfd_dbg_trap a;
	memset(&a, 0, sizeof(a));
	a.pid = pid;
	a.op = op;
	if (op == GPRIO_KFD_DBG_SUSPEND_QUEUES) {
		a.suspend.exception_mask = 0;
		a.suspend.queue_array_ptr = (uint64_t)(uintptr_t)arr;
		a.suspend.num_queues = n;
		a.suspend.grace_period = grace_units;
	} else {
		a.resume.queue_array_ptr = (uint64_t)(uintptr_t)arr;
		a.resume.num_queues = n;
	}
	int rc = dbg(s, &a);
	if (rc < 0)
		return rc;
	results(arr, n, res);
	return rc;
}

int gprio_kfd_suspend(const struct gprio_kfd_sys *s, uint32_t pid, const uint32_t *qids, uint32_t n,
		      uint32_t grace_units, enum gprio_kfd_qresult *res)
{
	return queue_op(s, pid, GPRIO_KFD_DBG_SUSPEND_QUEUES, qids, n, grace_units, res);
}

int gprio_kfd_resume(const struct gprio_kfd_sys *s, uint32_t pid, const uint32_t *qids, uint32_t n,
		     enum gprio_kfd_qresult *res)
{
	return queue_op(s, pid, GPRIO_KFD_DBG_RESUME_QUEUES, qids, n, 0, res);
}

int gprio_kfd_preempt2(const struct gprio_kfd_sys *s, uint32_t pid, const uint32_t *qids,
		       uint32_t n, enum gprio_kfd_preempt_op op, uint32_t grace_units,
		       enum gprio_kfd_qresult *res)
{
	uint32_t arr[GPRIO_KFD_MAX_BATCH];
	if (n == 0 || n > GPRIO_KFD_MAX_BATCH)
		return -EINVAL;
	memcpy(arr, qids, n * sizeof(*arr));
	struct gprio_kfd_preempt_queues a;
	memset(&a, 0, sizeof(a));
	a.queue_array_ptr = (uint64_t)(uintptr_t)arr;
	a.pid = pid;
	a.num_queues = n;
	a.op = op;
	a.grace_period = grace_units;
	int rc = s->ops->ioctl(s->ctx, GPRIO_KFD_PREEMPT_QUEUES, &a);
	if (rc < 0)
		return rc;
	results(arr, n, res);
	return rc;
}

uint32_t gprio_kfd_grace_units(gprio_ns grace, uint32_t mhz)
{
	/* clocks = ns * MHz / 1000; units of 1000 clocks, rounded up */
	uint64_t clocks = (grace * (uint64_t)mhz + 999) / 1000;
	uint64_t units = (clocks + 999) / 1000;
	if (units == 0)
		units = 1;
	/* amdgpu_amdkfd_gfx_v9.c, kgd_gfx_v9_build_grace_period_packet_info(): the value goes into
	 * CP_IQ_WAIT_TIME2.SCH_WAVE with REG_SET_FIELD, 8 bits: 256 would become 0, which the CP
	 * takes as "wait forever" (then the preemption timeout and a GPU reset) */
	return units > GPRIO_KFD_GRACE_MAX_UNITS ? GPRIO_KFD_GRACE_MAX_UNITS : (uint32_t)units;
}

static bool read_num(const char **s, unsigned *out)
{
	unsigned v = 0;
	int n = 0;
	while (**s >= '0' && **s <= '9' && n < 6) {
		v = v * 10 + (unsigned)(**s - '0');
		(*s)++;
		n++;
	}
	*out = v;
	return n > 0 && n < 6;
}

enum gprio_kfd_detach gprio_kfd_detach_rule(const char *release)
{
	unsigned ma, mi, pa = 0;
	const char *s = release;
	if (!s || !read_num(&s, &ma) || *s++ != '.' || !read_num(&s, &mi))
		return GPRIO_KFD_DETACH_UNKNOWN;
	if (*s == '.') { /* "6.12" alone is 6.12.0; a suffix such as -amd64 ends the number */
		s++;
		if (!read_num(&s, &pa))
			return GPRIO_KFD_DETACH_UNKNOWN;
	}
	if (ma == 6 && mi == 12)
		return pa >= 103 ? GPRIO_KFD_DETACH_OK : GPRIO_KFD_DETACH_OLD;
	return GPRIO_KFD_DETACH_UNKNOWN;
}

const char *gprio_kfd_detach_name(enum gprio_kfd_detach d)
{
	return d == GPRIO_KFD_DETACH_OK    ? "has the detach fix"
	       : d == GPRIO_KFD_DETACH_OLD ? "lacks the detach fix (6.12.103)"
					   : "detach fix unknown";
}

int gprio_kfd_monitor(const struct gprio_kfd_sys *s, const struct gprio_kfd_monitor_proc *procs,
		      uint32_t n, uint32_t period_us, uint32_t hysteresis_us)
{
	struct gprio_kfd_monitor a = {.procs_ptr = (uint64_t)(uintptr_t)procs,
				      .num_procs = n,
				      .period_us = period_us,
				      .hysteresis_us = hysteresis_us};
	int rc = s->ops->ioctl(s->ctx, GPRIO_KFD_GPRIO_MONITOR, &a);
	return rc < 0 ? rc : 0;
}
