#define _GNU_SOURCE /* ppoll */
#include "evloop.h"

#include <errno.h>
#include <string.h>
#include <time.h>

gprio_ns gprio_mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gprio_ns)ts.tv_sec * GPRIO_NS_PER_S + (gprio_ns)ts.tv_nsec;
}

static gprio_ns mono_clock_now(void *ctx)
{
	(void)ctx;
	return gprio_mono_now();
}

const struct gprio_clock gprio_mono_clock = {mono_clock_now, NULL};

void gprio_evloop_init(struct gprio_evloop *l, const struct gprio_clock *clock,
		       volatile sig_atomic_t *stop)
{
	memset(l, 0, sizeof(*l));
	l->clock = clock;
	l->stop = stop;
	for (int i = 0; i < GPRIO_EVLOOP_MAX_TIMERS; i++)
		l->tm[i].at = GPRIO_NS_NEVER;
}

static int slot_of(const struct gprio_evloop *l, int fd)
{
	for (nfds_t i = 0; i < l->n; i++)
		if (l->pfd[i].fd == fd)
			return (int)i;
	return -1;
}

int gprio_evloop_add_fd(struct gprio_evloop *l, int fd, short events, gprio_evloop_fd_fn fn,
			void *ctx)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	if (slot_of(l, fd) >= 0)
		return -EEXIST;
	if (l->n == GPRIO_EVLOOP_MAX_FDS)
		return -ENOSPC;
	l->pfd[l->n] = (struct pollfd){.fd = fd, .events = events};
	l->fh[l->n].fn = fn;
	l->fh[l->n].ctx = ctx;
	l->n++;
	return 0;
}

static void compact(struct gprio_evloop *l)
{
	nfds_t k = 0;
	for (nfds_t i = 0; i < l->n; i++)
		if (l->pfd[i].fd >= 0) {
			l->pfd[k] = l->pfd[i];
			l->fh[k] = l->fh[i];
			k++;
		}
	l->n = k;
	l->compact = false;
}

void gprio_evloop_del_fd(struct gprio_evloop *l, int fd)
{
	int i = slot_of(l, fd);
	if (i < 0)
		return;
	/* marked, not moved: a dispatch in progress keeps its indices; compacted after it */
	l->pfd[i].fd = -1;
	l->pfd[i].revents = 0;
	l->compact = true;
	if (!l->dispatching)
		compact(l);
}

int gprio_evloop_add_timer(struct gprio_evloop *l, gprio_ns at, gprio_evloop_timer_fn fn, void *ctx)
{
	for (int i = 0; i < GPRIO_EVLOOP_MAX_TIMERS; i++)
		if (l->tm[i].at == GPRIO_NS_NEVER) {
			l->tm[i].at = at;
			l->tm[i].fn = fn;
			l->tm[i].ctx = ctx;
			return i;
		}
	return -ENOSPC;
}

void gprio_evloop_del_timer(struct gprio_evloop *l, int id)
{
	if (id >= 0 && id < GPRIO_EVLOOP_MAX_TIMERS)
		l->tm[id].at = GPRIO_NS_NEVER;
}

/* Fire due timers; returns the earliest pending one. */
static gprio_ns timers(struct gprio_evloop *l, gprio_ns now)
{
	gprio_ns next = GPRIO_NS_NEVER;
	for (int i = 0; i < GPRIO_EVLOOP_MAX_TIMERS; i++) {
		if (l->tm[i].at == GPRIO_NS_NEVER)
			continue;
		if (l->tm[i].at <= now) {
			gprio_ns at = l->tm[i].fn(l, now, l->tm[i].ctx);
			/* never in the past: a timer that fires "again now" would spin */
			l->tm[i].at = at == GPRIO_NS_NEVER ? at : at > now ? at : now + 1;
		}
		if (l->tm[i].at < next)
			next = l->tm[i].at;
	}
	return next;
}

int gprio_evloop_run_until(struct gprio_evloop *l, gprio_ns deadline)
{
	for (;;) {
		if (l->stop && *l->stop)
			return -ECANCELED;
		gprio_ns now = l->clock->now(l->clock->ctx);
		gprio_ns wake = timers(l, now);
		if (now >= deadline)
			return 0;
		if (wake > deadline)
			wake = deadline;
		gprio_ns left = wake > now ? wake - now : 0;
		struct timespec ts = {(time_t)(left / GPRIO_NS_PER_S),
				      (long)(left % GPRIO_NS_PER_S)};
		int rc = ppoll(l->pfd, l->n, &ts, NULL);
		l->wakeups++;
		if (rc <= 0)
			continue; /* the wake-up time, or a signal: the loop checks stop and time */
		nfds_t n = l->n;  /* descriptors added by a callback wait for the next round */
		l->dispatching = true;
		for (nfds_t i = 0; i < n; i++) {
			short re = l->pfd[i].revents;
			if (!re || l->pfd[i].fd < 0)
				continue;
			l->pfd[i].revents = 0;
			l->fh[i].fn(l, l->pfd[i].fd, re, l->fh[i].ctx);
		}
		l->dispatching = false;
		if (l->compact)
			compact(l);
		if (l->brk) {
			l->brk = false;
			return 1;
		}
	}
}

void gprio_evloop_break(struct gprio_evloop *l)
{
	l->brk = true;
}
