#define _GNU_SOURCE /* process_vm_readv */
#include "kfd_sys_linux.h"

#include "kfd_agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int gprio_kfd_linux_init(struct gprio_kfd_linux *l, const char *dev)
{
	memset(l, 0, sizeof(*l));
	l->kfd_fd = -1;
	l->dbg_fd = -1;
	snprintf(l->kfd_proc, sizeof(l->kfd_proc), "/sys/class/kfd/kfd/proc");
	snprintf(l->amdgpu_params, sizeof(l->amdgpu_params), "/sys/module/amdgpu/parameters");
	snprintf(l->proc, sizeof(l->proc), "/proc");
	if (!dev)
		return 0;
	l->kfd_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (l->kfd_fd < 0)
		return -errno;
	l->dbg_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->dbg_fd < 0) {
		int e = -errno;
		close(l->kfd_fd);
		l->kfd_fd = -1;
		return e;
	}
	return 0;
}

void gprio_kfd_linux_close(struct gprio_kfd_linux *l)
{
	if (l->kfd_fd >= 0)
		close(l->kfd_fd);
	if (l->dbg_fd >= 0)
		close(l->dbg_fd);
	l->kfd_fd = l->dbg_fd = -1;
}

static int lx_ioctl(void *ctx, unsigned long req, void *arg)
{
	struct gprio_kfd_linux *l = ctx;
	if (l->kfd_fd < 0)
		return -ENODEV;
	int rc;
	do
		rc = ioctl(l->kfd_fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : rc;
}

static bool number(const char *s, uint32_t *out)
{
	char *end;
	if (!*s)
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int lx_list_procs(void *ctx, uint32_t *pids, size_t cap)
{
	struct gprio_kfd_linux *l = ctx;
	DIR *d = opendir(l->kfd_proc);
	if (!d)
		return errno == ENOENT ? 0 : -errno; /* no KFD process at all yet */
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap)
		if (number(e->d_name, &pids[n]))
			n++;
	closedir(d);
	return (int)n;
}

/* Read a small sysfs file as an unsigned number. 0 or -errno. */
static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -e : -EIO;
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EIO;
	*v = x;
	return 0;
}

/* An interface version gprio's KFD patch publishes as a read-only amdgpu module parameter:
 * its value, -ENOENT (a stock KFD), or -EIO (unreadable or absurd). */
static int param_version(const struct gprio_kfd_linux *l, const char *name)
{
	char f[400];
	uint64_t v = 0;
	snprintf(f, sizeof(f), "%s/%s", l->amdgpu_params, name);
	int rc = read_u64(f, &v);
	if (rc < 0)
		return rc == -EIO ? -EIO : -ENOENT;
	return v > 1000 ? -EIO : (int)v;
}

static int lx_stage2_version(void *ctx)
{
	return param_version(ctx, "gprio_preempt_version");
}

static int lx_stage3_version(void *ctx)
{
	return param_version(ctx, "gprio_monitor_version");
}

static int lx_list_queues(void *ctx, uint32_t pid, struct gprio_kfd_sysq *q, size_t cap)
{
	struct gprio_kfd_linux *l = ctx;
	char dir[400], f[1024];
	snprintf(dir, sizeof(dir), "%s/%u/queues", l->kfd_proc, pid);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			return -errno;
		/* no queues directory: the process has no queues yet, or is gone */
		snprintf(f, sizeof(f), "%s/%u", l->kfd_proc, pid);
		return access(f, F_OK) == 0 ? 0 : -ENOENT;
	}
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap) {
		struct gprio_kfd_sysq *s = &q[n];
		memset(s, 0, sizeof(*s));
		if (!number(e->d_name, &s->qid))
			continue;
		uint64_t v;
		snprintf(f, sizeof(f), "%s/%s/type", dir, e->d_name);
		if (read_u64(f, &v))
			continue; /* destroyed while we looked */
		s->type = (uint32_t)v;
		snprintf(f, sizeof(f), "%s/%s/gpuid", dir, e->d_name);
		if (read_u64(f, &v) == 0)
			s->gpu_id = (uint32_t)v;
		/* stage-2 fields (kernel/amdkfd): all four or none */
		uint64_t r, w, a, su;
		snprintf(f, sizeof(f), "%s/%s/rptr", dir, e->d_name);
		int rc = read_u64(f, &r);
		snprintf(f, sizeof(f), "%s/%s/wptr", dir, e->d_name);
		rc = rc ? rc : read_u64(f, &w);
		snprintf(f, sizeof(f), "%s/%s/active", dir, e->d_name);
		rc = rc ? rc : read_u64(f, &a);
		snprintf(f, sizeof(f), "%s/%s/suspended", dir, e->d_name);
		rc = rc ? rc : read_u64(f, &su);
		if (rc == 0) {
			s->has_ptrs = true;
			s->rptr = r;
			s->wptr = w;
			s->active = a != 0;
			s->suspended = su != 0;
		}
		n++;
	}
	closedir(d);
	return (int)n;
}

static int lx_read_mem(void *ctx, uint32_t pid, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static int lx_attach(void *ctx, uint32_t pid)
{
	(void)ctx;
	return ptrace(PTRACE_SEIZE, (pid_t)pid, NULL, NULL) < 0 ? -errno : 0;
}

/* PTRACE_DETACH needs a ptrace-stop: interrupt, wait for the stop, detach. A signal that arrives
 * meanwhile is handed back to the process with the detach. */
static int lx_detach(void *ctx, uint32_t pid)
{
	(void)ctx;
	if (ptrace(PTRACE_INTERRUPT, (pid_t)pid, NULL, NULL) < 0)
		return -errno;
	for (;;) {
		int st;
		pid_t r = waitpid((pid_t)pid, &st, __WALL);
		if (r < 0)
			return errno == EINTR ? -EINTR : -errno;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH;
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st);
		bool event_stop = (st >> 16) == PTRACE_EVENT_STOP;
		long deliver = event_stop || sig == SIGTRAP ? 0 : sig;
		return ptrace(PTRACE_DETACH, (pid_t)pid, NULL, (void *)deliver) < 0 ? -errno : 0;
	}
}

static int proc_uid(const struct gprio_kfd_linux *l, uint32_t pid, uint32_t *uid)
{
	char path[300], line[256];
	snprintf(path, sizeof(path), "%s/%u/status", l->proc, pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	int rc = -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Uid:", 4) == 0) {
			unsigned long v;
			char *end;
			v = strtoul(line + 4, &end, 10);
			if (end != line + 4 && v <= UINT32_MAX) {
				*uid = (uint32_t)v;
				rc = 0;
			}
			break;
		}
	fclose(f);
	return rc;
}

static int lx_classify(void *ctx, uint32_t pid, enum gprio_class *klass, int *prio)
{
	struct gprio_kfd_linux *l = ctx;
	char path[300], buf[65536];
	snprintf(path, sizeof(path), "%s/%u/environ", l->proc, pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	bool found = false;
	*prio = -1;
	for (char *s = buf; s < buf + n; s += strlen(s) + 1) {
		if (strncmp(s, "GPRIO_CLASS=", 12) == 0 && gprio_class_parse(s + 12, klass) == 0)
			found = true;
		else if (strncmp(s, "GPRIO_PRIORITY=", 15) == 0) {
			uint32_t v;
			if (number(s + 15, &v) && gprio_priority_valid((int)v))
				*prio = (int)v;
		}
	}
	if (!found)
		return -ENOENT;
	if (*prio < 0)
		*prio = gprio_class_default_priority(*klass);
	if (l->auth) {
		/* the process's real user (Uid: real, effective, ...): who started it */
		uint32_t uid = 0;
		char why[200];
		if (proc_uid(l, pid, &uid) < 0) {
			*klass =
				GPRIO_CLASS_OFFLINE; /* cannot tell whose: the least it could get */
			*prio = GPRIO_AUTH_UNTRUSTED_PRIO;
		} else if (gprio_auth_register(l->auth, uid, klass, prio, why, sizeof(why))) {
			fprintf(stderr, "gpriod: pid %u: %s\n", pid, why);
		}
	}
	return 0;
}

static uint32_t lx_self(void *ctx)
{
	(void)ctx;
	return (uint32_t)getpid();
}

static gprio_ns lx_now(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gprio_ns)ts.tv_sec * GPRIO_NS_PER_S + (gprio_ns)ts.tv_nsec;
}

static bool lx_has_agent(void *ctx, uint32_t pid)
{
	struct gprio_kfd_linux *l = ctx;
	return l->agent_fd && l->agent_fd(l->agents_ctx, pid) >= 0;
}

static int lx_agent_ioctl(void *ctx, uint32_t pid, unsigned long req, void *arg)
{
	struct gprio_kfd_linux *l = ctx;
	int fd = l->agent_fd ? l->agent_fd(l->agents_ctx, pid) : -1;
	if (fd < 0)
		return -ENOENT;
	if (req != GPRIO_KFD_DBG_TRAP)
		return -EOPNOTSUPP;
	static struct gprio_kfd_agent_msg m;
	int rc = gprio_kfd_agent_encode(arg, &m);
	if (rc < 0)
		return rc;
	rc = l->agent_call ? l->agent_call(l->agents_ctx, pid, &m, GPRIO_KFD_AGENT_TIMEOUT_MS)
			   : gprio_kfd_agent_call(fd, &m, GPRIO_KFD_AGENT_TIMEOUT_MS);
	if (rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EPROTO) {
		l->agent_lost(l->agents_ctx, pid, rc); /* dead or stuck: it fails open on its own */
		return rc;
	}
	if (rc < 0)
		return rc;
	return gprio_kfd_agent_decode(&m, arg);
}

/* Sleep until the deadline: in gpriod's event loop (which serves the agents meanwhile), or
 * plainly. */
static int lx_sleep(void *ctx, gprio_ns deadline)
{
	struct gprio_kfd_linux *l = ctx;
	if (l->wait)
		return l->wait(l->wait_ctx, deadline);
	struct timespec ts = {(time_t)(deadline / GPRIO_NS_PER_S),
			      (long)(deadline % GPRIO_NS_PER_S)};
	while (!(l->stop && *l->stop) && lx_now(l) < deadline)
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: check stop */
	return l->stop && *l->stop ? -ECANCELED : 0;
}

const struct gprio_kfd_sys_ops gprio_kfd_linux_ops = {
	.ioctl = lx_ioctl,
	.list_procs = lx_list_procs,
	.list_queues = lx_list_queues,
	.read_mem = lx_read_mem,
	.attach = lx_attach,
	.detach = lx_detach,
	.classify = lx_classify,
	.self = lx_self,
	.now = lx_now,
	.sleep = lx_sleep,
	.has_agent = lx_has_agent,
	.agent_ioctl = lx_agent_ioctl,
	.stage2_version = lx_stage2_version,
	.stage3_version = lx_stage3_version,
};

void gprio_kfd_linux_sys(struct gprio_kfd_linux *l, struct gprio_kfd_sys *out)
{
	out->ops = &gprio_kfd_linux_ops;
	out->ctx = l;
}
