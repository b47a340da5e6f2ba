/* The shim's start and end: read the environment gprio run set, register with gpriod before
 * main() runs (a program's first launches must already be seen), start the watcher; at exit
 * put the original timeslices back. Fails open throughout: with no daemon, a heartbeat older
 * than 100 ms, or its socket closing, every call passes straight through. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <stdlib.h>
#include <time.h>

#include "shim.h"

struct shim g_shim = {
	.klass = -1,
	.sock = -1,
	.verify_max_ns = 10 * GPRIO_NS_PER_S,
	.tsg_lock = PTHREAD_MUTEX_INITIALIZER,
	.fl = {.lock = PTHREAD_MUTEX_INITIALIZER},
};

static bool flag(const char *s)
{
	return s && *s && *s != '0';
}

/* An unsigned number from the environment, 0 when unset or not in 1..max (said so). */
static uint32_t env_u32(const char *name, uint32_t max)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > max) {
		fprintf(stderr, "gprio-shim: %s='%s' is not 1..%u: ignored\n", name, s, max);
		return 0;
	}
	return (uint32_t)v;
}

__attribute__((constructor)) static void shim_init(void)
{
	const char *c = getenv("GPRIO_CLASS"), *p = getenv("GPRIO_PRIORITY");
	g_shim.debug = flag(getenv("GPRIO_DEBUG"));
	g_shim.trace_rm = flag(getenv("GPRIO_TRACE_RM"));
	const char *vm = getenv("GPRIO_TSG_VERIFY_MAX_MS");
	if (vm && *vm) {
		char *end;
		long v = strtol(vm, &end, 10);
		if (*end == '\0' && v >= 100 && v <= 3600 * 1000)
			g_shim.verify_max_ns = (gprio_ns)v * GPRIO_NS_PER_MS;
		else
			fprintf(stderr,
				"gprio-shim: GPRIO_TSG_VERIFY_MAX_MS='%s' is not 100..3600000 ms; "
				"using %lld\n",
				vm, (long long)(g_shim.verify_max_ns / GPRIO_NS_PER_MS));
	}
	enum gprio_class k;
	if (!c || gprio_class_parse(c, &k) != 0)
		return; /* not started through gprio run: pass everything through */
	g_shim.klass = (int)k;
	g_shim.prio = gprio_class_default_priority(k);
	if (p && *p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (*end == '\0' && gprio_priority_valid(v))
			g_shim.prio = (int)v;
	}
	g_shim.weight = env_u32("GPRIO_WEIGHT", GPRIO_WEIGHT_MAX);
	g_shim.slo_us = env_u32("GPRIO_SLO_US", 3600u * 1000 * 1000);
	const char *grp = getenv("GPRIO_GROUP");
	if (grp && *grp) /* gpriod checks it (and says when it is ignored) */
		snprintf(g_shim.group, sizeof(g_shim.group), "%s", grp);
	shim_mps_setup(k);
	SHIM_LOG("class %s priority %d: registers with gpriod at its first GPU work\n",
		 gprio_class_name(k), g_shim.prio);
}

/* The first GPU work of this process (a TSG created: a context, or a launch):
 * register with gpriod now, before that work goes on, and start the watcher. A process that
 * never uses the GPU (a shell, a launcher such as torchrun's parent) takes no row. */
static void start_once(void)
{
	struct shim_binding *b = shim_register() ? shim_binding() : NULL;
	if (b && shim_daemon_fresh(b, shim_now()) && shim_policy_active(b))
		atomic_store(&g_shim.live, 1);
	/* joinable: at exit the destructor stops it before libcuda and the rest tear down (an
	 * RM ioctl of ours on a TSG while the driver closes its client would act on a closed or
	 * reused descriptor) */
	if (pthread_create(&g_shim.watcher, NULL, shim_watcher, NULL) == 0)
		g_shim.watcher_pid = getpid();
	else
		SHIM_LOG("cannot start the watcher thread: gprio stays passive\n");
	shim_complete_start();
	SHIM_LOG("first GPU work: gpriod %s\n", b ? "registered" : "absent");
}

void shim_start(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	if (g_shim.klass < 0 || atomic_load_explicit(&g_shim.started, memory_order_acquire))
		return;
	pthread_once(&once, start_once);
	atomic_store_explicit(&g_shim.started, true, memory_order_release);
}

__attribute__((destructor)) static void shim_fini(void)
{
	atomic_store(&g_shim.live, 0);
	atomic_store(&g_shim.stopping, true);
	if (g_shim.watcher_pid && g_shim.watcher_pid == getpid()) {
		/* it polls every 10 ms; never wait long for it at exit */
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 200 * 1000 * 1000;
		t.tv_sec += t.tv_nsec / 1000000000;
		t.tv_nsec %= 1000000000;
		if (pthread_timedjoin_np(g_shim.watcher, NULL, &t) != 0)
			SHIM_LOG("watcher did not stop within 200 ms\n");
	}
	shim_apply_timeslices(0, false);
	/* our row is freed when gpriod sees this connection close (at exit) */
}
