/* An online program that waits for its stream between steps, against the stand-in driver:
 *   linger_app MODE [STREAM]   prints JSON: the stand-in's hold state after each step (0 none,
 *   1 running, 2 released, 3 ended by its bound), how long the synchronisation took, holds
 *   launched, event synchronisations the driver saw. STREAM: "named" (default) or "legacy".
 * MODE:
 *   gap     launch; cuStreamSynchronize; 1 ms of host work; launch
 *   idle    launch; cuStreamSynchronize; nothing for 30 ms; then LINGER_APP_SLEEP_MS more
 *   rearm   launch; cuStreamSynchronize; 12 x (100 us of host work; launch); cuCtxSynchronize
 *   copy    launch; cuStreamSynchronize; launch; a copy to pageable memory (waits for the work
 *           ahead of it): "wait_ms" is the copy's time
 *   ctx     launch; cuCtxSynchronize
 *   budget  for 500 ms: launch; cuStreamSynchronize; 2 ms of host work ("steps": how often) */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stand_in_app.h"

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "gap";
	void *stream = argc > 2 && strcmp(argv[2], "legacy") == 0 ? NULL : (void *)0x5000;
	struct stand_in si;
	if (!stand_in_open(&si))
		return 1;
	unsigned long *evsyncs = (unsigned long *)dlsym(si.lib, "fake_event_syncs");
	unsigned *evflags = (unsigned *)dlsym(si.lib, "fake_event_flags");
	void *lk = NULL, *ss = NULL, *cs = NULL, *cp = NULL;
	if (!evsyncs || !evflags || si.gpa("cuLaunchKernel", &lk, 12000, 0, NULL) ||
	    si.gpa("cuStreamSynchronize", &ss, 12000, 0, NULL) ||
	    si.gpa("cuCtxSynchronize", &cs, 12000, 0, NULL) ||
	    si.gpa("cuMemcpyDtoHAsync", &cp, 12000, 0, NULL))
		return 1;
	launch_fn launch = (launch_fn)lk;
	int (*ssync)(void *) = (int (*)(void *))ss;
	int st1 = 0, st2 = 0, rc = 0, steps = 0;
	double wait_ms = 0, start = now_ms();
	bool budget = strcmp(mode, "budget") == 0;
	while (steps++ == 0 || (budget && now_ms() - start < 500)) {
		launch(NULL, 1, 1, 1, 1, 1, 1, 0, stream, NULL, NULL);
		double t0 = now_ms();
		rc |= strcmp(mode, "ctx") == 0 ? ((int (*)(void))cs)() : ssync(stream);
		wait_ms = now_ms() - t0;
		st1 = si.state();
		if (budget)
			sleep_us(2000);
	}
	if (strcmp(mode, "gap") == 0) {
		sleep_us(1000);
		launch(NULL, 1, 1, 1, 1, 1, 1, 0, stream, NULL, NULL);
	}
	if (strcmp(mode, "idle") == 0)
		sleep_us(30000);
	if (strcmp(mode, "copy") == 0) {
		launch(NULL, 1, 1, 1, 1, 1, 1, 0, stream, NULL, NULL);
		char buf[8];
		double t0 = now_ms();
		rc |= ((int (*)(void *, unsigned long long, size_t, void *))cp)(buf, 0, 8, stream);
		wait_ms = now_ms() - t0;
	}
	unsigned long rearmed = 0;
	if (strcmp(mode, "rearm") == 0) {
		for (int i = 0; i < 12; i++) {
			sleep_us(100);
			launch(NULL, 1, 1, 1, 1, 1, 1, 0, stream, NULL, NULL);
		}
		rearmed = *si.holds;
		double t0 = now_ms();
		rc |= ((int (*)(void))cs)();
		wait_ms = now_ms() - t0;
	}
	st2 = si.state();
	printf("{\"rc\": %d, \"held\": %d, \"after\": %d, \"holds\": %lu, \"on_stream\": %d, "
	       "\"queued_behind\": %d, \"event_syncs\": %lu, \"event_flags\": %u, "
	       "\"wait_ms\": %.2f, \"steps\": %d, \"rearmed\": %lu}\n",
	       rc, st1, st2, *si.holds, si.hstream() == stream, *si.behind, *evsyncs, *evflags,
	       wait_ms, steps - 1, rearmed);
	fflush(stdout);
	const char *s = getenv("LINGER_APP_SLEEP_MS");
	if (s && *s)
		sleep_us(atol(s) * 1000);
	return 0;
}
