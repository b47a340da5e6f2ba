/* The simulated world: GPU queues, processes and their workloads, the event queue, and the
 * architecture ops (AMD CPSCH / NVIDIA TSG) that decide who may dispatch and what a preemption
 * costs. Internal to src/sim. */
#ifndef GPRIO_SIM_WORLD_H
#define GPRIO_SIM_WORLD_H

#include "evq.h"
#include "gprio/mechanism.h"
#include "gprio/turns.h"
#include "sim.h"

#define SIM_STARTUP UINT64_MAX

enum sim_ev {
	EV_ARRIVAL = 0, /* a = proc: an online request arrives */
	EV_LAUNCH,      /* a = proc, b = queue: the CPU launches the next kernel (online, b =
			 * SIM_STARTUP: the next kernel of its startup) */
	EV_GROUP_DONE,  /* a = group id, b = generation */
	EV_DISPATCH,    /* something became visible / ready: run the dispatcher */
	EV_WAKE,        /* the backend tells the monitor about new work */
	EV_AMD_OP_DONE, /* b = op generation */
	EV_AMD_ROTATE,  /* HWS oversubscription rotation */
	EV_NV_SLICE,    /* b = slice generation */
	EV_NV_SWITCH_DONE,
	EV_END, /* end of the measured run */
};

struct sim_cmd {
	uint64_t seq;
	gprio_ns block_ns;
	gprio_ns t_cpu;      /* CPU launch time */
	gprio_ns visible_at; /* the GPU can start it from then */
	uint32_t blocks;
	uint8_t last; /* last kernel of its request / iteration */
	uint8_t sync; /* the host waits for it (sync_every), then goes on with the request */
};

enum { G_FREE = 0, G_RUNNING, G_SAVED };

struct sim_group {
	uint32_t q;
	uint32_t blocks;
	gprio_ns end;       /* running: completion time */
	gprio_ns remaining; /* saved: time left when saved */
	uint32_t gen;
	uint8_t st;
	uint32_t next_free;
};

struct sim_q {
	uint32_t id, proc;
	uint8_t prio, klass;
	struct sim_cmd *ring; /* indexed by seq & (cap-1) */
	uint32_t cap;
	uint64_t wptr, rptr, done;
	/* the executing kernel (rptr == done + 1) */
	uint32_t undispatched;
	gprio_ns block_ns;
	uint32_t *groups; /* ids of its running and saved groups */
	uint32_t ngroups, gcap;
	uint32_t nsaved;      /* of those, saved (waiting for a restore) */
	gprio_ns dispatch_at; /* an EV_DISPATCH is pending for this time (GPRIO_NS_NEVER: none) */
	/* control */
	bool held;      /* controller suspension in effect: starts nothing new */
	bool want_held; /* the controller asked (mechanism = auto gates only under `gate`) */
	bool hw_held;
	gprio_ns hw_changed_at;
	gprio_ns freeze_at; /* AMD: waves still running at this time are being CWSR-saved */
	/* AMD HWS residency */
	bool resident;
	gprio_ns resident_since;
	gprio_ns ready_at;
	uint32_t rank; /* position in dispatch order */
	uint32_t row;  /* where the monitor's table had it last (lookup hint) */
};

struct sim_p {
	const struct sim_proc_spec *spec;
	uint32_t q0, nq;
	struct sim_rng rng;
	/* online */
	gprio_ns last_note; /* its HSA shim's last work note (event-driven stages) */
	gprio_ns *pending;  /* FIFO of arrival times waiting for the serial server */
	size_t ph, pt, pcap;
	bool serving;
	bool syncing;          /* waiting for a sync_every kernel in the middle of a request */
	gprio_ns linger_until; /* NV lingering: the context counts as busy until then (0: not) */
	gprio_ns cur_arrival;
	uint32_t cur_q, cur_left; /* queue of the request, kernels still to launch */
	bool cur_lost;
	size_t trace_i;
	uint32_t next_q;
	/* offline: per queue, kernels launched into the current iteration, launch pending */
	uint32_t *iter_pos;
	bool *launch_pending;
	gprio_ns *last_launch;
	/* nv */
	gprio_ns ts, ts0;   /* timeslice in force; the process's own (or the profile's) */
	bool turn_held;     /* offline: not its turn (TSG turns): its queues start nothing */
	gprio_ns wait_from; /* online: its last kernel of the request launched (host waits) */
	/* online: what its shim's counters gathered since gpriod's last tick (mechanism = auto) */
	uint64_t mo_waits, mo_starts, mo_launches;
	gprio_ns mo_waited, mo_last; /* mo_last: its last launch (0: none yet) */
	/* stats */
	struct gprio_hist lat;
	uint64_t requests, iterations, kernels;
	uint32_t executing;
	gprio_ns busy_since, busy_ns;
};

struct sim_world;

/* What differs between GPU architectures. */
struct sim_arch_ops {
	/* May queue q start or continue work now? */
	bool (*eligible)(struct sim_world *w, struct sim_q *q);
	bool (*stalled)(struct sim_world *w);
	void (*suspend)(struct sim_world *w, const uint64_t *keys, size_t n);
	void (*resume)(struct sim_world *w, const uint64_t *keys, size_t n);
	/* Called after anything that changes who has work (submit, completion, hold). */
	void (*changed)(struct sim_world *w);
	void (*event)(struct sim_world *w, const struct sim_event *e);
	/* The controller is gone: put every held queue back (KFD on debugger exit; shim on
	 * socket close). */
	void (*fail_open)(struct sim_world *w);
	/* An online host's wait for a kernel in the middle of a request ended (sync_every); it
	 * launches again after its gap. Optional (NULL: nothing). */
	void (*host_synced)(struct sim_world *w, uint32_t proc);
};

/* NV, mechanism = auto: gpriod's chooser at a monitor tick (gpu_nv.c) */
void sim_nv_mechanism_tick(struct sim_world *w);

struct sim_amd_op {
	bool suspend;
	uint32_t n;
	uint32_t *q;
};

struct sim_world {
	const struct sim_scenario *sc;
	const struct sim_workload_ops *wl;
	const struct sim_profile *pr;
	const struct sim_arch_ops *arch;
	struct sim_evq evq;
	gprio_ns now;
	gprio_ns end;     /* measured run ends */
	gprio_ns stop_at; /* wait() returns -ECANCELED from here on (end or controller death) */
	bool stopping;    /* generators stopped: draining */
	bool controller;  /* a controller is attached */
	uint64_t events;
	uint32_t free_slots;
	uint32_t offline_cap, offline_used; /* MPS SM share: slots offline queues may hold */
	uint32_t nq, np;
	struct sim_q *q;
	uint32_t *order;    /* queue indices in dispatch order: pipe, then priority */
	uint32_t *band_end; /* order[i]'s band of equal priority ends before band_end[i] */
	uint64_t *ready;    /* bit per rank: the queue may have something to dispatch */
	uint32_t rr;
	struct sim_p *p;
	struct sim_group *g;
	uint32_t ng, gcap, gfree;
	bool wake_pending;
	bool kfd_notes; /* event-driven stages: online programs' doorbells wake the monitor */
	/* AMD */
	struct sim_amd_op *ops;
	uint32_t nops, opcap;
	bool op_busy, stall;
	uint64_t op_gen;
	bool op_hang;
	uint32_t resident;
	bool rotate_pending;
	/* NV */
	int cur;
	bool switching;
	int switch_to;
	gprio_ns slice_start;
	uint64_t slice_gen;
	bool slice_pending;
	/* NV, mechanism = auto: what the shims would count for gpriod, and its choice */
	struct gprio_mech_params mp;
	struct gprio_mech_state mst;
	struct gprio_turns turns; /* offline turns (TSG turns): as gpriod keeps them per GPU */
	gprio_ns on_last_work, mech_at;
	uint32_t mech_changes;
	gprio_ns mech_ns[GPRIO_USE_COUNT];
	/* results */
	uint64_t submitted, completed, lost, order_violations;
	uint64_t device_wide_ops, hw_preemptions, ctx_switches, resets;
	uint32_t online_exec;
	gprio_ns online_busy_since, online_busy_ns;
	int err; /* first allocation failure */
};

extern const struct sim_arch_ops sim_arch_amd;
extern const struct sim_arch_ops sim_arch_nv;

/* gpu.c: the architecture-independent model */
int sim_world_init(struct sim_world *w, const struct sim_scenario *sc);
/* Recompute the dispatch order after a priority change. */
void sim_world_reorder(struct sim_world *w);
void sim_world_free(struct sim_world *w);
void sim_push(struct sim_world *w, gprio_ns t, enum sim_ev type, uint32_t a, uint64_t b);
void sim_dispatch(struct sim_world *w);
/* Mark a queue (or all: eligibility changed) for the dispatcher's next pass. */
void sim_mark(struct sim_world *w, const struct sim_q *q);
void sim_mark_all(struct sim_world *w);
/* Hold or release a queue's new kernels (gprio's suspend/resume, gating); a released queue is
 * marked for the dispatcher. */
void sim_set_held(struct sim_world *w, struct sim_q *q, bool held);
/* The application writes a command into its queue (wptr++). */
void sim_submit(struct sim_world *w, struct sim_q *q, gprio_ns block_ns, uint32_t blocks,
		bool last);
/* Freeze running groups of q that end after `at` into saved groups (CWSR / context save). */
uint32_t sim_save_groups(struct sim_world *w, struct sim_q *q, gprio_ns at);
/* Discard every group of q and count its executing kernel as lost (GPU reset). */
void sim_lose_kernel(struct sim_world *w, struct sim_q *q);
bool sim_q_has_work(const struct sim_world *w, const struct sim_q *q);
void sim_handle(struct sim_world *w, const struct sim_event *e);
bool sim_in_window(const struct sim_world *w, gprio_ns t);
struct sim_q *sim_q_by_key(struct sim_world *w, uint64_t key);

/* workload.c: what runs on the GPU. The GPU model calls it back through w->wl (the workload
 * submits to the GPU, the GPU reports completions: one direction of dependency each way). */
struct sim_workload_ops {
	/* EV_ARRIVAL / EV_LAUNCH */
	void (*event)(struct sim_world *w, const struct sim_event *e);
	/* A kernel of q completed (or was lost). */
	void (*kernel_done)(struct sim_world *w, struct sim_q *q, const struct sim_cmd *c,
			    bool lost);
};
extern const struct sim_workload_ops sim_workload_ops;
void sim_workload_start(struct sim_world *w);

#endif
