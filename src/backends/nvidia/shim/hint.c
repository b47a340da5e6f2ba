/* The request hint (include/gprio/hint.h): an online program calls gprio_hint(stream) when a
 * request arrives, and the GPU is switched to it while it prepares the request: a hold
 * (hold.c) on the stream the request will use, bounded by GPRIO_HINT_HOLD_US (default 2 ms).
 *
 * Off unless the program was started with `gprio run --online --hint` (GPRIO_HINT=1), and off
 * while gpriod has the process in any class but online (it may demote a user). Refused while a
 * graph capture runs (the hold would be captured, or loading it would invalidate the
 * capture). */
#define _GNU_SOURCE
#include <stdlib.h>

#include "gprio/hint.h"
#include "shim.h"

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
	return shim_hold_place(stream, false, hold_bound_ns(), SHIM_HOLD_HINT);
}
