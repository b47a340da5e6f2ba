/* libgprio-hsa.so in a real process: a stand-in HSA runtime (fake_libhsa.c) under a ROCm-like
 * program (hsa_app.c), the shim preloaded. This test plays gpriod through the real listener
 * (kfd_sys_linux.c): the shim must connect once the program has a queue, be named by its pid,
 * serve requests on its own process (here its "KFD" is /dev/null, so every ioctl answers
 * ENOTTY, which proves the request reached the shim's ioctl), survive gpriod going away, and
 * pass hsa_queue_create/destroy through in every case (also with no gpriod and no KFD). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/backends/amdkfd/kfd.h"
#include "../../src/backends/amdkfd/kfd_agent.h"
#include "../../src/backends/amdkfd/agent_server.h"
#include "../../src/backends/amdkfd/kfd_sys_linux.h"

extern char **environ;
static const char *shim, *app;
static char sock[108];

struct child {
	pid_t pid;
	int in, out, err; /* its stdin (we write), stdout and stderr (we read) */
};

/* The program under the shim, with its class (`klass`, GPRIO_CLASS=...) and `extra` (may be
 * NULL): one more variable, e.g. how it submits (HSA_APP_RING=N). */
static void spawn_env(struct child *c, const char *socket_path, const char *kfd_dev,
		      const char *klass, const char *extra)
{
	int pin[2], pout[2], perr[2];
	assert_int_equal(pipe(pin), 0);
	assert_int_equal(pipe(pout), 0);
	assert_int_equal(pipe(perr), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	char e1[300], e2[200], e3[200];
	snprintf(e1, sizeof(e1), "LD_PRELOAD=%s", shim);
	snprintf(e2, sizeof(e2), "GPRIO_AMDKFD_SOCKET=%s", socket_path);
	snprintf(e3, sizeof(e3), "GPRIO_KFD_DEV=%s", kfd_dev);
	char *env[] = {e1, e2, e3, (char *)klass, (char *)extra, NULL};
	char *argv[] = {(char *)app, NULL};
	assert_int_equal(posix_spawn(&c->pid, app, &fa, NULL, argv, env), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	c->in = pin[1];
	c->out = pout[0];
	c->err = perr[0];
	char buf[16] = {0};
	assert_true(read(c->out, buf, 6) == 6);
	assert_string_equal(buf, "ready\n");
}

static void spawn(struct child *c, const char *socket_path, const char *kfd_dev)
{
	spawn_env(c, socket_path, kfd_dev, "GPRIO_CLASS=offline", NULL);
}

/* Let it destroy its queues and exit; return its exit status and its stderr. */
static int finish(struct child *c, char *errbuf, size_t cap)
{
	assert_true(write(c->in, "go\n", 3) == 3);
	close(c->in);
	int st;
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	ssize_t n = read(c->err, errbuf, cap - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	close(c->out);
	close(c->err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* gpriod's side: its event loop, the agent server on it, the KFD system ops waiting in it */
static struct gprio_evloop loop;
static struct gprio_kfd_agents agents;

static void daemon_up(struct gprio_kfd_linux *l, struct gprio_kfd_sys *sys)
{
	assert_int_equal(gprio_kfd_linux_init(l, NULL), 0);
	gprio_evloop_init(&loop, &gprio_mono_clock, NULL);
	assert_int_equal(gprio_kfd_agents_listen(&agents, &loop, sock), 0);
	gprio_kfd_agents_attach(l, &loop, &agents);
	gprio_kfd_linux_sys(l, sys);
}

static void served_by_the_shim(void **s)
{
	(void)s;
	struct gprio_kfd_linux l;
	struct gprio_kfd_sys sys;
	daemon_up(&l, &sys);
	struct child c;
	spawn(&c, sock, "/dev/null");
	uint32_t pid = (uint32_t)c.pid;
	bool up = false;
	for (int i = 0; i < 300 && !up; i++) {
		up = sys.ops->has_agent(sys.ctx, pid);
		if (!up)
			sys.ops->sleep(sys.ctx, sys.ops->now(sys.ctx) + 10 * GPRIO_NS_PER_MS);
	}
	assert_true(up);
	struct gprio_kfd_agent_view v = {&sys, pid};
	struct gprio_kfd_sys as;
	gprio_kfd_agent_sys(&v, &as);
	assert_int_equal(gprio_kfd_dbg_enable(&as, pid, -1), -ENOTTY);
	struct gprio_kfd_queue_snapshot snap[2];
	uint32_t n;
	assert_int_equal(gprio_kfd_snapshot(&as, pid, true, snap, 2, &n), -ENOTTY);
	uint32_t q = 0;
	enum gprio_kfd_qresult res;
	assert_int_equal(gprio_kfd_suspend(&as, pid, &q, 1, 1, &res), -ENOTTY);
	/* gpriod goes away: the shim fails open and keeps the program running */
	gprio_kfd_agents_close(&agents);
	gprio_kfd_linux_close(&l);
	char errbuf[512];
	assert_int_equal(finish(&c, errbuf, sizeof(errbuf)), 0);
}

/* Event-driven stages: an online program's doorbell stores reach gpriod as work notes (at
 * most one a millisecond), each ending the monitor's wait at once (sleep returns 1, not 0 at
 * the deadline); an offline program sends none. */
static unsigned notes_of(const char *cls, uint64_t *wakeups, int *early)
{
	struct gprio_kfd_linux l;
	struct gprio_kfd_sys sys;
	daemon_up(&l, &sys);
	struct child c;
	spawn_env(&c, sock, "/dev/null", cls, "HSA_APP_RING=10");
	/* serve until it says "rang" (10 stores 3 ms apart), counting early wake-ups */
	*early = 0;
	char buf[8] = {0};
	size_t got = 0;
	gprio_ns until = sys.ops->now(sys.ctx) + 5 * GPRIO_NS_PER_S;
	fcntl(c.out, F_SETFL, O_NONBLOCK);
	while (got < 5 && sys.ops->now(sys.ctx) < until) {
		if (sys.ops->sleep(sys.ctx, sys.ops->now(sys.ctx) + 50 * GPRIO_NS_PER_MS) == 1)
			(*early)++;
		ssize_t n = read(c.out, buf + got, 5 - got);
		got += n > 0 ? (size_t)n : 0;
	}
	assert_string_equal(buf, "rang\n");
	unsigned notes = (unsigned)agents.notes;
	*wakeups = agents.note_wakeups;
	gprio_kfd_agents_close(&agents);
	gprio_kfd_linux_close(&l);
	char errbuf[512];
	assert_int_equal(finish(&c, errbuf, sizeof(errbuf)), 0);
	return notes;
}

static void online_doorbells_wake_gpriod(void **s)
{
	(void)s;
	uint64_t wakeups;
	int early;
	unsigned n = notes_of("GPRIO_CLASS=online", &wakeups, &early);
	/* 10 stores 3 ms apart, after the shim connected (its first may precede the connection) */
	if (n < 5 || n > 10 || wakeups < 5 || early < 5)
		fail_msg("online: %u notes, %llu wake-ups, %d early returns", n,
			 (unsigned long long)wakeups, early);
	n = notes_of("GPRIO_CLASS=offline", &wakeups, &early);
	assert_int_equal(n, 0);
	assert_int_equal(early, 0);
}

static void no_daemon(void **s)
{
	(void)s;
	struct child c;
	spawn(&c, "/nonexistent/gprio.sock", "/dev/null");
	char errbuf[512];
	assert_int_equal(finish(&c, errbuf, sizeof(errbuf)), 0);
	if (!strstr(errbuf, "no gpriod at /nonexistent/gprio.sock"))
		fail_msg("stderr: '%s'", errbuf);
}

static void no_kfd(void **s)
{
	(void)s;
	struct child c;
	spawn(&c, sock, "/nonexistent/kfd");
	char errbuf[512];
	assert_int_equal(finish(&c, errbuf, sizeof(errbuf)), 0);
	if (!strstr(errbuf,
		    "cannot open /nonexistent/kfd (No such file or directory): passing through"))
		fail_msg("stderr: '%s'", errbuf);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_hsa_shim LIBGPRIO_HSA HSA_APP\n");
		return 2;
	}
	shim = argv[1];
	app = argv[2];
	snprintf(sock, sizeof(sock), "/tmp/gprio-hsa-test-%d.sock", (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(served_by_the_shim),
		cmocka_unit_test(online_doorbells_wake_gpriod),
		cmocka_unit_test(no_daemon),
		cmocka_unit_test(no_kfd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
