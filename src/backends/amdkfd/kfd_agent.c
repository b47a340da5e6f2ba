#include "kfd_agent.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

int gprio_kfd_agent_encode(const struct gprio_kfd_dbg_trap *a, struct gprio_kfd_agent_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->magic = GPRIO_KFD_AGENT_MAGIC;
	m->op = a->op;
	switch (a->op) {
	case GPRIO_KFD_DBG_ENABLE:
	case GPRIO_KFD_DBG_DISABLE:
	case GPRIO_KFD_DBG_SEND_RUNTIME_EVENT: return 0; /* only ever the runtime bit: kfd.c */
	case GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT:
		m->n = a->snapshot.num_queues < GPRIO_KFD_AGENT_MAXSNAP ? a->snapshot.num_queues
									: GPRIO_KFD_AGENT_MAXSNAP;
		m->clear_new = (a->snapshot.exception_mask &
				GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_QUEUE_NEW)) != 0;
		return 0;
	case GPRIO_KFD_DBG_SUSPEND_QUEUES:
	case GPRIO_KFD_DBG_RESUME_QUEUES: {
		bool s = a->op == GPRIO_KFD_DBG_SUSPEND_QUEUES;
		uint32_t n = s ? a->suspend.num_queues : a->resume.num_queues;
		const uint32_t *arr = (const uint32_t *)(uintptr_t)(s ? a->suspend.queue_array_ptr
								      : a->resume.queue_array_ptr);
		if (n > GPRIO_KFD_AGENT_MAXQ)
			return -E2BIG;
		m->n = n;
		m->grace = s ? a->suspend.grace_period : 0;
		memcpy(m->qids, arr, n * sizeof(*arr));
		return 0;
	}
	default: return -EOPNOTSUPP;
	}
}

int gprio_kfd_agent_decode(const struct gprio_kfd_agent_msg *m, struct gprio_kfd_dbg_trap *a)
{
	if (m->magic != GPRIO_KFD_AGENT_MAGIC || m->op != a->op)
		return -EPROTO;
	/* the reply comes from another process: an rc that no ioctl returns (below -4095, or a
	 * queue count above what was asked) is a protocol error, not a number to negate or add */
	uint32_t asked = a->op == GPRIO_KFD_DBG_SUSPEND_QUEUES  ? a->suspend.num_queues
			 : a->op == GPRIO_KFD_DBG_RESUME_QUEUES ? a->resume.num_queues
								: 0;
	if (m->rc < -4095 || (m->rc > 0 && (uint32_t)m->rc > asked))
		return -EPROTO;
	if (m->rc < 0)
		return m->rc;
	switch (a->op) {
	case GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT: {
		/* n = how many queues the process has; at most the capacity asked for were filled */
		uint32_t fill = m->n < a->snapshot.num_queues ? m->n : a->snapshot.num_queues;
		if (fill > GPRIO_KFD_AGENT_MAXSNAP)
			fill = GPRIO_KFD_AGENT_MAXSNAP;
		memcpy((void *)(uintptr_t)a->snapshot.snapshot_buf_ptr, m->snap,
		       fill * sizeof(m->snap[0]));
		a->snapshot.num_queues = m->n;
		a->snapshot.entry_size = sizeof(m->snap[0]);
		break;
	}
	case GPRIO_KFD_DBG_SUSPEND_QUEUES:
	case GPRIO_KFD_DBG_RESUME_QUEUES: {
		bool s = a->op == GPRIO_KFD_DBG_SUSPEND_QUEUES;
		uint32_t n = s ? a->suspend.num_queues : a->resume.num_queues;
		if (m->n != n)
			return -EPROTO;
		memcpy((void *)(uintptr_t)(s ? a->suspend.queue_array_ptr
					     : a->resume.queue_array_ptr),
		       m->qids, n * sizeof(uint32_t));
		break;
	}
	default: break;
	}
	return m->rc;
}

void gprio_kfd_agent_serve(const struct gprio_kfd_sys *local, int dbg_fd,
			   struct gprio_kfd_agent_msg *m)
{
	struct gprio_kfd_dbg_trap a;
	uint8_t rinfo[16];
	memset(&a, 0, sizeof(a));
	a.pid = local->ops->self(local->ctx); /* always ourselves, whatever was asked */
	a.op = m->op;
	if (m->magic != GPRIO_KFD_AGENT_MAGIC || m->n > GPRIO_KFD_AGENT_MAXQ) {
		m->magic = GPRIO_KFD_AGENT_MAGIC;
		m->rc = -EPROTO;
		m->n = 0;
		return;
	}
	switch (m->op) {
	case GPRIO_KFD_DBG_ENABLE:
		a.enable.rinfo_ptr = (uint64_t)(uintptr_t)rinfo;
		a.enable.rinfo_size = sizeof(rinfo);
		a.enable.dbg_fd = (uint32_t)dbg_fd;
		break;
	case GPRIO_KFD_DBG_DISABLE: break;
	case GPRIO_KFD_DBG_SEND_RUNTIME_EVENT:
		/* the runtime permit only (kfd.c, gprio_kfd_dbg_arm_exit): never an exception */
		a.send_runtime.exception_mask = GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_PROCESS_RUNTIME);
		break;
	case GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT:
		if (m->n > GPRIO_KFD_AGENT_MAXSNAP)
			m->n = GPRIO_KFD_AGENT_MAXSNAP;
		a.snapshot.exception_mask =
			m->clear_new ? GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_QUEUE_NEW) : 0;
		a.snapshot.snapshot_buf_ptr = (uint64_t)(uintptr_t)m->snap;
		a.snapshot.num_queues = m->n;
		a.snapshot.entry_size = sizeof(m->snap[0]);
		break;
	case GPRIO_KFD_DBG_SUSPEND_QUEUES:
		a.suspend.queue_array_ptr = (uint64_t)(uintptr_t)m->qids;
		a.suspend.num_queues = m->n;
		a.suspend.grace_period = m->grace;
		break;
	case GPRIO_KFD_DBG_RESUME_QUEUES:
		a.resume.queue_array_ptr = (uint64_t)(uintptr_t)m->qids;
		a.resume.num_queues = m->n;
		break;
	default:
		m->rc = -EPERM; /* the agent runs nothing else for anybody */
		return;
	}
	m->rc = local->ops->ioctl(local->ctx, GPRIO_KFD_DBG_TRAP, &a);
	if (m->rc >= 0 && m->op == GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT) {
		if (a.snapshot.entry_size != sizeof(m->snap[0]))
			m->rc = -EPROTO; /* another entry layout: do not pass it on */
		m->n = a.snapshot.num_queues;
	}
}

/* One message. `note` NULL: only a whole message is one (the shim's side: gpriod sends no
 * notes); else a work note is one too, and *note says which came. */
static int recv_flags(int fd, struct gprio_kfd_agent_msg *m, int flags, bool *note)
{
	ssize_t r;
	do
		r = recv(fd, m, sizeof(*m), flags);
	while (r < 0 && errno == EINTR);
	if (note)
		*note = false;
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return -errno;
	if (note && (size_t)r == sizeof(struct gprio_kfd_agent_note) &&
	    m->magic == GPRIO_KFD_AGENT_MAGIC && m->op == GPRIO_KFD_AGENT_NOTE_WORK) {
		*note = true;
		return 0;
	}
	if ((size_t)r != sizeof(*m) || m->magic != GPRIO_KFD_AGENT_MAGIC)
		return -EPROTO;
	return 0;
}

static int recv_msg(int fd, struct gprio_kfd_agent_msg *m)
{
	return recv_flags(fd, m, 0, NULL);
}

static int send_flags(int fd, const struct gprio_kfd_agent_msg *m, int flags)
{
	ssize_t r;
	do
		r = send(fd, m, sizeof(*m), MSG_NOSIGNAL | flags);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EPIPE ? -ECONNRESET : -errno;
	return (size_t)r == sizeof(*m) ? 0 : -EPROTO;
}

static int send_msg(int fd, const struct gprio_kfd_agent_msg *m)
{
	return send_flags(fd, m, 0);
}

int gprio_kfd_agent_send(int fd, const struct gprio_kfd_agent_msg *m)
{
	int rc = send_flags(fd, m, MSG_DONTWAIT);
	return rc == -EAGAIN ? -ETIMEDOUT : rc; /* its buffer is full: it reads nothing */
}

int gprio_kfd_agent_recv_any(int fd, struct gprio_kfd_agent_msg *m, bool *note)
{
	return recv_flags(fd, m, MSG_DONTWAIT, note);
}

int gprio_kfd_agent_call(int fd, struct gprio_kfd_agent_msg *m, int timeout_ms)
{
	uint32_t op = m->op;
	int rc = send_msg(fd, m);
	if (rc < 0)
		return rc;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) { /* work notes that arrive meanwhile are not the reply */
		do
			rc = poll(&p, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		bool note;
		rc = gprio_kfd_agent_recv_any(fd, m, &note);
		if (rc == -EAGAIN || (rc == 0 && note))
			continue;
		break;
	}
	if (rc == 0 && m->op != op)
		rc = -EPROTO;
	return rc;
}

int gprio_kfd_agent_serve_one(int fd, const struct gprio_kfd_sys *local, int dbg_fd,
			      pthread_mutex_t *lock,
			      void (*served)(void *arg, const struct gprio_kfd_agent_msg *req,
					     const struct gprio_kfd_agent_msg *rep),
			      void *arg)
{
	static _Thread_local struct gprio_kfd_agent_msg req, rep;
	int rc = recv_msg(fd, &req);
	if (rc == -EPROTO) { /* answer garbage with an error rather than hang the caller */
		memset(&rep, 0, sizeof(rep));
		rep.magic = GPRIO_KFD_AGENT_MAGIC;
		rep.rc = -EPROTO;
		return send_msg(fd, &rep);
	}
	if (rc < 0)
		return rc;
	rep = req;
	if (lock)
		pthread_mutex_lock(lock);
	gprio_kfd_agent_serve(local, dbg_fd, &rep);
	if (served)
		served(arg, &req, &rep);
	if (lock)
		pthread_mutex_unlock(lock);
	return send_msg(fd, &rep);
}

/* The agent view: ioctl through base's agent_ioctl for pid; everything else is base's. */
static const struct gprio_kfd_sys *vb(void *ctx)
{
	return ((struct gprio_kfd_agent_view *)ctx)->base;
}

static int av_ioctl(void *ctx, unsigned long req, void *arg)
{
	struct gprio_kfd_agent_view *v = ctx;
	if (!v->base->ops->agent_ioctl)
		return -ENOENT;
	return v->base->ops->agent_ioctl(v->base->ctx, v->pid, req, arg);
}
static int av_list_procs(void *c, uint32_t *p, size_t n)
{
	return vb(c)->ops->list_procs(vb(c)->ctx, p, n);
}
static int av_list_queues(void *c, uint32_t pid, struct gprio_kfd_sysq *q, size_t n)
{
	return vb(c)->ops->list_queues(vb(c)->ctx, pid, q, n);
}
static int av_read_mem(void *c, uint32_t pid, uint64_t a, void *b, size_t n)
{
	return vb(c)->ops->read_mem(vb(c)->ctx, pid, a, b, n);
}
static int av_attach(void *c, uint32_t pid)
{
	return vb(c)->ops->attach(vb(c)->ctx, pid);
}
static int av_detach(void *c, uint32_t pid)
{
	return vb(c)->ops->detach(vb(c)->ctx, pid);
}
static int av_classify(void *c, uint32_t pid, enum gprio_class *k, int *p)
{
	return vb(c)->ops->classify(vb(c)->ctx, pid, k, p);
}
static uint32_t av_self(void *c)
{
	return ((struct gprio_kfd_agent_view *)c)->pid;
}
static gprio_ns av_now(void *c)
{
	return vb(c)->ops->now(vb(c)->ctx);
}
static int av_sleep(void *c, gprio_ns d)
{
	return vb(c)->ops->sleep(vb(c)->ctx, d);
}

static const struct gprio_kfd_sys_ops agent_view_ops = {
	.ioctl = av_ioctl,
	.list_procs = av_list_procs,
	.list_queues = av_list_queues,
	.read_mem = av_read_mem,
	.attach = av_attach,
	.detach = av_detach,
	.classify = av_classify,
	.self = av_self,
	.now = av_now,
	.sleep = av_sleep,
};

void gprio_kfd_agent_sys(struct gprio_kfd_agent_view *view, struct gprio_kfd_sys *out)
{
	out->ops = &agent_view_ops;
	out->ctx = view;
}
