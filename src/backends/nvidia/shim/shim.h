/* libgprio-cuda.so, the NVIDIA shim: loaded into unmodified CUDA programs with LD_PRELOAD (gprio
 * run does it). One concern per file, one state struct (g_shim):
 *   intercept.c  dlsym / cuGetProcAddress / exported entry points: every way a program finds the
 *                driver's launch functions hands back our wrappers, which call launch_gate()
 *   gate.c       the launch gate: the in-process half of gpriod's policy (publish our level
 *                as hot; wait while a higher one is hot or gpriod holds us)
 *   inflight.c   the bound on unfinished offline submissions (events after each submission)
 *   completion.c completion counters per stream (GPU-written markers), host waits, the GPUs
 *                the process uses, and the poller thread that reads them
 *   tsg.c        the ioctl interposer: our time-slice groups and their timeslices
 *   link.c       the daemon link: registration over gpriod's control socket, its messages, the
 *                watcher thread (heartbeat, liveness, fail-open)
 *   mps.c        under an MPS server: the offline client's priority
 *   hold.c       the hold: a one-thread kernel on an online program's stream that keeps its
 *                time-slice group resident until its next submission or host wait
 *   hint.c       the request hint (gprio_hint): a hold when a request arrives
 *   linger.c     lingering: a hold behind the work a stream synchronisation waits for
 *   driver.c     the driver entry points the shim calls for itself, resolved once
 *   shim.c       the environment and the constructor / destructor
 * Threads: the program's own (launches, ioctls) and our watcher. Pointers to the real driver
 * functions are atomics, filled once and never changed back. */
#ifndef GPRIO_SHIM_H
#define GPRIO_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "../shm.h"
#include "cuda_abi.h"
#include "gprio/policy.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef void *CUstream;

/* What one registration with gpriod gave us. Never unmapped while we run (a launch thread may
 * still hold the pointers when gpriod goes away); a gpriod restart costs three pages. */
struct shim_binding {
	const struct gprio_shm *shm;      /* control segment, read-only */
	const struct gprio_shm_proc *row; /* our row in it: granted class/priority, gate override */
	struct gprio_shm_hot *_Atomic hot; /* writable only if hot_rw; replaced when promoted */
	_Atomic bool hot_rw;
	struct gprio_shm_stats *stats; /* ours */
};

/* One of libcuda's time-slice groups in this process. */
struct shim_tsg {
	int fd;
	uint32_t client, handle;
	uint64_t orig_us; /* 0: unknown */
	uint64_t set_us;  /* what we set (0: driver default in place) */
};
#define SHIM_MAX_TSGS 256
#define SHIM_RING     256

/* One stream's completion counter (completion.c). */
struct shim_stream {
	_Atomic uintptr_t key; /* stream handle; context | 1: legacy; context | 2: per-thread */
	long tid;              /* per-thread default stream: its thread */
	void *ctx;             /* its context (the poller pushes it to mark the tail) */
	CUstream stream;       /* as the poller names it (NULL: per-thread, not nameable) */
	bool per_thread, gpu_known;
	_Atomic bool capturing;
	_Atomic uint64_t wptr;      /* submissions */
	_Atomic uint64_t marked;    /* highest submission a marker was enqueued after */
	_Atomic uint64_t marked_ns; /* when */
	_Atomic uint64_t last_ns;   /* last submission */
	_Atomic uint64_t since;     /* unfinished work since (0: drained) */
};
#define SHIM_STREAMS    256
#define SHIM_MARK_EVERY (50 * GPRIO_NS_PER_US)
/* An offline process's streams: nothing decides on the exact end of its bursts (it always has
 * work pending; the law reads online work's counters), so a marker a millisecond at most. */
#define SHIM_MARK_EVERY_OFFLINE (1000 * GPRIO_NS_PER_US)
/* A copy call that returns later than this waited for the GPU: queueing an asynchronous copy
 * costs a few microseconds; PyTorch's .item() (a copy to pageable memory, then a stream
 * synchronisation that finds the work done) waits inside the copy. */
#define SHIM_COPY_WAIT (20 * GPRIO_NS_PER_US)
#define SHIM_SAMPLE    (20 * GPRIO_NS_PER_MS) /* of every second: every launch marked */

struct shim {
	/* From the environment, set by the constructor before any other thread of ours runs. */
	int klass;               /* -1: not started by gprio run: pass everything through */
	int prio;                /* what we ask gpriod for */
	uint32_t weight, slo_us; /* wfq weight and latency objective we ask for (0: none) */
	char group[32];          /* GPRIO_GROUP: the job we belong to ("": none) */
	bool debug, trace_rm;
	gprio_ns verify_max_ns; /* longest interval between TSG read-backs */
	uint32_t mps_mech;      /* GPRIO_MECH_MPS when an MPS control daemon runs */

	/* The daemon link. */
	struct shim_binding *_Atomic b; /* NULL: never registered; once set, never NULL again */
	_Atomic bool registered;        /* b is the current registration (watcher's view) */
	_Atomic int live;               /* daemon alive and its policy active */
	int sock;                       /* the control connection (watcher thread only) */
	pthread_t watcher;
	pid_t watcher_pid;     /* the process that started it (0: none); not a fork child */
	_Atomic bool stopping; /* exit: the watcher ends its loop */
	_Atomic bool started;  /* registered (or tried) at the first GPU work */

	/* Time-slice groups. */
	pthread_mutex_t tsg_lock;
	struct shim_tsg tsg[SHIM_MAX_TSGS];
	_Atomic unsigned ntsg;  /* read without the lock by ioctl() */
	_Atomic bool tsg_dirty; /* libcuda touched one: read them back */

	/* Offline submissions in flight. */
	struct {
		pthread_mutex_t lock;
		void *ev[SHIM_RING];
		uint64_t head, tail; /* head: oldest unfinished; tail: next to record */
		_Atomic bool broken; /* read without the lock on every offline launch */
		CUresult (*create)(void **, unsigned);
		CUresult (*record)(void *, CUstream), (*record_ptsz)(void *, CUstream);
		CUresult (*query)(void *);
	} fl;
};
extern struct shim g_shim;

#define SHIM_LOG(...)                                                       \
	do {                                                                \
		if (g_shim.debug)                                           \
			fprintf(stderr, "gprio-shim[%d]: ", (int)getpid()), \
				fprintf(stderr, __VA_ARGS__);               \
	} while (0)

gprio_ns shim_now(void);

/* driver.c */
typedef unsigned long long shim_devptr; /* CUdeviceptr */
/* the driver's special stream handles and cuMemHostAlloc flags (cuda.h) */
#define SHIM_STREAM_LEGACY     ((CUstream)SHIM_STREAM_LEGACY_ID)
#define SHIM_STREAM_PER_THREAD ((CUstream)SHIM_STREAM_PER_THREAD_ID)
struct shim_cu {
	CUresult (*ctx_current)(void **);
	CUresult (*stream_ctx)(CUstream, void **);
	CUresult (*push)(void *), (*pop)(void **);
	CUresult (*host_alloc)(void **, size_t, unsigned);
	CUresult (*host_devptr)(shim_devptr *, void *, unsigned);
	CUresult (*capturing)(CUstream, int *), (*capturing_ptsz)(CUstream, int *);
	CUresult (*ctx_flags)(unsigned *);
	CUresult (*event_create)(void **, unsigned);
	CUresult (*event_record)(void *, CUstream);
	CUresult (*event_sync)(void *);
};
const struct shim_cu *shim_cu(void);
/* The context of stream s: its own for a named stream, the calling thread's current one for
 * the legacy and per-thread handles (and NULL). Needs ctx_current and stream_ctx. */
CUresult shim_stream_context(CUstream s, void **ctx);
/* Make ctx current unless it is; *pushed says whether shim_ctx_leave must pop it. Needs
 * ctx_current, push and pop. */
CUresult shim_ctx_enter(void *ctx, bool *pushed);
void shim_ctx_leave(bool pushed);

/* intercept.c */
void *shim_real_dlsym(void *handle, const char *name);
/* the driver's own symbol (RTLD_NEXT, then libcuda.so.1 / GPRIO_REAL_LIBCUDA) */
void *shim_resolve(const char *name);

/* gate.c */
struct shim_binding *shim_binding(void);
bool shim_daemon_fresh(const struct shim_binding *b, gprio_ns now);
bool shim_policy_active(const struct shim_binding *b);
void shim_mech_set(uint32_t bits, bool on);
/* before every submission */
void shim_launch_gate(void);

/* completion.c */
void shim_complete_submitted(CUstream stream, bool ptsz);
/* a stream destroyed (ctx NULL, whole false), a context (ctx), or every slot (whole, ctx NULL) */
void shim_complete_forget(const void *stream, const void *ctx, bool whole);
void shim_capture(int delta);
int shim_captures(void); /* graph captures in progress */
/* before a hold goes on the stream: a marker for its submissions, so that their completion is
 * seen when they finish, not when the hold ends */
void shim_complete_mark_tail(CUstream s, bool ptsz);
gprio_ns shim_wait_begin(void);
/* a call that began at t0 (shim_wait_begin) has returned: counted as a host wait if it lasted
 * at least at_least (0 for a synchronisation; SHIM_COPY_WAIT for a copy or memset: one to or
 * from pageable host memory returns once the work ahead of it has run) */
void shim_wait_end(gprio_ns t0, gprio_ns at_least);
void shim_complete_start(void);
/* The control-segment GPU rows this process uses (bit per row); 0 while not known (then
 * every row counts). */
uint32_t shim_gpu_rows(const struct shim_binding *b);

/* hold.c: the hold (hint.c and linger.c place it) */
#include "gprio/hint.h" /* GPRIO_HINT_PLACED, _REFUSED, _FAILED */
enum shim_hold_kind { SHIM_HOLD_HINT, SHIM_HOLD_LINGER };
extern _Atomic uint32_t shim_hold_pending;
/* a hold on `stream` for at most bound_ns, unless one is held: GPRIO_HINT_PLACED, _REFUSED
 * (the stream is being captured) or _FAILED */
int shim_hold_place(CUstream stream, bool ptsz, uint64_t bound_ns, enum shim_hold_kind kind);
/* the ended holds accounted, one that ran to its bound closed: the watcher, every 10 ms */
void shim_hold_expire(void);
/* a hold is pending and has not ended: this process's group has not run dry */
bool shim_hold_active(void);
void shim_hold_release_slow(void);
void shim_hold_after_submission_slow(CUstream stream, bool ptsz);
/* the hold ends before a host wait */
static inline void shim_hold_release(void)
{
	if (atomic_load_explicit(&shim_hold_pending, memory_order_relaxed))
		shim_hold_release_slow();
}
/* after a submission: the hold ends, or a linger's is re-armed behind it */
static inline void shim_hold_after_submission(CUstream stream, bool ptsz)
{
	if (atomic_load_explicit(&shim_hold_pending, memory_order_relaxed))
		shim_hold_after_submission_slow(stream, ptsz);
}
/* a context (NULL: every one) goes away: release and drop its hold kernel */
void shim_hold_forget(const void *ctx);

/* linger.c */
/* a stream synchronisation that lingers where it should (real: the driver's function) */
CUresult shim_linger_sync(void *real, CUstream s, bool ptsz);
/* a linger hold ended: the GPU time it held after the program's work, at its bound or not */
void shim_linger_account(uint64_t held_ns, bool expired);
/* a context goes away: this process's cached events may name it */
void shim_linger_forget(const void *ctx);

/* inflight.c */
unsigned shim_inflight_bound(void);
void shim_inflight_wait(unsigned bound);
/* after a submission that succeeded */
void shim_track_submission(CUstream stream, bool ptsz);

/* tsg.c */
/* Give every TSG the timeslice for our class (want > 0), or put the originals back (0). With
 * verify, read each back and set it again where it differs. Returns how many were set. */
unsigned shim_apply_timeslices(uint64_t want_us, bool verify);
uint64_t shim_wanted_timeslice(void);
#define SHIM_TSG_VERIFY_MIN_NS (100 * GPRIO_NS_PER_MS)

/* link.c */
bool shim_register(void);
void shim_fail_open(const char *why);
void *shim_watcher(void *unused);

/* shim.c: register and start the watcher at the first GPU work (once; cheap after) */
void shim_start(void);

/* mps.c */
void shim_mps_setup(enum gprio_class k);

#endif
