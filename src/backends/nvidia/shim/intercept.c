/* Interception: every way a program finds the driver's launch entry points hands back our
 * wrappers. The CUDA runtime gets all of them through cuGetProcAddress (honouring version and
 * per-thread-default-stream flags), programs that dlopen libcuda go through dlsym, and programs
 * linked against libcuda bind to our exports. Each wrapper gates, calls the real function it
 * was handed, and tracks the submission. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

typedef void *CUfunction;
typedef void *CUgraphExec;
typedef unsigned long long CUdeviceptr;

/* ---------------------------------------------------------------- real symbols */

typedef void *(*dlsym_fn)(void *, const char *);
static _Atomic(dlsym_fn) real_dlsym_fn;
static _Atomic(void *) real_libcuda_handle;

static dlsym_fn real_dlsym_get(void)
{
	dlsym_fn f = atomic_load_explicit(&real_dlsym_fn, memory_order_acquire);
	if (!f) {
		f = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
		if (!f)
			f = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
		atomic_store_explicit(&real_dlsym_fn, f, memory_order_release);
	}
	return f;
}

void *shim_real_dlsym(void *h, const char *name)
{
	dlsym_fn f = real_dlsym_get();
	return f ? f(h, name) : NULL;
}

static void *real_libcuda(void)
{
	void *h = atomic_load_explicit(&real_libcuda_handle, memory_order_acquire);
	if (!h) {
		const char *p = getenv("GPRIO_REAL_LIBCUDA");
		/* dlopen is reference counted: two threads racing here both get the same handle */
		h = dlopen(p && *p ? p : "libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
		atomic_store_explicit(&real_libcuda_handle, h, memory_order_release);
	}
	return h;
}

void *shim_resolve(const char *name)
{
	void *f = shim_real_dlsym(RTLD_NEXT, name);
	if (!f && real_libcuda())
		f = shim_real_dlsym(real_libcuda(), name);
	return f;
}

/* A real function for a slot: the one it holds, else resolved by name and installed (if another
 * thread installed one first, that one). */
static void *slot_get(_Atomic(void *) *slot, const char *name)
{
	void *f = atomic_load_explicit(slot, memory_order_acquire);
	if (f)
		return f;
	void *r = shim_resolve(name), *expected = NULL;
	if (!r)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(slot, &expected, r, memory_order_acq_rel,
						    memory_order_acquire))
		return r;
	return expected;
}

/* ---------------------------------------------------------------- wrapped entry points */

/* Each API has two real slots: the CUDA runtime may ask for the legacy and the per-thread
 * default-stream variant of the same name; our wrapper calls exactly what it was handed (f_,
 * through CALL). PRE runs before the real call, POST after it (with rc_ its result and ptsz_
 * the variant). */
#define WRAP_CALL(name, params, args, PRE, CALL, POST)                   \
	static _Atomic(void *) real_##name;                              \
	static _Atomic(void *) real_##name##_ptsz;                       \
	SHIM_EXPORT CUresult name params;                                \
	CUresult name params                                             \
	{                                                                \
		void *f_ = slot_get(&real_##name, #name);                \
		if (!f_)                                                 \
			return SHIM_CUDA_ERROR_UNKNOWN;                  \
		const bool ptsz_ = false;                                \
		PRE;                                                     \
		CUresult rc_ = CALL;                                     \
		POST;                                                    \
		(void)ptsz_;                                             \
		return rc_;                                              \
	}                                                                \
	SHIM_EXPORT CUresult name##_ptsz params;                         \
	CUresult name##_ptsz params                                      \
	{                                                                \
		void *f_ = slot_get(&real_##name##_ptsz, #name "_ptsz"); \
		if (!f_)                                                 \
			return SHIM_CUDA_ERROR_UNKNOWN;                  \
		const bool ptsz_ = true;                                 \
		PRE;                                                     \
		CUresult rc_ = CALL;                                     \
		POST;                                                    \
		(void)ptsz_;                                             \
		return rc_;                                              \
	}
#define WRAP_ANY(name, params, args, PRE, POST) \
	WRAP_CALL(name, params, args, PRE, ((CUresult(*) params)f_)args, POST)

/* a submission: gate it, count and mark it; it ends a hold (queued behind it) or re-arms a
 * linger's */
#define WRAP(name, params, args, stream)                                \
	WRAP_ANY(                                                       \
		name, params, args, shim_launch_gate(), if (rc_ == 0) { \
			shim_track_submission(stream, ptsz_);           \
			shim_complete_submitted(stream, ptsz_);         \
		} shim_hold_after_submission(stream, ptsz_))
/* a copy or memset: as a submission, but a hold ahead of it on the stream ends first, and no
 * hold follows it: a copy from or to pageable host memory returns only once the work ahead of
 * it (a hold included) has run (H200, a CUDA-graph decoder reading each token back with
 * .item(): every copy waited for its hold's whole bound); a call that lasts SHIM_COPY_WAIT
 * waited for the GPU and is a host wait */
#define WRAP_COPY(name, params, args, stream)                                       \
	WRAP_ANY(                                                                   \
		name, params, args, shim_hold_release(); shim_launch_gate();        \
		gprio_ns t_ = shim_wait_begin(), shim_wait_end(t_, SHIM_COPY_WAIT); \
		if (rc_ == 0) {                                                     \
			shim_track_submission(stream, ptsz_);                       \
			shim_complete_submitted(stream, ptsz_);                     \
		})
/* the host waits for the GPU: time it (a hold is never what it waits for) */
#define WRAP_WAIT(name, params, args)                     \
	WRAP_ANY(name, params, args, shim_hold_release(); \
		 gprio_ns t_ = shim_wait_begin(), shim_wait_end(t_, 0))

/* CUlaunchConfig: 7 unsigned (grid, block, shared memory), then the stream (a layout mirror:
 * only the stream is read) */
struct launch_config {
	/* cppcheck-suppress unusedStructMember */
	unsigned dims[7];
	/* cppcheck-suppress unusedStructMember ; read through the cast in WRAP(cuLaunchKernelEx) */
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
WRAP_COPY(cuMemcpyAsync, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st), st)
WRAP_COPY(cuMemcpyHtoDAsync_v2, (CUdeviceptr d, const void *s, size_t n, CUstream st),
	  (d, s, n, st), st)
WRAP_COPY(cuMemcpyDtoHAsync_v2, (void *d, CUdeviceptr s, size_t n, CUstream st), (d, s, n, st), st)
WRAP_COPY(cuMemcpyDtoDAsync_v2, (CUdeviceptr d, CUdeviceptr s, size_t n, CUstream st),
	  (d, s, n, st), st)
WRAP_COPY(cuMemsetD8Async, (CUdeviceptr d, unsigned char v, size_t n, CUstream st), (d, v, n, st),
	  st)
WRAP_COPY(cuMemsetD32Async, (CUdeviceptr d, unsigned v, size_t n, CUstream st), (d, v, n, st), st)

/* a stream's: it may leave a hold behind the work it waits for (linger.c) */
WRAP_CALL(cuStreamSynchronize, (CUstream s), (s), shim_hold_release();
	  gprio_ns t_ = shim_wait_begin(), shim_linger_sync(f_, s, ptsz_), shim_wait_end(t_, 0))
WRAP_WAIT(cuCtxSynchronize, (void), ())
WRAP_WAIT(cuEventSynchronize, (void *ev), (ev))

/* Streams and contexts that end, and graph captures: the completion poller must never name a
 * destroyed stream or context, nor touch the legacy stream while a capture runs. */
WRAP_ANY(cuStreamDestroy_v2, (CUstream s), (s), shim_hold_release();
	 shim_complete_forget(s, NULL, false), )
WRAP_ANY(cuCtxDestroy_v2, (void *ctx), (ctx), shim_hold_forget(ctx);
	 shim_complete_forget(NULL, ctx, true), )
WRAP_ANY(cuDevicePrimaryCtxRelease_v2, (int dev), (dev), shim_hold_forget(NULL);
	 shim_complete_forget(NULL, NULL, true), )
WRAP_ANY(cuDevicePrimaryCtxReset_v2, (int dev), (dev), shim_hold_forget(NULL);
	 shim_complete_forget(NULL, NULL, true), )
WRAP_ANY(cuStreamBeginCapture_v2, (CUstream s, int mode), (s, mode), shim_capture(1),
	 if (rc_) shim_capture(-1))
WRAP_ANY(cuStreamEndCapture, (CUstream s, void **g), (s, g), , shim_capture(-1))

struct wrapped {
	const char *name; /* as exported by libcuda */
	const char *base; /* as asked for through cuGetProcAddress */
	int min_version;  /* older requests resolve to a different ABI: not wrapped */
	_Atomic(void *) *slot, *slot_ptsz;
	void *wrap, *wrap_ptsz;
};

#define ENTRY(name, base, ver)                                                     \
	{                                                                          \
#name, base, ver, &real_##name, &real_##name##_ptsz, (void *)name, \
			(void *)name##_ptsz                                        \
	}

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
	ENTRY(cuStreamSynchronize, "cuStreamSynchronize", 2000),
	ENTRY(cuCtxSynchronize, "cuCtxSynchronize", 2000),
	ENTRY(cuEventSynchronize, "cuEventSynchronize", 2000),
	ENTRY(cuStreamDestroy_v2, "cuStreamDestroy", 4000),
	ENTRY(cuCtxDestroy_v2, "cuCtxDestroy", 4000),
	ENTRY(cuDevicePrimaryCtxRelease_v2, "cuDevicePrimaryCtxRelease", 11000),
	ENTRY(cuDevicePrimaryCtxReset_v2, "cuDevicePrimaryCtxReset", 11000),
	ENTRY(cuStreamBeginCapture_v2, "cuStreamBeginCapture", 10010),
	ENTRY(cuStreamEndCapture, "cuStreamEndCapture", 10000),
};
#define NWRAPPED (sizeof(wrapped) / sizeof(wrapped[0]))

/* Claim `slot` for `real` if it is free or holds it already. */
static bool claim(_Atomic(void *) *slot, void *real)
{
	void *expected = NULL;
	return atomic_compare_exchange_strong_explicit(slot, &expected, real, memory_order_acq_rel,
						       memory_order_acquire) ||
	       expected == real;
}

/* Hand back our wrapper for a real entry point, remembering the real one in a free slot (or the
 * slot already holding it). NULL when both slots hold other functions: pass through. */
static void *adopt(const struct wrapped *w, void *real)
{
	if (real == w->wrap || real == w->wrap_ptsz)
		return real; /* a driver whose own references bind to our exports: never loop */
	if (claim(w->slot, real))
		return w->wrap;
	if (claim(w->slot_ptsz, real))
		return w->wrap_ptsz;
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
static _Atomic(void *) real_gpa_v2, real_gpa_v1;

static void after_gpa(const char *sym, void **pfn, int version, CUresult rc)
{
	if (rc != 0 || !pfn || !*pfn || !sym)
		return;
	const struct wrapped *w = by_base(sym, version);
	if (!w)
		return;
	void *mine = adopt(w, *pfn);
	if (mine)
		*pfn = mine;
}

SHIM_EXPORT CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version,
					 unsigned long long flags, void *status);
CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version, unsigned long long flags,
			     void *status)
{
	void *f = slot_get(&real_gpa_v2, "cuGetProcAddress_v2");
	if (!f)
		return SHIM_CUDA_ERROR_UNKNOWN;
	CUresult rc = ((gpa_v2_fn)f)(sym, pfn, version, flags, status);
	if (sym && strcmp(sym, "cuGetProcAddress") == 0 && rc == 0 && pfn && *pfn) {
		/* asking the driver for its own lookup function: keep intercepting */
		atomic_store_explicit(&real_gpa_v2, *pfn, memory_order_release);
		*pfn = (void *)cuGetProcAddress_v2;
		return rc;
	}
	after_gpa(sym, pfn, version, rc);
	return rc;
}

SHIM_EXPORT CUresult cuGetProcAddress(const char *sym, void **pfn, int version,
				      unsigned long long flags);
CUresult cuGetProcAddress(const char *sym, void **pfn, int version, unsigned long long flags)
{
	void *f = slot_get(&real_gpa_v1, "cuGetProcAddress");
	if (!f)
		return SHIM_CUDA_ERROR_UNKNOWN;
	CUresult rc = ((gpa_v1_fn)f)(sym, pfn, version, flags);
	after_gpa(sym, pfn, version, rc);
	return rc;
}

/* Programs (the CUDA runtime among them) dlopen libcuda and dlsym its entry points: a handle
 * lookup never sees preloaded symbols, so dlsym itself is interposed for the names we wrap. */
SHIM_EXPORT void *dlsym(void *handle, const char *name);
void *dlsym(void *handle, const char *name)
{
	dlsym_fn real = real_dlsym_get();
	if (!real)
		return NULL;
	/* RTLD_NEXT means "after the caller's object", and glibc finds the caller from its return
	 * address: only a tail call hands it our caller's (this file is always built with -O2
	 * -foptimize-sibling-calls, and never instrumented). Names we do not wrap go the same way:
	 * sanitizers, profilers and other interposers loaded after us keep working. */
	if (handle == RTLD_NEXT || name[0] != 'c' || name[1] != 'u')
		return real(handle, name);
	void *f = real(handle, name);
	if (!f)
		return f;
	if (strcmp(name, "cuGetProcAddress_v2") == 0) {
		atomic_store_explicit(&real_gpa_v2, f, memory_order_release);
		return (void *)cuGetProcAddress_v2;
	}
	if (strcmp(name, "cuGetProcAddress") == 0) {
		atomic_store_explicit(&real_gpa_v1, f, memory_order_release);
		return (void *)cuGetProcAddress;
	}
	for (size_t i = 0; i < NWRAPPED; i++) {
		size_t l = strlen(wrapped[i].name);
		if (strncmp(name, wrapped[i].name, l) != 0)
			continue;
		if (f == wrapped[i].wrap || f == wrapped[i].wrap_ptsz)
			return f;
		if (name[l] == '\0')
			return claim(wrapped[i].slot, f) ? wrapped[i].wrap : f;
		if (strcmp(name + l, "_ptsz") == 0)
			return claim(wrapped[i].slot_ptsz, f) ? wrapped[i].wrap_ptsz : f;
	}
	return f;
}
