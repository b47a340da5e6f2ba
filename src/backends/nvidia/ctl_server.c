/* gpriod's side of the control socket (ctl.h): registrations with the peer's
 * credentials, `gprio set`, hang-ups. Each registered process gets a row in the control
 * segment (gpriod writes it), its own stats memfd, and a hot descriptor that is writable only
 * if its granted priority lets it publish. */
#define _GNU_SOURCE /* memfd_create, SO_PEERCRED */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "nvidia_backend.h"

#define NLOG(nv, ...)                                                   \
	do {                                                            \
		if ((nv)->cfg.log)                                      \
			fprintf((nv)->cfg.log, "gpriod: " __VA_ARGS__); \
	} while (0)

static void say_dropped(struct gprio_nv *nv, unsigned long n)
{
	NLOG(nv, "%lu lines about untrusted users' connections dropped (at most %u every %.0f s)\n",
	     n, nv->peer_log.burst, (double)nv->peer_log.period / 1e9);
}

/* A line an untrusted user's connection makes gpriod print: within a budget (50 every 10 s),
 * so that a flood of connections cannot drown gpriod's own lines or fill the journal (as
 * nobody, 3000 connections of random messages printed 4400 lines). Trusted users' lines are
 * never dropped. */
static bool peer_log_ok(struct gprio_nv *nv, uint32_t uid)
{
	if (!nv->cfg.log)
		return false;
	if (gprio_auth_trusted(&nv->cfg.auth, uid))
		return true;
	unsigned long dropped;
	bool ok = gprio_loglimit_take(&nv->peer_log, nv->loop->clock->now(nv->loop->clock->ctx),
				      &dropped);
	if (dropped)
		say_dropped(nv, dropped);
	return ok;
}
#define PLOG(nv, uid, ...)                       \
	do {                                     \
		if (peer_log_ok((nv), (uid)))    \
			NLOG((nv), __VA_ARGS__); \
	} while (0)

void gprio_nv_peer_log_flush(struct gprio_nv *nv, gprio_ns now)
{
	struct gprio_loglimit *l = &nv->peer_log;
	if (l->dropped && now - l->start >= l->period) {
		say_dropped(nv, l->dropped);
		l->dropped = 0;
	}
}

static int send_msg(int fd, const struct gprio_ctl_msg *m, const int *fds, int nfds)
{
	struct iovec iov = {(void *)m, sizeof(*m)};
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	ssize_t r;
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

static struct gprio_nv_client *client(struct gprio_nv *nv, const struct gprio_peer *p)
{
	return &nv->cl[gprio_server_slot(&nv->srv, p)];
}

/* A connection closed (hang-up, reap, shutdown): its row is free again. */
static void on_closed(struct gprio_server *srv, struct gprio_peer *p, void *ctx)
{
	struct gprio_nv *nv = ctx;
	struct gprio_nv_client *c = client(nv, p);
	(void)srv;
	if (c->row >= 0) {
		struct gprio_shm_proc *r = &nv->shm->procs[c->row];
		atomic_store(&r->gate_override, GPRIO_GATE_AUTO);
		atomic_store(&r->pid, 0);
		PLOG(nv, p->uid, "pid %u gone (row %d freed)\n", p->pid, c->row);
	}
	if (c->stats)
		munmap(c->stats, sizeof(*c->stats));
	*c = (struct gprio_nv_client){.row = -1};
}

const struct gprio_shm_stats *gprio_nv_stats_of(const struct gprio_nv *nv, uint32_t row)
{
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		if (nv->srv.peers[i].fd >= 0 && nv->cl[i].row == (int)row)
			return nv->cl[i].stats;
	return NULL;
}

static bool may_publish(int prio)
{
	return prio > 0; /* level 0 has nobody below it to gate */
}

static void do_register(struct gprio_nv *nv, struct gprio_peer *peer, struct gprio_ctl_msg *m)
{
	struct gprio_nv_client *c = client(nv, peer);
	enum gprio_class k =
		m->klass == GPRIO_CLASS_ONLINE ? GPRIO_CLASS_ONLINE : GPRIO_CLASS_OFFLINE;
	int prio =
		gprio_priority_valid(m->priority) ? m->priority : gprio_class_default_priority(k);
	struct gprio_ctl_msg rep;
	memset(&rep, 0, sizeof(rep));
	rep.magic = GPRIO_CTL_MAGIC;
	rep.type = GPRIO_CTL_REGISTER;
	int row = -1;
	for (int i = 0; i < GPRIO_SHM_PROCS && row < 0; i++)
		if (atomic_load(&nv->shm->procs[i].pid) == 0)
			row = i;
	/* A second REGISTER on a registered connection is refused before anything is created
	 * (it used to map a stats page that was never unmapped). */
	int mfd = c->row < 0 && row >= 0 ? memfd_create("gprio-stats", MFD_CLOEXEC) : -1;
	void *st = MAP_FAILED;
	if (mfd >= 0 && ftruncate(mfd, sizeof(struct gprio_shm_stats)) == 0)
		st = mmap(NULL, sizeof(struct gprio_shm_stats), PROT_READ | PROT_WRITE, MAP_SHARED,
			  mfd, 0);
	if (c->row >= 0 || row < 0 || st == MAP_FAILED) {
		rep.rc = c->row >= 0 ? -EALREADY : row < 0 ? -ENOSPC : -ENOMEM;
		snprintf(rep.text, sizeof(rep.text), "%s",
			 c->row >= 0 ? "already registered"
			 : row < 0   ? "no free process row (64 in use)"
				     : "cannot create the stats page");
		if (mfd >= 0)
			close(mfd);
		if (row < 0)
			PLOG(nv, peer->uid, "pid %u (uid %u) refused: %s\n", peer->pid, peer->uid,
			     rep.text);
		send_msg(peer->fd, &rep, NULL, 0);
		return;
	}
	int demoted = gprio_auth_register(&nv->cfg.auth, peer->uid, &k, &prio, rep.text,
					  sizeof(rep.text));
	/* a weight above 1 takes time from other jobs of the same priority: trusted users only */
	uint32_t weight = m->weight == 0                 ? 1
			  : m->weight > GPRIO_WEIGHT_MAX ? GPRIO_WEIGHT_MAX
							 : m->weight;
	if (weight > 1 && !gprio_auth_trusted(&nv->cfg.auth, peer->uid)) {
		size_t l = strlen(rep.text);
		snprintf(rep.text + l, sizeof(rep.text) - l,
			 "%sweight %u asked, 1 granted (not in "
			 "gpriod's --allow list)",
			 l ? "; " : "", weight);
		weight = 1;
		demoted = 1;
	}
	uint32_t slo_us = m->slo_us > 3600u * 1000 * 1000 ? 3600u * 1000 * 1000 : m->slo_us;
	char group[GPRIO_GROUP_MAX] = "";
	if (m->text[0] && gprio_group_name_ok(m->text, sizeof(m->text)))
		memcpy(group, m->text, strlen(m->text) + 1);
	else if (m->text[0])
		PLOG(nv, peer->uid,
		     "pid %u: group name ignored (1-31 of letters, digits, . _ : -)\n", peer->pid);
	struct gprio_shm_proc *r = &nv->shm->procs[row];
	memcpy(r->group, group, sizeof(group));
	atomic_store(&r->group_rows, 0);
	atomic_store(&r->sample_until, 0);
	memset(&nv->shm->copy[row], 0, sizeof(nv->shm->copy[row]));
	atomic_store(&r->uid, peer->uid);
	atomic_store(&r->priority, (uint32_t)prio);
	atomic_store(&r->klass, (uint32_t)k);
	atomic_store(&r->gate_override, GPRIO_GATE_AUTO);
	atomic_store(&r->weight, weight);
	atomic_store(&r->slo_us, slo_us);
	atomic_store(&r->pid, peer->pid);
	c->row = row;
	c->stats = st;
	c->hot_rw = may_publish(prio);
	rep.klass = (int32_t)k;
	rep.priority = prio;
	rep.row = (uint32_t)row;
	rep.flags = c->hot_rw ? 1u : 0u;
	int fds[3] = {nv->ctl_ro_fd, c->hot_rw ? nv->hot_rw_fd : nv->hot_ro_fd, mfd};
	send_msg(peer->fd, &rep, fds, 3);
	close(mfd);
	if (demoted)
		PLOG(nv, peer->uid, "pid %u: %s\n", peer->pid, rep.text);
	PLOG(nv, peer->uid, "pid %u (uid %u) registered: %s, priority %d, row %d%s%s\n", peer->pid,
	     peer->uid, gprio_class_name(k), prio, row, group[0] ? ", group " : "", group);
}

static void do_set(struct gprio_nv *nv, struct gprio_peer *c, struct gprio_ctl_msg *m)
{
	struct gprio_ctl_msg rep;
	memset(&rep, 0, sizeof(rep));
	rep.magic = GPRIO_CTL_MAGIC;
	rep.type = GPRIO_CTL_SET;
	struct gprio_nv_client *t = NULL;
	struct gprio_peer *tp = NULL;
	for (uint32_t i = 0; i < GPRIO_SERVER_MAX_PEERS; i++)
		if (nv->srv.peers[i].fd >= 0 && nv->cl[i].row >= 0 &&
		    nv->srv.peers[i].pid == m->pid) {
			t = &nv->cl[i];
			tp = &nv->srv.peers[i];
		}
	if (!t) {
		rep.rc = -ESRCH;
		snprintf(rep.text, sizeof(rep.text),
			 "pid %u is not registered with gpriod (not started "
			 "with gprio run, or exited)",
			 m->pid);
		send_msg(c->fd, &rep, NULL, 0);
		return;
	}
	struct gprio_shm_proc *r = &nv->shm->procs[t->row];
	enum gprio_class cur_k = (enum gprio_class)atomic_load(&r->klass);
	int cur_p = (int)atomic_load(&r->priority);
	enum gprio_class k = m->klass < 0                     ? cur_k
			     : m->klass == GPRIO_CLASS_ONLINE ? GPRIO_CLASS_ONLINE
							      : GPRIO_CLASS_OFFLINE;
	int p = m->priority < 0 ? (m->klass < 0 ? cur_p : gprio_class_default_priority(k))
				: m->priority;
	if (!gprio_priority_valid(p)) {
		rep.rc = -EINVAL;
		snprintf(rep.text, sizeof(rep.text), "priority %d: expected 0..15", p);
	} else {
		rep.rc = gprio_auth_set(&nv->cfg.auth, c->uid, tp->uid, cur_k, cur_p, k, p,
					rep.text, sizeof(rep.text));
	}
	if (rep.rc == 0) {
		atomic_store(&r->klass, (uint32_t)k);
		atomic_store(&r->priority, (uint32_t)p);
		struct gprio_ctl_msg up = rep;
		up.type = GPRIO_CTL_UPDATE;
		up.klass = (int32_t)k;
		up.priority = p;
		up.row = (uint32_t)t->row;
		bool grant = may_publish(p) && !t->hot_rw;
		up.flags = t->hot_rw || grant ? 1u : 0u;
		send_msg(tp->fd, &up, grant ? &nv->hot_rw_fd : NULL, grant ? 1 : 0);
		t->hot_rw |= grant;
		rep.klass = (int32_t)k;
		rep.priority = p;
		snprintf(rep.text, sizeof(rep.text), "pid %u: %s %d -> %s %d", tp->pid,
			 gprio_class_name(cur_k), cur_p, gprio_class_name(k), p);
		PLOG(nv, c->uid, "uid %u set %s\n", c->uid, rep.text);
	} else {
		PLOG(nv, c->uid, "uid %u refused: %s\n", c->uid, rep.text);
	}
	send_msg(c->fd, &rep, NULL, 0);
}

/* Quota: an untrusted user holds at most cfg.max_per_user connections, so one user cannot fill
 * the process table and leave everyone else's jobs unmanaged. */
static int on_accept(struct gprio_server *srv, struct gprio_peer *p, void *ctx)
{
	struct gprio_nv *nv = ctx;
	*client(nv, p) = (struct gprio_nv_client){.row = -1};
	/* the new connection is counted among the user's */
	if (!gprio_auth_trusted(&nv->cfg.auth, p->uid) &&
	    gprio_server_count_uid(srv, p->uid) > nv->cfg.max_per_user) {
		PLOG(nv, p->uid, "pid %u (uid %u) refused: %u connections is this user's limit\n",
		     p->pid, p->uid, nv->cfg.max_per_user);
		return -EDQUOT;
	}
	return 0;
}

/* One message from a peer; a hang-up or nonsense drops it. */
static void on_readable(struct gprio_server *srv, struct gprio_peer *p, short revents, void *ctx)
{
	struct gprio_nv *nv = ctx;
	struct gprio_ctl_msg m;
	(void)revents;
	ssize_t r = recv(p->fd, &m, sizeof(m), MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r != (ssize_t)sizeof(m) || m.magic != GPRIO_CTL_MAGIC) {
		if (r > 0)
			PLOG(nv, p->uid, "pid %u: malformed control message (%zd bytes): dropped\n",
			     p->pid, r);
		gprio_server_drop(srv, p);
		return;
	}
	m.text[sizeof(m.text) - 1] = '\0';
	if (m.type == GPRIO_CTL_REGISTER)
		do_register(nv, p, &m);
	else if (m.type == GPRIO_CTL_SET)
		do_set(nv, p, &m);
}

static const struct gprio_server_ops ctl_ops = {
	.accept = on_accept,
	.readable = on_readable,
	.closed = on_closed,
};

int gprio_nv_listen(struct gprio_nv *nv)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = snprintf(path, sizeof(path), "%s.sock", nv->cfg.path);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	/* anyone may connect: what a caller gets is decided from its credentials */
	return gprio_server_listen(&nv->srv, nv->loop, path, 0666, &ctl_ops, nv);
}
