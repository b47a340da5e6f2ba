/* The simulator's public face: scenarios (docs/scenarios.md), running them through the real
 * monitor/policy code in virtual time, and the report. */
#ifndef GPRIO_SIM_H
#define GPRIO_SIM_H

#include <stdio.h>

#include "gprio/mechanism.h"
#include "gprio/monitor.h"
#include "gprio/stats.h"
#include "../util/duration.h"
#include "sim_profile.h"
#include "sim_rng.h"

#define SIM_MAX_PROCS    64
#define SIM_MAX_GPU_KEYS 32
#define SIM_ERR_LEN      512
#define SIM_MAX_VARIANTS 7 /* columns of one comparison */

enum sim_arrival {
	SIM_ARRIVE_CONTINUOUS = 0,
	SIM_ARRIVE_POISSON,
	SIM_ARRIVE_TRACE,
	SIM_ARRIVE_CLOSED
};

struct sim_proc_spec {
	char name[32];
	enum gprio_class klass;
	int priority;
	uint32_t queues;
	enum sim_arrival arrival;
	double rate;           /* poisson: requests per second */
	struct sim_dist think; /* closed: the next request this long after the last completes */
	gprio_ns *trace;       /* trace: arrival times, ascending */
	size_t ntrace;
	uint32_t kernels;    /* per request (online) or per iteration (offline) */
	uint32_t sync_every; /* online: the host also waits for every Nth kernel of a request and
			      * launches the next `gap` after it finished (0: only the last) */
	struct sim_dist kernel_time; /* duration of one block (workgroup) */
	struct sim_dist blocks;      /* blocks per kernel */
	struct sim_dist gap;         /* CPU time between two launches */
	uint32_t inflight;           /* continuous: most commands outstanding per queue */
	gprio_ns timeslice;          /* nv: TSG timeslice for this process (0: profile default) */
	gprio_ns start;
	gprio_ns startup; /* online with requests: for this long after `start` it launches kernels
			   * `startup_gap` (else `gap`) apart without waiting (a framework's eager
			   * warm-up before its CUDA graph is captured), then serves requests */
	gprio_ns startup_gap;
	uint16_t weight; /* wfq: share among processes of equal priority */
	gprio_ns slo;    /* slo: latency objective (0: none) */
	int line;        /* where the section starts, for messages */
};

/* The simulated KFD ([kfd] section, docs/scenarios.md): the conditions and faults the amdkfd
 * backend must handle, applied when a run uses the amdkfd backend (variants :stage1/:stage2). */
#define SIM_KFD_MAX_EVENTS 16
enum sim_kfd_ev_kind {
	SIM_KFD_EXIT = 0,   /* the process exits at `at` (possibly while suspended) */
	SIM_KFD_DESTROY,    /* the process destroys queue `queue` at `at` */
	SIM_KFD_DEBUGGER,   /* another debugger (gdb/rocgdb) holds the process from the start */
	SIM_KFD_NO_RUNTIME, /* the process never did RUNTIME_ENABLE */
	SIM_KFD_SHIM,       /* the process runs gprio's HSA shim (in-process mode) */
	SIM_KFD_SHIM_LOST,  /* at `at` its shim loses gpriod: resumes its queues, disables debug */
};
struct sim_kfd_event {
	enum sim_kfd_ev_kind kind;
	char proc[32];
	uint32_t proc_idx; /* resolved after parsing */
	uint32_t queue;
	gprio_ns at;
	int line;
};
struct sim_kfd_cfg {
	int stage; /* 0: the sim backend controls; 1, 2: the amdkfd backend on the simulated KFD */
	bool no_hws;       /* amdgpu.sched_policy=2: DBG_TRAP answers EINVAL */
	bool unprivileged; /* the daemon is not root: ptrace, process_vm_readv, PREEMPT refused */
	uint32_t major, minor; /* KFD ioctl API version reported (default 1.17, Linux 6.12) */
	char kernel[32];       /* kernel release (default 6.12.117): decides the ptrace rule */
	/* the HSA shims of online programs send gpriod a work note on a doorbell store (at most
	 * one a millisecond per program), which ends the monitor's wait (event-driven stages) */
	bool notes;
	uint32_t nev;
	struct sim_kfd_event ev[SIM_KFD_MAX_EVENTS];
};

struct sim_gpu_kv {
	char key[32];
	char val[64];
	int line;
};

struct sim_scenario {
	char path[256];
	char profile_name[32];
	struct sim_profile profile; /* valid after sim_scenario_finalize */
	gprio_ns duration;
	gprio_ns warmup;
	uint64_t seed;
	struct gprio_monitor_cfg sched;
	gprio_ns event_latency; /* backend reports new work -> monitor runs */
	gprio_ns die_at;        /* the controller dies then (fail-open); GPRIO_NS_NEVER: never */
	bool kernel_monitor;    /* stage 3: the monitor runs in KFD (SIM_STAGE3_*) */
	bool mech_auto;  /* NV: the per-GPU mechanism law (gprio/mechanism.h) as gpriod runs it by
			 * default; else launch gating plus a tiny held timeslice */
	gprio_ns linger; /* NV: gpriod --linger-us: after a wait inside a request an online context
			  * with a timeslice of 100 ms or more stays busy this long, or until its
			  * next launch (0: off) */
	uint32_t nprocs;
	struct sim_proc_spec procs[SIM_MAX_PROCS];
	uint32_t ngpu;
	struct sim_gpu_kv gpu[SIM_MAX_GPU_KEYS];
	struct sim_kfd_cfg kfd;
};

/* Parse scenario text. `path` names it in messages and anchors relative trace files.
 * 0, or a negative errno with "path:line: ..." in err. The scenario must be freed. */
int sim_scenario_parse(struct sim_scenario *sc, const char *text, const char *path, char *err,
		       size_t errlen);
int sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t errlen);
/* Choose the profile (override or the scenario's) and apply [gpu] overrides to it. */
int sim_scenario_finalize(struct sim_scenario *sc, const char *profile_override, char *err,
			  size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

extern const char gprio_default_scenario[];
extern const char gprio_default_scenario_name[];

/* One counter a controller reports: `key` names it in JSON (json) and in code, `label` in the
 * text table (NULL: not shown there). */
#define SIM_CTL_COUNTERS 12
struct sim_ctl_counter {
	const char *key;
	const char *label;
	bool json;
	uint64_t value;
};

/* What one run measured. */
struct sim_proc_result {
	char name[32];
	enum gprio_class klass;
	struct gprio_hist latency; /* online: request latency (arrival -> last kernel done) */
	uint64_t requests;         /* online: completed in the measured period */
	uint64_t iterations;       /* offline: completed in the measured period */
	uint64_t kernels;          /* kernels completed in the measured period */
	double busy_share;         /* fraction of measured time a kernel of it was on the GPU */
};

/* Stage 3, the in-kernel monitor (kernel/amdkfd/0005, kfd_gprio_monitor.c): the core's
 * detector and policy run in KFD from an hrtimer every SIM_STAGE3_PERIOD (mon_timer ->
 * mon_work -> gprio_monitor_tick), read each managed queue's AQL dispatch ids (mon_refresh) and
 * preempt per queue through gprio_preempt_queues() (the stage-2 unmap path, no system call).
 * Period 1 ms (0.25 ms gives 1.00x instead of 1.02x on the MI308X example at four times the
 * CPU); hysteresis 1 ms, no shorter than the period. Its CPU cost per tick is modelled, not measured:
 * SIM_STAGE3_TICK_NS (hrtimer wake-up, work item, the policy) plus SIM_STAGE3_QUEUE_NS per
 * managed queue: mon_refresh reads rptr and wptr with access_process_vm() (a page-table walk
 * and a temporary mapping each, estimated at 1 us). */
#define SIM_STAGE3_PERIOD     GPRIO_NS_PER_MS
#define SIM_STAGE3_HYSTERESIS GPRIO_NS_PER_MS
#define SIM_STAGE3_TICK_NS    2000u
#define SIM_STAGE3_QUEUE_NS   2000u

struct sim_result {
	char policy[24]; /* the variant: policy[:poll] */
	char profile[32];
	uint64_t seed;
	bool poll_only;
	gprio_ns poll;
	gprio_ns sim_time; /* measured virtual time (duration - warmup) */
	double wall_s;
	uint64_t events;
	uint32_t nprocs;
	struct sim_proc_result procs[SIM_MAX_PROCS];
	struct gprio_hist online_latency; /* all online requests */
	double offline_iter_per_s;        /* all offline processes */
	double online_busy_share;
	struct gprio_monitor_stats mon;
	/* stage 3 (the in-kernel monitor): the CPU it takes, modelled (sim_stage3_cpu_share) */
	double monitor_cpu_share;
	uint64_t device_wide_ops;      /* AMD: unmap+remap of every queue */
	uint64_t hw_preemptions;       /* queue-level preemptions the hardware carried out */
	uint64_t ctx_switches;         /* NV: context switches */
	uint64_t resets;               /* GPU resets after a preemption timeout */
	uint64_t submitted, completed; /* kernels, whole run including drain */
	uint64_t lost;                 /* kernels that never completed (must be 0) */
	uint64_t order_violations;     /* completions out of order (must be 0) */
	uint64_t held_at_end;          /* queues still held after the run (must be 0) */
	/* NV with mechanism = auto: the mechanism at the end, changes, time in each (measured) */
	int mech;
	uint32_t mech_changes;
	gprio_ns mech_ns[GPRIO_USE_COUNT];
	/* What the controller under test counted beyond the monitor (sim_controller.results),
	 * e.g. the amdkfd backend's KFD calls; ctl_name "" for the sim backend. */
	char ctl_name[16];
	int ctl_stage;
	uint32_t nctl;
	struct sim_ctl_counter ctl[SIM_CTL_COUNTERS];
};

/* A counter by key, 0 if the run has none of that name. */
uint64_t sim_result_counter(const struct sim_result *r, const char *key);

/* The controller a run drives instead of the ideal sim backend: the real amdkfd backend on a
 * simulated KFD (scenario stage 1 or 2). It lives in its own library (gprio_sim_kfd) and is
 * registered at start-up, the way SQLite registers a VFS, so the simulator itself links no
 * backend. */
struct sim_world;
struct sim_controller {
	const char *name; /* its JSON key, e.g. "kfd" */
	/* the report's explanation of its variants (printed once) */
	const char *note;
	/* Build it over the world: the ops and state the monitor drives. */
	int (*init)(void **st, struct sim_world *w, const struct sim_scenario *sc,
		    const struct gprio_backend_ops **ops, void **be, char *err, size_t errlen);
	/* The controller died mid-run: the mechanism's own fail-open path. */
	void (*died)(void *st);
	/* The run ended normally, after the monitor released what it held: fail open. */
	int (*close)(void *st);
	void (*results)(void *st, struct sim_result *r);
	void (*free)(void *st);
};
/* Register the controller for scenario stages 1 and 2 (NULL: none; such runs then fail with a
 * message saying so). */
void sim_register_stage_controller(const struct sim_controller *c);
const struct sim_controller *sim_stage_controller(void);

/* Run the scenario with its (finalized) configuration. 0 or a negative errno with err set. */
int sim_run(const struct sim_scenario *sc, struct sim_result *res, char *err, size_t errlen);

/* A comparison: baselines (online alone, offline alone) plus one run per policy. */
struct sim_compare {
	struct sim_result online_alone;
	struct sim_result offline_alone;
	bool have_online, have_offline;
	uint32_t nruns;
	struct sim_result runs[SIM_MAX_VARIANTS];
};

/* One column of a comparison: a policy, and optionally poll-only or event-driven monitoring,
 * or the amdkfd backend on the simulated KFD. Written "priority", "priority:poll" (no event
 * wake-ups), "priority:events", "priority:stage1" (unmodified KFD: DBG_TRAP, device-wide unmap)
 * or "priority:stage2" (gprio's KFD patch: per-queue unmap). */
struct sim_variant {
	const struct gprio_policy *policy;
	int events; /* -1: as the scenario says, 0: poll only, 1: event wake-ups */
	int stage;  /* 0: sim backend; 1, 2: amdkfd backend, stage 1 or 2; 3: in-kernel monitor */
	bool notes; /* stages 1, 2: online programs' HSA shims send work notes (:stage1ev) */
};

int sim_variant_parse(const char *s, struct sim_variant *v);
int sim_compare_run(const struct sim_scenario *sc, const struct sim_variant *variants, uint32_t n,
		    struct sim_compare *cmp, char *err, size_t errlen);
void sim_report_text(FILE *f, const struct sim_scenario *sc, const struct sim_compare *cmp);
void sim_report_json(FILE *f, const struct sim_scenario *sc, const struct sim_compare *cmp);

#endif
