/* The node-wide state between gpriod and the in-process shims (NVIDIA backend), and who may
 * write what. Three kinds of shared memory, all created by gpriod:
 *   control  GPRIO_SHM_DEFAULT_PATH, mode 0644: configuration, heartbeat, and per process the
 *            class and priority gpriod granted, its gate override, and a copy of its counters
 *            (for `gprio status`). Only gpriod writes it; shims map it read-only.
 *   hot      PATH.hot, mode 0600: per priority level, "hot until". A shim whose process may
 *            publish (granted priority > 0) gets a writable descriptor over the control
 *            socket, the others a read-only one. Fast path without a daemon round trip: an
 *            online launch does one atomic max on its level; an offline launch holds while a
 *            level above its own is hot (launch gating).
 *   stats    one memfd per process, handed to its shim only: its launch counters and heartbeat.
 * Registration goes through the control socket PATH.sock (ctl.h) with the peer's
 * credentials; the class a process asked for is granted or demoted by gprio_auth_register.
 * A stale heartbeat (> GPRIO_SHM_STALE_NS), or the socket closing, makes every shim fail open. */
#ifndef GPRIO_SHM_H
#define GPRIO_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "gprio/priority.h"

#define GPRIO_SHM_MAGIC     0x6770726fu /* "gpro" */
#define GPRIO_SHM_VERSION   10u
#define GPRIO_SHM_PROCS     64
#define GPRIO_SHM_GPUS      16 /* GPUs of one node gpriod schedules apart */
#define GPRIO_SHM_PROC_GPUS 4  /* GPUs one process reports */
#define GPRIO_GROUP_MAX     32 /* a group name, with its NUL */

/* A group name (GPRIO_GROUP, gprio run --group): 1..31 of letters, digits, '.', '_', ':', '-',
 * NUL-terminated within `cap` bytes. gprio run, gpriod and gprio status check the same way. */
static inline bool gprio_group_name_ok(const char *g, size_t cap)
{
	size_t n = strnlen(g, cap);
	return n > 0 && n < GPRIO_GROUP_MAX && n < cap &&
	       strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == n;
}

/* A GPU's PCI id as the shims report it (domain << 16 | bus << 8 | device), printed the way
 * lspci and sysfs name it: printf(GPRIO_PCI_FMT, GPRIO_PCI_ARGS(pci)) */
#define GPRIO_PCI_FMT "%04x:%02x:%02x"
#define GPRIO_PCI_ARGS(pci) \
	(unsigned)((pci) >> 16), (unsigned)(((pci) >> 8) & 0xff), (unsigned)((pci)&0xff)
#define GPRIO_SHM_STALE_NS     (100 * GPRIO_NS_PER_MS)
#define GPRIO_SHM_DEFAULT_PATH "/run/gprio/ctl"

enum gprio_gate_override { GPRIO_GATE_AUTO = 0, GPRIO_GATE_OPEN = 1, GPRIO_GATE_CLOSED = 2 };

/* mechanism bits a shim reports */
#define GPRIO_MECH_TSG_TIMESLICE  1u   /* SET_TIMESLICE accepted on this process's TSGs */
#define GPRIO_MECH_GATING         2u   /* launches go through the gate */
#define GPRIO_MECH_MPS            4u   /* running as an MPS client: block-level priority only */
#define GPRIO_MECH_TSG_FAILED     8u   /* the driver refused SET_TIMESLICE: degraded */
#define GPRIO_MECH_INFLIGHT       16u  /* submissions tracked with events: in-flight bound active */
#define GPRIO_MECH_PUBLISH        32u  /* may publish its level as hot (writable hot segment) */
#define GPRIO_MECH_COMPLETION     64u  /* completion counters: the GPU reports finished work */
#define GPRIO_MECH_COMPLETION_OFF 128u /* the driver refused them: submissions only */

/* What a shim writes: its own page, nobody else's. */
struct gprio_shm_stats {
	_Atomic uint32_t mechanisms;
	_Atomic uint32_t tsgs;    /* time-slice groups seen */
	_Atomic uint32_t waiting; /* threads held at the gate now */
	_Atomic uint32_t pad;
	_Atomic uint64_t launches; /* submissions (the design's wptr) */
	_Atomic uint64_t last_launch_ns;
	_Atomic uint64_t gated_launches; /* submissions that waited at the gate */
	_Atomic uint64_t gate_wait_ns;   /* total time they waited */
	_Atomic uint64_t heartbeat_ns;   /* the shim's own */
	/* Completion counters (GPRIO_MECH_COMPLETION): the design's wptr and rptr, summed over the
	 * process's streams, advanced by the GPU itself (a marker written into host memory). */
	_Atomic uint64_t submitted;     /* submissions that reached the driver (wptr) */
	_Atomic uint64_t completed;     /* of those, known finished on the GPU (rptr) */
	_Atomic uint64_t pending_since; /* oldest unfinished submission of a stream (0: none) */
	_Atomic uint64_t markers;       /* completion markers issued (the counters' cost) */
	_Atomic uint64_t starts; /* submissions that found their stream drained (its markers all
				  * landed): the GPU had run dry of this process's work, so
				  * under TSG priority each costs a context switch pair */
	/* In the first 20 ms of every second each submission is marked, so `starts` is exact
	 * there: the fraction of restarts among a fast launcher's submissions (outside the
	 * samples most go unmarked and a restart cannot be seen). */
	_Atomic uint64_t sampled;        /* submissions in the samples */
	_Atomic uint64_t sampled_starts; /* of those, restarts */
	/* Host waits for the GPU (stream, context and event synchronisation): how GPU-bound the
	 * program is. */
	_Atomic uint64_t waits;
	_Atomic uint64_t wait_ns;
	_Atomic uint64_t wait_since; /* start of the wait in progress (0: none) */
	_Atomic uint32_t streams;    /* streams seen */
	_Atomic uint32_t pending;    /* streams with unfinished work now */
	_Atomic uint32_t stuck;      /* streams that have not drained for 100 ms */
	_Atomic uint32_t ngpus;
	_Atomic uint32_t gpus[GPRIO_SHM_PROC_GPUS]; /* PCI domain << 16 | bus << 8 | device */
	/* Lingering (shim/linger.c): holds placed at a stream synchronisation, the GPU time they
	 * kept the process's group resident after its work was done (what offline could not
	 * have), and how many ran to their bound (the program did not submit within it). */
	_Atomic uint64_t lingers;
	_Atomic uint64_t linger_ns;
	_Atomic uint64_t linger_expired;
};

/* What gpriod decided about a process (control segment). */
struct gprio_shm_proc {
	_Atomic uint32_t pid; /* 0: free */
	_Atomic uint32_t uid;
	_Atomic uint32_t priority;      /* 0..15, granted; `gprio set` changes it */
	_Atomic uint32_t klass;         /* enum gprio_class, granted */
	_Atomic uint32_t gate_override; /* enum gprio_gate_override */
	_Atomic uint32_t weight;        /* wfq: granted weight (1..GPRIO_WEIGHT_MAX) */
	_Atomic uint32_t slo_us;        /* slo: latency objective (0: none) */
	/* Its job (GPRIO_GROUP, set by gprio run: one group per `gprio run`): the processes of
	 * one user that share a group name are held as one. group_rows: the GPU rows of all of
	 * them, when there are two or more (0: alone); the gate holds it while any is hot. */
	_Atomic uint32_t group_rows;
	/* until then the shim samples every launch (a trial of protection on its GPU: restarts
	 * counted exactly, gprio/mechanism.h) */
	_Atomic uint64_t sample_until;
	char group[GPRIO_GROUP_MAX]; /* "" : none */
};

/* Per GPU and priority level. A process whose GPUs gpriod has not listed yet publishes on
 * (and is gated by) every row. */
struct gprio_shm_hot {
	_Atomic uint64_t hot_until[GPRIO_SHM_GPUS][GPRIO_PRIO_LEVELS];
};

/* What gpriod chose for one GPU (mechanism.h), when `mech_auto`. */
struct gprio_shm_gpu {
	_Atomic uint32_t pci;  /* as the shims report it; 0: free row */
	_Atomic uint32_t mech; /* enum gprio_mech */
	_Atomic uint32_t online_timeslice_us;
	_Atomic uint32_t offline_timeslice_us;
	_Atomic uint32_t gating;
	/* TSG turns (gprio/turns.h): 0, every offline process launches; row + 1, only that
	 * offline process does; UINT32_MAX, none does (between turns). Offline launches wait
	 * for their turn in the shim. */
	_Atomic uint32_t turn;
	_Atomic uint64_t since_ns;
	char why[232]; /* the reason, for gprio status (gpriod writes it before mech); the
			* longest the law gives is 166 characters (112 until version 9 cut four of
			* them short) */
};

struct gprio_shm {
	uint32_t magic;
	uint32_t version;
	_Atomic uint64_t heartbeat_ns; /* the daemon's CLOCK_MONOTONIC */
	_Atomic uint64_t hysteresis_ns;
	_Atomic uint32_t policy; /* position in gprio_policies[]; none -> shims pass through */
	_Atomic uint32_t online_timeslice_us;  /* TSG timeslice for online processes (0: leave) */
	_Atomic uint32_t offline_timeslice_us; /* TSG timeslice for offline processes (0: leave) */
	_Atomic uint32_t gating;               /* 0: timeslices only (no launch gating) */
	_Atomic uint32_t
		inflight_bound;     /* offline: most submissions not yet finished (0: no bound) */
	_Atomic uint32_t mech_auto; /* 1: per-GPU mechanisms below; 0: the fields above */
	/* gpriod --mps on: offline clients' share of each GPU's SMs in % (CUDA_MPS_ACTIVE_THREAD_
	 * PERCENTAGE, set by gprio run); 0 or 100: no limit. Written before publishing. */
	_Atomic uint32_t mps_offline_sm;
	/* gpriod --linger-us: where online TSGs have a long timeslice, an online stream's
	 * synchronisation leaves a hold on it this long, so the group stays resident through the
	 * program's CPU gap until it submits again (shim/linger.c); 0: off */
	_Atomic uint32_t linger_us;
	/* a member of a group held this long at once is let through (its peers wait in
	 * collectives that time out: NCCL's watchdog, 10 min by default); 0: no bound */
	_Atomic uint64_t group_hold_ns;
	/* gpriod --mps on: the pipe directory of the MPS control daemon gpriod runs, where `gprio
	 * run` points its programs (CUDA_MPS_PIPE_DIRECTORY); "" when none. Written before the
	 * segment is published, never after. */
	char mps_pipe[200];
	struct gprio_shm_gpu gpus[GPRIO_SHM_GPUS];
	struct gprio_shm_proc procs[GPRIO_SHM_PROCS];
	/* each process's counters as of gpriod's last tick (for gprio status), apart from the rows
	 * the shims read on every launch so that gpriod's copying does not bounce those lines */
	struct gprio_shm_stats copy[GPRIO_SHM_PROCS];
};

/* gpriod's MPS pipe directory (gpriod --mps on) into out[len]: true when the field holds an
 * absolute path NUL-terminated within it; false, with out "", otherwise. gprio run and gprio
 * status read it this way. */
static inline bool gprio_shm_mps_pipe(const struct gprio_shm *s, char *out, size_t len)
{
	size_t n = strnlen(s->mps_pipe, sizeof(s->mps_pipe));
	bool ok = len && s->mps_pipe[0] == '/' && n < sizeof(s->mps_pipe) && n < len;
	if (len)
		out[0] = '\0';
	if (ok)
		memcpy(out, s->mps_pipe, n + 1);
	return ok;
}

#endif
