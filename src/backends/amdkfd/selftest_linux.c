/* gprio doctor --selftest on this machine (selftest_linux.h): the test program as a child
 * process, /dev/kfd through the Linux port. */
#define _GNU_SOURCE
#include "selftest_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../daemon/evloop.h"
#include "kfd_sys_linux.h"
#include "selftest.h"

extern char **environ;

struct child {
	const char *cmd;
	pid_t pid;
	int in, out;
};

static int ms_left(gprio_ns deadline)
{
	gprio_ns now = gprio_mono_now();
	return now >= deadline ? 0 : (int)((deadline - now) / GPRIO_NS_PER_MS) + 1;
}

static int app_start(void *ctx, uint32_t *pid, gprio_ns deadline)
{
	struct child *c = ctx;
	int pin[2], pout[2];
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	/* exec: the program itself is the child (its pid is the KFD process) */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "exec %s", c->cmd);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	int rc = posix_spawn(&c->pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	c->in = pin[1];
	c->out = pout[0];
	if (rc) {
		c->pid = 0;
		return -rc;
	}
	char buf[64];
	size_t got = 0;
	while (got < sizeof(buf) - 1) {
		struct pollfd p = {c->out, POLLIN, 0};
		int n = poll(&p, 1, ms_left(deadline));
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno == EINTR)
			continue;
		ssize_t r = n > 0 ? read(c->out, buf + got, sizeof(buf) - 1 - got) : -1;
		if (r <= 0)
			return -ECHILD; /* it ended (or failed) before saying ready */
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "ready\n")) {
			*pid = (uint32_t)c->pid;
			return 0;
		}
	}
	return -EPROTO;
}

static int app_finish(void *ctx, gprio_ns deadline, int *status)
{
	struct child *c = ctx;
	if (!c->pid)
		return -ECHILD;
	if (c->in >= 0)
		close(c->in); /* its cue to exit */
	c->in = -1;
	for (;;) {
		int st;
		pid_t r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (gprio_mono_now() >= deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &st, 0);
			c->pid = 0;
			close(c->out);
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	c->pid = 0;
	close(c->out);
	return 0;
}

/* Build the test program from its source with hipcc (bounded), into dir. */
static int build_app(const char *src, const char *dir, char *exe, size_t len, FILE *out)
{
	snprintf(exe, len, "%s/gprio-selftest-app", dir);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "timeout 300 hipcc -O2 -o '%s' '%s' >'%s/build.log' 2>&1", exe,
		 src, dir);
	int rc = system(cmd);
	if (rc != 0) {
		fprintf(out, "  build    FAIL  hipcc %s (log: %s/build.log)\n", src, dir);
		return -EIO;
	}
	return 0;
}

int gprio_selftest_linux(const char *app_cmd, const char *app_src, FILE *out)
{
	fprintf(out, "AMD stage 1 self-test on this machine's GPU\n");
	struct gprio_kfd_linux l;
	const char *dev = getenv("GPRIO_KFD_DEV"); /* as gprio doctor's probe */
	dev = dev && *dev ? dev : GPRIO_KFD_DEV;
	int rc = gprio_kfd_linux_init(&l, dev);
	if (rc < 0) {
		fprintf(out, "  not run: %s: %s (no AMD GPU driver here, or no access)\n", dev,
			strerror(-rc));
		return 77;
	}
	char exe[256];
	if (!app_cmd) {
		char dir[] = "/tmp/gprio-selftest.XXXXXX";
		if (system("command -v hipcc >/dev/null 2>&1") != 0) {
			fprintf(out,
				"  not run: no hipcc to build the test program (%s); give one "
				"with --app CMD\n",
				app_src);
			gprio_kfd_linux_close(&l);
			return 77;
		}
		if (!mkdtemp(dir) || build_app(app_src, dir, exe, sizeof(exe), out) < 0) {
			gprio_kfd_linux_close(&l);
			return 1;
		}
		app_cmd = exe;
	}
	struct gprio_kfd_sys sys;
	gprio_kfd_linux_sys(&l, &sys);
	struct child c = {.cmd = app_cmd, .pid = 0, .in = -1, .out = -1};
	struct gprio_selftest_app app = {app_start, app_finish, &c};
	struct gprio_selftest_cfg cfg;
	gprio_selftest_defaults(&cfg);
	cfg.dbg_fd = l.dbg_fd;
	struct gprio_selftest_result r;
	bool ok = gprio_kfd_selftest(&sys, &app, &cfg, &r, out);
	gprio_kfd_linux_close(&l);
	fprintf(out, "self-test: %s\n",
		ok ? "passed: suspend stopped the queue's read pointer, resume restarted it, the "
		     "program exited cleanly"
		   : "FAILED (see the first FAIL above)");
	return ok ? 0 : 1;
}
