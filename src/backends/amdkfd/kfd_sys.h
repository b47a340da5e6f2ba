/* What the amdkfd backend needs from the operating system, as an ops table: the KFD ioctls on
 * the caller's /dev/kfd, KFD's sysfs, another process's memory, ptrace, the clock. Two
 * implementations: the real one (src/backends/amdkfd/kfd_sys_linux.c) and the simulated KFD
 * (src/sim/sim_kfd.c), which honours the same permissions and error codes on the simulated
 * MI308X. The backend's logic is the same C code on both. */
#ifndef GPRIO_KFD_SYS_H
#define GPRIO_KFD_SYS_H

#include "gprio/priority.h"
#include "gprio/types.h"

/* One queue as KFD's sysfs shows it (/sys/class/kfd/kfd/proc/<pid>/queues/<qid>/...). The
 * stock KFD shows only size/type/gpuid; gprio's stage-2 patch adds rptr/wptr/active/suspended. */
struct gprio_kfd_sysq {
	uint32_t qid;
	uint32_t gpu_id;
	uint32_t type; /* 0 compute, 1 SDMA, ... (KFD_QUEUE_TYPE_*) */
	bool has_ptrs; /* stage-2 fields present */
	bool active, suspended;
	uint64_t rptr, wptr;
};

struct gprio_kfd_sys_ops {
	/* An ioctl on the caller's own /dev/kfd fd. >= 0 (the ioctl's return value) or -errno. */
	int (*ioctl)(void *ctx, unsigned long req, void *arg);
	/* PIDs that have a KFD process (/sys/class/kfd/kfd/proc/<pid>). Count or -errno. */
	int (*list_procs)(void *ctx, uint32_t *pids, size_t cap);
	/* That process's queues. Count, -ENOENT when the process is gone, or another -errno. */
	int (*list_queues)(void *ctx, uint32_t pid, struct gprio_kfd_sysq *q, size_t cap);
	/* Read `len` bytes at `addr` in pid's memory (process_vm_readv). 0 or -errno. */
	int (*read_mem)(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len);
	/* Become pid's ptrace parent without stopping it (PTRACE_SEIZE): 0, -EPERM (another tracer
	 * such as a debugger, or no right to), -ESRCH. detach undoes it. */
	int (*attach)(void *ctx, uint32_t pid);
	int (*detach)(void *ctx, uint32_t pid);
	/* Class and priority the operator gave pid (GPRIO_CLASS / GPRIO_PRIORITY in its environment,
	 * set by `gprio run`). 0, or -ENOENT when it has none. */
	int (*classify)(void *ctx, uint32_t pid, enum gprio_class *klass, int *prio);
	uint32_t (*self)(void *ctx); /* the caller's pid */
	gprio_ns (*now)(void *ctx);
	/* Sleep until `deadline` (serving ptrace stops meanwhile). 0, or -ECANCELED to stop. */
	int (*sleep)(void *ctx, gprio_ns deadline);
	/* In-process mode (src/backends/amdkfd/kfd_agent.h): does pid run gprio's HSA shim with a
	 * live connection to us, and run one KFD ioctl inside pid through it (the agent acts on
	 * itself). -ENOENT: no agent (any more). Both may be NULL: no in-process mode. */
	bool (*has_agent)(void *ctx, uint32_t pid);
	int (*agent_ioctl)(void *ctx, uint32_t pid, unsigned long req, void *arg);
	/* The stage-2 interface version the patched KFD publishes (the read-only amdgpu module
	 * parameter gprio_preempt_version), or -ENOENT: a stock KFD. NULL: none. Read before the
	 * PREEMPT_QUEUES ioctl is ever issued: a number alone cannot say whose it is. */
	int (*stage2_version)(void *ctx);
	/* The stage-3 interface version (amdgpu module parameter gprio_monitor_version), or
	 * -ENOENT. NULL: none. */
	int (*stage3_version)(void *ctx);
};

struct gprio_kfd_sys {
	const struct gprio_kfd_sys_ops *ops;
	void *ctx;
};

#endif
