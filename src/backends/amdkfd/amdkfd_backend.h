/* The amdkfd backend: the origin design on real KFD interfaces.
 *   discover  /sys/class/kfd/kfd/proc/<pid>/queues (+ GET_QUEUE_SNAPSHOT for ring/rptr/wptr
 *             addresses; the stage-2 patch shows rptr/wptr in sysfs instead)
 *   monitor   rptr/wptr: ROCr's read/write dispatch ids, read from the owning process
 *   preempt   stage 1: DBG_TRAP SUSPEND_QUEUES / RESUME_QUEUES with a grace period. The daemon
 *             becomes each offline process's KFD debugger: PTRACE_SEIZE, DBG_TRAP ENABLE, detach
 *             (after ENABLE KFD accepts the registered debugger without ptrace). Every call
 *             unmaps all user queues of the device (HWS), online ones included.
 *             In-process mode: a process running gprio's HSA shim (libgprio-hsa.so) makes the
 *             same calls on itself for us (kfd_agent.h): no ptrace, no debugger slot taken by
 *             the daemon; used whenever that process's shim is connected.
 *             stage 2: gprio's PREEMPT_QUEUES ioctl (kernel/amdkfd): only the given queues.
 *             stage 3: none from here: the managed processes (started by gprio run) are handed
 *             to KFD's in-kernel monitor (GPRIO_MONITOR, kernel/amdkfd/0005), which reads
 *             their queues every period and preempts per queue; gpriod only keeps the set
 *             current. No queue enters the user-space monitor's table.
 * Fail-open: gprio_amdkfd_close resumes everything and disables debugging; if the daemon dies,
 * KFD itself disables debugging on its targets and resumes their queues (stage 2: the patch
 * resumes what the dying caller preempted). */
#ifndef GPRIO_AMDKFD_BACKEND_H
#define GPRIO_AMDKFD_BACKEND_H

#include <stdio.h>

#include "gprio/backend.h"
#include "kfd.h"

#define AMDKFD_MAX_PROCS 64
#define AMDKFD_MAX_QPP   32 /* queues per process we track */

struct gprio_amdkfd_cfg {
	int stage;         /* 0: the best this kernel offers; 1, 2 or 3: that one or refuse */
	uint32_t sclk_mhz; /* GPU clock for the grace-period conversion (MI308X: 2100) */
	enum gprio_class unknown_class; /* stage 2: processes started without `gprio run` (stage 1
					 * leaves them alone: becoming their debugger preempts every
					 * queue on the device and changes how they exit) */
	int unknown_priority;
	int dbg_fd; /* a descriptor of ours KFD keeps for debug events (stage 1) */
	/* the running kernel and the ptrace rule (gprio_kfd_detach_rule(uname -r)): on a kernel
	 * without the fix stage 1 reaches processes only through their HSA shim */
	enum gprio_kfd_detach detach;
	/* stage 3: the in-kernel monitor's period and hysteresis (the simulator's priority:stage3
	 * models 1 ms and 1 ms) */
	uint32_t mon_period_us, mon_hysteresis_us;
};

void gprio_amdkfd_cfg_defaults(struct gprio_amdkfd_cfg *c);

struct amdkfd_q {
	uint32_t qid;
	bool present;    /* seen in sysfs this refresh */
	bool addr_known; /* rptr/wptr addresses from a snapshot */
	bool fresh;      /* may still carry EC_QUEUE_NEW */
	bool held;       /* suspended by us (the ioctl returned) */
	uint64_t rptr_addr, wptr_addr;
	uint64_t rptr, wptr;
	gprio_ns changed_at;
	uint32_t row; /* monitor table hint */
};

enum amdkfd_pmode {
	AMDKFD_P_NEW = 0,  /* not set up yet */
	AMDKFD_P_DEBUGGER, /* stage 1: we are its KFD debugger (offline, controllable) */
	AMDKFD_P_OBSERVED, /* stage 1 online: addresses taken, debugging disabled again */
	AMDKFD_P_SYSFS,    /* stage 2: pointers and state from sysfs, no debugger */
	AMDKFD_P_BLOCKED,  /* could not be set up; `why` says why; retried later */
	AMDKFD_P_KERNEL,   /* stage 3: handed to KFD's in-kernel monitor */
};

struct amdkfd_proc {
	uint32_t pid;
	enum gprio_class klass;
	int prio;
	enum amdkfd_pmode mode;
	bool agent; /* stage 1 in-process: KFD calls go through its HSA shim (no ptrace) */
	int err;    /* last errno of a failed setup/ioctl (positive) */
	char why[96];
	gprio_ns retry_at; /* blocked: next setup attempt */
	bool seen;
	bool unmanaged; /* stage 1: not started by gprio run: never seized, enabled or watched */
	uint32_t nq;
	struct amdkfd_q q[AMDKFD_MAX_QPP];
};

struct gprio_amdkfd_stats {
	uint64_t ioctls, suspend_calls, resume_calls, snapshots, enables;
	uint64_t ebusy_retries;  /* queues SUSPEND skipped as new, taken again after a snapshot */
	uint64_t queue_errors;   /* per-queue error bits */
	uint64_t call_errors;    /* whole calls refused */
	uint64_t blocked;        /* processes we could not set up */
	uint64_t agent_calls;    /* KFD calls run in-process by an HSA shim */
	uint64_t detach_refused; /* processes left alone: the kernel lacks the detach fix */
	uint64_t monitor_calls;  /* stage 3: GPRIO_MONITOR calls (the managed set changed) */
};

struct gprio_amdkfd {
	struct gprio_kfd_sys sys;
	struct gprio_amdkfd_cfg cfg;
	int stage;
	uint32_t self;
	uint32_t major, minor;
	enum gprio_kfd_detach detach; /* cfg's, or OLD once KFD refused us after a detach */
	uint32_t nprocs;
	struct amdkfd_proc procs[AMDKFD_MAX_PROCS];
	struct gprio_amdkfd_stats st;
	/* stage 3: the set KFD's monitor runs with, and the last call's result */
	struct gprio_kfd_monitor_proc mon[GPRIO_KFD_MONITOR_MAX_PROCS];
	uint32_t nmon;
	int mon_rc;
};

/* Check the KFD version and choose the stage. 0, or -errno with a message naming the problem. */
int gprio_amdkfd_open(struct gprio_amdkfd *b, const struct gprio_kfd_sys *sys,
		      const struct gprio_amdkfd_cfg *cfg, char *err, size_t errlen);
/* Fail open: resume every queue we hold, disable debugging, forget everything. 0 or the first
 * error (everything is still attempted). */
int gprio_amdkfd_close(struct gprio_amdkfd *b);
void gprio_amdkfd_print(const struct gprio_amdkfd *b, FILE *f);

extern const struct gprio_backend_ops gprio_amdkfd_ops;

#endif
