/* A simulated KFD over the simulated MI308X: the gprio_kfd_sys ops the amdkfd backend uses,
 * with the permissions, error codes and side effects of Linux 6.12's amdkfd
 * (../shared/facts/kfd.md, kfd_chardev.c, kfd_device_queue_manager.c):
 *   - DBG_TRAP: EINVAL without HWS; EPERM unless the caller is the target, its ptrace parent or
 *     its registered debugger (on a kernel before 6.12.103, [kfd] kernel = 6.12.90, a registered
 *     debugger that left ptrace may only DISABLE); EINVAL before ENABLE; EPERM for SUSPEND/RESUME before the
 *     target's RUNTIME_ENABLE; EALREADY for a second ENABLE. ENABLE/DISABLE refresh the runlist
 *     (a device-wide unmap on the stock KFD).
 *   - SUSPEND_QUEUES: array entries start invalid (bit 31) and are cleared on success; a queue
 *     still carrying EC_QUEUE_NEW is skipped (stays invalid, EBUSY inside KFD); returns the count.
 *     The ioctl blocks until the unmap completed: virtual time passes inside it.
 *   - GET_QUEUE_SNAPSHOT with the EC_QUEUE_NEW bit clears that flag.
 *   - gprio's stage-2 PREEMPT_QUEUES (only when the scenario runs stage 2): CAP_SYS_ADMIN,
 *     per-queue unmap, no debugger; ENOTTY on a stock KFD.
 *   - gprio's stage-3 GPRIO_MONITOR (only when the scenario runs stage 3): the checks of
 *     kfd_ioctl_gprio_monitor (kernel/amdkfd/0005, kfd_gprio_monitor.c): CAP_SYS_ADMIN, the
 *     ranges, ESRCH for a pid with no KFD process or the caller's own; the set is recorded
 *     (what the monitor then does to the queues is the simulator's priority:stage3 model).
 *   - the controller's death: KFD disables debugging on its targets and resumes their queues.
 *   - in-process mode ([kfd] shim = P): P's HSA shim runs DBG_TRAP on itself for the daemon
 *     (caller = target: no ptrace needed), through the real wire code (kfd_agent.c); it grants
 *     the daemon process_vm_readv (PR_SET_PTRACER) and, when it loses the daemon, resumes its
 *     queues and disables debugging on itself.
 * Queues appear (with EC_QUEUE_NEW) when their process first submits to them. A process that
 * exits or a queue that is destroyed disappears from sysfs and from the ioctls; the simulated GPU
 * keeps running what was already submitted to it (it does not model process teardown), unmanaged.
 * A queue destroyed while suspended disappears only when it is resumed (KFD blocks the destroy). */
#ifndef GPRIO_SIM_KFD_H
#define GPRIO_SIM_KFD_H

#include "../backends/amdkfd/kfd_sys.h"
#include "../backends/amdkfd/kfd_uapi.h"
#include "world.h"

#define SIM_KFD_DAEMON_PID     1u
#define SIM_KFD_OTHER_DEBUGGER 999u
#define SIM_KFD_PID0           1000u /* process i of the scenario has pid 1000 + i */

struct sim_kfd_q {
	bool exists, is_new, destroyed, destroy_pending;
	bool dbg_suspended, preempted;
};

struct sim_kfd_p {
	bool exited, runtime_enabled, debug;
	/* kfd_chardev.c runtime_disable(): a debug-enabled process whose runtime shuts down waits
	 * on runtime_enable_sema, which only the debugger's SEND_RUNTIME_EVENT raises */
	uint32_t runtime_permits;
	bool exit_waiting; /* exiting, blocked in runtime_disable() */
	bool shim;         /* its HSA shim is connected to the daemon (in-process mode) */
	uint32_t tracer, debugger;
};

struct sim_kfd {
	struct sim_world *w;
	const struct sim_kfd_cfg *cfg;
	bool stage2; /* gprio's patch is loaded */
	bool stage3; /* and its in-kernel monitor (patch 0005) */
	/* what GPRIO_MONITOR was last given (kfd_ioctl_gprio_monitor): the managed set */
	struct gprio_kfd_monitor_proc mon[GPRIO_KFD_MONITOR_MAX_PROCS];
	uint32_t nmon, mon_period_us, mon_hysteresis_us;
	uint32_t mon_most; /* the largest set it was given */
	uint64_t mon_calls;
	bool pre_detach_fix; /* cfg->kernel is older than 6.12.103: the old ptrace rule */
	uint32_t np;
	struct sim_kfd_p *p;
	struct sim_kfd_q *q; /* by world queue index */
	uint32_t next_ev;
	bool ev_done[SIM_KFD_MAX_EVENTS];
	uint64_t ioctls, runlist_refreshes;
};

int sim_kfd_init(struct sim_kfd *k, struct sim_world *w, const struct sim_kfd_cfg *cfg);
void sim_kfd_free(struct sim_kfd *k);
void sim_kfd_sys(struct sim_kfd *k, struct gprio_kfd_sys *out);
/* The daemon died: what KFD does for the targets of a dead debugger (and the stage-2 patch for
 * queues a dead caller preempted). */
void sim_kfd_controller_died(struct sim_kfd *k);

/* Make stages 1 and 2 of `gprio sim` run the amdkfd backend on the simulated KFD
 * (kfd_controller.c, in gprio_sim_kfd). */
void sim_kfd_register(void);

#endif
