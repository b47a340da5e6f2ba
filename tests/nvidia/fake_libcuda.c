/* A stand-in libcuda.so.1 for testing the shim without a GPU: the entry points the shim wraps,
 * in both default-stream variants, counting how often each real function was reached. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
typedef int CUresult;

EXPORT unsigned long fake_calls[8]; /* 0 legacy launch, 1 ptsz launch, 2 graph, 3 graph ptsz */

EXPORT CUresult cuLaunchKernel(void *f, unsigned a, unsigned b, unsigned c, unsigned d, unsigned e,
			       unsigned g, unsigned s, void *st, void **p, void **x);
CUresult cuLaunchKernel(void *f, unsigned a, unsigned b, unsigned c, unsigned d, unsigned e,
			unsigned g, unsigned s, void *st, void **p, void **x)
{
	(void)f, (void)a, (void)b, (void)c, (void)d, (void)e, (void)g, (void)s, (void)st, (void)p,
		(void)x;
	fake_calls[0]++;
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
	fake_calls[1]++;
	return 0;
}

EXPORT CUresult cuGraphLaunch(void *g, void *s);
CUresult cuGraphLaunch(void *g, void *s)
{
	(void)g, (void)s;
	fake_calls[2]++;
	return 0;
}

EXPORT CUresult cuGraphLaunch_ptsz(void *g, void *s);
CUresult cuGraphLaunch_ptsz(void *g, void *s)
{
	(void)g, (void)s;
	fake_calls[3]++;
	return 0;
}

EXPORT CUresult cuInit(unsigned flags);
CUresult cuInit(unsigned flags)
{
	(void)flags;
	return 0;
}

/* Events: each recorded event "completes" 2 ms after the previous one, as if every submission
 * were a 2 ms kernel on one serial stream. */
static double fake_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double fake_busy_until;

EXPORT CUresult cuEventCreate(void **ev, unsigned flags);
CUresult cuEventCreate(void **ev, unsigned flags)
{
	(void)flags;
	*ev = calloc(1, sizeof(double));
	return *ev ? 0 : 2;
}

EXPORT CUresult cuEventRecord(void *ev, void *stream);
CUresult cuEventRecord(void *ev, void *stream)
{
	(void)stream;
	double now = fake_now();
	fake_busy_until = (fake_busy_until > now ? fake_busy_until : now) + 0.002;
	*(double *)ev = fake_busy_until;
	return 0;
}

EXPORT CUresult cuEventQuery(void *ev);
CUresult cuEventQuery(void *ev)
{
	return fake_now() >= *(double *)ev ? 0 : 600; /* CUDA_ERROR_NOT_READY */
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
	else if (strcmp(sym, "cuGetProcAddress") == 0)
		*pfn = (void *)cuGetProcAddress_v2;
	else {
		*pfn = NULL;
		return 500; /* CUDA_ERROR_NOT_FOUND */
	}
	return 0;
}
