/* Decision cost of one monitor tick over N queues (default 100): refresh from a table of counters
 * the way a real backend would, detect, decide, act. Prints JSON. Target: < 10 us per tick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "gprio/monitor.h"

struct fake {
	uint32_t n;
	uint64_t wptr[GPRIO_MAX_QUEUES], done[GPRIO_MAX_QUEUES];
	bool held[GPRIO_MAX_QUEUES];
	gprio_ns now;
	uint64_t calls;
};

static int f_refresh(void *be, struct gprio_table *t, gprio_ns now)
{
	struct fake *f = be;
	for (uint32_t i = 0; i < f->n; i++) {
		/* a row's index remembered from the last tick, as the backends keep it
		 * (gprio_table_find_hint): a search per queue would make this bench's own
		 * refresh O(n^2) and most of what it measures */
		int idx = gprio_table_find_hint(t, i, i);
		if (idx < 0)
			idx = gprio_table_add(t, i, 1000 + i, i == 0 ? 11 : (int)(i % 7), i == 0,
					      now);
		t->q[idx].wptr = f->wptr[i];
		t->q[idx].rptr = f->done[i];
		t->q[idx].done = f->done[i];
		if (t->q[idx].hw_held != f->held[i]) {
			t->q[idx].hw_held = f->held[i];
			t->q[idx].hw_changed_at = now;
		}
	}
	return 0;
}

static int f_act(struct fake *f, const uint64_t *k, size_t n, bool held)
{
	for (size_t i = 0; i < n; i++)
		f->held[k[i]] = held;
	f->calls++;
	return 0;
}

static int f_suspend(void *be, const uint64_t *k, size_t n, gprio_ns g, bool *failed)
{
	(void)g;
	(void)failed;
	return f_act(be, k, n, true);
}

static int f_resume(void *be, const uint64_t *k, size_t n, bool *failed)
{
	(void)failed;
	return f_act(be, k, n, false);
}

static int f_wait(void *be, gprio_ns d)
{
	((struct fake *)be)->now = d;
	return 0;
}

static gprio_ns f_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 100;
	long iters = argc > 2 ? atol(argv[2]) : 200000;
	if (n == 0 || n > GPRIO_MAX_QUEUES || iters <= 0) {
		fprintf(stderr, "usage: bench_tick [QUEUES 1..%d] [ITERATIONS]\n",
			GPRIO_MAX_QUEUES);
		return 2;
	}
	static struct fake f;
	static struct gprio_monitor m;
	const struct gprio_backend_ops ops = {.name = "fake",
					      .refresh = f_refresh,
					      .suspend = f_suspend,
					      .resume = f_resume,
					      .wait = f_wait};
	struct gprio_clock clk = {f_now, &f};
	struct gprio_monitor_cfg cfg;
	gprio_monitor_cfg_defaults(&cfg);
	f.n = n;
	f.now = 1;
	if (gprio_monitor_init(&m, &cfg, &ops, &f, &clk))
		return 1;
	/* every queue busy; the online queue (0) toggles busy/idle every 50 ticks so the policy
	 * suspends and resumes the other 99 regularly */
	double t0 = mono();
	for (long it = 0; it < iters; it++) {
		f.now += 100 * GPRIO_NS_PER_US;
		for (uint32_t i = 1; i < n; i++)
			f.wptr[i]++, f.done[i] = f.wptr[i] - 1;
		if ((it / 50) % 2 == 0)
			f.wptr[0] = f.done[0] + 1;
		else
			f.done[0] = f.wptr[0];
		gprio_monitor_tick(&m);
	}
	double ns = (mono() - t0) / (double)iters;
	struct utsname u;
	uname(&u);
	time_t now = time(NULL);
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("{\"bench\": \"monitor_tick\", \"command\": \"bench_tick %u %ld\", \"machine\": "
	       "\"%s %s\", "
	       "\"date\": \"%s\", \"queues\": %u, \"ticks\": %ld, \"ns_per_tick\": %.1f, "
	       "\"suspends\": %llu, \"resumes\": %llu, \"backend_calls\": %llu, \"target_ns\": "
	       "10000}\n",
	       n, iters, u.nodename, u.machine, date, n, iters, ns,
	       (unsigned long long)m.st.suspends, (unsigned long long)m.st.resumes,
	       (unsigned long long)f.calls);
	return 0;
}
