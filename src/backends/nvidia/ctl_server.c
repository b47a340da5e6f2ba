/* gpriod's side of the control socket (include/gprio/ctl.h): registrations with the peer's
 * credentials, `gprio set`, hang-ups. Each registered process gets a row in the control
 * segment (gpriod writes it), its own stats memfd, and a hot descriptor that is writable only
 * if its granted priority lets it publish. */
#define _GNU_SOURCE /* memfd_create, SO_PEERCRED */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gprio/ctl.h"
#include "nvidia_backend.h"

int gprio_nv_listen(struct gprio_nv *nv);
void gprio_nv_drop(struct gprio_nv *nv, uint32_t i);

#define NLOG(nv, ...)                                                                            \
	do {                                                                                     \
		if ((nv)->log)                                                                   \
			fprintf((nv)->log, "gpriod: " __VA_ARGS__);                              \
	} while (0)

int gprio_nv_listen(struct gprio_nv *nv)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(nv->sock.sun_path); /* an earlier gpriod's */
	/* anyone may connect: what a caller gets is decided from its credentials */
	if (bind(fd, (struct sockaddr *)&nv->sock, sizeof(nv->sock)) < 0 ||
	    chmod(nv->sock.sun_path, 0666) < 0 ||
	    listen(fd, 32) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	nv->listen_fd = fd;
	return 0;
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

void gprio_nv_drop(struct gprio_nv *nv, uint32_t i)
{
	struct gprio_nv_client *c = &nv->cl[i];
	if (c->row >= 0) {
		struct gprio_shm_proc *r = &nv->shm->procs[c->row];
		atomic_store(&r->gate_override, GPRIO_GATE_AUTO);
		atomic_store(&r->pid, 0);
		NLOG(nv, "pid %u gone (row %d freed)\n", c->pid, c->row);
	}
	if (c->stats)
		munmap(c->stats, sizeof(*c->stats));
	close(c->fd);
	nv->cl[i] = nv->cl[--nv->ncl];
}

static bool may_publish(int prio)
{
	return prio > 0; /* level 0 has nobody below it to gate */
}

static void do_register(struct gprio_nv *nv, struct gprio_nv_client *c, struct gprio_ctl_msg *m)
{
	enum gprio_class k = m->klass == GPRIO_CLASS_ONLINE ? GPRIO_CLASS_ONLINE : GPRIO_CLASS_OFFLINE;
	int prio = gprio_priority_valid(m->priority) ? m->priority : gprio_class_default_priority(k);
	struct gprio_ctl_msg rep;
	memset(&rep, 0, sizeof(rep));
	rep.magic = GPRIO_CTL_MAGIC;
	rep.type = GPRIO_CTL_REGISTER;
	int row = -1;
	for (int i = 0; i < GPRIO_SHM_PROCS && row < 0; i++)
		if (atomic_load(&nv->shm->procs[i].pid) == 0)
			row = i;
	int mfd = row >= 0 ? memfd_create("gprio-stats", MFD_CLOEXEC) : -1;
	void *st = MAP_FAILED;
	if (mfd >= 0 && ftruncate(mfd, sizeof(struct gprio_shm_stats)) == 0)
		st = mmap(NULL, sizeof(struct gprio_shm_stats), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (c->row >= 0 || row < 0 || st == MAP_FAILED) {
		rep.rc = c->row >= 0 ? -EALREADY : row < 0 ? -ENOSPC : -ENOMEM;
		snprintf(rep.text, sizeof(rep.text), "%s", c->row >= 0 ? "already registered"
							  : row < 0 ? "no free process row (64 in use)"
								    : "cannot create the stats page");
		if (mfd >= 0)
			close(mfd);
		send_msg(c->fd, &rep, NULL, 0);
		return;
	}
	int demoted = gprio_auth_register(&nv->auth, c->uid, &k, &prio, rep.text, sizeof(rep.text));
	struct gprio_shm_proc *r = &nv->shm->procs[row];
	memset(&nv->shm->copy[row], 0, sizeof(nv->shm->copy[row]));
	atomic_store(&r->uid, c->uid);
	atomic_store(&r->priority, (uint32_t)prio);
	atomic_store(&r->klass, (uint32_t)k);
	atomic_store(&r->gate_override, GPRIO_GATE_AUTO);
	atomic_store(&r->pid, c->pid);
	c->row = row;
	c->stats = st;
	c->hot_rw = may_publish(prio);
	rep.klass = (int32_t)k;
	rep.priority = prio;
	rep.row = (uint32_t)row;
	rep.flags = c->hot_rw ? 1u : 0u;
	int fds[3] = {nv->ctl_ro_fd, c->hot_rw ? nv->hot_rw_fd : nv->hot_ro_fd, mfd};
	send_msg(c->fd, &rep, fds, 3);
	close(mfd);
	if (demoted)
		NLOG(nv, "pid %u: %s\n", c->pid, rep.text);
	NLOG(nv, "pid %u (uid %u) registered: %s, priority %d, row %d\n", c->pid, c->uid,
	     gprio_class_name(k), prio, row);
}

static void do_set(struct gprio_nv *nv, struct gprio_nv_client *c, struct gprio_ctl_msg *m)
{
	struct gprio_ctl_msg rep;
	memset(&rep, 0, sizeof(rep));
	rep.magic = GPRIO_CTL_MAGIC;
	rep.type = GPRIO_CTL_SET;
	struct gprio_nv_client *t = NULL;
	for (uint32_t i = 0; i < nv->ncl; i++)
		if (nv->cl[i].row >= 0 && nv->cl[i].pid == m->pid)
			t = &nv->cl[i];
	if (!t) {
		rep.rc = -ESRCH;
		snprintf(rep.text, sizeof(rep.text), "pid %u is not registered with gpriod (not started "
						     "with gprio run, or exited)", m->pid);
		send_msg(c->fd, &rep, NULL, 0);
		return;
	}
	struct gprio_shm_proc *r = &nv->shm->procs[t->row];
	enum gprio_class cur_k = (enum gprio_class)atomic_load(&r->klass);
	int cur_p = (int)atomic_load(&r->priority);
	enum gprio_class k = m->klass < 0 ? cur_k : m->klass == GPRIO_CLASS_ONLINE ? GPRIO_CLASS_ONLINE
										   : GPRIO_CLASS_OFFLINE;
	int p = m->priority < 0 ? (m->klass < 0 ? cur_p : gprio_class_default_priority(k)) : m->priority;
	if (!gprio_priority_valid(p)) {
		rep.rc = -EINVAL;
		snprintf(rep.text, sizeof(rep.text), "priority %d: expected 0..15", p);
	} else {
		rep.rc = gprio_auth_set(&nv->auth, c->uid, t->uid, cur_k, cur_p, k, p, rep.text,
					sizeof(rep.text));
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
		send_msg(t->fd, &up, grant ? &nv->hot_rw_fd : NULL, grant ? 1 : 0);
		t->hot_rw |= grant;
		rep.klass = (int32_t)k;
		rep.priority = p;
		snprintf(rep.text, sizeof(rep.text), "pid %u: %s %d -> %s %d", t->pid,
			 gprio_class_name(cur_k), cur_p, gprio_class_name(k), p);
		NLOG(nv, "uid %u set %s\n", c->uid, rep.text);
	} else {
		NLOG(nv, "uid %u refused: %s\n", c->uid, rep.text);
	}
	send_msg(c->fd, &rep, NULL, 0);
}

static void accept_all(struct gprio_nv *nv)
{
	for (;;) {
		int fd = accept4(nv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
		    nv->ncl == sizeof(nv->cl) / sizeof(nv->cl[0])) {
			close(fd);
			continue;
		}
		nv->cl[nv->ncl++] = (struct gprio_nv_client){
			.fd = fd, .pid = (uint32_t)cr.pid, .uid = (uint32_t)cr.uid, .row = -1,
			.since = nv->now()};
	}
}

/* One message from client i; false when it hung up (or spoke nonsense) and was dropped. */
static bool serve_one(struct gprio_nv *nv, uint32_t i)
{
	struct gprio_ctl_msg m;
	ssize_t r = recv(nv->cl[i].fd, &m, sizeof(m), MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (r != (ssize_t)sizeof(m) || m.magic != GPRIO_CTL_MAGIC) {
		if (r > 0)
			NLOG(nv, "pid %u: malformed control message (%zd bytes): dropped\n",
			     nv->cl[i].pid, r);
		gprio_nv_drop(nv, i);
		return false;
	}
	m.text[sizeof(m.text) - 1] = '\0';
	if (m.type == GPRIO_CTL_REGISTER)
		do_register(nv, &nv->cl[i], &m);
	else if (m.type == GPRIO_CTL_SET)
		do_set(nv, &nv->cl[i], &m);
	return true;
}

void gprio_nv_serve(struct gprio_nv *nv, gprio_ns deadline)
{
	for (;;) {
		gprio_ns now = nv->now(), left = deadline > now ? deadline - now : 0;
		/* ppoll, not poll: the monitor's deadlines are sub-millisecond (hysteresis expiry) */
		struct timespec ts = {(time_t)(left / GPRIO_NS_PER_S), (long)(left % GPRIO_NS_PER_S)};
		struct pollfd p[1 + sizeof(nv->cl) / sizeof(nv->cl[0])];
		nfds_t n = 0;
		p[n++] = (struct pollfd){.fd = nv->listen_fd, .events = POLLIN};
		uint32_t ncl = nv->ncl;
		for (uint32_t i = 0; i < ncl; i++)
			p[n++] = (struct pollfd){.fd = nv->cl[i].fd, .events = POLLIN};
		int rc = ppoll(p, n, &ts, NULL);
		if (rc <= 0)
			return; /* deadline, or a signal: the caller checks stop */
		for (uint32_t i = ncl; i-- > 0;)
			if (p[1 + i].revents)
				serve_one(nv, i);
		if (p[0].revents & POLLIN)
			accept_all(nv);
		if (nv->now() >= deadline)
			return;
	}
}
