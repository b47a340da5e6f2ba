/* The driver entry points the shim calls for itself (never the program's calls, which go
 * through intercept.c's wrappers): resolved once, shared by the completion counters, the hold
 * and lingering. Any of them may be NULL where the driver lacks it; each user says which it
 * needs. */
#include "shim.h"

static struct shim_cu cu;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	cu.ctx_current = (CUresult(*)(void **))shim_resolve("cuCtxGetCurrent");
	cu.stream_ctx = (CUresult(*)(CUstream, void **))shim_resolve("cuStreamGetCtx");
	cu.push = (CUresult(*)(void *))shim_resolve("cuCtxPushCurrent_v2");
	cu.pop = (CUresult(*)(void **))shim_resolve("cuCtxPopCurrent_v2");
	cu.host_alloc = (CUresult(*)(void **, size_t, unsigned))shim_resolve("cuMemHostAlloc");
	cu.host_devptr = (CUresult(*)(shim_devptr *, void *, unsigned))shim_resolve(
		"cuMemHostGetDevicePointer_v2");
	cu.capturing = (CUresult(*)(CUstream, int *))shim_resolve("cuStreamIsCapturing");
	cu.capturing_ptsz = (CUresult(*)(CUstream, int *))shim_resolve("cuStreamIsCapturing_ptsz");
	cu.ctx_flags = (CUresult(*)(unsigned *))shim_resolve("cuCtxGetFlags");
	cu.event_create = (CUresult(*)(void **, unsigned))shim_resolve("cuEventCreate");
	cu.event_record = (CUresult(*)(void *, CUstream))shim_resolve("cuEventRecord");
	cu.event_sync = (CUresult(*)(void *))shim_resolve("cuEventSynchronize");
}

const struct shim_cu *shim_cu(void)
{
	pthread_once(&once, resolve);
	return &cu;
}

CUresult shim_stream_context(CUstream s, void **ctx)
{
	bool named = s && s != SHIM_STREAM_LEGACY && s != SHIM_STREAM_PER_THREAD;
	return named ? cu.stream_ctx(s, ctx) : cu.ctx_current(ctx);
}

CUresult shim_ctx_enter(void *ctx, bool *pushed)
{
	void *cur = NULL;
	*pushed = false;
	CUresult rc = cu.ctx_current(&cur);
	if (rc == 0 && cur != ctx) {
		rc = cu.push(ctx);
		*pushed = rc == 0;
	}
	return rc;
}

void shim_ctx_leave(bool pushed)
{
	void *popped;
	if (pushed)
		cu.pop(&popped);
}
