#include "nvidia_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

gprio_ns gprio_nv_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gprio_ns)ts.tv_sec * GPRIO_NS_PER_S + (gprio_ns)ts.tv_nsec;
}

int gprio_nv_shm_create(struct gprio_nv *nv, const char *path, uint32_t policy, gprio_ns hysteresis,
			uint32_t online_ts_us, uint32_t offline_ts_us, bool gating, uint32_t inflight_bound)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0666); /* shims of every user attach; see docs/nvidia.md on the trust model */
	if (ftruncate(fd, sizeof(struct gprio_shm)) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	void *m = mmap(NULL, sizeof(struct gprio_shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	struct gprio_shm *s = m;
	bool fresh = s->magic != GPRIO_SHM_MAGIC || s->version != GPRIO_SHM_VERSION;
	if (fresh) {
		memset(s, 0, sizeof(*s));
		s->version = GPRIO_SHM_VERSION;
		s->magic = GPRIO_SHM_MAGIC;
	}
	/* rows of running processes survive a daemon restart; configuration is ours */
	atomic_store(&s->hysteresis_ns, hysteresis);
	atomic_store(&s->online_timeslice_us, online_ts_us);
	atomic_store(&s->offline_timeslice_us, offline_ts_us);
	atomic_store(&s->gating, gating ? 1u : 0u);
	atomic_store(&s->inflight_bound, inflight_bound);
	atomic_store(&s->policy, policy);
	for (int l = 0; l < GPRIO_SHM_LEVELS; l++)
		atomic_store(&s->hot_until[l], 0);
	for (int i = 0; i < GPRIO_SHM_PROCS; i++)
		atomic_store(&s->procs[i].gate_override, GPRIO_GATE_AUTO);
	nv->shm = s;
	nv->path = path;
	return 0;
}

void gprio_nv_shm_close(struct gprio_nv *nv, bool unlink_file)
{
	if (!nv->shm)
		return;
	/* a zero heartbeat is stale at once: every shim fails open now, not in 100 ms */
	atomic_store(&nv->shm->heartbeat_ns, 0);
	for (int i = 0; i < GPRIO_SHM_PROCS; i++)
		atomic_store(&nv->shm->procs[i].gate_override, GPRIO_GATE_AUTO);
	munmap(nv->shm, sizeof(*nv->shm));
	nv->shm = NULL;
	if (unlink_file)
		unlink(nv->path);
}

void gprio_nv_print_procs(FILE *f, const struct gprio_shm *s)
{
	fprintf(f, "%8s %-8s %4s %-34s %12s %10s %12s %7s\n", "PID", "CLASS", "PRIO", "MECHANISMS",
		"LAUNCHES", "GATED", "WAITED(ms)", "WAITING");
	int n = 0;
	for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
		const struct gprio_shm_proc *r = &s->procs[i];
		uint32_t pid = atomic_load(&r->pid);
		if (!pid)
			continue;
		uint32_t mech = atomic_load(&r->mechanisms);
		char m[64];
		snprintf(m, sizeof(m), "%s%s%s%s%s", mech & GPRIO_MECH_GATING ? "gating " : "",
			 mech & GPRIO_MECH_TSG_TIMESLICE ? "tsg-timeslice " : "",
			 mech & GPRIO_MECH_TSG_FAILED ? "tsg-REFUSED " : "",
			 mech & GPRIO_MECH_INFLIGHT ? "inflight " : "", mech & GPRIO_MECH_MPS ? "mps" : "");
		fprintf(f, "%8u %-8s %4u %-34s %12llu %10llu %12.3f %7u\n", pid,
			gprio_class_name((enum gprio_class)atomic_load(&r->klass)), atomic_load(&r->priority),
			m, (unsigned long long)atomic_load(&r->launches),
			(unsigned long long)atomic_load(&r->gated_launches),
			(double)atomic_load(&r->gate_wait_ns) / 1e6, atomic_load(&r->waiting));
		n++;
	}
	if (!n)
		fprintf(f, "(no processes registered)\n");
}

int gprio_nv_reap(struct gprio_nv *nv, gprio_ns now)
{
	int n = 0;
	for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
		struct gprio_shm_proc *r = &nv->shm->procs[i];
		uint32_t pid = atomic_load(&r->pid);
		if (!pid)
			continue;
		/* gone (ESRCH), or silent for a second and not probeable (another user's pid) */
		bool unreachable = kill((pid_t)pid, 0) != 0;
		bool silent = atomic_load(&r->heartbeat_ns) + GPRIO_NS_PER_S < now;
		if (unreachable && (errno == ESRCH || silent)) {
			atomic_store(&r->gate_override, GPRIO_GATE_AUTO);
			atomic_store(&r->pid, 0);
			n++;
		}
	}
	return n;
}

/* The row a queue key (slot << 32 | pid) names, or NULL when the slot is out of range or now
 * belongs to another process (the key's process exited). */
static struct gprio_shm_proc *row_of(struct gprio_nv *nv, uint64_t key)
{
	uint64_t slot = key >> 32;
	if (slot >= GPRIO_SHM_PROCS || atomic_load(&nv->shm->procs[slot].pid) != (uint32_t)key)
		return NULL;
	return &nv->shm->procs[slot];
}

static int nv_refresh(void *be, struct gprio_table *t, gprio_ns now)
{
	struct gprio_nv *nv = be;
	atomic_store(&nv->shm->heartbeat_ns, now);
	/* rows are keyed by (slot, pid) so a reused slot is a new queue */
	for (uint32_t i = 0; i < t->n; i++)
		if (!row_of(nv, t->q[i].key))
			t->q[i].vanished = 1;
	for (uint32_t s = 0; s < GPRIO_SHM_PROCS; s++) {
		struct gprio_shm_proc *r = &nv->shm->procs[s];
		uint32_t pid = atomic_load(&r->pid);
		if (!pid)
			continue;
		uint64_t key = (uint64_t)s << 32 | pid;
		int prio = (int)atomic_load(&r->priority);
		int idx = gprio_table_find(t, key);
		if (idx < 0) {
			idx = gprio_table_add(t, key, pid, prio, (enum gprio_class)atomic_load(&r->klass), now);
			if (idx < 0)
				return idx == -ENOSPC ? 0 : idx;
		}
		struct gprio_queue *q = &t->q[idx];
		q->priority = (uint8_t)prio;
		q->wptr = q->rptr = q->done = atomic_load(&r->launches);
		gprio_ns last = atomic_load(&r->last_launch_ns);
		/* a launch stamped after this tick read the clock counts as now (hot), not as a
		 * future time gprio_queue_hot() would reject */
		q->last_busy = !last ? GPRIO_NS_NEVER : last > now ? now : last;
		bool held = atomic_load(&r->gate_override) == GPRIO_GATE_CLOSED;
		if (q->hw_held != held) {
			q->hw_held = held;
			q->hw_changed_at = now;
		}
	}
	return 0;
}

static int set_override(struct gprio_nv *nv, const uint64_t *keys, size_t n, uint32_t v, bool *failed)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct gprio_shm_proc *r = row_of(nv, keys[i]);
		if (!r) {
			if (failed)
				failed[i] = true;
			rc = -ESRCH;
			continue;
		}
		atomic_store(&r->gate_override, v);
	}
	return rc == -ESRCH && n == 1 ? rc : 0;
}

static int nv_suspend(void *be, const uint64_t *keys, size_t n, gprio_ns grace, bool *failed)
{
	(void)grace;
	return set_override(be, keys, n, GPRIO_GATE_CLOSED, failed);
}

static int nv_resume(void *be, const uint64_t *keys, size_t n, bool *failed)
{
	return set_override(be, keys, n, GPRIO_GATE_AUTO, failed);
}

static int nv_set_priority(void *be, uint64_t key, int prio)
{
	if (!gprio_priority_valid(prio))
		return -EINVAL;
	struct gprio_shm_proc *r = row_of(be, key);
	if (!r)
		return -ESRCH;
	atomic_store(&r->priority, (uint32_t)prio);
	return 0;
}

static int nv_wait(void *be, gprio_ns deadline)
{
	struct gprio_nv *nv = be;
	if (nv->stop && *nv->stop)
		return -ECANCELED;
	int rc = nv->sleep_until(deadline);
	if (rc < 0 || (nv->stop && *nv->stop))
		return -ECANCELED;
	return GPRIO_WAIT_DEADLINE;
}

static void nv_caps(void *be, struct gprio_backend_caps *c)
{
	(void)be;
	*c = (struct gprio_backend_caps){.instruction_level = true, .launch_gating = true,
					 .per_queue = false, .events = false};
}

const struct gprio_backend_ops gprio_nvidia_ops = {
	.name = "nvidia",
	.refresh = nv_refresh,
	.suspend = nv_suspend,
	.resume = nv_resume,
	.set_priority = nv_set_priority,
	.wait = nv_wait,
	.caps = nv_caps,
};
