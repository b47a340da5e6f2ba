/* In-process mode's wire, over a real Unix socket: gpriod's side (the Linux port's listener,
 * has_agent, agent_ioctl) and the shim's side (gprio_kfd_agent_serve_one) in two threads of one
 * process, the shim's KFD scripted. Checks that the agent acts only on itself, runs only the five
 * debugger ops, carries queue arrays and snapshots both ways, and that a shim that goes away or
 * stops answering is dropped (-ENOENT / -ETIMEDOUT) instead of hanging the daemon. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/backends/amdkfd/kfd.h"
#include "../../src/backends/amdkfd/kfd_agent.h"
#include "../../src/backends/amdkfd/agent_server.h"
#include "../../src/backends/amdkfd/kfd_sys_linux.h"

/* --- the shim's own KFD, scripted: it is process 4242 with queues 0 and 1 --- */
static struct {
	uint32_t last_pid, last_op, dbg_fd, calls;
} K;

static int k_ioctl(void *ctx, unsigned long req, void *arg)
{
	(void)ctx;
	if (req != GPRIO_KFD_DBG_TRAP)
		return -ENOTTY;
	struct gprio_kfd_dbg_trap *a = arg;
	K.calls++;
	K.last_pid = a->pid;
	K.last_op = a->op;
	switch (a->op) {
	case GPRIO_KFD_DBG_ENABLE: K.dbg_fd = a->enable.dbg_fd; return 0;
	case GPRIO_KFD_DBG_DISABLE: return 0;
	case GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT: {
		struct gprio_kfd_queue_snapshot *s =
			(void *)(uintptr_t)a->snapshot.snapshot_buf_ptr;
		for (uint32_t i = 0; i < 2 && i < a->snapshot.num_queues; i++) {
			memset(&s[i], 0, sizeof(s[i]));
			s[i].queue_id = i;
			s[i].ring_base_address = 0xa000 + i * 0x1000;
			s[i].read_pointer_address = 0xb000 + i * 0x10;
			s[i].write_pointer_address = 0xb008 + i * 0x10;
		}
		a->snapshot.num_queues = 2;
		return 0;
	}
	case GPRIO_KFD_DBG_SUSPEND_QUEUES: {
		uint32_t *arr = (void *)(uintptr_t)a->suspend.queue_array_ptr;
		for (uint32_t i = 0; i < a->suspend.num_queues; i++)
			if (arr[i] == 1)
				arr[i] |= GPRIO_KFD_QUEUE_ERROR;
			else if (arr[i] > 1)
				arr[i] |= GPRIO_KFD_QUEUE_INVALID;
		return 1;
	}
	case GPRIO_KFD_DBG_RESUME_QUEUES: return (int)a->resume.num_queues;
	}
	return -EINVAL;
}

static uint32_t k_self(void *ctx)
{
	(void)ctx;
	return 4242;
}

static const struct gprio_kfd_sys_ops shim_kfd_ops = {.ioctl = k_ioctl, .self = k_self};
static const struct gprio_kfd_sys shim_kfd = {&shim_kfd_ops, NULL};

static char path[108];

static int shim_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* the shim's thread: serve until the daemon goes away */
static void *shim_main(void *arg)
{
	int fd = *(int *)arg;
	while (gprio_kfd_agent_serve_one(fd, &shim_kfd, 42, NULL, NULL, NULL) == 0)
		;
	return NULL;
}

/* gpriod's side: its event loop, the agent server on it, the KFD system ops waiting in it */
static struct gprio_evloop loop;
static struct gprio_kfd_agents agents;

static void daemon_up(struct gprio_kfd_linux *l, struct gprio_kfd_sys *sys)
{
	snprintf(path, sizeof(path), "/tmp/gprio-agent-test-%d.sock", (int)getpid());
	assert_int_equal(gprio_kfd_linux_init(l, NULL), 0);
	gprio_evloop_init(&loop, &gprio_mono_clock, NULL);
	assert_int_equal(gprio_kfd_agents_listen(&agents, &loop, path), 0);
	gprio_kfd_agents_attach(l, &loop, &agents);
	gprio_kfd_linux_sys(l, sys);
}

static void daemon_down(struct gprio_kfd_linux *l)
{
	gprio_kfd_agents_close(&agents);
	gprio_kfd_linux_close(l);
}

static void wait_agent(const struct gprio_kfd_sys *sys, uint32_t pid, bool want)
{
	for (int i = 0; i < 200; i++) {
		if (sys->ops->has_agent(sys->ctx, pid) == want)
			return;
		sys->ops->sleep(sys->ctx, sys->ops->now(sys->ctx) + 10 * GPRIO_NS_PER_MS);
	}
	fail_msg("agent of %u never became %s", pid, want ? "present" : "absent");
}

static void roundtrip(void **s)
{
	(void)s;
	struct gprio_kfd_linux l;
	struct gprio_kfd_sys sys;
	daemon_up(&l, &sys);
	uint32_t me = (uint32_t)getpid(); /* SO_PEERCRED names the connecting process: us */
	assert_false(sys.ops->has_agent(sys.ctx, me));
	int fd = shim_connect();
	pthread_t t;
	pthread_create(&t, NULL, shim_main, &fd);
	wait_agent(&sys, me, true);

	struct gprio_kfd_agent_view v = {&sys, me};
	struct gprio_kfd_sys as;
	gprio_kfd_agent_sys(&v, &as);
	/* ENABLE: the shim uses its own pid and its own event descriptor, whatever we pass */
	assert_int_equal(gprio_kfd_dbg_enable(&as, 1, 7), 0);
	assert_int_equal(K.last_op, GPRIO_KFD_DBG_ENABLE);
	assert_int_equal(K.last_pid, 4242);
	assert_int_equal(K.dbg_fd, 42);
	/* snapshot entries come back */
	struct gprio_kfd_queue_snapshot snap[4];
	uint32_t n = 0;
	assert_int_equal(gprio_kfd_snapshot(&as, me, true, snap, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_true(snap[1].ring_base_address == 0xb000);
	assert_true(snap[1].read_pointer_address == 0xb010);
	/* a snapshot buffer smaller than the process's queue list: count says 2, one filled */
	memset(snap, 0, sizeof(snap));
	assert_int_equal(gprio_kfd_snapshot(&as, me, false, snap, 1, &n), 0);
	assert_int_equal(n, 2);
	assert_true(snap[1].ring_base_address == 0);
	/* per-queue results travel back: 0 ok, 1 error bit, 5 invalid */
	uint32_t q[3] = {0, 1, 5};
	enum gprio_kfd_qresult res[3];
	assert_int_equal(gprio_kfd_suspend(&as, me, q, 3, 10, res), 1);
	assert_int_equal(res[0], GPRIO_KFD_Q_OK);
	assert_int_equal(res[1], GPRIO_KFD_Q_ERROR);
	assert_int_equal(res[2], GPRIO_KFD_Q_INVALID);
	assert_int_equal(gprio_kfd_resume(&as, me, q, 2, res), 2);
	assert_int_equal(K.last_pid, 4242);
	/* anything else is not the agent's business */
	struct gprio_kfd_version ver;
	assert_int_equal(as.ops->ioctl(as.ctx, GPRIO_KFD_GET_VERSION, &ver), -EOPNOTSUPP);
	struct gprio_kfd_dbg_trap other = {.pid = me, .op = 9 /* CLEAR_NODE_ADDRESS_WATCH */};
	assert_int_equal(as.ops->ioctl(as.ctx, GPRIO_KFD_DBG_TRAP, &other), -EOPNOTSUPP);
	static struct gprio_kfd_agent_msg raw;
	memset(&raw, 0, sizeof(raw));
	raw.magic = GPRIO_KFD_AGENT_MAGIC;
	raw.op = 9;
	gprio_kfd_agent_serve(&shim_kfd, 42, &raw);
	assert_int_equal(raw.rc, -EPERM);
	raw.magic = 0xdead;
	raw.op = GPRIO_KFD_DBG_DISABLE;
	gprio_kfd_agent_serve(&shim_kfd, 42, &raw);
	assert_int_equal(raw.rc, -EPROTO);
	/* too many queues for one message */
	uint32_t many[GPRIO_KFD_AGENT_MAXQ + 1] = {0};
	struct gprio_kfd_dbg_trap big = {.pid = me, .op = GPRIO_KFD_DBG_RESUME_QUEUES};
	big.resume.queue_array_ptr = (uint64_t)(uintptr_t)many;
	big.resume.num_queues = GPRIO_KFD_AGENT_MAXQ + 1;
	assert_int_equal(gprio_kfd_agent_encode(&big, &raw), -E2BIG);

	/* the shim goes away: noticed while sleeping, later calls say -ENOENT */
	shutdown(fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(fd);
	wait_agent(&sys, me, false);
	assert_int_equal(gprio_kfd_resume(&as, me, q, 1, res), -ENOENT);
	daemon_down(&l);
	assert_int_equal(access(path, F_OK), -1); /* the socket file is removed */
}

/* the daemon's other work while a call waits: a 10 ms timer (its heartbeat, in gpriod) */
static unsigned ticks;
static gprio_ns tick(struct gprio_evloop *lp, gprio_ns now, void *ctx)
{
	(void)lp;
	(void)ctx;
	ticks++;
	return now + 10 * GPRIO_NS_PER_MS;
}

/* A shim that connects and never answers costs the monitor one timeout, then it is dropped, and
 * its user's shims are refused from then on: connecting stuck shims again cannot stall gpriod
 * again. The event loop is not held meanwhile: its timers fire and new connections are taken
 * while the call waits. */
static void stuck_agent(void **s)
{
	(void)s;
	struct gprio_kfd_linux l;
	struct gprio_kfd_sys sys;
	daemon_up(&l, &sys);
	uint32_t me = (uint32_t)getpid();
	int fd = shim_connect();
	wait_agent(&sys, me, true);
	struct gprio_kfd_agent_view v = {&sys, me};
	struct gprio_kfd_sys as;
	gprio_kfd_agent_sys(&v, &as);
	int id = gprio_evloop_add_timer(&loop, sys.ops->now(sys.ctx), tick, NULL);
	assert_true(id >= 0);
	ticks = 0;
	pid_t child = fork(); /* another process's shim connects while the call waits */
	if (child == 0) {
		usleep(100 * 1000);
		int c = shim_connect();
		pause();
		_exit(c < 0);
	}
	assert_true(child > 0);
	gprio_ns t0 = sys.ops->now(sys.ctx);
	assert_int_equal(gprio_kfd_dbg_disable(&as, me), -ETIMEDOUT);
	gprio_ns took = sys.ops->now(sys.ctx) - t0;
	gprio_evloop_del_timer(&loop, id);
	assert_true(took >= (gprio_ns)GPRIO_KFD_AGENT_TIMEOUT_MS * GPRIO_NS_PER_MS);
	assert_true(ticks >= GPRIO_KFD_AGENT_TIMEOUT_MS / 10 / 2); /* 200 due, half at least */
	assert_true(sys.ops->has_agent(sys.ctx, (uint32_t)child)); /* accepted meanwhile */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_false(sys.ops->has_agent(sys.ctx, me));
	int again = shim_connect(); /* the same user, stuck again */
	sys.ops->sleep(sys.ctx, sys.ops->now(sys.ctx) + 50 * GPRIO_NS_PER_MS);
	assert_false(sys.ops->has_agent(sys.ctx, me));
	assert_int_equal(agents.refused, 1);
	t0 = sys.ops->now(sys.ctx);
	assert_int_equal(gprio_kfd_dbg_disable(&as, me), -ENOENT); /* no call, no second wait */
	assert_true(sys.ops->now(sys.ctx) - t0 < 100 * GPRIO_NS_PER_MS);
	close(again);
	close(fd);
	daemon_down(&l);
}

/* A reconnecting shim replaces its old connection. */
static void reconnect_replaces(void **s)
{
	(void)s;
	struct gprio_kfd_linux l;
	struct gprio_kfd_sys sys;
	daemon_up(&l, &sys);
	uint32_t me = (uint32_t)getpid();
	int a = shim_connect();
	wait_agent(&sys, me, true);
	int b = shim_connect();
	pthread_t t;
	pthread_create(&t, NULL, shim_main, &b);
	sys.ops->sleep(sys.ctx, sys.ops->now(sys.ctx) + 20 * GPRIO_NS_PER_MS);
	assert_int_equal(gprio_kfd_agents_count(&agents), 1);
	struct gprio_kfd_agent_view v = {&sys, me};
	struct gprio_kfd_sys as;
	gprio_kfd_agent_sys(&v, &as);
	assert_int_equal(gprio_kfd_dbg_disable(&as, me), 0); /* answered by b's thread */
	shutdown(b, SHUT_RDWR);
	pthread_join(t, NULL);
	close(a);
	close(b);
	daemon_down(&l);
}

/* A process that connects to the agent socket as `uid` (0: as we are) and waits to be killed. */
static pid_t connect_as(uid_t uid)
{
	pid_t kid = fork();
	if (kid == 0) {
		if (uid && (setgid(uid) != 0 || setuid(uid) != 0))
			_exit(2);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			_exit(3);
		pause();
		_exit(0);
	}
	return kid;
}

/* One untrusted user holds at most GPRIO_KFD_AGENTS_PER_USER connections (as nobody: 20
 * processes, one connection each (a process's newer connection replaces its older): 16 kept,
 * 4 refused); a trusted user (root) is not counted against it. Needs root to become nobody. */
static void untrusted_user_quota(void **s)
{
	(void)s;
	if (getuid() != 0)
		skip();
	struct gprio_kfd_linux l;
	struct gprio_kfd_sys sys;
	struct gprio_auth auth = {.daemon_uid = 0};
	agents.auth = &auth;
	daemon_up(&l, &sys);
	pid_t kids[40];
	for (int i = 0; i < 20; i++)
		kids[i] = connect_as(65534);
	/* up to 5 s: 20 forks of a sanitizer build next to other tests */
	for (int i = 0; i < 500 && gprio_server_count_uid(&agents.srv, 65534) + agents.refused < 20;
	     i++)
		sys.ops->sleep(sys.ctx, sys.ops->now(sys.ctx) + 10 * GPRIO_NS_PER_MS);
	uint32_t kept = gprio_server_count_uid(&agents.srv, 65534);
	uint64_t refused = agents.refused;
	for (int i = 20; i < 40; i++) /* root's: trusted, no quota */
		kids[i] = connect_as(0);
	for (int i = 0; i < 500 && gprio_server_count_uid(&agents.srv, 0) < 20; i++)
		sys.ops->sleep(sys.ctx, sys.ops->now(sys.ctx) + 10 * GPRIO_NS_PER_MS);
	uint32_t root_kept = gprio_server_count_uid(&agents.srv, 0);
	for (int i = 0; i < 40; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	daemon_down(&l);
	agents.auth = NULL;
	assert_int_equal(kept, GPRIO_KFD_AGENTS_PER_USER);
	assert_int_equal(refused, 4);
	assert_int_equal(root_kept, 20);
}

/* A hostile or broken agent's reply codes: INT_MIN (whose negation is undefined) and a queue
 * count larger than asked (which the backend would add to another count) are protocol errors. */
static void hostile_reply_codes(void **s)
{
	(void)s;
	uint32_t q[2] = {0, 1};
	struct gprio_kfd_dbg_trap a = {.pid = 1, .op = GPRIO_KFD_DBG_SUSPEND_QUEUES};
	a.suspend.queue_array_ptr = (uint64_t)(uintptr_t)q;
	a.suspend.num_queues = 2;
	static struct gprio_kfd_agent_msg m;
	assert_int_equal(gprio_kfd_agent_encode(&a, &m), 0);
	m.rc = INT32_MIN;
	assert_int_equal(gprio_kfd_agent_decode(&m, &a), -EPROTO);
	m.rc = INT32_MAX;
	assert_int_equal(gprio_kfd_agent_decode(&m, &a), -EPROTO);
	m.rc = 3;
	assert_int_equal(gprio_kfd_agent_decode(&m, &a), -EPROTO);
	m.rc = 2;
	assert_int_equal(gprio_kfd_agent_decode(&m, &a), 2);
	m.rc = -EPERM;
	assert_int_equal(gprio_kfd_agent_decode(&m, &a), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(hostile_reply_codes),
		cmocka_unit_test(stuck_agent),
		cmocka_unit_test(reconnect_replaces),
		cmocka_unit_test(untrusted_user_quota),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
