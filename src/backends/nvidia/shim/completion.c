/* Completion counters: the origin design's wptr/rptr on NVIDIA, per stream, advanced by the GPU.
 *
 * Every submission advances its stream's wptr (host). The GPU advances the stream's rptr: a
 * marker (cuStreamWriteValue64) after a submission writes its sequence number into host-mapped
 * memory when the work before it has finished. A marker costs about a microsecond of host time,
 * so not every submission gets one: a launch is marked when the stream's last marker is older
 * than SHIM_MARK_EVERY (always the first launch after a gap), and the poller thread marks a
 * stream's unmarked tail once no launch followed for that long. An offline process's streams
 * are marked every SHIM_MARK_EVERY_OFFLINE instead and its launches never sampled: the law
 * reads online work's counters, and an offline job always has work pending (a PyTorch
 * training job on an H200 placed about 7,000 markers a second at the online cadence). Marker
 * values are read before the marker is enqueued, so the rptr never runs ahead of the work (it
 * may lag by the unmarked tail until the poller's marker lands). Streams being captured into a
 * graph submit nothing: their launches are not counted and never marked.
 *
 * The per-thread default stream cannot be named from another thread: its launches are each
 * marked (the cost the counters have there). The poller also learns which GPUs the process
 * uses (PCI ids of its contexts' devices) and publishes pending streams, stuck streams (no
 * drain for 100 ms) and the oldest unfinished submission.
 *
 * Host waits: stream, context and event synchronisation are timed (waits, wait_ns, and the wait
 * in progress): how long the program's host waits for the GPU is what tells GPU-bound work
 * from CPU-bound work (mechanism.h).
 *
 * Any driver error turns the counters off for the process (published as no
 * GPRIO_MECH_COMPLETION: gpriod then assumes the latency-safe choice). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "shim.h"

static struct {
	pthread_mutex_t lock; /* slot creation and removal, the poller's tail markers */
	struct shim_stream slot[SHIM_STREAMS];
	_Atomic unsigned nslots;
	volatile uint64_t *done; /* host-mapped, one per slot, written by the GPU */
	shim_devptr done_dev;
	_Atomic int state; /* 0 not yet, 1 on, -1 broken */
	pthread_t poller;
	bool poller_started;
	_Atomic bool stop;
	_Atomic int captures; /* graph captures in progress (cuStreamBeginCapture) */
	pid_t poller_pid;
	const struct shim_cu *cu; /* the common entry points (driver.c) */
	CUresult (*write64)(CUstream, shim_devptr, uint64_t, unsigned);
	CUresult (*write64_ptsz)(CUstream, shim_devptr, uint64_t, unsigned);
	CUresult (*ctx_device)(int *);
	CUresult (*dev_attr)(int *, int, int);
} cc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void broken(const char *why, CUresult rc)
{
	if (atomic_exchange(&cc.state, -1) != -1)
		SHIM_LOG("completion counters off (%s: CUDA error %d)\n", why, rc);
	shim_mech_set(GPRIO_MECH_COMPLETION, false);
	shim_mech_set(GPRIO_MECH_COMPLETION_OFF, true);
}

/* Resolve the driver functions and map the marker page (in the launching thread: a context is
 * current there). */
static bool setup(void)
{
	int st = atomic_load(&cc.state);
	if (st)
		return st > 0;
	pthread_mutex_lock(&cc.lock);
	if (!atomic_load(&cc.state)) {
		cc.cu = shim_cu();
		cc.write64 = (CUresult(*)(CUstream, shim_devptr, uint64_t, unsigned))shim_resolve(
			"cuStreamWriteValue64_v2");
		cc.write64_ptsz =
			(CUresult(*)(CUstream, shim_devptr, uint64_t, unsigned))shim_resolve(
				"cuStreamWriteValue64_v2_ptsz");
		cc.ctx_device = (CUresult(*)(int *))shim_resolve("cuCtxGetDevice");
		cc.dev_attr = (CUresult(*)(int *, int, int))shim_resolve("cuDeviceGetAttribute");
		void *host = NULL;
		CUresult rc = -1;
		const struct shim_cu *cu = cc.cu;
		if (cu->ctx_current && cu->stream_ctx && cu->push && cu->pop && cu->host_alloc &&
		    cu->host_devptr && cc.write64 && cu->capturing && cc.ctx_device && cc.dev_attr)
			rc = cu->host_alloc(&host, SHIM_STREAMS * sizeof(uint64_t),
					    SHIM_HOSTALLOC_PORTABLE | SHIM_HOSTALLOC_DEVICEMAP);
		if (rc == 0)
			rc = cu->host_devptr(&cc.done_dev, host, 0);
		if (rc == 0) {
			memset(host, 0, SHIM_STREAMS * sizeof(uint64_t));
			cc.done = host;
			atomic_store(&cc.state, 1);
			shim_mech_set(GPRIO_MECH_COMPLETION, true);
		} else {
			pthread_mutex_unlock(&cc.lock);
			broken("no marker memory or entry points", rc);
			return false;
		}
	}
	pthread_mutex_unlock(&cc.lock);
	return atomic_load(&cc.state) > 0;
}

static uint64_t done_of(unsigned i)
{
	return __atomic_load_n(&cc.done[i], __ATOMIC_ACQUIRE);
}

static uintptr_t key_of(CUstream s, bool ptsz, bool *per_thread, bool *legacy, void **ctx,
			long *tid)
{
	*per_thread = s == SHIM_STREAM_PER_THREAD || (ptsz && !s);
	*legacy = !*per_thread && (!s || s == SHIM_STREAM_LEGACY);
	*ctx = NULL;
	if ((*per_thread || *legacy) && cc.cu->ctx_current(ctx) != 0)
		return 0;
	*tid = *per_thread ? (long)syscall(SYS_gettid) : 0;
	return *per_thread ? (uintptr_t)*ctx | 2 : *legacy ? (uintptr_t)*ctx | 1 : (uintptr_t)s;
}

/* The slot holding (key, tid), or NULL. Lock-free: a slot's key is published last. */
static struct shim_stream *find(uintptr_t key, long tid)
{
	unsigned n = atomic_load_explicit(&cc.nslots, memory_order_acquire);
	for (unsigned i = 0; key && i < n; i++)
		if (atomic_load_explicit(&cc.slot[i].key, memory_order_acquire) == key &&
		    cc.slot[i].tid == tid)
			return &cc.slot[i];
	return NULL;
}

/* The slot of a stream seen before, or NULL. */
static struct shim_stream *known_slot(CUstream s, bool ptsz)
{
	bool per_thread, legacy;
	void *ctx;
	long tid = 0;
	uintptr_t key = key_of(s, ptsz, &per_thread, &legacy, &ctx, &tid);
	return find(key, tid);
}

/* The slot of a stream, created on first sight (NULL when the table is full). */
static struct shim_stream *slot_of(CUstream s, bool ptsz)
{
	bool per_thread, legacy;
	void *ctx;
	long tid = 0;
	uintptr_t key = key_of(s, ptsz, &per_thread, &legacy, &ctx, &tid);
	if (!key)
		return NULL;
	struct shim_stream *x = find(key, tid);
	if (x)
		return x;
	pthread_mutex_lock(&cc.lock);
	x = find(key, tid); /* another thread may have created it meanwhile */
	unsigned n = atomic_load(&cc.nslots);
	for (unsigned i = 0; i < n && !x; i++)
		if (!atomic_load(&cc.slot[i].key)) /* a dropped one */
			x = &cc.slot[i];
	if (!x && n < SHIM_STREAMS) {
		x = &cc.slot[n];
		atomic_store_explicit(&cc.nslots, n + 1, memory_order_release);
	}
	if (x && atomic_load(&x->key) != key) {
		if (!per_thread && !legacy && cc.cu->stream_ctx(s, &ctx) != 0)
			ctx = NULL;
		unsigned i = (unsigned)(x - cc.slot);
		/* restart its sequence where the GPU's value stands */
		uint64_t base = done_of(i);
		atomic_store(&x->wptr, base);
		atomic_store(&x->marked, base);
		atomic_store(&x->since, 0);
		atomic_store(&x->marked_ns, 0);
		x->ctx = ctx;
		x->stream = per_thread ? NULL : legacy ? SHIM_STREAM_LEGACY : s;
		x->per_thread = per_thread;
		x->tid = tid;
		x->gpu_known = false;
		atomic_store(&x->capturing, false);
		atomic_store_explicit(&x->key, key, memory_order_release);
	}
	pthread_mutex_unlock(&cc.lock);
	return x;
}

/* Enqueue a marker for `seq` on the stream (as the caller names it). */
static void mark(struct shim_stream *x, CUstream s, bool ptsz, uint64_t seq, gprio_ns now)
{
	unsigned i = (unsigned)(x - cc.slot);
	int cap = 0;
	CUresult rc =
		(ptsz && cc.cu->capturing_ptsz ? cc.cu->capturing_ptsz : cc.cu->capturing)(s, &cap);
	/* cppcheck-suppress knownConditionTrueFalse ; the driver writes it through the pointer */
	if (rc == 0 && cap) {
		/* being captured: nothing was submitted since the last marker */
		atomic_store(&x->capturing, true);
		atomic_store(&x->wptr, atomic_load(&x->marked));
		return;
	}
	atomic_store(&x->capturing, false);
	if (rc != 0)
		return; /* the poller tries again */
	rc = (ptsz && cc.write64_ptsz ? cc.write64_ptsz : cc.write64)(
		s, cc.done_dev + i * sizeof(uint64_t), seq, SHIM_STREAM_WRITE_VALUE_DEFAULT);
	if (rc != 0) {
		broken("cuStreamWriteValue64", rc);
		return;
	}
	atomic_store(&x->marked, seq);
	atomic_store(&x->marked_ns, now);
	struct shim_binding *b = shim_binding();
	if (b)
		atomic_fetch_add_explicit(&b->stats->markers, 1, memory_order_relaxed);
}

/* How old a stream's last marker may get: online work's bursts are timed closely, an offline
 * job's are not (SHIM_MARK_EVERY_OFFLINE). */
static gprio_ns mark_every(bool online)
{
	return online ? SHIM_MARK_EVERY : SHIM_MARK_EVERY_OFFLINE;
}

void shim_complete_submitted(CUstream s, bool ptsz)
{
	int st = atomic_load_explicit(&cc.state, memory_order_relaxed);
	/* while a graph is being captured, nothing is submitted, and allocating the marker
	 * memory or creating a slot (an unsafe call in a global-mode capture) would invalidate
	 * the program's capture: only known slots are touched, to learn they are capturing */
	bool capturing = atomic_load_explicit(&cc.captures, memory_order_relaxed) > 0;
	if (st < 0 || !shim_binding() || (capturing && st == 0) || (!capturing && !setup()))
		return;
	struct shim_stream *x = capturing ? known_slot(s, ptsz) : slot_of(s, ptsz);
	if (!x)
		return;
	gprio_ns now = shim_now();
	struct shim_binding *bind = shim_binding();
	struct gprio_shm_stats *stats = bind->stats;
	bool online =
		atomic_load_explicit(&bind->row->klass, memory_order_relaxed) == GPRIO_CLASS_ONLINE;
	/* restarts are counted for online work only (what protecting it costs offline) */
	bool sample =
		online &&
		(now % GPRIO_NS_PER_S < SHIM_SAMPLE ||
		 now < atomic_load_explicit(&bind->row->sample_until, memory_order_relaxed)) &&
		!capturing;
	uint64_t prev = atomic_load_explicit(&x->wptr, memory_order_relaxed);
	/* the stream had run dry: every earlier submission marked, and the marks landed */
	bool start = atomic_load_explicit(&x->marked, memory_order_relaxed) == prev &&
		     done_of((unsigned)(x - cc.slot)) >= prev && !capturing;
	/* unless a hold (a hint's, or a linger's) kept the process's group resident: the GPU
	 * had not been handed over, so this costs no switch */
	if (start && shim_hold_active())
		start = false;
	if (start)
		atomic_fetch_add_explicit(&stats->starts, 1, memory_order_relaxed);
	if (sample) {
		atomic_fetch_add_explicit(&stats->sampled, 1, memory_order_relaxed);
		if (start)
			atomic_fetch_add_explicit(&stats->sampled_starts, 1, memory_order_relaxed);
	}
	uint64_t seq = atomic_fetch_add_explicit(&x->wptr, 1, memory_order_acq_rel) + 1;
	gprio_ns zero = 0;
	atomic_compare_exchange_strong(&x->since, &zero, now);
	atomic_store_explicit(&x->last_ns, now, memory_order_relaxed);
	if (x->per_thread || sample || atomic_load_explicit(&x->capturing, memory_order_relaxed) ||
	    now - atomic_load_explicit(&x->marked_ns, memory_order_relaxed) >= mark_every(online))
		mark(x, s, ptsz, seq, now);
}

void shim_complete_mark_tail(CUstream s, bool ptsz)
{
	if (atomic_load_explicit(&cc.state, memory_order_relaxed) <= 0 ||
	    atomic_load_explicit(&cc.captures, memory_order_relaxed) > 0)
		return;
	struct shim_stream *x = known_slot(s, ptsz);
	if (!x || x->per_thread)
		return;
	uint64_t w = atomic_load_explicit(&x->wptr, memory_order_acquire);
	if (atomic_load_explicit(&x->marked, memory_order_relaxed) < w)
		mark(x, s, ptsz, w, shim_now());
}

/* Forget a destroyed stream, a context's streams, or every stream: the poller must never name
 * them again. */
void shim_complete_forget(const void *s, const void *ctx, bool whole)
{
	pthread_mutex_lock(&cc.lock);
	unsigned n = atomic_load(&cc.nslots);
	for (unsigned i = 0; i < n; i++) {
		struct shim_stream *x = &cc.slot[i];
		if (whole ? (!ctx || x->ctx == ctx) : (s && x->stream == s))
			atomic_store(&x->key, 0);
	}
	pthread_mutex_unlock(&cc.lock);
}

int shim_captures(void)
{
	return atomic_load_explicit(&cc.captures, memory_order_relaxed);
}

void shim_capture(int delta)
{
	if (delta > 0 || atomic_load(&cc.captures) > 0)
		atomic_fetch_add(&cc.captures, delta);
}

uint32_t shim_gpu_rows(const struct shim_binding *b)
{
	uint32_t n = atomic_load_explicit(&b->stats->ngpus, memory_order_relaxed), rows = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t pci = atomic_load_explicit(&b->stats->gpus[k], memory_order_relaxed);
		int found = -1;
		for (int g = 0; g < GPRIO_SHM_GPUS && found < 0; g++)
			if (atomic_load_explicit(&b->shm->gpus[g].pci, memory_order_relaxed) == pci)
				found = g;
		if (found < 0)
			return 0; /* gpriod has not listed it yet */
		rows |= 1u << found;
	}
	return rows;
}

/* ---------------------------------------------------------------- host waits */

gprio_ns shim_wait_begin(void)
{
	struct shim_binding *b = shim_binding();
	gprio_ns now = shim_now(), zero = 0;
	if (b)
		atomic_compare_exchange_strong(&b->stats->wait_since, &zero, now);
	return now;
}

void shim_wait_end(gprio_ns t0, gprio_ns at_least)
{
	struct shim_binding *b = shim_binding();
	if (!b)
		return;
	gprio_ns now = shim_now(), mine = t0;
	if (now - t0 >= at_least) {
		atomic_fetch_add_explicit(&b->stats->waits, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&b->stats->wait_ns, now - t0, memory_order_relaxed);
	}
	atomic_compare_exchange_strong(&b->stats->wait_since, &mine, 0);
}

/* ---------------------------------------------------------------- the poller */

/* The PCI id of the slot's context's device (poller, lock held). */
static void learn_gpu(struct shim_stream *x, struct shim_binding *b)
{
	x->gpu_known = true;
	if (!x->ctx || cc.cu->push(x->ctx) != 0)
		return;
	int dev = -1, bus = 0, devid = 0, dom = 0;
	bool ok = cc.ctx_device(&dev) == 0 && cc.dev_attr(&bus, SHIM_ATTR_PCI_BUS_ID, dev) == 0 &&
		  cc.dev_attr(&devid, SHIM_ATTR_PCI_DEVICE_ID, dev) == 0 &&
		  cc.dev_attr(&dom, SHIM_ATTR_PCI_DOMAIN_ID, dev) == 0;
	void *popped;
	cc.cu->pop(&popped);
	if (!ok)
		return;
	uint32_t pci = (uint32_t)dom << 16 | (uint32_t)(bus & 0xff) << 8 | (uint32_t)(devid & 0xff);
	if (!pci)
		return; /* 0000:00:00 is a host bridge, never a GPU: 0 means "none" here */
	uint32_t n = atomic_load(&b->stats->ngpus);
	for (uint32_t k = 0; k < n; k++)
		if (atomic_load(&b->stats->gpus[k]) == pci)
			return;
	if (n < GPRIO_SHM_PROC_GPUS) {
		atomic_store(&b->stats->gpus[n], pci);
		atomic_store(&b->stats->ngpus, n + 1);
		SHIM_LOG("uses GPU " GPRIO_PCI_FMT "\n", GPRIO_PCI_ARGS(pci));
	}
}

static bool poll_once(struct shim_binding *b, gprio_ns now)
{
	uint64_t sub = 0, comp = 0;
	uint32_t pending = 0, stuck = 0, streams = 0;
	gprio_ns oldest = 0;
	gprio_ns every = mark_every(atomic_load(&b->row->klass) == GPRIO_CLASS_ONLINE);
	pthread_mutex_lock(&cc.lock);
	unsigned n = atomic_load(&cc.nslots);
	for (unsigned i = 0; i < n; i++) {
		struct shim_stream *x = &cc.slot[i];
		if (!atomic_load(&x->key))
			continue;
		streams++;
		if (!x->gpu_known)
			learn_gpu(x, b);
		uint64_t w = atomic_load(&x->wptr), d = done_of(i);
		if (d > w)
			d = w; /* a slot restarted under a marker still in flight */
		sub += w;
		comp += d;
		if (d == w) {
			atomic_store(&x->since, 0);
			continue;
		}
		gprio_ns since = atomic_load(&x->since), zero = 0;
		if (!since && atomic_compare_exchange_strong(&x->since, &zero, now))
			since = now;
		pending++;
		if (since && now - since >= 100 * GPRIO_NS_PER_MS)
			stuck++;
		if (since && (!oldest || since < oldest))
			oldest = since;
		/* an unmarked tail no launch followed: mark it from here (never the per-thread
		 * stream of another thread) */
		if (!x->per_thread && !atomic_load(&cc.captures) && atomic_load(&x->marked) < w &&
		    now - atomic_load(&x->last_ns) >= every && x->ctx && cc.cu->push(x->ctx) == 0) {
			mark(x, x->stream, false, w, now);
			void *popped;
			cc.cu->pop(&popped);
		}
	}
	pthread_mutex_unlock(&cc.lock);
	atomic_store(&b->stats->submitted, sub);
	atomic_store(&b->stats->completed, comp);
	atomic_store(&b->stats->pending_since, oldest);
	atomic_store(&b->stats->streams, streams);
	atomic_store(&b->stats->pending, pending);
	atomic_store(&b->stats->stuck, stuck);
	return pending > 0;
}

static void *poller(void *unused)
{
	(void)unused;
	while (!atomic_load(&cc.stop)) {
		struct shim_binding *b = shim_binding();
		bool busy = false;
		/* nothing while a graph capture runs: some calls would invalidate it */
		if (b && atomic_load(&cc.state) > 0 && !atomic_load(&cc.captures))
			busy = poll_once(b, shim_now());
		/* fine while an online process has work pending (its bursts end within 200 us of
		 * their last marker), coarse otherwise: an offline job always has work pending, and
		 * nothing decides on the exact end of its bursts */
		bool online = b && atomic_load_explicit(&b->row->klass, memory_order_relaxed) ==
					   GPRIO_CLASS_ONLINE;
		struct timespec ts = {0, busy && online ? 200 * 1000 : 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void stop_poller(void)
{
	if (!cc.poller_started || cc.poller_pid != getpid())
		return;
	atomic_store(&cc.stop, true);
	pthread_join(cc.poller, NULL);
	cc.poller_started = false;
}

void shim_complete_start(void)
{
	if (pthread_create(&cc.poller, NULL, poller, NULL) == 0) {
		cc.poller_started = true;
		cc.poller_pid = getpid();
		/* registered after the CUDA runtime's own exit handlers (we start at the first GPU
		 * work): ours run first, so no marker is issued into a context being torn down */
		atexit(stop_poller);
	}
}
