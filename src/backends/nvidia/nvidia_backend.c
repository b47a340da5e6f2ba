#define _GNU_SOURCE /* struct ucred */
#include "nvidia_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "mps_server.h"
#include "gprio/policy.h"

void gprio_nv_cfg_defaults(struct gprio_nv_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->path = GPRIO_SHM_DEFAULT_PATH;
	c->auth.daemon_uid = (uint32_t)getuid();
	c->policy = (uint32_t)gprio_policy_index(&gprio_policy_priority);
	c->hysteresis = 500 * GPRIO_NS_PER_US;
	c->mech_auto = true;
	gprio_mech_defaults(&c->mech);
	c->tsg_online_us = 1000 * 1000;
	c->tsg_offline_us = 1;
	/* node-wide, when a flag fixes the mechanism: as before per-GPU mechanisms existed */
	c->online_ts_us = 0;
	c->offline_ts_us = 1;
	c->gating = true;
	c->inflight_bound = 0;
	c->max_per_user = 16;
	c->group_hold = 60 * GPRIO_NS_PER_S;
	/* H200 (bench/results/nvidia-h200x2-2026-11-28, parts 15-16): a probe next to 1 ms offline
	 * kernels p99 1.03 ms at 100 %, 0.066 ms at 90 %; the side-stream service 1.40x -> 1.07x
	 * alone with offline training at 26.8 it/s in both */
	c->mps_offline_sm = 90;
	c->linger_us = GPRIO_NV_LINGER_US_DEFAULT;
	c->log = NULL;
}

/* Files gpriod serves are created afresh by gpriod, never reused: someone who created the
 * path first could keep a descriptor with write access (or be the owner and change its mode).
 * An earlier gpriod's file (ours) is removed; anyone else's is refused with a message saying
 * whose it is. */
static int take_path(const char *path, bool socket, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT
			       ? 0
			       : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -errno);
	bool kind = socket ? S_ISSOCK(st.st_mode) : S_ISREG(st.st_mode);
	if (!kind || st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s exists and is %s of uid %u, not gpriod's (uid %u): remove it "
			 "or choose another --shm",
			 path, kind ? "a file" : "not a plain file", (unsigned)st.st_uid,
			 (unsigned)geteuid());
		return -EEXIST;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "%s: cannot remove an earlier gpriod's file: %s", path,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static void *map_new(const char *path, mode_t mode, size_t size, int *fd_out, char *err,
		     size_t errlen)
{
	if (take_path(path, false, err, errlen) < 0)
		return NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	void *m = MAP_FAILED;
	/* fchmod: the mode without the umask */
	if (fd >= 0 && fchmod(fd, mode) == 0 && ftruncate(fd, (off_t)size) == 0)
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	*fd_out = fd;
	return m;
}

/* The directory the files live in: the default one is created (root-owned, 0755); any one must
 * be a directory (not a link to one) that others cannot write in, or that is sticky like /tmp
 * (then nobody can remove or replace our files, and take_path refuses theirs). */
static int check_dir(const char *path, char *err, size_t errlen)
{
	char dir[300];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	if (strcmp(path, GPRIO_SHM_DEFAULT_PATH) == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen,
			 "%s: %s (gpriod makes its default directory as root; give "
			 "--shm PATH otherwise)",
			 dir, strerror(errno));
		return -errno;
	}
	struct stat st;
	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory (a link to one is not accepted)", dir);
		return -ENOTDIR;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s is writable by others and not sticky (mode %04o): anyone "
			 "could replace gpriod's files; choose another --shm",
			 dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s belongs to uid %u: gpriod (uid %u) keeps its files in a "
			 "directory of its own or root's",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

/* Another gpriod already serving this path answers on its socket: refuse to take over (it
 * would keep running with its shims cut off). */
static int check_single(const struct sockaddr_un *sock, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	int rc = 0;
	if (connect(fd, (const struct sockaddr *)sock, sizeof(*sock)) == 0) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			snprintf(err, errlen,
				 "gpriod pid %d (uid %u) already serves %s: stop it first",
				 (int)cr.pid, (unsigned)cr.uid, sock->sun_path);
		else
			snprintf(err, errlen, "a process already listens on %s", sock->sun_path);
		rc = -EADDRINUSE;
	}
	close(fd);
	return rc;
}

/* The shims fail open when the heartbeat is older than GPRIO_SHM_STALE_NS: beat every 10 ms
 * whatever the monitor's poll period. */
static gprio_ns heartbeat(struct gprio_evloop *l, gprio_ns now, void *ctx)
{
	struct gprio_nv *nv = ctx;
	(void)l;
	atomic_store(&nv->shm->heartbeat_ns, now);
	return now + 10 * GPRIO_NS_PER_MS;
}

static gprio_ns reap(struct gprio_evloop *l, gprio_ns now, void *ctx)
{
	(void)l;
	gprio_nv_reap(ctx);
	gprio_nv_peer_log_flush(ctx, now);
	return now + 500 * GPRIO_NS_PER_MS;
}

/* Stop the MPS control daemon gpriod started, if any. */
static void mps_off(struct gprio_nv *nv)
{
	if (nv->mps_dir[0]) {
		gprio_mps_stop(nv->mps_dir, nv->cfg.log);
		nv->mps_dir[0] = '\0';
	}
}

int gprio_nv_open(struct gprio_nv *nv, const struct gprio_nv_cfg *cfg, struct gprio_evloop *loop,
		  char *err, size_t errlen)
{
	memset(nv, 0, sizeof(*nv));
	nv->cfg = *cfg;
	nv->loop = loop;
	nv->ctl_ro_fd = nv->hot_rw_fd = nv->hot_ro_fd = -1;
	nv->heartbeat_timer = nv->reap_timer = -1;
	nv->peer_log = (struct gprio_loglimit){.burst = 50, .period = 10 * GPRIO_NS_PER_S};
	const char *path = cfg->path;
	struct sockaddr_un sock;
	int n = snprintf(nv->hot_path, sizeof(nv->hot_path), "%s.hot", path);
	if (gprio_ctl_addr(path, &sock) < 0 || n < 0 || (size_t)n >= sizeof(nv->hot_path)) {
		snprintf(err, errlen, "%s: path too long for its socket (%zu bytes at most)", path,
			 sizeof(sock.sun_path) - 6);
		return -ENAMETOOLONG;
	}
	int rc, fd;
	if ((rc = check_single(&sock, err, errlen)) < 0 ||
	    (rc = check_dir(path, err, errlen)) < 0 ||
	    (rc = take_path(sock.sun_path, true, err, errlen)) < 0)
		return rc;
	nv->mps_dir[0] = '\0';
	if (cfg->mps) {
		/* beside the segment, in gpriod's own directory */
		const char *slash = strrchr(path, '/');
		int len = slash ? (int)(slash - path) : 1;
		n = snprintf(nv->mps_dir, sizeof(nv->mps_dir), "%.*s/mps", len, slash ? path : ".");
		if (n < 0 || (size_t)n >= sizeof(nv->mps_dir) - 6) {
			snprintf(err, errlen, "--mps: %s: directory name too long", path);
			nv->mps_dir[0] = '\0';
			return -ENAMETOOLONG;
		}
		if ((rc = gprio_mps_start(nv->mps_dir, err, errlen)) < 0) {
			nv->mps_dir[0] = '\0';
			return rc;
		}
	}
	struct gprio_shm *s = map_new(path, 0644, sizeof(*s), &fd, err, errlen);
	if (!s) {
		rc = -errno;
		mps_off(nv);
		return rc;
	}
	close(fd);
	nv->ctl_ro_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	nv->hot = map_new(nv->hot_path, 0600, sizeof(*nv->hot), &nv->hot_rw_fd, err, errlen);
	if (!nv->hot || nv->ctl_ro_fd < 0) {
		rc = -errno;
		if (nv->ctl_ro_fd < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		munmap(s, sizeof(*s));
		if (nv->ctl_ro_fd >= 0)
			close(nv->ctl_ro_fd);
		if (nv->hot)
			munmap(nv->hot, sizeof(*nv->hot));
		if (nv->hot_rw_fd >= 0)
			close(nv->hot_rw_fd);
		nv->hot = NULL;
		nv->ctl_ro_fd = nv->hot_rw_fd = -1;
		mps_off(nv);
		return rc;
	}
	nv->hot_ro_fd = open(nv->hot_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	/* rows of an earlier gpriod are stale: their shims re-register with us */
	memset(s, 0, sizeof(*s));
	s->version = GPRIO_SHM_VERSION;
	s->magic = GPRIO_SHM_MAGIC;
	atomic_store(&s->hysteresis_ns, cfg->hysteresis);
	atomic_store(&s->online_timeslice_us, cfg->online_ts_us);
	atomic_store(&s->offline_timeslice_us, cfg->offline_ts_us);
	atomic_store(&s->gating, cfg->gating ? 1u : 0u);
	atomic_store(&s->inflight_bound, cfg->inflight_bound);
	atomic_store(&s->mech_auto, cfg->mech_auto ? 1u : 0u);
	atomic_store(&s->group_hold_ns, cfg->group_hold);
	atomic_store(&s->linger_us, cfg->linger_us);
	atomic_store(&s->policy, cfg->policy);
	if (nv->mps_dir[0]) {
		snprintf(s->mps_pipe, sizeof(s->mps_pipe), "%s/pipe", nv->mps_dir);
		atomic_store(&s->mps_offline_sm, cfg->mps_offline_sm);
	}
	memset(nv->hot, 0, sizeof(*nv->hot));
	nv->shm = s;
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		nv->cl[i].row = -1;
	rc = gprio_nv_listen(nv);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", sock.sun_path, strerror(-rc));
		gprio_nv_close(nv, false);
		return rc;
	}
	gprio_ns now = loop->clock->now(loop->clock->ctx);
	atomic_store(&s->heartbeat_ns, now);
	nv->heartbeat_timer =
		gprio_evloop_add_timer(loop, now + 10 * GPRIO_NS_PER_MS, heartbeat, nv);
	nv->reap_timer = gprio_evloop_add_timer(loop, now + 500 * GPRIO_NS_PER_MS, reap, nv);
	if (nv->heartbeat_timer < 0 || nv->reap_timer < 0) {
		snprintf(err, errlen, "no room for gpriod's timers");
		gprio_nv_close(nv, false);
		return -ENOSPC;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void gprio_nv_close(struct gprio_nv *nv, bool unlink_files)
{
	if (!nv->shm)
		return;
	/* a zero heartbeat is stale at once, and closed sockets are seen at once: every shim
	 * fails open now, not in 100 ms */
	gprio_evloop_del_timer(nv->loop, nv->heartbeat_timer);
	gprio_evloop_del_timer(nv->loop, nv->reap_timer);
	nv->heartbeat_timer = nv->reap_timer = -1;
	atomic_store(&nv->shm->heartbeat_ns, 0);
	gprio_server_close(&nv->srv);
	for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
		atomic_store(&nv->shm->procs[i].gate_override, GPRIO_GATE_AUTO);
		atomic_store(&nv->shm->procs[i].pid, 0);
	}
	for (int g = 0; g < GPRIO_SHM_GPUS; g++)
		atomic_store(&nv->shm->gpus[g].turn, GPRIO_TURN_ALL);
	munmap(nv->shm, sizeof(*nv->shm));
	munmap(nv->hot, sizeof(*nv->hot));
	nv->shm = NULL;
	nv->hot = NULL;
	close_fd(&nv->ctl_ro_fd);
	close_fd(&nv->hot_rw_fd);
	close_fd(&nv->hot_ro_fd);
	if (unlink_files) {
		unlink(nv->cfg.path);
		unlink(nv->hot_path);
	}
	mps_off(nv);
}

void gprio_nv_print_procs(FILE *f, const struct gprio_shm *s)
{
	fprintf(f, "%8s %-8s %4s %-45s %12s %10s %12s %7s %6s %8s %10s %9s %s\n", "PID", "CLASS",
		"PRIO", "MECHANISMS", "LAUNCHES", "GATED", "WAITED(ms)", "WAITING", "WEIGHT",
		"SLO(ms)", "UNFINISHED", "WAIT(ms)", "GPU");
	int n = 0;
	for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
		const struct gprio_shm_proc *r = &s->procs[i];
		uint32_t pid = atomic_load(&r->pid);
		if (!pid)
			continue;
		const struct gprio_shm_stats *c = &s->copy[i];
		uint32_t mech = atomic_load(&c->mechanisms);
		char m[96]; /* every mechanism named: 83 characters */
		snprintf(m, sizeof(m), "%s%s%s%s%s%s%s%s",
			 mech & GPRIO_MECH_GATING ? "gating " : "",
			 mech & GPRIO_MECH_PUBLISH ? "publish " : "",
			 mech & GPRIO_MECH_TSG_TIMESLICE ? "tsg-timeslice " : "",
			 mech & GPRIO_MECH_TSG_FAILED ? "tsg-REFUSED " : "",
			 mech & GPRIO_MECH_INFLIGHT ? "inflight " : "",
			 mech & GPRIO_MECH_COMPLETION ? "completion " : "",
			 mech & GPRIO_MECH_COMPLETION_OFF ? "completion-REFUSED " : "",
			 mech & GPRIO_MECH_MPS ? "mps" : "");
		char slo[16] = "-", gpu[16] = "-", unf[24] = "-", wait[24] = "-";
		if (atomic_load(&r->slo_us))
			snprintf(slo, sizeof(slo), "%.3f", (double)atomic_load(&r->slo_us) / 1e3);
		uint32_t ng = atomic_load(&c->ngpus);
		if (ng) {
			uint32_t pci = atomic_load(&c->gpus[0]);
			snprintf(gpu, sizeof(gpu), GPRIO_PCI_FMT "%s", GPRIO_PCI_ARGS(pci),
				 ng > 1 ? "+" : "");
		}
		if (mech & GPRIO_MECH_COMPLETION)
			snprintf(unf, sizeof(unf), "%llu",
				 (unsigned long long)(atomic_load(&c->submitted) -
						      atomic_load(&c->completed)));
		uint64_t waits = atomic_load(&c->waits);
		if (waits)
			snprintf(wait, sizeof(wait), "%.3f",
				 (double)atomic_load(&c->wait_ns) / (double)waits / 1e6);
		fprintf(f, "%8u %-8s %4u %-45s %12llu %10llu %12.3f %7u %6u %8s %10s %9s %s\n", pid,
			gprio_class_name((enum gprio_class)atomic_load(&r->klass)),
			atomic_load(&r->priority), m, (unsigned long long)atomic_load(&c->launches),
			(unsigned long long)atomic_load(&c->gated_launches),
			(double)atomic_load(&c->gate_wait_ns) / 1e6, atomic_load(&c->waiting),
			atomic_load(&r->weight), slo, unf, wait, gpu);
		n++;
	}
	if (!n)
		fprintf(f, "(no processes registered)\n");
}

int gprio_nv_reap(struct gprio_nv *nv)
{
	int n = 0;
	gprio_ns now = nv->loop->clock->now(nv->loop->clock->ctx);
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++) {
		struct gprio_peer *p = &nv->srv.peers[i];
		if (p->fd < 0)
			continue;
		if ((nv->cl[i].row >= 0 && kill((pid_t)p->pid, 0) != 0 && errno == ESRCH) ||
		    (nv->cl[i].row < 0 && p->since + 2 * GPRIO_NS_PER_S < now)) {
			gprio_server_drop(&nv->srv, p);
			n++;
		}
	}
	return n;
}

static void copy_stats(struct gprio_shm_stats *to, const struct gprio_shm_stats *from)
{
	atomic_store(&to->mechanisms, atomic_load(&from->mechanisms));
	atomic_store(&to->tsgs, atomic_load(&from->tsgs));
	atomic_store(&to->waiting, atomic_load(&from->waiting));
	atomic_store(&to->launches, atomic_load(&from->launches));
	atomic_store(&to->last_launch_ns, atomic_load(&from->last_launch_ns));
	atomic_store(&to->gated_launches, atomic_load(&from->gated_launches));
	atomic_store(&to->gate_wait_ns, atomic_load(&from->gate_wait_ns));
	atomic_store(&to->heartbeat_ns, atomic_load(&from->heartbeat_ns));
	atomic_store(&to->submitted, atomic_load(&from->submitted));
	atomic_store(&to->completed, atomic_load(&from->completed));
	atomic_store(&to->pending_since, atomic_load(&from->pending_since));
	atomic_store(&to->markers, atomic_load(&from->markers));
	atomic_store(&to->starts, atomic_load(&from->starts));
	atomic_store(&to->sampled, atomic_load(&from->sampled));
	atomic_store(&to->sampled_starts, atomic_load(&from->sampled_starts));
	atomic_store(&to->waits, atomic_load(&from->waits));
	atomic_store(&to->wait_ns, atomic_load(&from->wait_ns));
	atomic_store(&to->wait_since, atomic_load(&from->wait_since));
	atomic_store(&to->streams, atomic_load(&from->streams));
	atomic_store(&to->pending, atomic_load(&from->pending));
	atomic_store(&to->stuck, atomic_load(&from->stuck));
	atomic_store(&to->lingers, atomic_load(&from->lingers));
	atomic_store(&to->linger_ns, atomic_load(&from->linger_ns));
	atomic_store(&to->linger_expired, atomic_load(&from->linger_expired));
	uint32_t n = atomic_load(&from->ngpus);
	for (uint32_t k = 0; k < GPRIO_SHM_PROC_GPUS; k++)
		atomic_store(&to->gpus[k], k < n ? atomic_load(&from->gpus[k]) : 0);
	atomic_store(&to->ngpus, n < GPRIO_SHM_PROC_GPUS ? n : GPRIO_SHM_PROC_GPUS);
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

/* A shim only ever publishes now + hysteresis. A later value came from a process writing the
 * hot segment directly (any process granted a priority above 0 holds it writable): it would
 * gate every lower process for as long as it says. Such a level is cleared, and said once. */
static void clamp_hot(struct gprio_nv *nv, gprio_ns now)
{
	/* slack: a shim's clock read races ours */
	gprio_ns limit = now + nv->cfg.hysteresis + 10 * GPRIO_NS_PER_MS;
	for (int i = 0; i < GPRIO_SHM_GPUS * GPRIO_PRIO_LEVELS; i++) {
		int g = i / GPRIO_PRIO_LEVELS, l = i % GPRIO_PRIO_LEVELS;
		gprio_ns v = atomic_load(&nv->hot->hot_until[g][l]);
		if (v <= limit)
			continue;
		atomic_compare_exchange_strong(&nv->hot->hot_until[g][l], &v, now);
		if (!nv->hot_warned && nv->cfg.log) {
			fprintf(nv->cfg.log,
				"gpriod: priority level %d was set hot %.3f s into the future "
				"(not by a shim): cleared\n",
				l, (double)(v - now) / 1e9);
			nv->hot_warned = true;
		}
	}
}

static int nv_refresh(void *be, struct gprio_table *t, gprio_ns now)
{
	struct gprio_nv *nv = be;
	atomic_store(&nv->shm->heartbeat_ns, now);
	clamp_hot(nv, now);
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
		const struct gprio_shm_stats *st = gprio_nv_stats_of(nv, s);
		if (!st)
			continue;
		copy_stats(&nv->shm->copy[s], st); /* for gprio status */
		int prio = (int)atomic_load(&r->priority);
		int idx = gprio_table_find_hint(t, key, nv->table_row[s]);
		if (idx < 0) {
			idx = gprio_table_add(t, key, pid, prio,
					      (enum gprio_class)atomic_load(&r->klass), now);
			if (idx < 0)
				return idx == -ENOSPC ? 0 : idx;
		}
		nv->table_row[s] = (uint32_t)idx;
		struct gprio_queue *q = &t->q[idx];
		q->priority = (uint8_t)prio;
		q->klass = (uint8_t)atomic_load(&r->klass);
		q->weight = (uint16_t)atomic_load(&r->weight);
		q->slo = (gprio_ns)atomic_load(&r->slo_us) * GPRIO_NS_PER_US;
		/* with completion counters the design's wptr/rptr; else submissions only */
		if (atomic_load(&st->mechanisms) & GPRIO_MECH_COMPLETION) {
			q->wptr = atomic_load(&st->submitted);
			q->rptr = q->done = atomic_load(&st->completed);
		} else {
			q->wptr = q->rptr = q->done = atomic_load(&st->launches);
		}
		gprio_ns last = atomic_load(&st->last_launch_ns);
		/* a launch stamped after this tick read the clock counts as now (hot), not as a
		 * future time gprio_queue_hot() would reject */
		q->last_busy = !last ? GPRIO_NS_NEVER : last > now ? now : last;
		bool held = atomic_load(&r->gate_override) == GPRIO_GATE_CLOSED;
		if (q->hw_held != held) {
			q->hw_held = held;
			q->hw_changed_at = now;
		}
	}
	gprio_nv_mechanisms(nv, now);
	gprio_nv_groups(nv);
	return 0;
}

static int set_override(struct gprio_nv *nv, const uint64_t *keys, size_t n, uint32_t v,
			bool *failed)
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

/* The scheduler sleeps in gpriod's event loop: the control socket is served meanwhile. */
static int nv_wait(void *be, gprio_ns deadline)
{
	struct gprio_nv *nv = be;
	int rc = gprio_evloop_run_until(nv->loop, deadline);
	return rc < 0 ? rc : GPRIO_WAIT_DEADLINE;
}

const struct gprio_backend_ops gprio_nvidia_ops = {
	.name = "nvidia",
	.refresh = nv_refresh,
	.suspend = nv_suspend,
	.resume = nv_resume,
	.wait = nv_wait,
};
