/* A stand-in for the NVIDIA kernel driver's RM ioctls, preloaded after libgprio-cuda.so (the
 * shim's RTLD_NEXT ioctl lands here): NV_ESC_RM_ALLOC of KEPLER_CHANNEL_GROUP_A makes a TSG with
 * the driver's default 1024 us timeslice; NV_ESC_RM_CONTROL GET/SET_TIMESLICE read and write it.
 * Everything else goes to the real ioctl. FAKE_RM_REFUSE=1: SET_TIMESLICE fails with an RM status
 * (a driver that rejects mechanism (a)). At exit it prints one JSON line on stderr: the calls it
 * served, every value each TSG was set to, and the final values. Layouts: facts/nvidia.md. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define EXPORT    __attribute__((visibility("default")))
#define TSG_CLASS 0xa06cu
#define SET_TS    0xa06c0103u
#define GET_TS    0xa06c0104u
#define MAXT      16
#define MAXH      64

struct ctl {
	uint32_t hClient, hObject, cmd, flags;
	uint64_t params;
	uint32_t paramsSize, status;
};
static struct {
	uint32_t client, handle;
	uint64_t us;
	char hist[MAXH * 12];
} T[MAXT];
static unsigned nt, next_handle = 0x5c000015, gets, sets;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int rm(unsigned long req, void *arg);
static int refuse;

EXPORT int ioctl(int fd, unsigned long req, ...);

/* Preloaded after the shim, which interposes dlsym: RTLD_NEXT must still mean "after us", or
 * every interposer loaded after the shim (sanitizers, profilers) would find itself and recurse. */
__attribute__((constructor)) static void check_rtld_next(void)
{
	void *next = dlsym(RTLD_NEXT, "ioctl");
	Dl_info where, me;
	/* which object holds it (the address of our own ioctl would be the shim's: interposed) */
	if (!next || !dladdr(next, &where) || !dladdr((void *)check_rtld_next, &me) ||
	    where.dli_fbase == me.dli_fbase) {
		fprintf(stderr,
			"fake_rm: dlsym(RTLD_NEXT, \"ioctl\") gave %s: RTLD_NEXT is broken\n",
			next ? "fake_rm's own ioctl" : "nothing");
		_exit(99);
	}
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(req) != 'F') {
		int (*real)(int, unsigned long, ...) =
			(int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
		return real(fd, req, arg);
	}
	/* like the real driver, safe to call from any thread (the shim's watcher calls it too) */
	pthread_mutex_lock(&lock);
	int rc = rm(req, arg);
	pthread_mutex_unlock(&lock);
	return rc;
}

static int rm(unsigned long req, void *arg)
{
	uint32_t *p = arg;
	if (_IOC_NR(req) == 0x2b &&
	    _IOC_SIZE(req) == 32) { /* NVOS21: hRoot, hParent, hNew, hClass, ..., status */
		p[7] = 0;
		if (p[3] == TSG_CLASS && nt < MAXT) {
			p[2] = next_handle += 0xe;
			T[nt].client = p[0];
			T[nt].handle = p[2];
			T[nt++].us = 1024;
		}
		return 0;
	}
	if (_IOC_NR(req) == 0x2a && _IOC_SIZE(req) == sizeof(struct ctl)) {
		struct ctl *c = arg;
		for (unsigned i = 0; i < nt; i++) {
			if (T[i].client != c->hClient || T[i].handle != c->hObject)
				continue;
			uint64_t *v = (uint64_t *)(uintptr_t)c->params;
			if (c->cmd == GET_TS) {
				gets++;
				*v = T[i].us;
				c->status = 0;
			} else if (c->cmd == SET_TS) {
				sets++;
				c->status = refuse ? 0x56 /* NV_ERR_NOT_SUPPORTED */ : 0;
				if (!refuse) {
					T[i].us = *v;
					size_t l = strlen(T[i].hist);
					if (l + 12 < sizeof(T[i].hist))
						snprintf(T[i].hist + l, sizeof(T[i].hist) - l,
							 "%s%llu", l ? "," : "",
							 (unsigned long long)*v);
				}
			} else {
				c->status = 0;
			}
			return 0;
		}
		c->status = 0x57; /* unknown object */
		return 0;
	}
	return 0;
}

__attribute__((constructor)) static void init(void)
{
	const char *r = getenv("FAKE_RM_REFUSE");
	refuse = r && *r == '1';
}

__attribute__((destructor)) static void fini(void)
{
	pthread_mutex_lock(&lock);
	fprintf(stderr, "{\"fake_rm\": 1, \"gets\": %u, \"sets\": %u, \"tsgs\": [", gets, sets);
	for (unsigned i = 0; i < nt; i++)
		fprintf(stderr, "%s{\"final\": %llu, \"set\": [%s]}", i ? ", " : "",
			(unsigned long long)T[i].us, T[i].hist);
	fprintf(stderr, "]}\n");
	pthread_mutex_unlock(&lock);
}
