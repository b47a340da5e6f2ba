/* Typed KFD calls over a gprio_kfd_sys (real or simulated): the version check, the debugger
 * ops (ENABLE, DISABLE, GET_QUEUE_SNAPSHOT, SUSPEND_QUEUES, RESUME_QUEUES) and gprio's stage-2
 * PREEMPT_QUEUES. One place that knows the structures and the per-entry result bits; used by the
 * daemon's amdkfd backend and by the in-process HSA shim. */
#ifndef GPRIO_KFD_H
#define GPRIO_KFD_H

#include "kfd_sys.h"
#include "kfd_uapi.h"

/* GET_VERSION, refused (-EPROTO) below 1.13, which has no DBG_TRAP. */
int gprio_kfd_version(const struct gprio_kfd_sys *s, uint32_t *major, uint32_t *minor);
/* Is gprio's stage-2 ioctl there? PREEMPT_QUEUES with no queues: 1 (answered 0), 0 (a stock
 * KFD: ENOTTY/EINVAL), or -EPERM (there, but the caller lacks CAP_SYS_ADMIN). */
int gprio_kfd_has_stage2(const struct gprio_kfd_sys *s);

/* DBG_TRAP ENABLE: the caller becomes pid's debugger (needs to be its ptrace parent, or pid
 * itself). dbg_fd: a file descriptor of the caller KFD keeps for debug events. */
int gprio_kfd_dbg_enable(const struct gprio_kfd_sys *s, uint32_t pid, int dbg_fd);
/* Let pid's runtime shut down without waiting for us (see kfd.c): SEND_RUNTIME_EVENT with
 * EC_PROCESS_RUNTIME, once, after ENABLE. */
int gprio_kfd_dbg_arm_exit(const struct gprio_kfd_sys *s, uint32_t pid);
int gprio_kfd_dbg_disable(const struct gprio_kfd_sys *s, uint32_t pid);
/* GET_QUEUE_SNAPSHOT into buf[cap]; *n gets how many queues pid has (may exceed cap).
 * clear_new clears EC_QUEUE_NEW on the reported queues so SUSPEND accepts them. */
int gprio_kfd_snapshot(const struct gprio_kfd_sys *s, uint32_t pid, bool clear_new,
		       struct gprio_kfd_queue_snapshot *buf, uint32_t cap, uint32_t *n);

/* Per-entry outcome of a suspend/resume/preempt array. */
enum gprio_kfd_qresult {
	GPRIO_KFD_Q_OK = 0,
	GPRIO_KFD_Q_INVALID, /* bit 31: no such queue, or skipped (new: EC_QUEUE_NEW; being destroyed) */
	GPRIO_KFD_Q_ERROR, /* bit 30: the unmap/map failed */
};
#define GPRIO_KFD_MAX_BATCH 64

/* SUSPEND_QUEUES / RESUME_QUEUES (stage 1) or PREEMPT_QUEUES (stage 2). Returns how many queues
 * the kernel reports done, or -errno for the call; res[i] gets each queue's outcome. */
int gprio_kfd_suspend(const struct gprio_kfd_sys *s, uint32_t pid, const uint32_t *qids, uint32_t n,
		      uint32_t grace_units, enum gprio_kfd_qresult *res);
int gprio_kfd_resume(const struct gprio_kfd_sys *s, uint32_t pid, const uint32_t *qids, uint32_t n,
		     enum gprio_kfd_qresult *res);
/* Stage 3: hand the in-kernel monitor the managed processes (n = 0: stop it, fail open).
 * 0 or -errno. */
int gprio_kfd_monitor(const struct gprio_kfd_sys *s, const struct gprio_kfd_monitor_proc *procs,
		      uint32_t n, uint32_t period_us, uint32_t hysteresis_us);
int gprio_kfd_preempt2(const struct gprio_kfd_sys *s, uint32_t pid, const uint32_t *qids,
		       uint32_t n, enum gprio_kfd_preempt_op op, uint32_t grace_units,
		       enum gprio_kfd_qresult *res);

/* A grace period in ns as CP_IQ_WAIT_TIME2.SCH_WAVE units (1000 GPU clocks at `mhz`), in
 * 1..255: the field is 8 bits, and both 0 and a value that truncates to 0 mean "wait forever"
 * (about 121 us at most at 2.1 GHz). */
#define GPRIO_KFD_GRACE_MAX_UNITS 255u
uint32_t gprio_kfd_grace_units(gprio_ns grace, uint32_t mhz);

/* Whether KFD lets the registered debugger work after it left ptrace (kfd_chardev.c,
 * kfd_ioctl_set_debug_trap(): before the 6.12.103 stable fix every op but DISABLE needs
 * ptrace_parent(target) == current). From a kernel release as uname -r prints it:
 * GPRIO_KFD_DETACH_OK for 6.12.103 and later 6.12.y, GPRIO_KFD_DETACH_OLD for 6.12.0-102,
 * GPRIO_KFD_DETACH_UNKNOWN otherwise (other series may or may not carry a backport, and a
 * release may not parse): gprio then finds out from the first op KFD refuses after a detach. */
enum gprio_kfd_detach {
	GPRIO_KFD_DETACH_UNKNOWN = 0,
	GPRIO_KFD_DETACH_OK,
	GPRIO_KFD_DETACH_OLD,
};
enum gprio_kfd_detach gprio_kfd_detach_rule(const char *release);
const char *gprio_kfd_detach_name(enum gprio_kfd_detach d);

#endif
