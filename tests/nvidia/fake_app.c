/* An "unmodified CUDA program" as the CUDA runtime behaves: dlopen libcuda.so.1, dlsym
 * cuGetProcAddress_v2, get every entry point through it (legacy and per-thread variants), launch.
 *   fake_app N [legacy|ptsz|graph|bench|paced|tsg|gpu|poll|cpu]   prints JSON: calls reaching each
 *   real variant, and for bench the mean ns per launch. tsg: first set a context up the way
 *   libcuda 580 does through its RM ioctls (4 TSGs, then SET_TIMESLICE 2048 us on the first:
 *   facts/nvidia.md and GPRIO_TRACE_RM on the H100), then launch paced like an online service.
 *   gpu and cpu are services of N requests (a context set up as for tsg first):
 *     gpu  GPU-bound: one 3 ms kernel, then cuCtxSynchronize; 10 ms apart
 *     poll as gpu with a 6 ms kernel and no synchronisation: it sleeps 6.5 ms instead
 *     cpu  CPU-bound: 8 kernels of 20 us with 100 us of "CPU" after each, then
 *          cuCtxSynchronize; 2 ms apart
 *   side: a service with a side stream that never drains: a thread launches a 2 ms kernel
 *   every 1 ms on a stream of its own while the main thread serves N requests (a kernel on
 *   the legacy stream, then cuStreamSynchronize) 10 ms apart
 *   lookup: get the entry points as the runtime does, create no context and launch nothing
 *   for 0.8 s (a launcher such as torchrun's parent)
 *   capture: the process's first launches go into a graph capture on a stream of its own
 *   (global mode), then N plain launches; "capture": 0 when EndCapture succeeded. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "../../src/backends/nvidia/shm.h"

/* launches/gated counters of this process's row in gpriod's control segment (gpriod copies
 * them from our stats page each tick: wait up to 300 ms for `want` launches), or -1 */
static void shm_row(long long want, long long *launches, long long *gated)
{
	*launches = *gated = -1;
	const char *p = getenv("GPRIO_SHM");
	int fd = p ? open(p, O_RDONLY) : -1;
	if (fd < 0)
		return;
	struct gprio_shm *s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return;
	uint64_t hb0 = atomic_load(&s->heartbeat_ns);
	for (int t = 0; t < 300; t++) {
		if (t == 30 && atomic_load(&s->heartbeat_ns) == hb0)
			break; /* gpriod is not ticking (dead): nothing more will be copied */
		for (int i = 0; i < GPRIO_SHM_PROCS; i++)
			if (atomic_load(&s->procs[i].pid) == (uint32_t)getpid()) {
				*launches = (long long)atomic_load(&s->copy[i].launches);
				*gated = (long long)atomic_load(&s->copy[i].gated_launches);
			}
		if (*launches >= want || *launches < 0)
			break;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	munmap(s, sizeof(*s));
}

/* libcuda's context set-up, as far as TSGs go: RM_ALLOC (NVOS21, 32 bytes) of 4 channel groups
 * on its control fd, then its own SET_TIMESLICE (NVOS54) of 2048 us on the first. */
static void libcuda_like_context(void)
{
	int fd = open("/dev/null", O_RDWR);
	uint32_t first = 0;
	for (int i = 0; i < 4; i++) {
		uint32_t a[8] = {0xc1d00071u, 0xcaf00001u, 0, 0xa06cu, 0, 0, 0, 0};
		ioctl(fd, _IOWR('F', 0x2b, uint32_t[8]), a);
		first = i == 0 ? a[2] : first;
	}
	uint64_t us = 2048;
	struct {
		uint32_t hClient, hObject, cmd, flags;
		uint64_t params;
		uint32_t paramsSize, status;
	} c = {0xc1d00071u, first, 0xa06c0103u, 0, (uint64_t)(uintptr_t)&us, 8, 0};
	ioctl(fd, _IOWR('F', 0x2a, c), &c);
	if (c.status != 0 || us != 2048)
		fprintf(stderr, "fake_app: libcuda's SET_TIMESLICE: status %u, value %llu\n",
			c.status, (unsigned long long)us);
	close(fd);
}

typedef int (*gpa_fn)(const char *, void **, int, unsigned long long, void *);
typedef int (*launch_fn)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
			 unsigned, void *, void **, void **);
typedef int (*graph_fn)(void *, void *);
typedef int (*sync_fn)(void);
typedef int (*ssync_fn)(void *);
typedef int (*copy_fn)(void *, unsigned long long, size_t, void *);

static launch_fn side_launch;
static atomic_bool side_stop;

static void pause_us(long us);
static void *side_loop(void *u)
{
	(void)u;
	while (!atomic_load(&side_stop)) {
		side_launch(NULL, 1, 1, 1, 1, 1, 1, 0, (void *)0x6000, NULL, NULL);
		pause_us(1000);
	}
	return NULL;
}

static void pause_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10;
	const char *mode = argc > 2 ? argv[2] : "legacy";
	void *h = dlopen("libcuda.so.1", RTLD_NOW);
	if (!h) {
		fprintf(stderr, "fake_app: %s\n", dlerror());
		return 1;
	}
	gpa_fn gpa = (gpa_fn)dlsym(h, "cuGetProcAddress_v2");
	unsigned long *calls = (unsigned long *)dlsym(h, "fake_calls");
	if (!gpa || !calls)
		return 1;
	void *lk = NULL, *gl = NULL, *sy = NULL;
	unsigned long long fl = strcmp(mode, "ptsz") == 0 ? 2 : 0;
	if (gpa("cuLaunchKernel", &lk, 12000, fl, NULL) ||
	    gpa("cuGraphLaunch", &gl, 12000, fl, NULL) ||
	    gpa("cuCtxSynchronize", &sy, 12000, fl, NULL))
		return 1;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	bool gpu = strcmp(mode, "gpu") == 0, cpu = strcmp(mode, "cpu") == 0;
	/* poll: as gpu, but it never synchronises (it sleeps as long as the work takes, as a
	 * program polling mapped memory or an event would wait) */
	bool poll = strcmp(mode, "poll") == 0;
	/* copy: as gpu, but the program waits inside a copy to pageable memory and then
	 * synchronises its stream, which finds the work done (PyTorch's .item()) */
	bool copy = strcmp(mode, "copy") == 0;
	void *cp = NULL, *ss = NULL;
	if (copy && (gpa("cuMemcpyDtoHAsync", &cp, 12000, 0, NULL) ||
		     gpa("cuStreamSynchronize", &ss, 12000, 0, NULL)))
		return 1;
	gpu = gpu || poll || copy;
	bool tsg = strcmp(mode, "tsg") == 0 || gpu || cpu;
	if (tsg)
		libcuda_like_context();
	void (*set_kernel)(double) = (void (*)(double))dlsym(h, "fake_set_kernel_us");
	if ((gpu || cpu) && set_kernel)
		set_kernel(poll ? 6000 : gpu ? 3000 : 20);
	for (long i = 0; (gpu || cpu) && i < n; i++) {
		for (int k = 0; k < (gpu ? 1 : 8); k++) {
			((launch_fn)lk)(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
			if (cpu)
				pause_us(100);
		}
		if (poll) {
			pause_us(6500);
		} else if (copy) {
			int token;
			((copy_fn)cp)(&token, 0, sizeof token, NULL);
			((ssync_fn)ss)(NULL);
		} else
			((sync_fn)sy)();
		pause_us(gpu ? 10000 : 2000);
	}
	if (gpu || cpu)
		n = 0;
	if (strcmp(mode, "side") == 0) {
		if (gpa("cuStreamSynchronize", &ss, 12000, 0, NULL))
			return 1;
		libcuda_like_context();
		if (set_kernel)
			set_kernel(2000);
		side_launch = (launch_fn)lk;
		pthread_t t;
		pthread_create(&t, NULL, side_loop, NULL);
		for (long i = 0; i < n; i++) {
			((launch_fn)lk)(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
			((ssync_fn)ss)(NULL);
			pause_us(10000);
		}
		atomic_store(&side_stop, true);
		pthread_join(t, NULL);
		n = 0;
	}
	if (strcmp(mode, "lookup") == 0) {
		pause_us(800000);
		n = 0;
	}
	int capture_rc = -1;
	if (strcmp(mode, "capture") == 0) {
		void *bc = NULL, *ec = NULL, *g = NULL, *st = (void *)0x5000;
		if (gpa("cuStreamBeginCapture", &bc, 12000, 0, NULL) ||
		    gpa("cuStreamEndCapture", &ec, 12000, 0, NULL))
			return 1;
		((int (*)(void *, int))bc)(st, 0);
		for (int k = 0; k < 5; k++)
			((launch_fn)lk)(NULL, 1, 1, 1, 1, 1, 1, 0, st, NULL, NULL);
		capture_rc = ((int (*)(void *, void **))ec)(st, &g);
	}
	bool paced =
		tsg || strcmp(mode, "paced") == 0; /* an online service: one launch per 100 us */
	for (long i = 0; i < n; i++) {
		if (strcmp(mode, "graph") == 0)
			((graph_fn)gl)(NULL, NULL);
		else
			((launch_fn)lk)(NULL, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
		if (paced) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
		    (double)(n ? n : 1);
	long long sl, sg;
	shm_row(n, &sl, &sg);
	printf("{\"capture\": %d, \"legacy\": %lu, \"ptsz\": %lu, \"graph\": %lu, \"graph_ptsz\": "
	       "%lu, "
	       "\"ns_per_launch\": %.1f, "
	       "\"elapsed_ms\": %.1f, \"shm_launches\": %lld, \"shm_gated\": %lld}\n",
	       capture_rc, calls[0], calls[1], calls[2], calls[3], ns, ns * (double)n / 1e6, sl,
	       sg);
	return 0;
}
