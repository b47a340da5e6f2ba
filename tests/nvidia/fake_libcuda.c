/* A stand-in libcuda.so.1 for testing the shim without a GPU: the entry points the shim wraps,
 * in both default-stream variants, counting how often each real function was reached, and a
 * stand-in GPU behind them: one engine per process on which every launch runs FAKE_KERNEL_US
 * (default 2000) after the work before it; events and stream markers (cuStreamWriteValue64)
 * complete when the work before them has; synchronisation sleeps until the engine is idle. The
 * device's PCI bus is FAKE_PCI_BUS (default 0x1b). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
typedef int CUresult;

EXPORT unsigned long fake_calls[8]; /* 0 legacy launch, 1 ptsz launch, 2 graph, 3 graph ptsz */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static double fake_busy_until;
static double fake_now(void);
static double kernel_s = -1;
static pthread_t mark_thread; /* the stand-in GPU: markers land, holds end */
static int mark_started;
static void *mark_loop(void *u);
/* The stand-in GPU brought up to `now` (lock held): holds released or past their bound end,
 * markers whose work is done land. At every call into the stand-in as well as in its GPU
 * thread, so that what happened is seen when the program next calls in, however late a loaded
 * machine runs that thread. */
static void gpu_catch_up(double now);

EXPORT void fake_set_kernel_us(double us);
void fake_set_kernel_us(double us)
{
	pthread_mutex_lock(&fake_lock);
	kernel_s = us / 1e6;
	pthread_mutex_unlock(&fake_lock);
}

/* one submission: it finishes a kernel's time after the engine's last work */
static void fake_submit(void)
{
	pthread_mutex_lock(&fake_lock);
	if (kernel_s < 0) {
		const char *e = getenv("FAKE_KERNEL_US");
		kernel_s = (e && *e ? atof(e) : 2000) / 1e6;
	}
	double now = fake_now();
	gpu_catch_up(now);
	fake_busy_until = (fake_busy_until > now ? fake_busy_until : now) + kernel_s;
	pthread_mutex_unlock(&fake_lock);
}

static double fake_idle_at(void)
{
	pthread_mutex_lock(&fake_lock);
	gpu_catch_up(fake_now());
	double t = fake_busy_until;
	pthread_mutex_unlock(&fake_lock);
	return t;
}

/* Modules: the only kernel a program of ours loads is the shim's hold (hold.c): a module whose
 * image declares ".entry gprio_hold" gives that function; launched, it starts after the work
 * queued before it and runs until the host writes a generation >= its own into its flag or its
 * bound passes (the PTX's rule), then writes its start and end times (ns, this clock) into its
 * slot: the stand-in GPU thread (mark_loop) ends it within 50 us of either. */
static char fake_hold_fn;
EXPORT unsigned long fake_holds;    /* hold kernels launched */
EXPORT int fake_launch_behind_hold; /* a launch found a hold running (queued behind it) */
EXPORT unsigned long fake_module_loads_refused; /* cuModuleLoadData refused */
#define FAKE_HOLDS 64
static struct fake_hold {
	volatile uint32_t *flag;
	volatile uint64_t *times;
	uint32_t gen;
	double start, deadline;
	void *stream;
	int ended;
} holds[FAKE_HOLDS];
static unsigned nholds; /* under fake_lock; the last one is holds[(nholds - 1) % FAKE_HOLDS] */

/* 0 running, 2 released by its flag, 3 ended by its bound (lock held) */
static int hold_state(const struct fake_hold *h, double now)
{
	return (int32_t)(__atomic_load_n(h->flag, __ATOMIC_ACQUIRE) - h->gen) >= 0 ? 2
	       : now >= h->deadline                                                ? 3
										   : 0;
}

/* the last hold: 0 none yet, 1 running, 2 released by its flag, 3 ended by its bound */
EXPORT int fake_hold_state(void);
int fake_hold_state(void)
{
	pthread_mutex_lock(&fake_lock);
	int st = 0;
	if (nholds) {
		st = hold_state(&holds[(nholds - 1) % FAKE_HOLDS], fake_now());
		st += st == 0;
	}
	pthread_mutex_unlock(&fake_lock);
	return st;
}
EXPORT void *fake_hold_stream(void);
void *fake_hold_stream(void)
{
	pthread_mutex_lock(&fake_lock);
	void *s = nholds ? holds[(nholds - 1) % FAKE_HOLDS].stream : NULL;
	pthread_mutex_unlock(&fake_lock);
	return s;
}

/* the stand-in GPU ends holds (lock held) */
static void holds_end(double now)
{
	for (unsigned i = nholds > FAKE_HOLDS ? nholds - FAKE_HOLDS : 0; i < nholds; i++) {
		struct fake_hold *h = &holds[i % FAKE_HOLDS];
		int st = h->ended ? 0 : hold_state(h, now);
		if (!st || now < h->start)
			continue;
		double end = st == 3 ? h->deadline : now;
		__atomic_store_n(&h->times[0], (uint64_t)(h->start * 1e9), __ATOMIC_RELAXED);
		__atomic_store_n(&h->times[1], (uint64_t)(end * 1e9), __ATOMIC_RELEASE);
		h->ended = 1;
	}
}

/* a stream memory operation queued behind the hold, on its stream, into its page */
EXPORT int fake_hold_marked;
EXPORT CUresult cuStreamWriteValue32_v2(const void *s, unsigned long long addr, uint32_t v,
					unsigned fl);
CUresult cuStreamWriteValue32_v2(const void *s, unsigned long long addr, uint32_t v, unsigned fl)
{
	(void)fl;
	const char *fail = getenv("FAKE_WRITE32_FAIL");
	if (fail && *fail == '1')
		return 1; /* CUDA_ERROR_INVALID_VALUE */
	pthread_mutex_lock(&fake_lock);
	const struct fake_hold *h = nholds ? &holds[(nholds - 1) % FAKE_HOLDS] : NULL;
	if (h && s == h->stream && addr == (uintptr_t)h->flag + 24 && v == h->gen)
		fake_hold_marked = 1;
	pthread_mutex_unlock(&fake_lock);
	*(volatile uint32_t *)(uintptr_t)addr = v;
	return 0;
}

EXPORT CUresult cuModuleLoadData(void **mod, const void *image);
CUresult cuModuleLoadData(void **mod, const void *image)
{
	const char *refuse = getenv("FAKE_MODULE_REFUSE");
	if (!image || !strstr(image, ".entry gprio_hold(") || (refuse && *refuse == '1')) {
		__atomic_fetch_add(&fake_module_loads_refused, 1, __ATOMIC_RELAXED);
		return 200; /* CUDA_ERROR_INVALID_IMAGE */
	}
	*mod = &fake_hold_fn;
	return 0;
}
EXPORT CUresult cuModuleGetFunction(void **fn, const void *mod, const char *name);
CUresult cuModuleGetFunction(void **fn, const void *mod, const char *name)
{
	if (mod != &fake_hold_fn || strcmp(name, "gprio_hold") != 0)
		return 500; /* CUDA_ERROR_NOT_FOUND */
	*fn = &fake_hold_fn;
	return 0;
}

EXPORT CUresult cuLaunchKernel(const void *f, unsigned a, unsigned b, unsigned c, unsigned d,
			       unsigned e, unsigned g, unsigned s, void *st, void **p, void **x);
CUresult cuLaunchKernel(const void *f, unsigned a, unsigned b, unsigned c, unsigned d, unsigned e,
			unsigned g, unsigned s, void *st, void **p, void **x)
{
	(void)a, (void)b, (void)c, (void)d, (void)e, (void)g, (void)s, (void)x;
	if (f == &fake_hold_fn) {
		if (!p || !p[0] || !p[1] || !p[2] || !p[3])
			return 1; /* CUDA_ERROR_INVALID_VALUE */
		pthread_mutex_lock(&fake_lock);
		struct fake_hold *h = &holds[nholds++ % FAKE_HOLDS];
		/* its bound runs from its start, after the work queued before it (%globaltimer) */
		double now = fake_now();
		h->start = fake_busy_until > now ? fake_busy_until : now;
		h->deadline = h->start + (double)*(uint64_t *)p[2] / 1e9;
		h->flag = (volatile uint32_t *)(uintptr_t) * (unsigned long long *)p[0];
		h->times = (volatile uint64_t *)(uintptr_t) * (unsigned long long *)p[3];
		h->gen = *(uint32_t *)p[1];
		h->stream = st;
		h->ended = 0;
		if (!mark_started)
			mark_started = pthread_create(&mark_thread, NULL, mark_loop, NULL) == 0;
		pthread_mutex_unlock(&fake_lock);
		__atomic_fetch_add(&fake_holds, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (fake_hold_state() == 1)
		__atomic_store_n(&fake_launch_behind_hold, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fake_calls[0], 1, __ATOMIC_RELAXED); /* launches from several threads */
	fake_submit();
	return 0;
}

EXPORT CUresult cuLaunchKernel_ptsz(void *f, unsigned a, unsigned b, unsigned c, unsigned d,
				    unsigned e, unsigned g, unsigned s, void *st, void **p,
				    void **x);
CUresult cuLaunchKernel_ptsz(void *f, unsigned a, unsigned b, unsigned c, unsigned d, unsigned e,
			     unsigned g, unsigned s, void *st, void **p, void **x)
{
	(void)f, (void)a, (void)b, (void)c, (void)d, (void)e, (void)g, (void)s, (void)st, (void)p,
		(void)x;
	__atomic_fetch_add(&fake_calls[1], 1, __ATOMIC_RELAXED); /* launches from several threads */
	fake_submit();
	return 0;
}

EXPORT CUresult cuGraphLaunch(void *g, void *s);
CUresult cuGraphLaunch(void *g, void *s)
{
	(void)g, (void)s;
	__atomic_fetch_add(&fake_calls[2], 1, __ATOMIC_RELAXED); /* launches from several threads */
	fake_submit();
	return 0;
}

EXPORT CUresult cuGraphLaunch_ptsz(void *g, void *s);
CUresult cuGraphLaunch_ptsz(void *g, void *s)
{
	(void)g, (void)s;
	__atomic_fetch_add(&fake_calls[3], 1, __ATOMIC_RELAXED); /* launches from several threads */
	fake_submit();
	return 0;
}

EXPORT CUresult cuInit(unsigned flags);
CUresult cuInit(unsigned flags)
{
	(void)flags;
	return 0;
}

/* Events complete when the work submitted before them has. */
static double fake_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

EXPORT unsigned fake_event_flags; /* the flags of the last event created */
EXPORT CUresult cuEventCreate(void **ev, unsigned flags);
CUresult cuEventCreate(void **ev, unsigned flags)
{
	__atomic_store_n(&fake_event_flags, flags, __ATOMIC_RELAXED);
	*ev = calloc(1, sizeof(double));
	return *ev ? 0 : 2;
}

/* FAKE_EVENT_RECORD_FAIL=1: every record refused */
EXPORT CUresult cuEventRecord(void *ev, void *stream);
CUresult cuEventRecord(void *ev, void *stream)
{
	(void)stream;
	const char *fail = getenv("FAKE_EVENT_RECORD_FAIL");
	if (fail && *fail == '1')
		return 400; /* CUDA_ERROR_INVALID_HANDLE */
	*(double *)ev = fake_idle_at();
	return 0;
}

/* waits for the work recorded before the event, not for a hold queued after it */
EXPORT unsigned long fake_event_syncs;
EXPORT CUresult cuEventSynchronize(void *ev);
CUresult cuEventSynchronize(void *ev)
{
	__atomic_fetch_add(&fake_event_syncs, 1, __ATOMIC_RELAXED);
	double t = *(double *)ev - fake_now();
	if (t > 0) {
		struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* the context's flags: FAKE_CTX_FLAGS (4: CU_CTX_SCHED_BLOCKING_SYNC) */
EXPORT CUresult cuCtxGetFlags(unsigned *f);
CUresult cuCtxGetFlags(unsigned *f)
{
	const char *e = getenv("FAKE_CTX_FLAGS");
	*f = e && *e ? (unsigned)strtoul(e, NULL, 0) : 0;
	return 0;
}

EXPORT CUresult cuEventQuery(void *ev);
CUresult cuEventQuery(void *ev)
{
	return fake_now() >= *(double *)ev ? 0 : 600; /* CUDA_ERROR_NOT_READY */
}

/* Stream markers: written by a stand-in "GPU" thread once the work before them is done. */
#define FAKE_MARKS 4096
static struct {
	double due;
	uint64_t *addr, value;
} marks[FAKE_MARKS];
static unsigned mark_head, mark_tail; /* under fake_lock */
EXPORT unsigned long fake_markers;    /* markers enqueued */

static void gpu_catch_up(double now)
{
	holds_end(now);
	while (mark_head != mark_tail && marks[mark_head % FAKE_MARKS].due <= now) {
		__atomic_store_n(marks[mark_head % FAKE_MARKS].addr,
				 marks[mark_head % FAKE_MARKS].value, __ATOMIC_RELEASE);
		mark_head++;
	}
}

static void *mark_loop(void *u)
{
	(void)u;
	for (;;) {
		pthread_mutex_lock(&fake_lock);
		gpu_catch_up(fake_now());
		pthread_mutex_unlock(&fake_lock);
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

EXPORT CUresult cuStreamWriteValue64_v2(void *s, unsigned long long addr, uint64_t v, unsigned fl);
CUresult cuStreamWriteValue64_v2(void *s, unsigned long long addr, uint64_t v, unsigned fl)
{
	(void)s, (void)fl;
	pthread_mutex_lock(&fake_lock);
	if (!mark_started)
		mark_started = pthread_create(&mark_thread, NULL, mark_loop, NULL) == 0;
	CUresult rc = 2; /* out of memory */
	if (mark_tail - mark_head < FAKE_MARKS) {
		double now = fake_now();
		marks[mark_tail % FAKE_MARKS].due = fake_busy_until > now ? fake_busy_until : now;
		marks[mark_tail % FAKE_MARKS].addr = (uint64_t *)(uintptr_t)addr;
		marks[mark_tail % FAKE_MARKS].value = v;
		mark_tail++;
		fake_markers++;
		rc = 0;
	}
	pthread_mutex_unlock(&fake_lock);
	return rc;
}

EXPORT CUresult cuStreamWriteValue64_v2_ptsz(void *s, unsigned long long a, uint64_t v, unsigned f);
CUresult cuStreamWriteValue64_v2_ptsz(void *s, unsigned long long a, uint64_t v, unsigned f)
{
	return cuStreamWriteValue64_v2(s, a, v, f);
}

static void wait_idle(void)
{
	/* a running hold is work like any other: synchronisation waits for it */
	while (fake_hold_state() == 1) {
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
	double t = fake_idle_at() - fake_now();
	if (t > 0) {
		struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

/* a copy into pageable host memory: returns once the work ahead of it, a running hold
 * included, has run (as the driver's does) */
EXPORT unsigned long fake_copies;
EXPORT CUresult cuMemcpyDtoHAsync_v2(void *d, unsigned long long s, size_t n, void *st);
CUresult cuMemcpyDtoHAsync_v2(void *d, unsigned long long s, size_t n, void *st)
{
	(void)d, (void)s, (void)n, (void)st;
	wait_idle();
	__atomic_fetch_add(&fake_copies, 1, __ATOMIC_RELAXED);
	return 0;
}

EXPORT CUresult cuStreamSynchronize(void *s);
CUresult cuStreamSynchronize(void *s)
{
	(void)s;
	wait_idle();
	return 0;
}

EXPORT CUresult cuCtxSynchronize(void);
CUresult cuCtxSynchronize(void)
{
	wait_idle();
	return 0;
}

static char fake_ctx_obj;
EXPORT CUresult cuCtxGetCurrent(void **c);
CUresult cuCtxGetCurrent(void **c)
{
	*c = &fake_ctx_obj;
	return 0;
}
EXPORT CUresult cuStreamGetCtx(void *s, void **c);
CUresult cuStreamGetCtx(void *s, void **c)
{
	(void)s;
	*c = &fake_ctx_obj;
	return 0;
}
EXPORT CUresult cuCtxPushCurrent_v2(const void *c);
CUresult cuCtxPushCurrent_v2(const void *c)
{
	return c == &fake_ctx_obj ? 0 : 201; /* CUDA_ERROR_INVALID_CONTEXT */
}
EXPORT CUresult cuCtxPopCurrent_v2(void **c);
CUresult cuCtxPopCurrent_v2(void **c)
{
	*c = &fake_ctx_obj;
	return 0;
}
/* Graph capture (global mode): like the driver, an unsafe call such as an allocation while a
 * capture runs fails and invalidates the capture (the program's EndCapture then fails). */
static void *capturing_stream;
static int capture_invalidated;
EXPORT CUresult cuStreamBeginCapture_v2(void *s, int mode);
CUresult cuStreamBeginCapture_v2(void *s, int mode)
{
	(void)mode;
	capturing_stream = s;
	capture_invalidated = 0;
	return 0;
}
EXPORT CUresult cuStreamEndCapture(void *s, void **g);
CUresult cuStreamEndCapture(void *s, void **g)
{
	(void)s;
	*g = NULL;
	capturing_stream = NULL;
	return capture_invalidated ? 901 /* CUDA_ERROR_STREAM_CAPTURE_INVALIDATED */ : 0;
}

EXPORT CUresult cuMemHostAlloc(void **p, size_t n, unsigned flags);
CUresult cuMemHostAlloc(void **p, size_t n, unsigned flags)
{
	(void)flags;
	if (capturing_stream) {
		capture_invalidated = 1;
		return 900; /* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED */
	}
	*p = calloc(1, n);
	return *p ? 0 : 2;
}
EXPORT CUresult cuMemHostGetDevicePointer_v2(unsigned long long *d, void *p, unsigned flags);
CUresult cuMemHostGetDevicePointer_v2(unsigned long long *d, void *p, unsigned flags)
{
	(void)flags;
	*d = (unsigned long long)(uintptr_t)p;
	return 0;
}
EXPORT CUresult cuStreamIsCapturing(const void *s, int *st);
CUresult cuStreamIsCapturing(const void *s, int *st)
{
	*st = capturing_stream && s == capturing_stream;
	return 0;
}
EXPORT CUresult cuCtxGetDevice(int *d);
CUresult cuCtxGetDevice(int *d)
{
	*d = 0;
	return 0;
}
EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, int dev);
CUresult cuDeviceGetAttribute(int *v, int attr, int dev)
{
	(void)dev;
	const char *b = getenv("FAKE_PCI_BUS");
	*v = attr == 33 ? (b && *b ? (int)strtol(b, NULL, 0) : 0x1b) : 0;
	return 0;
}

/* cuGetProcAddress_v2(symbol, pfn, version, flags, status): the driver picks the variant */
EXPORT CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, unsigned long long flags,
				    void *status);
CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, unsigned long long flags,
			     void *status)
{
	(void)ver, (void)status;
	int ptds = (flags & 2) != 0;
	if (strcmp(sym, "cuLaunchKernel") == 0)
		*pfn = ptds ? (void *)cuLaunchKernel_ptsz : (void *)cuLaunchKernel;
	else if (strcmp(sym, "cuGraphLaunch") == 0)
		*pfn = ptds ? (void *)cuGraphLaunch_ptsz : (void *)cuGraphLaunch;
	else if (strcmp(sym, "cuInit") == 0)
		*pfn = (void *)cuInit;
	else if (strcmp(sym, "cuStreamBeginCapture") == 0)
		*pfn = (void *)cuStreamBeginCapture_v2;
	else if (strcmp(sym, "cuStreamEndCapture") == 0)
		*pfn = (void *)cuStreamEndCapture;
	else if (strcmp(sym, "cuCtxSynchronize") == 0)
		*pfn = (void *)cuCtxSynchronize;
	else if (strcmp(sym, "cuStreamSynchronize") == 0)
		*pfn = (void *)cuStreamSynchronize;
	else if (strcmp(sym, "cuMemcpyDtoHAsync") == 0)
		*pfn = (void *)cuMemcpyDtoHAsync_v2;
	else if (strcmp(sym, "cuGetProcAddress") == 0)
		*pfn = (void *)cuGetProcAddress_v2;
	else {
		*pfn = NULL;
		return 500; /* CUDA_ERROR_NOT_FOUND */
	}
	return 0;
}
