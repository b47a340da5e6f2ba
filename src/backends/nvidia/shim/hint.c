/* The request hint (include/gprio/hint.h): an online program calls gprio_hint(stream) when a
 * request arrives, and the GPU is switched to it while it prepares the request.
 *
 * On NVIDIA only submitted work makes a context runnable, so the hint submits some: a one-thread
 * "hold" kernel (hold_ptx.h) on the stream the request will use. Its time-slice group becomes
 * runnable and the scheduler preempts the offline job now (under gprio's TSG timeslices offline
 * runs at most its short slice more), while the program is still preparing. The hold spins until
 * it is released or its bound passes, so the group stays resident until the request's own work
 * is queued behind it: the shim releases it right after the program's next submission (any
 * stream: the work is queued first, so the group never runs dry between the two), before any
 * host wait it intercepts (stream, context, event synchronisation: the hold must never be what
 * the program waits for), and before a stream or context is destroyed.
 *
 * The hold goes on the request's stream, never on a stream of its own: a kernel kept busy on a
 * second stream of an online program next to an offline job held the program's request stream
 * for a whole online timeslice (1024 ms; facts/nvidia.md, "Two probes").
 *
 * Off unless the program was started with `gprio run --online --hint` (GPRIO_HINT=1), and off
 * while gpriod has the process in any class but online (it may demote a user). Refused
 * while a graph capture runs (the hold would be captured, or loading it would invalidate the
 * capture). A repeated hint while one is held places nothing. The first hint in a context loads
 * the kernel (a driver JIT of a few ms). */
#define _GNU_SOURCE
#include <stdlib.h>

#include "gprio/hint.h"
#include "hold_ptx.h"
#include "shim.h"

#define HOLD_CTXS 8

struct hold_ctx {
	void *ctx;
	void *fn;                /* the hold kernel in this context */
	volatile uint32_t *flag; /* host-mapped: the released generation */
	shim_devptr flag_dev;
};

_Atomic uint32_t shim_hint_pending; /* generation of the hold not yet released (0: none) */

static struct {
	pthread_mutex_t lock; /* the table, loading, placing */
	struct hold_ctx c[HOLD_CTXS];
	_Atomic unsigned n;
	uint32_t gen;
	gprio_ns placed_ns; /* when the pending hold was placed */
	bool resolved;
	const struct shim_cu *cu; /* the common entry points (driver.c) */
	CUresult (*load)(void **, const void *);
	CUresult (*get_fn)(void **, void *, const char *);
	CUresult (*launch)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			   unsigned, CUstream, void **, void **);
	CUresult (*write32)(CUstream, shim_devptr, uint32_t, unsigned);
	struct hold_ctx *last; /* where the last hold went */
	bool load_failed;      /* the driver refused the hold kernel: hints fail from then on */
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
		SHIM_LOG("hint: more than %d contexts: not placed\n", HOLD_CTXS);
		return NULL;
	}
	void *cur = NULL;
	bool pushed = false;
	CUresult rc = hs.cu->ctx_current(&cur);
	if (rc == 0 && cur != ctx) {
		rc = hs.cu->push(ctx);
		pushed = rc == 0;
	}
	void *mod = NULL, *fn = NULL, *host = NULL;
	shim_devptr dev = 0;
	if (rc == 0)
		rc = hs.load(&mod, gprio_hold_ptx);
	if (rc == 0)
		rc = hs.get_fn(&fn, mod, GPRIO_HOLD_ENTRY);
	if (rc == 0)
		rc = hs.cu->host_alloc(&host, 64, /* flag; the hold's start and end (hold_ptx.h) */
				       SHIM_HOSTALLOC_PORTABLE | SHIM_HOSTALLOC_DEVICEMAP);
	if (rc == 0)
		rc = hs.cu->host_devptr(&dev, host, 0);
	if (pushed) {
		void *popped;
		hs.cu->pop(&popped);
	}
	if (rc != 0) {
		/* what was loaded before the error stays; never tried again (a module per hint) */
		fprintf(stderr,
			"gprio-shim: hint: cannot load the hold kernel (CUDA error %d): hints "
			"off\n",
			rc);
		hs.load_failed = true;
		return NULL;
	}
	struct hold_ctx *h = &hs.c[n];
	h->ctx = ctx;
	h->fn = fn;
	h->flag = host;
	h->flag_dev = dev;
	*h->flag = hs.gen; /* everything placed so far counts as released */
	atomic_store(&hs.n, n + 1);
	return h;
}

static uint64_t hold_bound_ns(void)
{
	static _Atomic uint64_t ns;
	uint64_t v = atomic_load_explicit(&ns, memory_order_relaxed);
	if (v)
		return v;
	v = 2000 * GPRIO_NS_PER_US;
	const char *s = getenv("GPRIO_HINT_HOLD_US");
	if (s && *s) {
		char *end;
		unsigned long us = strtoul(s, &end, 10);
		if (*end == '\0' && us >= 100 && us <= 100000)
			v = us * GPRIO_NS_PER_US;
		else
			fprintf(stderr,
				"gprio-shim: GPRIO_HINT_HOLD_US='%s' is not 100..100000: using "
				"2000\n",
				s);
	}
	atomic_store_explicit(&ns, v, memory_order_relaxed);
	return v;
}

static bool hints_on(void)
{
	const char *s = getenv("GPRIO_HINT");
	return g_shim.klass == GPRIO_CLASS_ONLINE && s && *s && *s != '0';
}

SHIM_EXPORT int gprio_hint(void *stream);
int gprio_hint(void *stream)
{
	static _Atomic int on = -1;
	int o = atomic_load_explicit(&on, memory_order_relaxed);
	if (o < 0) {
		o = hints_on();
		atomic_store_explicit(&on, o, memory_order_relaxed);
	}
	if (!o)
		return GPRIO_HINT_OFF;
	shim_start(); /* a hint may be the process's first GPU work: register first */
	/* gpriod may have granted less than the program asked for (gprio set, or a user not
	 * allowed online work): the granted class decides */
	const struct shim_binding *b = shim_binding();
	if (b && atomic_load(&g_shim.registered) &&
	    atomic_load_explicit(&b->row->klass, memory_order_relaxed) != GPRIO_CLASS_ONLINE)
		return GPRIO_HINT_OFF;
	if (shim_captures() > 0)
		return GPRIO_HINT_REFUSED;
	uint64_t bound = hold_bound_ns();
	pthread_mutex_lock(&hs.lock);
	int ret = GPRIO_HINT_FAILED;
	gprio_ns now = shim_now();
	if (atomic_load(&shim_hint_pending) && now - hs.placed_ns < (gprio_ns)bound) {
		ret = GPRIO_HINT_PLACED; /* one is held already */
		goto out;
	}
	if (hs.load_failed || !resolve()) {
		SHIM_LOG("hint: the driver lacks a function the hold needs, or refused its "
			 "kernel\n");
		goto out;
	}
	void *ctx = NULL;
	bool named = stream && stream != SHIM_STREAM_LEGACY && stream != SHIM_STREAM_PER_THREAD;
	CUresult rc = named ? hs.cu->stream_ctx(stream, &ctx) : hs.cu->ctx_current(&ctx);
	if (rc != 0 || !ctx) {
		SHIM_LOG("hint: no context for stream %p (CUDA error %d)\n", stream, rc);
		goto out;
	}
	int cap = 0;
	if (named && (hs.cu->capturing(stream, &cap) != 0 || cap)) {
		ret = GPRIO_HINT_REFUSED;
		goto out;
	}
	struct hold_ctx *h = hold_for(ctx);
	if (!h)
		goto out;
	uint32_t gen = hs.gen + 1u;
	gen += gen == 0u; /* 0 means "none pending" */
	void *params[] = {&h->flag_dev, &gen, &bound};
	volatile uint64_t *times = (volatile uint64_t *)(volatile void *)h->flag;
	times[1] = times[2] = 0; /* this hold's start and end, written by it */
	rc = hs.launch(h->fn, 1, 1, 1, 1, 1, 1, 0, stream, params, NULL);
	if (rc != 0) {
		SHIM_LOG("hint: hold launch failed (CUDA error %d)\n", rc);
		goto out;
	}
	/* a stream memory operation behind the hold (it writes the generation queued, offset 24):
	 * measured on the H200, without it the request's first kernel started 0.35 ms after the
	 * hold ended (the GPU went back to offline and returned: two switches); with it, 8 us */
	rc = hs.write32(stream, h->flag_dev + 24, gen, 0);
	if (rc != 0) {
		SHIM_LOG("hint: memory operation behind the hold failed (CUDA error %d): hold "
			 "released\n",
			 rc);
		hs.gen = gen;
		*h->flag = gen; /* the hold launched: end it now rather than at its bound */
		goto out;
	}
	hs.gen = gen;
	hs.placed_ns = now;
	hs.last = h;
	atomic_store_explicit(&shim_hint_pending, gen, memory_order_release);
	ret = GPRIO_HINT_PLACED;
out:
	pthread_mutex_unlock(&hs.lock);
	return ret;
}

/* lock held */
static void release_locked(void)
{
	uint32_t gen = atomic_exchange_explicit(&shim_hint_pending, 0, memory_order_acq_rel);
	if (!gen)
		return;
	/* every context's flag: a hold compares against its own generation, and later ones are
	 * higher */
	unsigned n = atomic_load(&hs.n);
	for (unsigned i = 0; i < n; i++) /* seq_cst: out of the store buffer now (x86: xchg) */
		__atomic_store_n(hs.c[i].flag, gen, __ATOMIC_SEQ_CST);
}

void shim_hint_release_slow(void)
{
	pthread_mutex_lock(&hs.lock);
	release_locked();
	pthread_mutex_unlock(&hs.lock);
}

void shim_hint_forget(const void *ctx)
{
	if (!atomic_load(&hs.n))
		return;
	pthread_mutex_lock(&hs.lock);
	release_locked();
	/* the driver frees the context's module and mapped page with it */
	unsigned n = atomic_load(&hs.n), k = 0;
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
		const volatile uint64_t *t =
			(const volatile uint64_t *)(const volatile void *)hs.last->flag;
		out[0] = t[1];
		out[1] = t[2];
		rc = 0;
	}
	pthread_mutex_unlock(&hs.lock);
	return rc;
}
