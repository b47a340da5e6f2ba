/* The hold: a one-thread kernel (hold_ptx.h) placed on an online program's stream to keep its
 * time-slice group resident on the GPU while the program's host is busy. Two users place one:
 * the request hint (hint.c: a request arrived, its work is being prepared) and the linger
 * (linger.c: the program waits for its stream and will submit again shortly).
 *
 * On NVIDIA only submitted work makes a context runnable. With the hold running, the group
 * stays runnable, so under gprio's TSG timeslices (online 1 s) the scheduler keeps it, or
 * preempts the offline job now, until the program's own work is queued behind the hold. The
 * shim releases it right after the program's next submission (any stream: the work is queued
 * first, so the group never runs dry between the two), before any host wait it intercepts
 * (stream, context, event synchronisation: the hold must never be what the program waits
 * for), before a stream or context is destroyed, or the hold ends at its bound.
 *
 * The hold goes on the program's own stream, never on a stream of its own: a kernel kept busy
 * on a second stream of an online program next to an offline job held the program's request
 * stream for a whole online timeslice (1024 ms; facts/nvidia.md, "Two probes"). One hold at a
 * time per process; a repeated placement while one is held places nothing. The first hold in
 * a context loads the kernel (a driver JIT of a few ms).
 *
 * A linger's hold is re-armed: the program's next few submissions after the synchronisation
 * (HOLD_REARMS) each get a fresh hold behind them before the one ahead is released, so a
 * step made of several small submissions with host work between them (write the token, set
 * the position, replay the graph) keeps the group resident throughout. Before a hold is queued
 * the stream's submissions get their completion marker, so the completion counters see them
 * finish when they do, not when the hold ends.
 *
 * Each hold writes the GPU times at which it started and ended into a slot of its own (32
 * slots per context, by generation): the time it held the GPU after the work ahead of it, as
 * the GPU measured it. The watcher reads the slots of ended holds every 10 ms and accounts a
 * linger's to its budget (linger.c). A hold is pending until its end is written. */
#define _GNU_SOURCE
#include <stdlib.h>

#include "gprio/hint.h" /* the GPRIO_HINT_ results */
#include "hold_ptx.h"
#include "shim.h"

#define HOLD_CTXS   8
#define HOLD_SLOTS  32u /* start/end time slots per context (a power of two) */
#define HOLD_PAGE   (64 + HOLD_SLOTS * 16)
#define HOLD_REARMS 8u

struct hold_ctx {
	void *ctx;
	void *fn;                /* the hold kernel in this context */
	volatile uint32_t *flag; /* host-mapped: the released generation (offset 24: the queued
				  * generation, written by the memory operation behind a hold) */
	shim_devptr flag_dev;
};

/* a placed hold not yet accounted */
struct placed {
	void *ctx;
	volatile uint64_t *times; /* its slot: GPU start, end (ns) */
	uint64_t bound_ns;
	enum shim_hold_kind kind;
};

_Atomic uint32_t shim_hold_pending; /* generation of the hold not yet released (0: none) */

static struct {
	pthread_mutex_t lock; /* the table, loading, placing, accounting */
	struct hold_ctx c[HOLD_CTXS];
	_Atomic unsigned n;
	uint32_t gen;
	enum shim_hold_kind kind;       /* of the pending hold */
	uint64_t bound_ns;              /* its bound */
	unsigned rearms;                /* a linger's re-arms left */
	struct placed ring[HOLD_SLOTS]; /* unaccounted holds, oldest at head */
	unsigned head, tail;
	bool resolved;
	const struct shim_cu *cu; /* the common entry points (driver.c) */
	CUresult (*load)(void **, const void *);
	CUresult (*get_fn)(void **, void *, const char *);
	CUresult (*launch)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			   unsigned, CUstream, void **, void **);
	CUresult (*write32)(CUstream, shim_devptr, uint32_t, unsigned);
	struct hold_ctx *last; /* where the last hold went (the pending one, if any) */
	uint32_t last_gen;
	bool load_failed; /* the driver refused the hold kernel: no hold from then on */
} hs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool resolve(void)
{
	if (hs.resolved)
		return true;
	const struct shim_cu *cu = hs.cu = shim_cu();
	hs.load = (CUresult(*)(void **, const void *))shim_resolve("cuModuleLoadData");
	hs.get_fn = (CUresult(*)(void **, void *, const char *))shim_resolve("cuModuleGetFunction");
	/* the driver's own launch: the hold is ours, not the program's (never gated or counted) */
	hs.launch =
		(CUresult(*)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			     unsigned, CUstream, void **, void **))shim_resolve("cuLaunchKernel");
	hs.write32 = (CUresult(*)(CUstream, shim_devptr, uint32_t, unsigned))shim_resolve(
		"cuStreamWriteValue32_v2");
	hs.resolved = cu->ctx_current && cu->stream_ctx && cu->push && cu->pop && hs.load &&
		      hs.get_fn && cu->host_alloc && cu->host_devptr && hs.launch &&
		      cu->capturing && hs.write32;
	return hs.resolved;
}

/* The hold kernel and flag of `ctx`, loaded on first use (lock held). */
static struct hold_ctx *hold_for(void *ctx)
{
	unsigned n = atomic_load(&hs.n);
	for (unsigned i = 0; i < n; i++)
		if (hs.c[i].ctx == ctx)
			return &hs.c[i];
	if (n == HOLD_CTXS) {
		SHIM_LOG("hold: more than %d contexts: not placed\n", HOLD_CTXS);
		return NULL;
	}
	bool pushed;
	CUresult rc = shim_ctx_enter(ctx, &pushed);
	void *mod = NULL, *fn = NULL, *host = NULL;
	shim_devptr dev = 0;
	if (rc == 0)
		rc = hs.load(&mod, gprio_hold_ptx);
	if (rc == 0)
		rc = hs.get_fn(&fn, mod, GPRIO_HOLD_ENTRY);
	if (rc == 0)
		rc = hs.cu->host_alloc(&host, HOLD_PAGE, /* flag, queued generation, time slots */
				       SHIM_HOSTALLOC_PORTABLE | SHIM_HOSTALLOC_DEVICEMAP);
	if (rc == 0)
		rc = hs.cu->host_devptr(&dev, host, 0);
	shim_ctx_leave(pushed);
	if (rc != 0) {
		/* what was loaded before the error stays; never tried again (a module per hold) */
		fprintf(stderr,
			"gprio-shim: hold: cannot load the hold kernel (CUDA error %d): hints "
			"and lingering off\n",
			rc);
		hs.load_failed = true;
		return NULL;
	}
	struct hold_ctx *h = &hs.c[n];
	h->ctx = ctx;
	h->fn = fn;
	h->flag = host;
	h->flag_dev = dev;
	/* everything placed so far counts as released (the GPU reads the flag: atomics, as the
	 * other writers) */
	__atomic_store_n(h->flag, hs.gen, __ATOMIC_SEQ_CST);
	atomic_store(&hs.n, n + 1);
	return h;
}

static size_t slot_offset(uint32_t gen)
{
	return 64 + (gen & (HOLD_SLOTS - 1)) * 16;
}

static volatile uint64_t *slot_of_gen(const struct hold_ctx *h, uint32_t gen)
{
	return (volatile uint64_t *)(volatile void *)((volatile char *)h->flag + slot_offset(gen));
}

/* The ended holds, in order, their GPU time accounted (a linger's to its budget); with force
 * the oldest is dropped unaccounted when the ring is full (lock held). */
static void account_locked(bool force)
{
	while (hs.head != hs.tail) {
		struct placed *p = &hs.ring[hs.head % HOLD_SLOTS];
		/* written by the GPU: the end last, behind a system fence */
		uint64_t end = __atomic_load_n(&p->times[1], __ATOMIC_ACQUIRE),
			 start = __atomic_load_n(&p->times[0], __ATOMIC_RELAXED);
		if (!end) {
			if (force && hs.tail - hs.head >= HOLD_SLOTS) {
				hs.head++;
				continue;
			}
			break;
		}
		if (p->kind == SHIM_HOLD_LINGER) {
			uint64_t held = start && end > start ? end - start : 0;
			/* the kernel's last sleep may overshoot its bound by a few us */
			shim_linger_account(held, held + 20 * GPRIO_NS_PER_US >= p->bound_ns);
		}
		hs.head++;
	}
}

/* every context's flag: a hold compares against its own generation; later ones are higher */
static void write_flags(uint32_t gen)
{
	unsigned n = atomic_load(&hs.n);
	for (unsigned i = 0; i < n; i++) /* seq_cst: out of the store buffer now (x86: xchg) */
		__atomic_store_n(hs.c[i].flag, gen, __ATOMIC_SEQ_CST);
}

/* The pending hold (always the last placed) has ended, its end time written: by its bound, or
 * released (lock held). */
static bool ended_locked(void)
{
	return !atomic_load(&shim_hold_pending) || !hs.last ||
	       __atomic_load_n(&slot_of_gen(hs.last, hs.last_gen)[1], __ATOMIC_ACQUIRE);
}

/* lock held */
static void release_locked(void)
{
	uint32_t gen = atomic_exchange_explicit(&shim_hold_pending, 0, memory_order_acq_rel);
	if (gen)
		write_flags(gen);
}

/* Queue a hold on `stream` (lock held). */
static int place_locked(CUstream stream, bool ptsz, uint64_t bound_ns, enum shim_hold_kind kind)
{
	if (hs.load_failed || !resolve()) {
		SHIM_LOG("hold: the driver lacks a function the hold needs, or refused its "
			 "kernel\n");
		return GPRIO_HINT_FAILED;
	}
	void *ctx = NULL;
	bool named = stream && stream != SHIM_STREAM_LEGACY && stream != SHIM_STREAM_PER_THREAD;
	CUresult rc = shim_stream_context(stream, &ctx);
	if (rc != 0 || !ctx) {
		SHIM_LOG("hold: no context for stream %p (CUDA error %d)\n", stream, rc);
		return GPRIO_HINT_FAILED;
	}
	int cap = 0;
	if (named && (hs.cu->capturing(stream, &cap) != 0 || cap))
		return GPRIO_HINT_REFUSED;
	struct hold_ctx *h = hold_for(ctx);
	if (!h)
		return GPRIO_HINT_FAILED;
	account_locked(true);
	uint32_t gen = hs.gen + 1u;
	gen += gen == 0u; /* 0 means "none pending" */
	volatile uint64_t *times = slot_of_gen(h, gen);
	/* this hold's start and end, written by it */
	__atomic_store_n(&times[0], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&times[1], 0, __ATOMIC_RELAXED);
	shim_devptr times_dev = h->flag_dev + slot_offset(gen);
	uint64_t bound = bound_ns;
	void *params[] = {&h->flag_dev, &gen, &bound, &times_dev};
	shim_complete_mark_tail(stream, ptsz); /* the program's work seen done when it is */
	rc = hs.launch(h->fn, 1, 1, 1, 1, 1, 1, 0, stream, params, NULL);
	if (rc != 0) {
		SHIM_LOG("hold: launch failed (CUDA error %d)\n", rc);
		return GPRIO_HINT_FAILED;
	}
	hs.gen = gen;
	hs.ring[hs.tail++ % HOLD_SLOTS] =
		(struct placed){.ctx = ctx, .times = times, .bound_ns = bound_ns, .kind = kind};
	/* a stream memory operation behind the hold (it writes the generation queued, offset 24):
	 * measured on the H200, without it the request's first kernel started 0.35 ms after the
	 * hold ended (the GPU went back to offline and returned: two switches); with it, 8 us */
	rc = hs.write32(stream, h->flag_dev + 24, gen, SHIM_STREAM_WRITE_VALUE_DEFAULT);
	if (rc != 0) {
		SHIM_LOG("hold: memory operation behind it failed (CUDA error %d): hold "
			 "released\n",
			 rc);
		/* the hold launched: end it now rather than at its bound */
		__atomic_store_n(h->flag, gen, __ATOMIC_SEQ_CST);
		return GPRIO_HINT_FAILED;
	}
	hs.kind = kind;
	hs.bound_ns = bound_ns;
	hs.last = h;
	hs.last_gen = gen;
	atomic_store_explicit(&shim_hold_pending, gen, memory_order_release);
	return GPRIO_HINT_PLACED;
}

int shim_hold_place(CUstream stream, bool ptsz, uint64_t bound_ns, enum shim_hold_kind kind)
{
	pthread_mutex_lock(&hs.lock);
	int ret = GPRIO_HINT_PLACED; /* one is held already */
	if (ended_locked()) {
		release_locked(); /* one that ended at its bound */
		ret = place_locked(stream, ptsz, bound_ns, kind);
		hs.rearms = kind == SHIM_HOLD_LINGER ? HOLD_REARMS : 0;
	}
	pthread_mutex_unlock(&hs.lock);
	return ret;
}

void shim_hold_after_submission_slow(CUstream stream, bool ptsz)
{
	pthread_mutex_lock(&hs.lock);
	uint32_t old = atomic_load(&shim_hold_pending);
	if (old && hs.kind == SHIM_HOLD_LINGER && hs.rearms && !ended_locked() &&
	    !(ptsz && !stream) && stream != SHIM_STREAM_PER_THREAD && shim_captures() == 0) {
		/* the next hold behind this submission first, then the one ahead ends: the group
		 * never runs dry between the two */
		unsigned left = hs.rearms - 1;
		if (place_locked(stream, ptsz, hs.bound_ns, SHIM_HOLD_LINGER) ==
		    GPRIO_HINT_PLACED) {
			hs.rearms = left;
			write_flags(old);
			pthread_mutex_unlock(&hs.lock);
			return;
		}
	}
	release_locked();
	pthread_mutex_unlock(&hs.lock);
}

void shim_hold_expire(void)
{
	pthread_mutex_lock(&hs.lock);
	if (atomic_load(&shim_hold_pending) && ended_locked())
		atomic_store(&shim_hold_pending, 0); /* over by its bound on the GPU */
	account_locked(false);
	pthread_mutex_unlock(&hs.lock);
}

bool shim_hold_active(void)
{
	if (!atomic_load_explicit(&shim_hold_pending, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&hs.lock);
	bool a = !ended_locked();
	pthread_mutex_unlock(&hs.lock);
	return a;
}

void shim_hold_release_slow(void)
{
	pthread_mutex_lock(&hs.lock);
	release_locked();
	pthread_mutex_unlock(&hs.lock);
}

void shim_hold_forget(const void *ctx)
{
	shim_linger_forget(ctx);
	if (!atomic_load(&hs.n))
		return;
	pthread_mutex_lock(&hs.lock);
	release_locked();
	/* the driver frees the context's module and mapped page with it: its unaccounted holds
	 * are dropped */
	unsigned k = hs.head;
	for (unsigned i = hs.head; i != hs.tail; i++)
		if (ctx && hs.ring[i % HOLD_SLOTS].ctx != ctx)
			hs.ring[k++ % HOLD_SLOTS] = hs.ring[i % HOLD_SLOTS];
	hs.tail = k;
	unsigned n = atomic_load(&hs.n);
	k = 0;
	hs.last = NULL;
	for (unsigned i = 0; i < n; i++)
		if (ctx && hs.c[i].ctx != ctx)
			hs.c[k++] = hs.c[i];
	atomic_store(&hs.n, k);
	pthread_mutex_unlock(&hs.lock);
}

/* For measurement: the GPU times (%globaltimer, ns) at which the last hold started and ended
 * (0 while it has not); 0 when one was placed, -1 when none was. */
SHIM_EXPORT int gprio_hint_last(unsigned long long out[2]);
int gprio_hint_last(unsigned long long out[2])
{
	pthread_mutex_lock(&hs.lock);
	int rc = -1;
	if (hs.last) {
		const volatile uint64_t *t = slot_of_gen(hs.last, hs.last_gen);
		out[0] = __atomic_load_n(&t[0], __ATOMIC_RELAXED);
		out[1] = __atomic_load_n(&t[1], __ATOMIC_ACQUIRE);
		rc = 0;
	}
	pthread_mutex_unlock(&hs.lock);
	return rc;
}
