/* Lingering: an online program under gprio's TSG timeslices (online 1 s, offline 1 us) that
 * waits for its stream and then goes on (reads a token back, samples, launches the next step)
 * leaves the GPU idle for its CPU gap, the scheduler hands the GPU to offline work, and its
 * next launch waits for a context switch back (about 0.2 ms on an H100/H200): a decode loop of
 * 16 steps pays 16 switches a request. So a stream synchronisation of such a program becomes:
 * record an event on the stream, queue a hold (hold.c) behind it, wait for the event. The
 * program's work is waited for exactly as before; the hold keeps its group resident through
 * the gap; the program's next few submissions each get a fresh hold behind them before the one
 * ahead is released (hold.c), so the group stays resident through a step made of several
 * small submissions; a hold ends before the next host wait, or at its bound (gpriod
 * --linger-us) when the program does not come back. A request pays at most one switch, at
 * its arrival.
 *
 * Only where it can work and costs little:
 *   - the process is online as gpriod granted it, gpriod is alive, and its GPU's online
 *     timeslice is long (>= 100 ms: `tsg`, `tsg-shared`, or a fixed long timeslice); under
 *     the driver's timeslice or without timeslices (`leave`, `gate`, `mps`) a hold would only
 *     take GPU time;
 *   - not while a graph is captured, not on the per-thread default stream (its event record
 *     would need the per-thread variant of every call);
 *   - within a budget: holds that ran to their bound (the program did not come back within
 *     it: all of that time was taken from offline for nothing; the holds time themselves on
 *     the GPU) may take at most 2 % of each second (a hold is placed only if, run to its
 *     bound, it stays within it, the holds that ended accounted first); past it the process
 *     syncs plainly until the next second. A hold released by the program's next
 *     submission is not counted: it held the GPU through a gap shorter than the bound,
 *     which without it would have cost a context switch to offline and one back (about
 *     0.2 ms each way on an H200), and the program's next step that second switch's wait
 *     (H200, bench cell gdecode: a CUDA-graph decoder with 4 submissions and 2
 *     synchronisations a step holds through about 1300 gaps of 20-50 us a second; counting
 *     them capped it within 20 ms of each second).
 * Context synchronisation is not changed: it waits for every stream, so a hold could only be
 * queued after it returns, when the GPU has already been handed over. Events are one per
 * thread and context (a shared one could be re-recorded by another thread before this one
 * waits); the driver frees them with the context. */
#define _GNU_SOURCE
#include "shim.h"

#define LINGER_MIN_SLICE_US 100000u
#define LINGER_BUDGET_NS    (20 * GPRIO_NS_PER_MS) /* of every second */
#define EV_PER_THREAD       4

static struct {
	_Atomic uint64_t win_start, win_used; /* the budget's second */
	_Atomic uint32_t epoch;               /* bumped when a context goes: cached events stale */
} lg;

struct tl_event {
	void *ctx;      /* cppcheck-suppress unusedStructMember ; read in event_for */
	void *ev;       /* cppcheck-suppress unusedStructMember ; read in event_for */
	uint32_t epoch; /* cppcheck-suppress unusedStructMember ; read in event_for */
};
static _Thread_local struct tl_event tl_ev[EV_PER_THREAD];

/* the driver functions lingering needs (driver.c) */
static bool usable(const struct shim_cu *cu)
{
	static _Atomic bool said;
	bool ok = cu->event_create && cu->event_record && cu->event_sync && cu->ctx_flags &&
		  cu->ctx_current && cu->stream_ctx && cu->push && cu->pop;
	if (!ok && !atomic_exchange(&said, true))
		SHIM_LOG("linger: the driver lacks an event function: off\n");
	return ok;
}

static bool linger_wanted(const void *s, bool ptsz, uint64_t *bound_ns)
{
	if (g_shim.klass != GPRIO_CLASS_ONLINE || s == SHIM_STREAM_PER_THREAD || (ptsz && !s))
		return false;
	const struct shim_binding *b = shim_binding();
	if (!b || !atomic_load(&g_shim.registered) || !atomic_load(&g_shim.live) ||
	    atomic_load_explicit(&b->row->klass, memory_order_relaxed) != GPRIO_CLASS_ONLINE)
		return false;
	uint32_t us = atomic_load_explicit(&b->shm->linger_us, memory_order_relaxed);
	if (!us || shim_captures() > 0 || shim_wanted_timeslice() < LINGER_MIN_SLICE_US)
		return false;
	*bound_ns = (uint64_t)us * GPRIO_NS_PER_US;
	shim_hold_expire(); /* the holds that ended are in the budget before it is read */
	gprio_ns now = shim_now();
	uint64_t start = atomic_load_explicit(&lg.win_start, memory_order_relaxed);
	if (now - start >= GPRIO_NS_PER_S) {
		atomic_store_explicit(&lg.win_start, now, memory_order_relaxed);
		atomic_store_explicit(&lg.win_used, 0, memory_order_relaxed);
	} else if (atomic_load_explicit(&lg.win_used, memory_order_relaxed) + *bound_ns >
		   LINGER_BUDGET_NS) {
		return false; /* this one, run to its bound, would pass the budget */
	}
	return usable(shim_cu());
}

void shim_linger_account(uint64_t held_ns, bool expired)
{
	if (expired) /* the program did not come back: this was waste */
		atomic_fetch_add_explicit(&lg.win_used, held_ns, memory_order_relaxed);
	struct shim_binding *b = shim_binding();
	if (!b)
		return;
	atomic_fetch_add_explicit(&b->stats->linger_ns, held_ns, memory_order_relaxed);
	if (expired)
		atomic_fetch_add_explicit(&b->stats->linger_expired, 1, memory_order_relaxed);
}

void shim_linger_forget(const void *ctx)
{
	(void)ctx; /* any context: the per-thread caches cannot be reached from here */
	atomic_fetch_add_explicit(&lg.epoch, 1, memory_order_relaxed);
}

/* This thread's event in the context of `s` (created there on first use), NULL on an error. */
static void *event_for(CUstream s)
{
	const struct shim_cu *cu = shim_cu();
	void *ctx = NULL;
	if (shim_stream_context(s, &ctx) != 0 || !ctx)
		return NULL;
	uint32_t epoch = atomic_load_explicit(&lg.epoch, memory_order_relaxed);
	int freeslot = -1;
	for (int i = 0; i < EV_PER_THREAD; i++) {
		if (tl_ev[i].ev && tl_ev[i].epoch == epoch && tl_ev[i].ctx == ctx)
			return tl_ev[i].ev;
		if (freeslot < 0 && (!tl_ev[i].ev || tl_ev[i].epoch != epoch))
			freeslot = i;
	}
	if (freeslot < 0)
		return NULL; /* a thread on more than EV_PER_THREAD contexts: plain syncs there */
	void *ev = NULL;
	bool pushed;
	CUresult rc = shim_ctx_enter(ctx, &pushed);
	unsigned flags = 0, evflags = SHIM_EVENT_DISABLE_TIMING;
	if (rc == 0 && cu->ctx_flags(&flags) == 0 && (flags & SHIM_CTX_SCHED_BLOCKING_SYNC))
		evflags |= SHIM_EVENT_BLOCKING_SYNC; /* the program's host sleeps as it would */
	if (rc == 0)
		rc = cu->event_create(&ev, evflags);
	shim_ctx_leave(pushed);
	if (rc != 0) {
		SHIM_LOG("linger: cannot create an event (CUDA error %d)\n", rc);
		return NULL;
	}
	tl_ev[freeslot].ctx = ctx;
	tl_ev[freeslot].ev = ev;
	tl_ev[freeslot].epoch = epoch;
	return ev;
}

CUresult shim_linger_sync(void *real, CUstream s, bool ptsz)
{
	CUresult (*sync)(CUstream) = (CUresult(*)(CUstream))real;
	uint64_t bound;
	if (!linger_wanted(s, ptsz, &bound))
		return sync(s);
	void *ev = event_for(s);
	if (!ev || shim_cu()->event_record(ev, s) != 0)
		return sync(s);
	/* whatever happens to the hold, the event stands for the program's work */
	if (shim_hold_place(s, ptsz, bound, SHIM_HOLD_LINGER) == GPRIO_HINT_PLACED) {
		struct shim_binding *b = shim_binding();
		if (b)
			atomic_fetch_add_explicit(&b->stats->lingers, 1, memory_order_relaxed);
	}
	return shim_cu()->event_sync(ev);
}
