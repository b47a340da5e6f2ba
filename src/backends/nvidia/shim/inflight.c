/* The bound on offline work in flight. An offline process records an event after each
 * submission; before the next one it waits while `inflight_bound` of them are unfinished. Work
 * it already queued is what runs in the CPU gaps of a launch-bound online service (each gap then
 * costs online a context switch back), so the bound caps how much of it there can be when
 * online work arrives. Events are created lazily in the submitting thread's context; any driver
 * error turns the bound off for good (fail open). */
#include <time.h>

#include "shim.h"

unsigned shim_inflight_bound(void)
{
	if (!atomic_load_explicit(&g_shim.live, memory_order_acquire))
		return 0;
	struct shim_binding *b = shim_binding();
	if (atomic_load_explicit(&b->row->klass, memory_order_relaxed) != GPRIO_CLASS_OFFLINE)
		return 0;
	if (atomic_load_explicit(&g_shim.fl.broken, memory_order_relaxed))
		return 0;
	unsigned k = atomic_load_explicit(&b->shm->inflight_bound, memory_order_relaxed);
	return k < SHIM_RING ? k : SHIM_RING - 1;
}

static void retire(void) /* lock held */
{
	while (g_shim.fl.head < g_shim.fl.tail &&
	       g_shim.fl.query(g_shim.fl.ev[g_shim.fl.head % SHIM_RING]) == 0)
		g_shim.fl.head++;
}

/* before a submission: wait while `bound` are unfinished */
void shim_inflight_wait(unsigned bound)
{
	pthread_mutex_lock(&g_shim.fl.lock);
	if (g_shim.fl.query) {
		retire();
		while (g_shim.fl.tail - g_shim.fl.head >= bound && !g_shim.fl.broken) {
			pthread_mutex_unlock(&g_shim.fl.lock);
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
			struct shim_binding *b = shim_binding();
			if (!atomic_load_explicit(&g_shim.live, memory_order_acquire) || !b ||
			    !shim_daemon_fresh(b, shim_now()))
				return; /* fail open */
			pthread_mutex_lock(&g_shim.fl.lock);
			retire();
		}
	}
	pthread_mutex_unlock(&g_shim.fl.lock);
}

void shim_track_submission(CUstream stream, bool ptsz)
{
	if (!shim_inflight_bound())
		return;
	pthread_mutex_lock(&g_shim.fl.lock);
	if (!g_shim.fl.query) {
		g_shim.fl.create = (CUresult(*)(void **, unsigned))shim_resolve("cuEventCreate");
		g_shim.fl.record = (CUresult(*)(void *, CUstream))shim_resolve("cuEventRecord");
		g_shim.fl.record_ptsz =
			(CUresult(*)(void *, CUstream))shim_resolve("cuEventRecord_ptsz");
		g_shim.fl.query = (CUresult(*)(void *))shim_resolve("cuEventQuery");
		if (!g_shim.fl.create || !g_shim.fl.record || !g_shim.fl.query)
			g_shim.fl.broken = true;
	}
	void **ev = &g_shim.fl.ev[g_shim.fl.tail % SHIM_RING];
	CUresult (*rec)(void *, CUstream) =
		ptsz && g_shim.fl.record_ptsz ? g_shim.fl.record_ptsz : g_shim.fl.record;
	if (!g_shim.fl.broken && g_shim.fl.tail - g_shim.fl.head >= SHIM_RING - 1)
		retire();
	if (g_shim.fl.broken || g_shim.fl.tail - g_shim.fl.head >= SHIM_RING - 1 ||
	    (!*ev && g_shim.fl.create(ev, SHIM_EVENT_DISABLE_TIMING) != 0) ||
	    rec(*ev, stream) != 0) {
		if (!g_shim.fl.broken)
			SHIM_LOG("in-flight tracking failed: bound off for this process\n");
		g_shim.fl.broken = true;
		shim_mech_set(GPRIO_MECH_INFLIGHT, false);
	} else {
		g_shim.fl.tail++;
		shim_mech_set(GPRIO_MECH_INFLIGHT, true);
	}
	pthread_mutex_unlock(&g_shim.fl.lock);
}
