/* Time-slice groups. Interposes ioctl to see libcuda create its TSGs (NV_ESC_RM_ALLOC of class
 * KEPLER_CHANNEL_GROUP_A) and sets their timeslice through the same fd and client
 * (NV_ESC_RM_CONTROL SET_TIMESLICE), keeping the original to restore; libcuda's own later
 * SET_TIMESLICE on one of them is given our value in the same call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include "shim.h"

#define NV_IOCTL_MAGIC         'F'
#define NV_ESC_RM_CONTROL      0x2a
#define NV_ESC_RM_ALLOC        0x2b
#define KEPLER_CHANNEL_GROUP_A 0xa06cu
#define TSG_SET_TIMESLICE      0xa06c0103u
#define TSG_GET_TIMESLICE      0xa06c0104u

struct nv_rm_control { /* NVOS54_PARAMETERS */
	uint32_t hClient, hObject, cmd, flags;
	uint64_t params;
	uint32_t paramsSize, status;
};

typedef int (*ioctl_fn)(int, unsigned long, ...);
static _Atomic(ioctl_fn) real_ioctl_fn;

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	ioctl_fn f = atomic_load_explicit(&real_ioctl_fn, memory_order_acquire);
	if (!f) {
		f = (ioctl_fn)shim_real_dlsym(RTLD_NEXT, "ioctl");
		atomic_store_explicit(&real_ioctl_fn, f, memory_order_release);
	}
	return f ? f(fd, req, arg) : -1;
}

static int rm_control(struct shim_tsg *t, uint32_t cmd, uint64_t *us)
{
	struct nv_rm_control c = {t->client, t->handle, cmd, 0, (uint64_t)(uintptr_t)us, 8, 0};
	unsigned long req = _IOWR(NV_IOCTL_MAGIC, NV_ESC_RM_CONTROL, struct nv_rm_control);
	if (real_ioctl(t->fd, req, &c) != 0)
		return -errno;
	return c.status == 0 ? 0 : -EIO;
}

/* With `verify`, read each one back and set it again where it differs: libcuda finishes setting
 * a context up after creating its TSGs and a value set at creation does not stay (seen on
 * driver 580). */
unsigned shim_apply_timeslices(uint64_t want_us, bool verify)
{
	unsigned n = 0;
	pthread_mutex_lock(&g_shim.tsg_lock);
	for (unsigned i = 0; i < g_shim.ntsg; i++) {
		struct shim_tsg *t = &g_shim.tsg[i];
		if (!t->orig_us && rm_control(t, TSG_GET_TIMESLICE, &t->orig_us) != 0)
			t->orig_us = 0;
		uint64_t us = want_us ? want_us : t->orig_us;
		if (us == 0 || (!want_us && !t->set_us))
			continue; /* nothing to restore */
		if (us == t->set_us && !verify)
			continue;
		if (verify && us == t->set_us) {
			uint64_t cur = 0;
			if (rm_control(t, TSG_GET_TIMESLICE, &cur) != 0 || cur == us)
				continue;
			SHIM_LOG("TSG %#x timeslice found at %llu us, setting %llu again\n",
				 t->handle, (unsigned long long)cur, (unsigned long long)us);
		}
		uint64_t v = us;
		if (rm_control(t, TSG_SET_TIMESLICE, &v) == 0) {
			t->set_us = want_us ? us : 0;
			n++;
			shim_mech_set(GPRIO_MECH_TSG_TIMESLICE, true);
			SHIM_LOG("TSG %#x timeslice -> %llu us\n", t->handle,
				 (unsigned long long)us);
		} else {
			shim_mech_set(GPRIO_MECH_TSG_FAILED, true);
			SHIM_LOG("TSG %#x: SET_TIMESLICE refused: timeslices unavailable\n",
				 t->handle);
		}
	}
	pthread_mutex_unlock(&g_shim.tsg_lock);
	return n;
}

/* Our TSG with this (client, handle), or NULL. Call with tsg_lock held. */
static struct shim_tsg *tsg_find(uint32_t client, uint32_t handle)
{
	for (unsigned i = 0; i < g_shim.ntsg; i++)
		if (g_shim.tsg[i].client == client && g_shim.tsg[i].handle == handle)
			return &g_shim.tsg[i];
	return NULL;
}

static bool tsg_known(uint32_t client, uint32_t handle)
{
	pthread_mutex_lock(&g_shim.tsg_lock);
	bool k = tsg_find(client, handle) != NULL;
	pthread_mutex_unlock(&g_shim.tsg_lock);
	return k;
}

uint64_t shim_wanted_timeslice(void)
{
	struct shim_binding *b = shim_binding();
	if (!b || !atomic_load(&g_shim.live))
		return 0;
	/* the class gpriod granted (it may have demoted us, or `gprio set` changed it) */
	bool online = atomic_load(&b->row->klass) == GPRIO_CLASS_ONLINE;
	if (!atomic_load(&b->shm->mech_auto))
		return online ? atomic_load(&b->shm->online_timeslice_us)
			      : atomic_load(&b->shm->offline_timeslice_us);
	/* per GPU: our TSGs cannot be told apart by GPU, so a process on several GPUs takes the
	 * most protective value (online: the longest; offline: the shortest set) */
	uint32_t rows = shim_gpu_rows(b);
	uint64_t want = 0;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		if ((rows && !(rows & 1u << g)) || !atomic_load(&b->shm->gpus[g].pci))
			continue;
		uint64_t v = online ? atomic_load(&b->shm->gpus[g].online_timeslice_us)
				    : atomic_load(&b->shm->gpus[g].offline_timeslice_us);
		if (v && (!want || (online ? v > want : v < want)))
			want = v;
	}
	return want;
}

/* libcuda's own RM calls on one of our TSGs: a control on it (c), or an object allocated under
 * it (alloc = {hRoot, hObjectParent, hObjectNew, hClass}). Mark the timeslices for a read-back
 * (the watcher does it within 10 ms). */
static void rm_control_seen(const struct nv_rm_control *c)
{
	if (!tsg_known(c->hClient, c->hObject))
		return;
	atomic_store(&g_shim.tsg_dirty, true);
	if (g_shim.trace_rm)
		fprintf(stderr, "gprio-shim[%d]: libcuda RM control %#x on TSG %#x (status %u)\n",
			(int)getpid(), c->cmd, c->hObject, c->status);
}

static void rm_alloc_seen(const uint32_t *alloc)
{
	if (!tsg_known(alloc[0], alloc[1]))
		return;
	atomic_store(&g_shim.tsg_dirty, true);
	if (g_shim.trace_rm)
		fprintf(stderr, "gprio-shim[%d]: libcuda RM alloc class %#x under TSG %#x\n",
			(int)getpid(), alloc[3], alloc[1]);
}

/* libcuda sets a timeslice of its own on a TSG of ours (driver 580: 2048 us on a context's first
 * TSG once the context is set up). Its value becomes the one to restore; the driver gets ours
 * (want > 0) in the same call, so there is no window with libcuda's value in place. Returns the
 * ioctl's result, or -2 when this is not such a call. */
static int rm_set_timeslice(int fd, unsigned long req, struct nv_rm_control *c)
{
	if (c->cmd != TSG_SET_TIMESLICE || c->paramsSize != 8 || !c->params)
		return -2;
	pthread_mutex_lock(&g_shim.tsg_lock);
	struct shim_tsg *t = tsg_find(c->hClient, c->hObject);
	if (!t) {
		pthread_mutex_unlock(&g_shim.tsg_lock);
		return -2;
	}
	uint64_t *v = (uint64_t *)(uintptr_t)c->params, theirs = *v, want = shim_wanted_timeslice();
	if (want)
		*v = want;
	int rc = real_ioctl(fd, req, c);
	*v = theirs; /* the caller's block as it wrote it */
	if (rc == 0 && c->status == 0) {
		t->orig_us = theirs;
		t->set_us = want;
	}
	pthread_mutex_unlock(&g_shim.tsg_lock);
	SHIM_LOG("libcuda sets TSG %#x to %llu us: %s%llu us\n", c->hObject,
		 (unsigned long long)theirs, want ? "the driver gets ours, " : "passed through, ",
		 (unsigned long long)(want ? want : theirs));
	return rc;
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (g_shim.klass < 0 || !arg || _IOC_TYPE(req) != NV_IOCTL_MAGIC)
		return real_ioctl(fd, req, arg);
	size_t sz = _IOC_SIZE(req);
	unsigned ntsg = atomic_load(&g_shim.ntsg);
	if (_IOC_NR(req) == NV_ESC_RM_CONTROL) {
		if (ntsg && sz == sizeof(struct nv_rm_control)) {
			int r = rm_set_timeslice(fd, req, arg);
			if (r != -2)
				return r;
		}
		int rc = real_ioctl(fd, req, arg);
		if (rc == 0 && ntsg && sz >= sizeof(struct nv_rm_control))
			rm_control_seen(arg);
		return rc;
	}
	int rc = real_ioctl(fd, req, arg);
	if (rc != 0 || _IOC_NR(req) != NV_ESC_RM_ALLOC || sz < 16)
		return rc;
	const uint32_t *p = arg; /* {hRoot, hObjectParent, hObjectNew, hClass, ...} */
	if (p[3] != KEPLER_CHANNEL_GROUP_A) {
		if (ntsg)
			rm_alloc_seen(p);
		return rc;
	}
	/* the status word sits at the end of NVOS21 (32 bytes) / NVOS64 (48 bytes) */
	if ((sz == 32 || sz == 48) && p[sz / 4 - 1] != 0)
		return rc;
	pthread_mutex_lock(&g_shim.tsg_lock);
	unsigned n = atomic_load(&g_shim.ntsg);
	if (n < SHIM_MAX_TSGS) {
		g_shim.tsg[n] = (struct shim_tsg){fd, p[0], p[2], 0, 0};
		atomic_store(&g_shim.ntsg, n + 1);
	}
	pthread_mutex_unlock(&g_shim.tsg_lock);
	shim_start(); /* a context's first TSG: the process uses the GPU */
	struct shim_binding *b = shim_binding();
	if (b)
		atomic_fetch_add(&b->stats->tsgs, 1);
	SHIM_LOG("TSG %#x created (client %#x)\n", p[2], p[0]);
	uint64_t want = shim_wanted_timeslice();
	if (want)
		shim_apply_timeslices(want, false);
	atomic_store(&g_shim.tsg_dirty, true); /* read it back once libcuda has finished with it */
	return rc;
}
