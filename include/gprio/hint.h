/* gprio's request hint, for online CUDA programs (optional; does nothing unless the program was
 * started with `gprio run --online --hint`).
 *
 * Call gprio_request_hint(stream) the moment a request arrives, before preparing it (parsing,
 * tokenising, batching, copying inputs). gprio then switches the GPU to this program while it
 * prepares, so the request's first kernel does not wait for an offline job to be preempted.
 * Pass the stream the request will be launched on (NULL: the legacy default stream, which is
 * PyTorch's default; (void *)2: CU_STREAM_PER_THREAD).
 *
 * Cost: while the request is prepared, offline work on this GPU is held off (up to the hold
 * bound, 2 ms unless GPRIO_HINT_HOLD_US says otherwise), and one block of one SM of the GPU is
 * taken by a spinning one-thread kernel. The hold ends at the program's next submission to the
 * GPU, or at a stream, context or event synchronisation, whichever comes first. Waits the shim
 * does not intercept (synchronous cuMemcpy, polling cuStreamQuery) wait at most the bound.
 *
 * Header-only: it finds the hint through the dynamic linker (gprio run preloads it), so a
 * program built with it runs unchanged, hint-less, without gprio. Python:
 *   ctypes.CDLL(None).gprio_hint(ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))
 */
#ifndef GPRIO_HINT_H
#define GPRIO_HINT_H

#include <dlfcn.h>
#include <string.h>

#define GPRIO_HINT_PLACED  0  /* the GPU is being switched to this program */
#define GPRIO_HINT_OFF     1  /* hints are off: no gprio, not online, or started without --hint */
#define GPRIO_HINT_REFUSED 2  /* not now: a graph capture is in progress */
#define GPRIO_HINT_FAILED  -1 /* the driver refused (GPRIO_DEBUG=1 logs the reason) */

typedef int (*gprio_hint_fn)(void *cuda_stream);

static inline int gprio_request_hint(void *cuda_stream)
{
	static gprio_hint_fn fn;
	static int looked;
	if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
		/* RTLD_DEFAULT: the global scope, where gprio run's preloaded shim is; copied, not
		 * cast (ISO C has no object-to-function pointer conversion; POSIX guarantees the
		 * representation) */
		void *sym = dlsym((void *)0, "gprio_hint");
		gprio_hint_fn f;
		memcpy(&f, &sym, sizeof(f));
		__atomic_store_n(&fn, f, __ATOMIC_RELAXED);
		__atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
	}
	gprio_hint_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
	return f ? f(cuda_stream) : GPRIO_HINT_OFF;
}

#endif
