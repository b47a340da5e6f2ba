/* What the test programs that drive the stand-in libcuda share (hint_app.c, linger_app.c): the
 * driver entry points they look up, and a monotonic clock in ms. */
#ifndef GPRIO_TEST_STAND_IN_APP_H
#define GPRIO_TEST_STAND_IN_APP_H

#include <dlfcn.h>
#include <stdbool.h>
#include <time.h>

typedef int (*launch_fn)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			 unsigned, void *, void **, void **);
typedef int (*gpa_fn)(const char *, void **, int, unsigned long long, void *);

static inline double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The stand-in driver and its hold probes (fake_libcuda.c) */
struct stand_in {
	void *lib;
	gpa_fn gpa;
	int (*state)(void);     /* the last hold: 0 none, 1 running, 2 released, 3 bound */
	void *(*hstream)(void); /* its stream */
	unsigned long *holds;   /* holds launched */
	int *behind;            /* a launch found a hold running */
};

static inline bool stand_in_open(struct stand_in *s)
{
	s->lib = dlopen("libcuda.so.1", RTLD_NOW);
	if (!s->lib)
		return false;
	s->gpa = (gpa_fn)dlsym(s->lib, "cuGetProcAddress_v2");
	s->state = (int (*)(void))dlsym(s->lib, "fake_hold_state");
	s->hstream = (void *(*)(void))dlsym(s->lib, "fake_hold_stream");
	s->holds = (unsigned long *)dlsym(s->lib, "fake_holds");
	s->behind = (int *)dlsym(s->lib, "fake_launch_behind_hold");
	return s->gpa && s->state && s->hstream && s->holds && s->behind;
}

#endif
