/* The node-wide shared state between gpriod and the in-process shims (NVIDIA backend).
 *
 * Fast path without a daemon round trip: an online shim publishes, at every launch, that its
 * priority level is hot until now + hysteresis (one atomic max); an offline shim, at every launch,
 * holds the launch while a level above its own is hot (launch gating). gpriod owns the segment,
 * keeps a heartbeat, sets the policy and hysteresis, assigns priorities, forces gates open or
 * closed (share releases), and reads each process's counters for its monitor. A stale heartbeat
 * (> GPRIO_SHM_STALE_NS) makes every shim fail open. */
#ifndef GPRIO_SHM_H
#define GPRIO_SHM_H

#include <stdatomic.h>

#include "gprio/types.h"

#define GPRIO_SHM_MAGIC 0x6770726fu /* "gpro" */
#define GPRIO_SHM_VERSION 2u
#define GPRIO_SHM_PROCS 64
#define GPRIO_SHM_LEVELS 16
#define GPRIO_SHM_STALE_NS (100 * GPRIO_NS_PER_MS)
#define GPRIO_SHM_DEFAULT_PATH "/dev/shm/gprio"

enum gprio_gate_override { GPRIO_GATE_AUTO = 0, GPRIO_GATE_OPEN = 1, GPRIO_GATE_CLOSED = 2 };

/* mechanism bits a shim reports */
#define GPRIO_MECH_TSG_TIMESLICE 1u /* SET_TIMESLICE accepted on this process's TSGs */
#define GPRIO_MECH_GATING 2u        /* launches go through the gate */
#define GPRIO_MECH_MPS 4u           /* running as an MPS client */
#define GPRIO_MECH_TSG_FAILED 8u    /* the driver refused SET_TIMESLICE: degraded */
#define GPRIO_MECH_INFLIGHT 16u     /* submissions tracked with events: in-flight bound active */

struct gprio_shm_proc {
	_Atomic uint32_t pid;       /* 0: free; a shim claims a row by CAS 0 -> pid */
	_Atomic uint32_t priority;  /* 0..15; the daemon may change it (gprio set) */
	_Atomic uint32_t klass;     /* enum gprio_class */
	_Atomic uint32_t gate_override; /* enum gprio_gate_override, written by the daemon */
	_Atomic uint32_t mechanisms;
	_Atomic uint32_t tsgs;      /* time-slice groups seen */
	_Atomic uint32_t waiting;   /* threads held at the gate now */
	_Atomic uint32_t pad;
	_Atomic uint64_t launches;  /* submissions (the design's wptr) */
	_Atomic uint64_t last_launch_ns;
	_Atomic uint64_t gated_launches; /* submissions that waited at the gate */
	_Atomic uint64_t gate_wait_ns;   /* total time they waited */
	_Atomic uint64_t heartbeat_ns;   /* the shim's own, so the daemon sees dead processes */
};

struct gprio_shm {
	uint32_t magic;
	uint32_t version;
	_Atomic uint64_t heartbeat_ns; /* the daemon's CLOCK_MONOTONIC */
	_Atomic uint64_t hysteresis_ns;
	_Atomic uint32_t policy;       /* enum gprio_policy_kind; none -> shims pass through */
	_Atomic uint32_t online_timeslice_us;  /* TSG timeslice for online processes (0: leave) */
	_Atomic uint32_t offline_timeslice_us; /* TSG timeslice for offline processes (0: leave) */
	_Atomic uint32_t gating;       /* 0: timeslices only (no launch gating) */
	_Atomic uint32_t inflight_bound; /* offline: most submissions not yet finished (0: no bound) */
	_Atomic uint32_t pad;
	_Atomic uint64_t hot_until[GPRIO_SHM_LEVELS]; /* per priority level */
	struct gprio_shm_proc procs[GPRIO_SHM_PROCS];
};

#endif
