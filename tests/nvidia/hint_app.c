/* An online program using the request hint (include/gprio/hint.h) against the stand-in driver:
 *   hint_app MODE   prints JSON: the hint's return codes, the stand-in's hold state after each
 *   step (0 none, 1 running, 2 released, 3 ended by its bound) and how long a wait took.
 * MODE:
 *   launch   hint; a launch on the legacy stream: the launch releases the hold
 *   sync     hint on a stream; cuCtxSynchronize: released before the wait, which is short
 *   bound    hint; nothing for 30 ms: the hold ends by its bound (GPRIO_HINT_HOLD_US)
 *   repeat   hint twice: one hold
 *   capture  a graph capture in progress: the hint is refused, nothing placed
 *   twice    hint twice (the second after a launch released the first): "rc2" its result,
 *            "loads_refused" how often the stand-in refused the kernel */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gprio/hint.h"
#include "stand_in_app.h"

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "launch";
	struct stand_in si;
	if (!stand_in_open(&si))
		return 1;
	int *marked = (int *)dlsym(si.lib, "fake_hold_marked");
	unsigned long *refused = (unsigned long *)dlsym(si.lib, "fake_module_loads_refused");
	void *lk = NULL, *sy = NULL, *bc = NULL, *ec = NULL;
	if (!marked || !refused || si.gpa("cuLaunchKernel", &lk, 12000, 0, NULL) ||
	    si.gpa("cuCtxSynchronize", &sy, 12000, 0, NULL) ||
	    si.gpa("cuStreamBeginCapture", &bc, 12000, 0, NULL) ||
	    si.gpa("cuStreamEndCapture", &ec, 12000, 0, NULL))
		return 1;
	void *stream = strcmp(mode, "sync") == 0 ? (void *)0x5000 : NULL;
	int rc1 = 0, rc2 = -9, st1 = 0, st2 = 0;
	double wait_ms = 0;
	if (strcmp(mode, "capture") == 0) {
		((int (*)(void *, int))bc)((void *)0x7000, 0);
		rc1 = gprio_request_hint(NULL);
		void *g;
		((int (*)(void *, void **))ec)((void *)0x7000, &g);
		st1 = si.state();
	} else {
		rc1 = gprio_request_hint(stream);
		st1 = si.state();
		if (strcmp(mode, "repeat") == 0)
			rc2 = gprio_request_hint(stream);
		if (strcmp(mode, "twice") == 0) {
			((launch_fn)lk)(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
			rc2 = gprio_request_hint(stream);
		}
		if (strcmp(mode, "launch") == 0)
			((launch_fn)lk)(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
		double t0 = now_ms();
		if (strcmp(mode, "sync") == 0)
			((int (*)(void))sy)();
		if (strcmp(mode, "bound") == 0) {
			struct timespec ts = {0, 30 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		wait_ms = now_ms() - t0;
		st2 = si.state();
	}
	printf("{\"rc\": %d, \"rc2\": %d, \"held\": %d, \"after\": %d, \"holds\": %lu, "
	       "\"on_stream\": %d, \"queued_behind\": %d, \"marked\": %d, \"loads_refused\": %lu, "
	       "\"wait_ms\": %.2f}\n",
	       rc1, rc2, st1, st2, *si.holds, si.hstream() == stream, *si.behind, *marked, *refused,
	       wait_ms);
	return 0;
}
