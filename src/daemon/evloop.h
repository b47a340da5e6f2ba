/* gpriod's event loop, in the spirit of Redis's ae.c: file descriptors (sockets of every
 * backend and of the control server) and timers, multiplexed by one ppoll. The monitor's wait
 * (struct gprio_backend_ops.wait) runs this loop until the monitor's next deadline, so sockets
 * are served while the scheduler sleeps, and nothing else in the daemon polls. */
#ifndef GPRIO_EVLOOP_H
#define GPRIO_EVLOOP_H

#include <poll.h>
#include <signal.h>

#include "gprio/types.h"

#define GPRIO_EVLOOP_MAX_FDS    512
#define GPRIO_EVLOOP_MAX_TIMERS 16

struct gprio_evloop;
/* revents as poll(2) reports them. The callback may add and delete descriptors (its own
 * included) and timers. */
typedef void (*gprio_evloop_fd_fn)(struct gprio_evloop *l, int fd, short revents, void *ctx);
/* Returns when it should fire next (absolute, on the loop's clock), or GPRIO_NS_NEVER to end. */
typedef gprio_ns (*gprio_evloop_timer_fn)(struct gprio_evloop *l, gprio_ns now, void *ctx);

struct gprio_evloop {
	const struct gprio_clock *clock;
	volatile sig_atomic_t *stop; /* run_until returns -ECANCELED once it is set */
	nfds_t n;
	bool dispatching; /* inside the callbacks of one ppoll */
	bool compact;     /* slots deleted during that dispatch */
	bool brk;         /* gprio_evloop_break: run_until returns after this dispatch */
	struct pollfd pfd[GPRIO_EVLOOP_MAX_FDS];
	struct {
		gprio_evloop_fd_fn fn;
		void *ctx;
	} fh[GPRIO_EVLOOP_MAX_FDS];
	struct {
		gprio_ns at; /* GPRIO_NS_NEVER: free */
		gprio_evloop_timer_fn fn;
		void *ctx;
	} tm[GPRIO_EVLOOP_MAX_TIMERS];
	uint64_t wakeups; /* ppoll returns (for tests and status) */
};

void gprio_evloop_init(struct gprio_evloop *l, const struct gprio_clock *clock,
		       volatile sig_atomic_t *stop);
/* Watch fd for `events` (POLLIN ...). 0, -EEXIST if it is watched already, -ENOSPC when full. */
int gprio_evloop_add_fd(struct gprio_evloop *l, int fd, short events, gprio_evloop_fd_fn fn,
			void *ctx);
/* Stop watching fd (the caller closes it). Safe inside a callback. */
void gprio_evloop_del_fd(struct gprio_evloop *l, int fd);
/* A timer first firing at `at`. Its id (>= 0), or -ENOSPC. */
int gprio_evloop_add_timer(struct gprio_evloop *l, gprio_ns at, gprio_evloop_timer_fn fn,
			   void *ctx);
void gprio_evloop_del_timer(struct gprio_evloop *l, int id);
/* Dispatch descriptor events and timers until `deadline`. 0 at the deadline, 1 when a callback
 * called gprio_evloop_break, -ECANCELED once *stop is set (a signal interrupts the wait at
 * once). */
int gprio_evloop_run_until(struct gprio_evloop *l, gprio_ns deadline);
/* From a callback: the run_until in progress returns 1 once this dispatch ends (a caller that
 * runs the loop while it waits for one reply stops waiting as soon as it came). */
void gprio_evloop_break(struct gprio_evloop *l);

/* CLOCK_MONOTONIC in ns: the daemon's clock, and the one the shims stamp launches and
 * heartbeats with. */
gprio_ns gprio_mono_now(void);
extern const struct gprio_clock gprio_mono_clock;

#endif
