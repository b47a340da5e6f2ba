/* libgprio-cuda.so: loaded into unmodified CUDA programs with LD_PRELOAD (gprio run does it).
 *
 * - Interposes dlsym, cuGetProcAddress and cuGetProcAddress_v2 so that every way a program finds
 *   the driver's launch entry points (the CUDA runtime gets all of them through cuGetProcAddress,
 *   honouring version and per-thread-default-stream flags) hands back our wrappers; exports the
 *   same names for programs that link libcuda directly.
 * - Every launch, graph launch and async copy/memset goes through launch_gate(): an online process
 *   publishes that its level is hot; an offline process waits while a higher level is hot.
 * - Interposes ioctl to see libcuda create its time-slice groups (NV_ESC_RM_ALLOC of class
 *   KEPLER_CHANNEL_GROUP_A) and sets their timeslice through the same fd and client
 *   (NV_ESC_RM_CONTROL SET_TIMESLICE), keeping the original to restore; libcuda's own later
 *   SET_TIMESLICE on one of them is given our value in the same call.
 * - Registers with gpriod over its control socket (ctl.h): gpriod sees our
 *   credentials and grants (or demotes) the class we ask for; we get the control segment
 *   read-only, the hot segment writable only if we may publish, and our own stats page.
 * - Under MPS (a control pipe in CUDA_MPS_PIPE_DIRECTORY or /tmp/nvidia-mps), an offline process
 *   gets CUDA_MPS_CLIENT_PRIORITY=1 (below normal) before CUDA reads it: MPS has no TSG per
 *   client, so block-level client priority is the mechanism there.
 * - Fails open: with no daemon, a heartbeat older than 100 ms, or its socket closing, it passes
 *   everything through and restores the original timeslices. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "gprio/gate.h"
#include "gprio/priority.h"
#include "shm.h"

#define EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef void *CUstream;
typedef void *CUfunction;
typedef void *CUgraphExec;
typedef unsigned long long CUdeviceptr;
#define CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM 2ull

/* ---------------------------------------------------------------- state */

/* What one registration with gpriod gave us. Never unmapped while we run (a launch thread may
 * still hold the pointers when gpriod goes away); a gpriod restart costs three pages. */
struct binding {
	const struct gprio_shm *shm;     /* control segment, read-only */
	const struct gprio_shm_proc *row; /* our row in it: granted class/priority, gate override */
	struct gprio_shm_hot *hot;       /* writable only if hot_rw */
	_Atomic bool hot_rw;
	struct gprio_shm_stats *stats;   /* ours */
};
static struct binding *_Atomic g_b;      /* NULL: never registered; once set, never NULL again */
static _Atomic bool g_registered;        /* g_b is the current registration (watcher's view) */
static int g_sock = -1;                  /* the control connection (watcher thread only) */
static int g_class = -1;                 /* -1: not started by gprio run: pass through */
static int g_prio;                       /* what we ask for */
static _Atomic int g_live;               /* daemon alive and policy active */
static int g_debug;
static uint32_t g_mps_mech;              /* GPRIO_MECH_MPS when an MPS control daemon runs */

static gprio_ns mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gprio_ns)ts.tv_sec * GPRIO_NS_PER_S + (gprio_ns)ts.tv_nsec;
}

#define LOG(...)                                                             \
	do {                                                                 \
		if (g_debug)                                                 \
			fprintf(stderr, "gprio-shim[%d]: ", (int)getpid()),  \
				fprintf(stderr, __VA_ARGS__);                \
	} while (0)

/* ---------------------------------------------------------------- real symbols */

typedef void *(*dlsym_fn)(void *, const char *);
static dlsym_fn real_dlsym_fn;

static void *real_dlsym(void *h, const char *name)
{
	if (!real_dlsym_fn) {
		real_dlsym_fn = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
		if (!real_dlsym_fn)
			real_dlsym_fn = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	}
	return real_dlsym_fn ? real_dlsym_fn(h, name) : NULL;
}

static void *real_libcuda(void)
{
	static void *h;
	if (!h) {
		const char *p = getenv("GPRIO_REAL_LIBCUDA");
		h = dlopen(p && *p ? p : "libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
	}
	return h;
}

static void *resolve(const char *name)
{
	void *f = real_dlsym(RTLD_NEXT, name);
	if (!f && real_libcuda())
		f = real_dlsym(real_libcuda(), name);
	return f;
}

/* ---------------------------------------------------------------- the gate */

static struct binding *binding(void)
{
	return atomic_load_explicit(&g_b, memory_order_acquire);
}

static void load_hot(const struct binding *b, gprio_ns hot[GPRIO_PRIO_LEVELS])
{
	for (int l = 0; l < GPRIO_PRIO_LEVELS; l++)
		hot[l] = atomic_load_explicit(&b->hot->hot_until[l], memory_order_relaxed);
}

static bool daemon_fresh(const struct binding *b, gprio_ns now)
{
	gprio_ns hb = atomic_load_explicit(&b->shm->heartbeat_ns, memory_order_relaxed);
	return hb + GPRIO_SHM_STALE_NS > now;
}

static void mech_set(uint32_t bits, bool on)
{
	struct binding *b = binding();
	if (!b)
		return;
	if (on)
		atomic_fetch_or(&b->stats->mechanisms, bits);
	else
		atomic_fetch_and(&b->stats->mechanisms, ~bits);
}

static unsigned inflight_bound(void);
static void fl_wait(unsigned bound);

/* Called before every submission. Cheap when inactive: one relaxed load. */
static void launch_gate(void)
{
	if (!atomic_load_explicit(&g_live, memory_order_acquire))
		return; /* pairs with the watcher's store after it registered */
	struct binding *b = binding();
	const struct gprio_shm_proc *row = b->row;
	gprio_ns now = mono();
	atomic_fetch_add_explicit(&b->stats->launches, 1, memory_order_relaxed);
	atomic_store_explicit(&b->stats->last_launch_ns, now, memory_order_relaxed);
	int prio = (int)atomic_load_explicit(&row->priority, memory_order_relaxed);
	gprio_ns hyst = atomic_load_explicit(&b->shm->hysteresis_ns, memory_order_relaxed);
	if (prio > 0 && atomic_load_explicit(&b->hot_rw, memory_order_relaxed)) {
		/* publish: this level is hot until now + hysteresis (never moves backwards) */
		_Atomic uint64_t *h = &b->hot->hot_until[prio];
		gprio_ns cur = atomic_load_explicit(h, memory_order_relaxed);
		gprio_ns want = gprio_hot_extend(cur, now, hyst);
		while (want > cur && !atomic_compare_exchange_weak_explicit(
					     h, &cur, want, memory_order_release, memory_order_relaxed))
			want = gprio_hot_extend(cur, now, hyst);
	}
	if (!atomic_load_explicit(&b->shm->gating, memory_order_relaxed))
		return;
	unsigned bound = inflight_bound();
	if (bound)
		fl_wait(bound);
	gprio_ns hot[GPRIO_PRIO_LEVELS];
	load_hot(b, hot);
	unsigned ov = atomic_load_explicit(&row->gate_override, memory_order_relaxed);
	const struct gprio_policy *pol = gprio_policy_at(atomic_load_explicit(&b->shm->policy,
									       memory_order_relaxed));
	if (!gprio_gate_closed(pol, hot, prio, ov, now))
		return;
	/* held: wait for the level above to cool down, a release, or the daemon to vanish */
	atomic_fetch_add(&b->stats->waiting, 1);
	gprio_ns t0 = now;
	for (;;) {
		struct timespec ts = {0, 20000}; /* 20 us: well under a context switch */
		nanosleep(&ts, NULL);
		now = mono();
		if (!daemon_fresh(b, now) || !atomic_load_explicit(&g_live, memory_order_relaxed)) {
			LOG("gate released after %.3f ms: daemon %s\n", (double)(now - t0) / 1e6,
			    daemon_fresh(b, now) ? "inactive or gone" : "heartbeat stale");
			break; /* fail open */
		}
		load_hot(b, hot);
		ov = atomic_load_explicit(&row->gate_override, memory_order_relaxed);
		prio = (int)atomic_load_explicit(&row->priority, memory_order_relaxed);
		if (!gprio_gate_closed(pol, hot, prio, ov, now)) {
			LOG("gate opened after %.3f ms (hot level %d, override %u)\n",
			    (double)(now - t0) / 1e6, gprio_hot_level(hot, now), ov);
			break;
		}
	}
	atomic_fetch_sub(&b->stats->waiting, 1);
	atomic_fetch_add(&b->stats->gated_launches, 1);
	atomic_fetch_add(&b->stats->gate_wait_ns, now - t0);
}

/* ---------------------------------------------------------------- offline work in flight */

/* An offline process records an event after each submission; before the next one it waits while
 * `inflight_bound` of them are unfinished. Work it already queued is what runs in the CPU gaps of
 * a launch-bound online service (each gap then costs online a context switch back), so the bound
 * caps how much of it there can be when online work arrives. Events are created lazily in the
 * submitting thread's context; any driver error turns the bound off for good (fail open). */
#define RING 256
typedef CUresult (*ev_create_fn)(void **, unsigned);
typedef CUresult (*ev_record_fn)(void *, CUstream);
typedef CUresult (*ev_query_fn)(void *);
static struct {
	pthread_mutex_t lock;
	void *ev[RING];
	uint64_t head, tail; /* head: oldest unfinished; tail: next to record */
	bool broken;
	ev_create_fn create;
	ev_record_fn record, record_ptsz;
	ev_query_fn query;
} g_fl = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned inflight_bound(void)
{
	if (g_fl.broken || !atomic_load_explicit(&g_live, memory_order_acquire))
		return 0;
	struct binding *b = binding();
	if (atomic_load_explicit(&b->row->klass, memory_order_relaxed) != GPRIO_CLASS_OFFLINE)
		return 0;
	unsigned k = atomic_load_explicit(&b->shm->inflight_bound, memory_order_relaxed);
	return k < RING ? k : RING - 1;
}

static void fl_retire(void) /* lock held */
{
	while (g_fl.head < g_fl.tail && g_fl.query(g_fl.ev[g_fl.head % RING]) == 0)
		g_fl.head++;
}

/* before a submission: wait while `bound` are unfinished */
static void fl_wait(unsigned bound)
{
	pthread_mutex_lock(&g_fl.lock);
	if (g_fl.query) {
		fl_retire();
		while (g_fl.tail - g_fl.head >= bound && !g_fl.broken) {
			pthread_mutex_unlock(&g_fl.lock);
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
			struct binding *b = binding();
			if (!atomic_load_explicit(&g_live, memory_order_acquire) || !b ||
			    !daemon_fresh(b, mono()))
				return; /* fail open */
			pthread_mutex_lock(&g_fl.lock);
			fl_retire();
		}
	}
	pthread_mutex_unlock(&g_fl.lock);
}

static void track_submission(CUstream stream, bool ptsz)
{
	if (!inflight_bound())
		return;
	pthread_mutex_lock(&g_fl.lock);
	if (!g_fl.query) {
		g_fl.create = (ev_create_fn)resolve("cuEventCreate");
		g_fl.record = (ev_record_fn)resolve("cuEventRecord");
		g_fl.record_ptsz = (ev_record_fn)resolve("cuEventRecord_ptsz");
		g_fl.query = (ev_query_fn)resolve("cuEventQuery");
		if (!g_fl.create || !g_fl.record || !g_fl.query)
			g_fl.broken = true;
	}
	void **ev = &g_fl.ev[g_fl.tail % RING];
	ev_record_fn rec = ptsz && g_fl.record_ptsz ? g_fl.record_ptsz : g_fl.record;
	if (!g_fl.broken && g_fl.tail - g_fl.head >= RING - 1)
		fl_retire();
	if (g_fl.broken || g_fl.tail - g_fl.head >= RING - 1 ||
	    (!*ev && g_fl.create(ev, 2 /* CU_EVENT_DISABLE_TIMING */) != 0) || rec(*ev, stream) != 0) {
		if (!g_fl.broken)
			LOG("in-flight tracking failed: bound off for this process\n");
		g_fl.broken = true;
		mech_set(GPRIO_MECH_INFLIGHT, false);
	} else {
		g_fl.tail++;
		mech_set(GPRIO_MECH_INFLIGHT, true);
	}
	pthread_mutex_unlock(&g_fl.lock);
}

/* ---------------------------------------------------------------- wrapped entry points */

/* Each API has two real slots: the CUDA runtime may ask for the legacy and the per-thread
 * default-stream variant of the same name; our wrapper calls exactly what it was handed. */
#define SLOTS(name)                                                        \
	static void *real_##name;                                          \
	static void *real_##name##_ptsz;

#define WRAP(name, params, args, stream)                                    \
	SLOTS(name)                                                        \
	EXPORT CUresult name params;                                       \
	CUresult name params                                               \
	{                                                                  \
		if (!real_##name)                                          \
			real_##name = resolve(#name);                      \
		if (!real_##name)                                          \
			return 999; /* CUDA_ERROR_UNKNOWN */               \
		launch_gate();                                             \
		CUresult rc_ = ((CUresult(*) params)real_##name) args;     \
		if (rc_ == 0)                                              \
			track_submission(stream, false);                   \
		return rc_;                                                \
	}                                                                  \
	EXPORT CUresult name##_ptsz params;                                \
	CUresult name##_ptsz params                                        \
	{                                                                  \
		if (!real_##name##_ptsz)                                   \
			real_##name##_ptsz = resolve(#name "_ptsz");       \
		if (!real_##name##_ptsz)                                   \
			return 999;                                        \
		launch_gate();                                             \
		CUresult rc_ = ((CUresult(*) params)real_##name##_ptsz) args; \
		if (rc_ == 0)                                              \
			track_submission(stream, true);                    \
		return rc_;                                                \
	}

/* CUlaunchConfig: 7 unsigned (grid, block, shared memory), then the stream */
struct launch_config {
	unsigned dims[7];
	CUstream stream;
};

WRAP(cuLaunchKernel,
     (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
      unsigned shm, CUstream s, void **p, void **e),
     (f, gx, gy, gz, bx, by, bz, shm, s, p, e), s)
WRAP(cuLaunchKernelEx, (const void *cfg, CUfunction f, void **p, void **e), (cfg, f, p, e),
     cfg ? ((const struct launch_config *)cfg)->stream : NULL)
WRAP(cuLaunchCooperativeKernel,
     (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
      unsigned shm, CUstream s, void **p),
     (f, gx, gy, gz, bx, by, bz, shm, s, p), s)
WRAP(cuGraphLaunch, (CUgraphExec g, CUstream s), (g, s), s)
WRAP(cuMemcpyAsync, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st), st)
WRAP(cuMemcpyHtoDAsync_v2, (CUdeviceptr d, const void *s, size_t n, CUstream st), (d, s, n, st), st)
WRAP(cuMemcpyDtoHAsync_v2, (void *d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st), st)
WRAP(cuMemcpyDtoDAsync_v2, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st), st)
WRAP(cuMemsetD8Async, (CUdeviceptr d, unsigned char v, size_t n, CUstream st), (d, v, n, st), st)
WRAP(cuMemsetD32Async, (CUdeviceptr d, unsigned v, size_t n, CUstream st), (d, v, n, st), st)

struct wrapped {
	const char *name;     /* as exported by libcuda */
	const char *base;     /* as asked for through cuGetProcAddress */
	int min_version;      /* older requests resolve to a different ABI: not wrapped */
	void **slot, **slot_ptsz;
	void *wrap, *wrap_ptsz;
};

#define ENTRY(name, base, ver) \
	{#name, base, ver, &real_##name, &real_##name##_ptsz, (void *)name, (void *)name##_ptsz}

static const struct wrapped wrapped[] = {
	ENTRY(cuLaunchKernel, "cuLaunchKernel", 4000),
	ENTRY(cuLaunchKernelEx, "cuLaunchKernelEx", 11060),
	ENTRY(cuLaunchCooperativeKernel, "cuLaunchCooperativeKernel", 9000),
	ENTRY(cuGraphLaunch, "cuGraphLaunch", 10000),
	ENTRY(cuMemcpyAsync, "cuMemcpyAsync", 4000),
	ENTRY(cuMemcpyHtoDAsync_v2, "cuMemcpyHtoDAsync", 3020),
	ENTRY(cuMemcpyDtoHAsync_v2, "cuMemcpyDtoHAsync", 3020),
	ENTRY(cuMemcpyDtoDAsync_v2, "cuMemcpyDtoDAsync", 3020),
	ENTRY(cuMemsetD8Async, "cuMemsetD8Async", 3020),
	ENTRY(cuMemsetD32Async, "cuMemsetD32Async", 3020),
};
#define NWRAPPED (sizeof(wrapped) / sizeof(wrapped[0]))

/* Hand back our wrapper for a real entry point, remembering the real one in a free slot (or the
 * slot already holding it). NULL when both slots hold other functions: pass through. */
static void *adopt(const struct wrapped *w, void *real)
{
	if (real == w->wrap || real == w->wrap_ptsz)
		return real; /* a driver whose own references bind to our exports: never loop */
	if (!*w->slot || *w->slot == real) {
		*w->slot = real;
		return w->wrap;
	}
	if (!*w->slot_ptsz || *w->slot_ptsz == real) {
		*w->slot_ptsz = real;
		return w->wrap_ptsz;
	}
	return NULL;
}

static const struct wrapped *by_base(const char *sym, int version)
{
	for (size_t i = 0; i < NWRAPPED; i++)
		if (strcmp(wrapped[i].base, sym) == 0)
			return version >= wrapped[i].min_version ? &wrapped[i] : NULL;
	return NULL;
}

typedef CUresult (*gpa_v2_fn)(const char *, void **, int, unsigned long long, void *);
typedef CUresult (*gpa_v1_fn)(const char *, void **, int, unsigned long long);
static void *real_gpa_v2, *real_gpa_v1;

static void after_gpa(const char *sym, void **pfn, int version, CUresult rc)
{
	if (rc != 0 || !pfn || !*pfn)
		return;
	const struct wrapped *w = by_base(sym, version);
	if (!w)
		return;
	void *mine = adopt(w, *pfn);
	if (mine)
		*pfn = mine;
}

EXPORT CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version,
				    unsigned long long flags, void *status);
CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version, unsigned long long flags,
			     void *status)
{
	if (!real_gpa_v2)
		real_gpa_v2 = resolve("cuGetProcAddress_v2");
	if (!real_gpa_v2)
		return 999;
	CUresult rc = ((gpa_v2_fn)real_gpa_v2)(sym, pfn, version, flags, status);
	if (sym && strcmp(sym, "cuGetProcAddress") == 0 && rc == 0 && pfn && *pfn) {
		/* asking the driver for its own lookup function: keep intercepting */
		real_gpa_v2 = *pfn;
		*pfn = (void *)cuGetProcAddress_v2;
		return rc;
	}
	after_gpa(sym, pfn, version, rc);
	return rc;
}

EXPORT CUresult cuGetProcAddress(const char *sym, void **pfn, int version, unsigned long long flags);
CUresult cuGetProcAddress(const char *sym, void **pfn, int version, unsigned long long flags)
{
	if (!real_gpa_v1)
		real_gpa_v1 = resolve("cuGetProcAddress");
	if (!real_gpa_v1)
		return 999;
	CUresult rc = ((gpa_v1_fn)real_gpa_v1)(sym, pfn, version, flags);
	after_gpa(sym, pfn, version, rc);
	return rc;
}

/* Programs (the CUDA runtime among them) dlopen libcuda and dlsym its entry points: a handle
 * lookup never sees preloaded symbols, so dlsym itself is interposed for the names we wrap. */
EXPORT void *dlsym(void *handle, const char *name);
void *dlsym(void *handle, const char *name)
{
	void *f = real_dlsym(handle, name);
	if (!f || name[0] != 'c' || name[1] != 'u')
		return f;
	if (strcmp(name, "cuGetProcAddress_v2") == 0) {
		real_gpa_v2 = f;
		return (void *)cuGetProcAddress_v2;
	}
	if (strcmp(name, "cuGetProcAddress") == 0) {
		real_gpa_v1 = f;
		return (void *)cuGetProcAddress;
	}
	for (size_t i = 0; i < NWRAPPED; i++) {
		size_t l = strlen(wrapped[i].name);
		if (strncmp(name, wrapped[i].name, l) != 0)
			continue;
		if (f == wrapped[i].wrap || f == wrapped[i].wrap_ptsz)
			return f;
		if (name[l] == '\0') {
			if (!*wrapped[i].slot)
				*wrapped[i].slot = f;
			return *wrapped[i].slot == f ? wrapped[i].wrap : f;
		}
		if (strcmp(name + l, "_ptsz") == 0) {
			if (!*wrapped[i].slot_ptsz)
				*wrapped[i].slot_ptsz = f;
			return *wrapped[i].slot_ptsz == f ? wrapped[i].wrap_ptsz : f;
		}
	}
	return f;
}

/* ---------------------------------------------------------------- TSG timeslices */

#define NV_IOCTL_MAGIC 'F'
#define NV_ESC_RM_CONTROL 0x2a
#define NV_ESC_RM_ALLOC 0x2b
#define KEPLER_CHANNEL_GROUP_A 0xa06cu
#define TSG_SET_TIMESLICE 0xa06c0103u
#define TSG_GET_TIMESLICE 0xa06c0104u

struct nv_rm_control { /* NVOS54_PARAMETERS */
	uint32_t hClient, hObject, cmd, flags;
	uint64_t params;
	uint32_t paramsSize, status;
};

struct tsg {
	int fd;
	uint32_t client, handle;
	uint64_t orig_us; /* 0: unknown */
	uint64_t set_us;  /* what we set (0: driver default in place) */
};

#define MAX_TSGS 256
static struct tsg g_tsg[MAX_TSGS];
static _Atomic unsigned g_ntsg; /* read without the lock by ioctl() */
static pthread_mutex_t g_tsg_lock = PTHREAD_MUTEX_INITIALIZER;

typedef int (*ioctl_fn)(int, unsigned long, ...);
static ioctl_fn real_ioctl_fn;

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	if (!real_ioctl_fn)
		real_ioctl_fn = (ioctl_fn)real_dlsym(RTLD_NEXT, "ioctl");
	return real_ioctl_fn ? real_ioctl_fn(fd, req, arg) : -1;
}

static int rm_control(struct tsg *t, uint32_t cmd, uint64_t *us)
{
	struct nv_rm_control c = {t->client, t->handle, cmd, 0, (uint64_t)(uintptr_t)us, 8, 0};
	unsigned long req = _IOWR(NV_IOCTL_MAGIC, NV_ESC_RM_CONTROL, struct nv_rm_control);
	if (real_ioctl(t->fd, req, &c) != 0)
		return -errno;
	return c.status == 0 ? 0 : -EIO;
}

/* Give every TSG of this process the timeslice the daemon asks for its class (want > 0), or put
 * back the original (want == 0). With `verify`, read each one back and set it again where it
 * differs: libcuda finishes setting a context up after creating its TSGs and a value set at
 * creation does not stay (seen on driver 580). Returns how many TSGs were set. */
static unsigned apply_timeslices(uint64_t want_us, bool verify)
{
	unsigned n = 0;
	pthread_mutex_lock(&g_tsg_lock);
	for (unsigned i = 0; i < g_ntsg; i++) {
		struct tsg *t = &g_tsg[i];
		if (!t->orig_us && rm_control(t, TSG_GET_TIMESLICE, &t->orig_us) != 0)
			t->orig_us = 0;
		uint64_t us = want_us ? want_us : t->orig_us;
		if (us == 0 || (!want_us && !t->set_us))
			continue; /* nothing to restore */
		if (us == t->set_us && !verify)
			continue;
		if (verify && us == t->set_us) {
			uint64_t cur = 0;
			if (rm_control(t, TSG_GET_TIMESLICE, &cur) != 0 || cur == us)
				continue;
			LOG("TSG %#x timeslice found at %llu us, setting %llu again\n", t->handle,
			    (unsigned long long)cur, (unsigned long long)us);
		}
		uint64_t v = us;
		if (rm_control(t, TSG_SET_TIMESLICE, &v) == 0) {
			t->set_us = want_us ? us : 0;
			n++;
			mech_set(GPRIO_MECH_TSG_TIMESLICE, true);
			LOG("TSG %#x timeslice -> %llu us\n", t->handle, (unsigned long long)us);
		} else {
			mech_set(GPRIO_MECH_TSG_FAILED, true);
			LOG("TSG %#x: SET_TIMESLICE refused: timeslices unavailable\n", t->handle);
		}
	}
	pthread_mutex_unlock(&g_tsg_lock);
	return n;
}

/* Our TSG with this (client, handle), or NULL. Call with g_tsg_lock held. */
static struct tsg *tsg_find(uint32_t client, uint32_t handle)
{
	for (unsigned i = 0; i < g_ntsg; i++)
		if (g_tsg[i].client == client && g_tsg[i].handle == handle)
			return &g_tsg[i];
	return NULL;
}

static bool tsg_known(uint32_t client, uint32_t handle)
{
	pthread_mutex_lock(&g_tsg_lock);
	bool k = tsg_find(client, handle) != NULL;
	pthread_mutex_unlock(&g_tsg_lock);
	return k;
}

/* When to read the timeslices back. Each read is an RM control, i.e. a call into the GPU's
 * firmware, so it is not done at a fixed fast rate: right after libcuda touches one of our TSGs
 * (a control on it, or an object allocated under it: that is when the driver may put its own
 * value back), then at growing intervals (100 ms doubling up to GPRIO_TSG_VERIFY_MAX_MS, default
 * 10 s) as a safety net; a value found changed starts the intervals over. */
#define TSG_VERIFY_MIN_NS (100 * GPRIO_NS_PER_MS)
static _Atomic bool g_tsg_dirty;
static gprio_ns g_verify_max_ns = 10 * GPRIO_NS_PER_S;
static int g_trace_rm; /* GPRIO_TRACE_RM=1: log what libcuda does to our TSGs */

static uint64_t wanted_timeslice(void)
{
	struct binding *b = binding();
	if (!b || !atomic_load(&g_live))
		return 0;
	/* the class gpriod granted (it may have demoted us, or `gprio set` changed it) */
	return atomic_load(&b->row->klass) == GPRIO_CLASS_ONLINE ? atomic_load(&b->shm->online_timeslice_us)
								 : atomic_load(&b->shm->offline_timeslice_us);
}

/* libcuda's own RM calls on one of our TSGs: a control on it (c), or an object allocated under
 * it (alloc = {hRoot, hObjectParent, hObjectNew, hClass}). Mark the timeslices for a read-back
 * (the watcher does it within 10 ms). */
static void rm_control_seen(const struct nv_rm_control *c)
{
	if (!tsg_known(c->hClient, c->hObject))
		return;
	atomic_store(&g_tsg_dirty, true);
	if (g_trace_rm)
		fprintf(stderr, "gprio-shim[%d]: libcuda RM control %#x on TSG %#x (status %u)\n", (int)getpid(),
			c->cmd, c->hObject, c->status);
}

static void rm_alloc_seen(const uint32_t *alloc)
{
	if (!tsg_known(alloc[0], alloc[1]))
		return;
	atomic_store(&g_tsg_dirty, true);
	if (g_trace_rm)
		fprintf(stderr, "gprio-shim[%d]: libcuda RM alloc class %#x under TSG %#x\n", (int)getpid(),
			alloc[3], alloc[1]);
}

/* libcuda sets a timeslice of its own on a TSG of ours (driver 580: 2048 us on a context's first
 * TSG once the context is set up). Its value becomes the one to restore; the driver gets ours
 * (want > 0) in the same call, so there is no window with libcuda's value in place. Returns the
 * ioctl's result, or -2 when this is not such a call. */
static int rm_set_timeslice(int fd, unsigned long req, struct nv_rm_control *c)
{
	if (c->cmd != TSG_SET_TIMESLICE || c->paramsSize != 8 || !c->params)
		return -2;
	pthread_mutex_lock(&g_tsg_lock);
	struct tsg *t = tsg_find(c->hClient, c->hObject);
	if (!t) {
		pthread_mutex_unlock(&g_tsg_lock);
		return -2;
	}
	uint64_t *v = (uint64_t *)(uintptr_t)c->params, theirs = *v, want = wanted_timeslice();
	if (want)
		*v = want;
	int rc = real_ioctl(fd, req, c);
	*v = theirs; /* the caller's block as it wrote it */
	if (rc == 0 && c->status == 0) {
		t->orig_us = theirs;
		t->set_us = want;
	}
	pthread_mutex_unlock(&g_tsg_lock);
	LOG("libcuda sets TSG %#x to %llu us: %s%llu us\n", c->hObject, (unsigned long long)theirs,
	    want ? "the driver gets ours, " : "passed through, ", (unsigned long long)(want ? want : theirs));
	return rc;
}

EXPORT int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (g_class < 0 || !arg || _IOC_TYPE(req) != NV_IOCTL_MAGIC)
		return real_ioctl(fd, req, arg);
	size_t sz = _IOC_SIZE(req);
	if (_IOC_NR(req) == NV_ESC_RM_CONTROL) {
		if (g_ntsg && sz == sizeof(struct nv_rm_control)) {
			int r = rm_set_timeslice(fd, req, arg);
			if (r != -2)
				return r;
		}
		int rc = real_ioctl(fd, req, arg);
		if (rc == 0 && g_ntsg && sz >= sizeof(struct nv_rm_control))
			rm_control_seen(arg);
		return rc;
	}
	int rc = real_ioctl(fd, req, arg);
	if (rc != 0 || _IOC_NR(req) != NV_ESC_RM_ALLOC || sz < 16)
		return rc;
	const uint32_t *p = arg; /* {hRoot, hObjectParent, hObjectNew, hClass, ...} */
	if (p[3] != KEPLER_CHANNEL_GROUP_A) {
		if (g_ntsg)
			rm_alloc_seen(p);
		return rc;
	}
	/* the status word sits at the end of NVOS21 (32 bytes) / NVOS64 (48 bytes) */
	if ((sz == 32 || sz == 48) && p[sz / 4 - 1] != 0)
		return rc;
	pthread_mutex_lock(&g_tsg_lock);
	if (g_ntsg < MAX_TSGS)
		g_tsg[g_ntsg++] = (struct tsg){fd, p[0], p[2], 0, 0};
	pthread_mutex_unlock(&g_tsg_lock);
	struct binding *b = binding();
	if (b)
		atomic_fetch_add(&b->stats->tsgs, 1);
	LOG("TSG %#x created (client %#x)\n", p[2], p[0]);
	uint64_t want = wanted_timeslice();
	if (want)
		apply_timeslices(want, false);
	atomic_store(&g_tsg_dirty, true); /* read it back once libcuda has finished with it */
	return rc;
}

/* ---------------------------------------------------------------- attach / watcher / exit */

static const char *shm_path(void)
{
	const char *p = getenv("GPRIO_SHM");
	return p && *p ? p : GPRIO_SHM_DEFAULT_PATH;
}

/* One control message, with up to 3 descriptors. Bytes received, 0 on hang-up, -1 on error. */
static ssize_t recv_ctl(int fd, struct gprio_ctl_msg *m, int *fds, int *nfds)
{
	struct iovec iov = {m, sizeof(*m)};
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t r;
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < n; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
				if (*nfds < 3)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
	return r;
}

static void *map_fd(int fd, size_t size, bool write)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < size)
		return NULL;
	void *m = mmap(NULL, size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Register with gpriod: ask for our class, get what we are granted and three descriptors. */
static bool register_daemon(void)
{
	struct sockaddr_un a;
	if (gprio_ctl_addr(shm_path(), &a) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct gprio_ctl_msg m = {.magic = GPRIO_CTL_MAGIC, .type = GPRIO_CTL_REGISTER,
				  .klass = g_class, .priority = g_prio};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int fds[3], nfds = 0;
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		  send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) && poll(&p, 1, 500) == 1 &&
		  recv_ctl(fd, &m, fds, &nfds) == (ssize_t)sizeof(m) && m.magic == GPRIO_CTL_MAGIC;
	if (ok && m.rc != 0)
		LOG("gpriod refused us: %s\n", m.text);
	ok = ok && m.rc == 0 && nfds == 3 && m.row < GPRIO_SHM_PROCS;
	struct binding *b = ok ? calloc(1, sizeof(*b)) : NULL;
	if (b) {
		b->shm = map_fd(fds[0], sizeof(struct gprio_shm), false);
		b->hot = map_fd(fds[1], sizeof(struct gprio_shm_hot), m.flags & 1u);
		b->stats = map_fd(fds[2], sizeof(struct gprio_shm_stats), true);
		atomic_store(&b->hot_rw, (m.flags & 1u) != 0);
		ok = b->shm && b->hot && b->stats && b->shm->magic == GPRIO_SHM_MAGIC &&
		     b->shm->version == GPRIO_SHM_VERSION;
		if (ok)
			b->row = &b->shm->procs[m.row];
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (!ok || !b) {
		free(b); /* mappings of a failed attempt stay: harmless, and rare */
		close(fd);
		return false;
	}
	if (m.text[0]) {
		m.text[sizeof(m.text) - 1] = '\0';
		/* demoted: say so even without GPRIO_DEBUG, a user asked for more */
		fprintf(stderr, "gprio: %s\n", m.text);
	}
	atomic_store(&b->stats->mechanisms,
		     GPRIO_MECH_GATING | (b->hot_rw ? GPRIO_MECH_PUBLISH : 0) | g_mps_mech);
	atomic_store(&b->stats->heartbeat_ns, mono());
	g_sock = fd;
	atomic_store_explicit(&g_b, b, memory_order_release);
	atomic_store(&g_registered, true);
	LOG("registered with gpriod: %s priority %d, row %u%s\n",
	    gprio_class_name((enum gprio_class)m.klass), m.priority, m.row,
	    b->hot_rw ? ", publishes its level" : "");
	return true;
}

static void fail_open(const char *why)
{
	if (atomic_exchange(&g_live, 0))
		LOG("daemon %s: failing open\n", why);
	apply_timeslices(0, false);
}

/* A message from gpriod on the control connection (watcher thread). */
static void control_message(void)
{
	struct gprio_ctl_msg m;
	int fds[3], nfds = 0;
	ssize_t r = recv_ctl(g_sock, &m, fds, &nfds);
	if (r == 0 || (r < 0 && errno != EAGAIN)) {
		/* gpriod exited or crashed: fail open now, register again when it is back */
		fail_open("gone (socket closed)");
		close(g_sock);
		g_sock = -1;
		atomic_store(&g_registered, false);
		return;
	}
	struct binding *b = binding();
	if (r == (ssize_t)sizeof(m) && m.magic == GPRIO_CTL_MAGIC && m.type == GPRIO_CTL_UPDATE && b) {
		if (nfds >= 1 && !b->hot_rw) { /* promoted: we may publish now */
			struct gprio_shm_hot *h = map_fd(fds[0], sizeof(*h), true);
			if (h) {
				b->hot = h;
				atomic_store(&b->hot_rw, true);
				atomic_fetch_or(&b->stats->mechanisms, GPRIO_MECH_PUBLISH);
			}
		}
		LOG("gpriod changed us: %s priority %d\n", gprio_class_name((enum gprio_class)m.klass),
		    m.priority);
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/* gpriod runs a policy other than none (which passes everything through). */
static bool policy_active(const struct binding *b)
{
	const struct gprio_policy *p = gprio_policy_at(atomic_load(&b->shm->policy));
	return p && p != &gprio_policy_none;
}

static void *watcher(void *unused)
{
	(void)unused;
	uint64_t applied = 0;
	unsigned tick = 0;
	gprio_ns verify_every = TSG_VERIFY_MIN_NS, verify_at = 0;
	for (;;) {
		gprio_ns now = mono();
		struct binding *b = atomic_load(&g_registered) ? binding() : NULL;
		if (!b && tick % 10 == 0 && register_daemon()) /* the daemon may start after us */
			b = binding();
		bool live = b && daemon_fresh(b, now) && policy_active(b);
		if (b)
			atomic_store(&b->stats->heartbeat_ns, now);
		if (live != atomic_load(&g_live)) {
			atomic_store(&g_live, live);
			LOG("daemon %s\n", live ? "alive: gprio active" : "inactive: failing open");
		}
		uint64_t want = wanted_timeslice();
		if (want != applied) {
			apply_timeslices(want, false); /* 0: restore the originals */
			applied = want;
			verify_every = TSG_VERIFY_MIN_NS;
			verify_at = now + verify_every;
		} else if (want && (atomic_exchange(&g_tsg_dirty, false) || now >= verify_at)) {
			/* still what we set? (see TSG_VERIFY_MIN_NS) */
			bool reset = apply_timeslices(want, true) > 0;
			verify_every = reset ? TSG_VERIFY_MIN_NS : verify_every * 2;
			if (verify_every > g_verify_max_ns)
				verify_every = g_verify_max_ns;
			verify_at = now + verify_every;
		}
		tick++;
		/* 10 ms: fail open well within 100 ms; a closed socket is seen at once */
		if (g_sock >= 0) {
			struct pollfd p = {.fd = g_sock, .events = POLLIN};
			if (poll(&p, 1, 10) > 0)
				control_message();
		} else {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* MPS: the server runs every client's work in its own context, so there is no per-process TSG
 * to reshape; the client priority (CUDA 11.x+: CUDA_MPS_CLIENT_PRIORITY, 0 normal, 1 below
 * normal) is read by libcuda when the client connects, i.e. after this constructor. */
static void mps_setup(enum gprio_class k)
{
	const char *dir = getenv("CUDA_MPS_PIPE_DIRECTORY");
	char path[512];
	snprintf(path, sizeof(path), "%s/control", dir && *dir ? dir : "/tmp/nvidia-mps");
	if (access(path, F_OK) != 0)
		return; /* no MPS control daemon: clients run as ordinary contexts */
	g_mps_mech = GPRIO_MECH_MPS;
	if (k == GPRIO_CLASS_OFFLINE && !getenv("CUDA_MPS_CLIENT_PRIORITY")) {
		setenv("CUDA_MPS_CLIENT_PRIORITY", "1", 0);
		LOG("MPS present (%s): offline client priority below normal\n", path);
	}
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *c = getenv("GPRIO_CLASS"), *p = getenv("GPRIO_PRIORITY"), *d = getenv("GPRIO_DEBUG");
	g_debug = d && *d && *d != '0';
	const char *tr = getenv("GPRIO_TRACE_RM"), *vm = getenv("GPRIO_TSG_VERIFY_MAX_MS");
	g_trace_rm = tr && *tr && *tr != '0';
	if (vm && *vm) {
		char *end;
		long v = strtol(vm, &end, 10);
		if (*end == '\0' && v >= 100 && v <= 3600 * 1000)
			g_verify_max_ns = (gprio_ns)v * GPRIO_NS_PER_MS;
		else
			fprintf(stderr, "gprio-shim: GPRIO_TSG_VERIFY_MAX_MS='%s' is not 100..3600000 ms; "
					"using %lld\n", vm, (long long)(g_verify_max_ns / GPRIO_NS_PER_MS));
	}
	enum gprio_class k;
	if (!c || gprio_class_parse(c, &k) != 0)
		return; /* not started through gprio run: pass everything through */
	g_class = (int)k;
	g_prio = gprio_class_default_priority(k);
	if (p && *p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (*end == '\0' && gprio_priority_valid(v))
			g_prio = (int)v;
	}
	mps_setup(k);
	/* go live before main() runs: a program's first launches must already be seen */
	struct binding *b = register_daemon() ? binding() : NULL;
	if (b && daemon_fresh(b, mono()) && policy_active(b))
		atomic_store(&g_live, 1);
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, watcher, NULL) != 0)
		LOG("cannot start the watcher thread: gprio stays passive\n");
	pthread_attr_destroy(&a);
	LOG("class %s priority %d, gpriod %s\n", gprio_class_name(k), g_prio,
	    b ? "registered" : "absent");
}

__attribute__((destructor)) static void shim_fini(void)
{
	atomic_store(&g_live, 0);
	apply_timeslices(0, false);
	/* our row is freed when gpriod sees this connection close (at exit) */
}
