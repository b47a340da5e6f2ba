/* The MPS control daemon gpriod manages (gprio/mps_server.h). */
#define _GNU_SOURCE
#include "mps_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MPS_CONTROL "nvidia-cuda-mps-control"

extern char **environ;

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait for `pid` up to `ms`; its exit status, or -ETIMEDOUT (then it is killed). */
static int wait_bounded(pid_t pid, long ms)
{
	for (long t = 0;; t += 10) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (t >= ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -ETIMEDOUT;
		}
		nap_ms(10);
	}
}

/* The control daemon's environment: ours, with its pipe and log directories. */
static int set_dirs(const char *dir, char *pipe, char *log, size_t len)
{
	int a = snprintf(pipe, len, "%s/pipe", dir), b = snprintf(log, len, "%s/log", dir);
	if (a < 0 || b < 0 || (size_t)a >= len || (size_t)b >= len)
		return -ENAMETOOLONG;
	if (setenv("CUDA_MPS_PIPE_DIRECTORY", pipe, 1) || setenv("CUDA_MPS_LOG_DIRECTORY", log, 1))
		return -errno;
	return 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST) {
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
			return 0;
		return -EEXIST; /* not ours, or not a directory: never used */
	}
	return -errno;
}

/* Send one command to the control daemon (`echo CMD | nvidia-cuda-mps-control`), bounded by
 * `ms`: the client's exit status (0: a daemon took it), or -errno / -ETIMEDOUT. */
static int mps_send(const char *cmd, long ms)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {MPS_CONTROL, NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, MPS_CONTROL, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc == 0) {
		size_t n = strlen(cmd);
		ssize_t w = write(fds[1], cmd, n);
		w = w == (ssize_t)n ? write(fds[1], "\n", 1) : w;
		(void)w;
	}
	close(fds[1]);
	return rc ? -rc : wait_bounded(pid, ms);
}

/* Does a control daemon serve the pipes in the environment? Its `control` file stays behind
 * after it quits (seen with driver 580 on an H200: a second start found it), so the file proves
 * nothing: ask it for its server list. A client that hangs counts as served (never start a
 * second daemon beside one that answers slowly). */
static bool mps_serving(void)
{
	int rc = mps_send("get_server_list", 3000);
	return rc == 0 || rc == -ETIMEDOUT;
}

int gprio_mps_start(const char *dir, char *err, size_t errlen)
{
	char pipe[200], log[200], control[220];
	int rc = make_dir(dir);
	if (rc == 0 && (rc = set_dirs(dir, pipe, log, sizeof(pipe))) == 0 &&
	    (rc = make_dir(pipe)) == 0)
		rc = make_dir(log);
	if (rc) {
		snprintf(err, errlen, "--mps: %s: %s (a directory of gpriod's user is needed)", dir,
			 strerror(-rc));
		return rc;
	}
	snprintf(control, sizeof(control), "%s/control", pipe);
	if (access(control, F_OK) == 0) {
		if (mps_serving()) {
			snprintf(err, errlen,
				 "--mps: an MPS control daemon already serves %s (stop it: echo "
				 "quit | CUDA_MPS_PIPE_DIRECTORY=%s " MPS_CONTROL ")",
				 pipe, pipe);
			return -EEXIST;
		}
		unlink(control); /* left by a daemon that quit: the new one makes its own */
	}
	char *argv[] = {MPS_CONTROL, "-d", NULL};
	pid_t pid;
	rc = posix_spawnp(&pid, MPS_CONTROL, NULL, NULL, argv, environ);
	if (rc) {
		snprintf(err, errlen, "--mps: cannot start %s -d: %s (on PATH?)", MPS_CONTROL,
			 strerror(rc));
		return -rc;
	}
	int st = wait_bounded(pid, 5000);
	if (st != 0) {
		snprintf(err, errlen, "--mps: %s -d %s", MPS_CONTROL,
			 st == -ETIMEDOUT ? "did not return within 5 s"
					  : "failed (see its log in the log directory)");
		return st == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	for (int t = 0; access(control, F_OK) != 0; t += 10) {
		if (t >= 5000) {
			snprintf(err, errlen,
				 "--mps: %s -d returned but %s did not appear within 5 s",
				 MPS_CONTROL, control);
			return -ETIMEDOUT;
		}
		nap_ms(10);
	}
	return 0;
}

void gprio_mps_stop(const char *dir, FILE *log)
{
	char pipe[200], logd[200];
	if (set_dirs(dir, pipe, logd, sizeof(pipe)))
		return;
	int st = mps_send("quit", 10000);
	/* quit returns at once; the daemon stops its servers and exits after: wait for it, so a
	 * gpriod started next finds none serving (10 s at most) */
	int t = 0;
	while (st == 0 && t < 10000 && mps_serving()) {
		nap_ms(100);
		t += 100;
	}
	if (log)
		fprintf(log, "gpriod: MPS control daemon (%s): %s\n", pipe,
			st != 0      ? (st == -ETIMEDOUT ? "quit timed out" : "quit failed")
			: t >= 10000 ? "asked to quit; still answering after 10 s"
				     : "stopped");
}
