/* The daemon link: registration over gpriod's control socket (ctl.h), its messages, and the
 * watcher thread that keeps our heartbeat, follows gpriod's liveness, applies timeslices and
 * fails open. gpriod sees our credentials and grants (or demotes) the class we ask for; we get
 * the control segment read-only, the hot segment writable only if we may publish, and our own
 * stats page. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "../ctl.h"
#include "shim.h"

static const char *shm_path(void)
{
	const char *p = getenv("GPRIO_SHM");
	return p && *p ? p : GPRIO_SHM_DEFAULT_PATH;
}

/* One control message, with up to 3 descriptors. Bytes received, 0 on hang-up, -1 on error. */
static ssize_t recv_ctl(int fd, struct gprio_ctl_msg *m, int *fds, int *nfds)
{
	struct iovec iov = {m, sizeof(*m)};
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t r;
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < n; i++) {
				int f;
				memcpy(&f, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof(int));
				if (*nfds < 3)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
	return r;
}

static void *map_fd(int fd, size_t size, bool write)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < size)
		return NULL;
	void *m = mmap(NULL, size, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Does the control segment at `path` show a gpriod that beat within the stale limit? Only
 * decides how long to wait for a reply: a live gpriod answers in microseconds, a stopped one
 * never, and the program's start must not wait for that. */
static bool heartbeat_fresh(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	const struct gprio_shm *s = map_fd(fd, sizeof(*s), false);
	close(fd);
	if (!s)
		return false;
	bool fresh = s->magic == GPRIO_SHM_MAGIC && s->version == GPRIO_SHM_VERSION &&
		     atomic_load(&s->heartbeat_ns) + GPRIO_SHM_STALE_NS > shim_now();
	munmap((void *)s, sizeof(*s));
	return fresh;
}

/* Whom we take orders from: root, our own user, or the user GPRIO_DAEMON_UID names (a gpriod
 * that is not root). Anyone else could have bound the socket while gpriod was down. */
static bool daemon_trusted(uint32_t uid)
{
	const char *e = getenv("GPRIO_DAEMON_UID");
	char *end;
	unsigned long want = e && *e ? strtoul(e, &end, 10) : 0;
	return uid == 0 || uid == (uint32_t)getuid() || (e && *e && !*end && uid == want);
}

/* Register with gpriod: ask for our class, get what we are granted and three descriptors.
 * Never blocks long: the connection is non-blocking (a full backlog means "not now"), and the
 * reply is awaited up to 500 ms only if gpriod's heartbeat is fresh, 5 ms otherwise. */
bool shim_register(void)
{
	struct sockaddr_un a;
	if (gprio_ctl_addr(shm_path(), &a) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0) {
		close(fd);
		return false;
	}
	if (!daemon_trusted((uint32_t)cr.uid)) {
		static _Atomic bool said;
		if (!atomic_exchange(&said, true))
			fprintf(stderr,
				"gprio: %s is served by pid %d of uid %u, not root or you: not "
				"trusted, running unmanaged (set GPRIO_DAEMON_UID=%u to trust "
				"it)\n",
				a.sun_path, (int)cr.pid, (unsigned)cr.uid, (unsigned)cr.uid);
		close(fd);
		return false;
	}
	struct gprio_ctl_msg m = {.magic = GPRIO_CTL_MAGIC,
				  .type = GPRIO_CTL_REGISTER,
				  .klass = g_shim.klass,
				  .priority = g_shim.prio,
				  .weight = g_shim.weight,
				  .slo_us = g_shim.slo_us};
	memcpy(m.text, g_shim.group, sizeof(g_shim.group)); /* REGISTER: the group name */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int fds[3], nfds = 0;
	int wait_ms = heartbeat_fresh(shm_path()) ? 500 : 5;
	bool ok = send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) &&
		  poll(&p, 1, wait_ms) == 1 && recv_ctl(fd, &m, fds, &nfds) == (ssize_t)sizeof(m) &&
		  m.magic == GPRIO_CTL_MAGIC;
	if (ok && m.rc != 0) {
		/* never silent: a refused registration means this program runs unmanaged (said
		 * once; the watcher keeps asking) */
		static _Atomic bool said;
		m.text[sizeof(m.text) - 1] = '\0';
		if (!atomic_exchange(&said, true))
			fprintf(stderr,
				"gprio: gpriod refused this process (%s): it runs unmanaged "
				"until gpriod has room\n",
				m.text);
	}
	ok = ok && m.rc == 0 && nfds == 3 && m.row < GPRIO_SHM_PROCS;
	struct shim_binding *b = ok ? calloc(1, sizeof(*b)) : NULL;
	if (b) {
		b->shm = map_fd(fds[0], sizeof(struct gprio_shm), false);
		atomic_store(&b->hot, map_fd(fds[1], sizeof(struct gprio_shm_hot), m.flags & 1u));
		b->stats = map_fd(fds[2], sizeof(struct gprio_shm_stats), true);
		atomic_store(&b->hot_rw, (m.flags & 1u) != 0);
		ok = b->shm && atomic_load(&b->hot) && b->stats &&
		     b->shm->magic == GPRIO_SHM_MAGIC && b->shm->version == GPRIO_SHM_VERSION;
		if (ok)
			b->row = &b->shm->procs[m.row];
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (!ok || !b) {
		free(b); /* mappings of a failed attempt stay: harmless, and rare */
		close(fd);
		return false;
	}
	if (m.text[0]) {
		m.text[sizeof(m.text) - 1] = '\0';
		/* demoted: say so even without GPRIO_DEBUG, a user asked for more */
		fprintf(stderr, "gprio: %s\n", m.text);
	}
	atomic_store(&b->stats->mechanisms,
		     GPRIO_MECH_GATING | (b->hot_rw ? GPRIO_MECH_PUBLISH : 0) | g_shim.mps_mech);
	atomic_store(&b->stats->heartbeat_ns, shim_now());
	g_shim.sock = fd;
	atomic_store_explicit(&g_shim.b, b, memory_order_release);
	atomic_store(&g_shim.registered, true);
	SHIM_LOG("registered with gpriod: %s priority %d, row %u%s\n",
		 gprio_class_name((enum gprio_class)m.klass), m.priority, m.row,
		 b->hot_rw ? ", publishes its level" : "");
	return true;
}

void shim_fail_open(const char *why)
{
	if (atomic_exchange(&g_shim.live, 0))
		SHIM_LOG("daemon %s: failing open\n", why);
	shim_apply_timeslices(0, false);
}

/* A message from gpriod on the control connection (watcher thread). */
static void control_message(void)
{
	struct gprio_ctl_msg m;
	int fds[3], nfds = 0;
	ssize_t r = recv_ctl(g_shim.sock, &m, fds, &nfds);
	if (r == 0 || (r < 0 && errno != EAGAIN)) {
		/* gpriod exited or crashed: fail open now, register again when it is back */
		shim_fail_open("gone (socket closed)");
		close(g_shim.sock);
		g_shim.sock = -1;
		atomic_store(&g_shim.registered, false);
		return;
	}
	struct shim_binding *b = shim_binding();
	if (r == (ssize_t)sizeof(m) && m.magic == GPRIO_CTL_MAGIC && m.type == GPRIO_CTL_UPDATE &&
	    b) {
		if (nfds >= 1 && !atomic_load(&b->hot_rw)) { /* promoted: we may publish now */
			struct gprio_shm_hot *h = map_fd(fds[0], sizeof(*h), true);
			if (h) {
				/* the writable mapping first, then the flag that lets launches write */
				atomic_store_explicit(&b->hot, h, memory_order_release);
				atomic_store_explicit(&b->hot_rw, true, memory_order_release);
				atomic_fetch_or(&b->stats->mechanisms, GPRIO_MECH_PUBLISH);
			}
		}
		SHIM_LOG("gpriod changed us: %s priority %d\n",
			 gprio_class_name((enum gprio_class)m.klass), m.priority);
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

void *shim_watcher(void *unused)
{
	(void)unused;
	uint64_t applied = 0;
	unsigned tick = 0;
	gprio_ns verify_every = SHIM_TSG_VERIFY_MIN_NS, verify_at = 0;
	while (!atomic_load(&g_shim.stopping)) {
		gprio_ns now = shim_now();
		struct shim_binding *b = atomic_load(&g_shim.registered) ? shim_binding() : NULL;
		if (!b && tick % 10 == 0 && shim_register()) /* the daemon may start after us */
			b = shim_binding();
		bool live = b && shim_daemon_fresh(b, now) && shim_policy_active(b);
		if (b)
			atomic_store(&b->stats->heartbeat_ns, now);
		if (live != atomic_load(&g_shim.live)) {
			atomic_store(&g_shim.live, live);
			SHIM_LOG("daemon %s\n",
				 live ? "alive: gprio active" : "inactive: failing open");
		}
		uint64_t want = shim_wanted_timeslice();
		if (want != applied) {
			shim_apply_timeslices(want, false); /* 0: restore the originals */
			applied = want;
			verify_every = SHIM_TSG_VERIFY_MIN_NS;
			verify_at = now + verify_every;
		} else if (want &&
			   (atomic_exchange(&g_shim.tsg_dirty, false) || now >= verify_at)) {
			/* still what we set? Each read-back is a call into the GPU's firmware: right
			 * after libcuda touches one of our TSGs, then at doubling intervals */
			bool reset = shim_apply_timeslices(want, true) > 0;
			verify_every = reset ? SHIM_TSG_VERIFY_MIN_NS : verify_every * 2;
			if (verify_every > g_shim.verify_max_ns)
				verify_every = g_shim.verify_max_ns;
			verify_at = now + verify_every;
		}
		shim_hold_expire();
		tick++;
		/* 10 ms: fail open well within 100 ms; a closed socket is seen at once */
		if (g_shim.sock >= 0) {
			struct pollfd p = {.fd = g_shim.sock, .events = POLLIN};
			if (poll(&p, 1, 10) > 0)
				control_message();
		} else {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}
