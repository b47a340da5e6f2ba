/* gprio doctor --selftest: stage 1 end to end on this machine's GPU, on a process gprio starts
 * for it (a tiny HIP program that keeps one queue busy). Steps, each bounded in time, each
 * reported as it happened (never as it should have):
 *   start     the program runs and has a queue (it says "ready")
 *   enable    gpriod's way: ptrace attach, DBG_TRAP ENABLE, the exit permit, detach
 *   snapshot  its queues' rptr/wptr addresses
 *   running   its compute queue's read pointer advances
 *   suspend   SUSPEND_QUEUES; the read pointer then stays put
 *   resume    RESUME_QUEUES; the read pointer advances again
 *   disable   DBG_TRAP DISABLE
 *   exit      the program exits by itself, cleanly, when asked (no hang in its runtime's
 *             shutdown: the exit permit worked)
 * A step that fails ends the test there (debugging is disabled and the program killed if need
 * be); the ones after it are reported as not run. The logic runs over a gprio_kfd_sys and an
 * app ops table, so it is tested against a scripted KFD here and runs on /dev/kfd there. */
#ifndef GPRIO_KFD_SELFTEST_H
#define GPRIO_KFD_SELFTEST_H

#include <stdio.h>

#include "kfd_sys.h"

struct gprio_selftest_app {
	/* Start it; its pid once it says it has a queue, by `deadline`. 0 or -errno
	 * (-ETIMEDOUT). */
	int (*start)(void *ctx, uint32_t *pid, gprio_ns deadline);
	/* Ask it to exit and wait until `deadline`: 0 with its exit status, -ETIMEDOUT (it is
	 * then killed), or -errno. */
	int (*finish)(void *ctx, gprio_ns deadline, int *status);
	void *ctx;
};

enum gprio_selftest_step {
	GPRIO_ST_START = 0,
	GPRIO_ST_ENABLE,
	GPRIO_ST_SNAPSHOT,
	GPRIO_ST_RUNNING,
	GPRIO_ST_SUSPEND,
	GPRIO_ST_RESUME,
	GPRIO_ST_DISABLE,
	GPRIO_ST_EXIT,
	GPRIO_ST_COUNT
};

struct gprio_selftest_result {
	int ok[GPRIO_ST_COUNT]; /* 1 passed, 0 failed, -1 not run */
	char why[GPRIO_ST_COUNT][160];
	uint64_t rptr_moved_running, rptr_moved_suspended, rptr_moved_resumed;
	bool passed;
};

struct gprio_selftest_cfg {
	gprio_ns start_timeout, step_timeout, watch; /* watch: how long rptr is observed */
	int dbg_fd;                                  /* for ENABLE */
};
void gprio_selftest_defaults(struct gprio_selftest_cfg *c);

/* Run the steps; each line of the report goes to `out` (may be NULL). true when all passed. */
bool gprio_kfd_selftest(const struct gprio_kfd_sys *sys, const struct gprio_selftest_app *app,
			const struct gprio_selftest_cfg *cfg, struct gprio_selftest_result *r,
			FILE *out);
const char *gprio_selftest_step_name(enum gprio_selftest_step s);

#endif
