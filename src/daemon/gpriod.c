/* gpriod: the node daemon for the nvidia backend. Owns the shared segment the shims attach to,
 * keeps the heartbeat that keeps them active, and runs the same monitor loop as the simulator
 * (src/core) over the nvidia backend. Logs to stderr (journald picks it up under systemd).
 *
 *   gpriod [--shm PATH] [--allow USER,...] [--policy none|priority|share] [--hysteresis-us N] [--poll-ms N]
 *          [--online-timeslice-us N] [--offline-timeslice-us N] [--share PCT] [--gating on|off]
 *          [--offline-inflight N (0: no bound)] [--status-ms N]
 *   gpriod --backend amdkfd [--stage 1|2] [--policy ...] [--hysteresis-us N] [--poll-ms N]
 *          [--status-ms N] [--agent-socket PATH|none]   (AMD: /dev/kfd, root; docs/amd.md)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pwd.h>
#include <unistd.h>

#include "../backends/amdkfd/amdkfd_backend.h"
#include "../backends/amdkfd/kfd_agent.h"
#include "../backends/amdkfd/kfd_sys_linux.h"
#include "../backends/nvidia/nvidia_backend.h"
#include "gprio/monitor.h"

static volatile int g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* SIGINT/SIGTERM end the loop (fail-open path), whichever backend runs. */
static void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static gprio_ns clock_now(void *ctx)
{
	(void)ctx;
	return gprio_nv_now();
}

static struct gprio_nv g_nv;

/* Serve the control socket until deadline, but never longer than 10 ms so the heartbeat stays
 * fresh. */
static int sleep_until(gprio_ns deadline)
{
	gprio_ns now = gprio_nv_now();
	gprio_ns cap = now + 10 * GPRIO_NS_PER_MS;
	if (deadline > cap)
		deadline = cap;
	gprio_nv_serve(&g_nv, deadline);
	return g_stop ? -EINTR : 0;
}

static int uid_of(const char *name, uint32_t *uid)
{
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return -ENOENT;
	*uid = (uint32_t)pw->pw_uid;
	return 0;
}

static int usage(const char *bad, const char *val)
{
	if (bad)
		fprintf(stderr, "gpriod: %s: bad value '%s'\n", bad, val ? val : "(missing)");
	fprintf(stderr, "usage: gpriod [--shm PATH] [--allow USER,...] [--policy none|priority|share]\n"
			"              [--hysteresis-us N]\n"
			"              [--poll-ms N] [--online-timeslice-us N] [--offline-timeslice-us N]\n"
			"              [--share PCT] [--gating on|off] [--offline-inflight N] [--status-ms N]\n"
			"       gpriod --backend amdkfd [--stage 1|2] [--policy ...] [--hysteresis-us N]\n"
			"              [--poll-ms N] [--status-ms N] [--agent-socket PATH|none]\n");
	return 2;
}

static bool num(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static void print_status(const struct gprio_monitor *m, const struct gprio_shm *s)
{
	fprintf(stderr, "gpriod: ticks %llu, suspends %llu, resumes %llu, failures %llu\n",
		(unsigned long long)m->st.ticks, (unsigned long long)m->st.suspends,
		(unsigned long long)m->st.resumes, (unsigned long long)m->st.failures);
	gprio_nv_print_procs(stderr, s);
}

/* AMD: the same monitor over the amdkfd backend on the real /dev/kfd. */
static int run_amdkfd(const struct gprio_monitor_cfg *cfg, int stage, double status_ms,
		      const char *agent_path)
{
	static struct gprio_kfd_linux l;
	static struct gprio_amdkfd ak;
	static struct gprio_monitor m;
	int rc = gprio_kfd_linux_init(&l, GPRIO_KFD_DEV);
	if (rc) {
		fprintf(stderr, "gpriod: /dev/kfd: %s (no AMD GPU driver here, or no access: run "
				"`gprio doctor`)\n", strerror(-rc));
		return 1;
	}
	l.stop = &g_stop;
	if (strcmp(agent_path, "none") != 0 && (rc = gprio_kfd_linux_listen(&l, agent_path)) < 0)
		fprintf(stderr, "gpriod: %s: %s: in-process mode (libgprio-hsa.so) off, ptrace mode "
				"only\n", agent_path, strerror(-rc));
	struct gprio_kfd_sys sys;
	gprio_kfd_linux_sys(&l, &sys);
	struct gprio_amdkfd_cfg acfg;
	gprio_amdkfd_cfg_defaults(&acfg);
	acfg.stage = stage;
	acfg.dbg_fd = l.dbg_fd;
	char err[256];
	if ((rc = gprio_amdkfd_open(&ak, &sys, &acfg, err, sizeof(err)))) {
		fprintf(stderr, "gpriod: %s\n", err);
		gprio_kfd_linux_close(&l);
		return 1;
	}
	struct gprio_clock clk = {clock_now, NULL};
	if (gprio_monitor_init(&m, cfg, &gprio_amdkfd_ops, &ak, &clk)) {
		fprintf(stderr, "gpriod: bad configuration\n");
		gprio_kfd_linux_close(&l);
		return 1;
	}
	catch_stop_signals();
	fprintf(stderr, "gpriod: amdkfd, KFD %u.%u, stage %d, policy %s, hysteresis %.0f us, poll %.1f ms, "
			"HSA shims at %s\n",
		ak.major, ak.minor, ak.stage, gprio_policy_name(cfg->policy.policy),
		(double)cfg->policy.hysteresis / 1e3, (double)cfg->poll / 1e6,
		l.agent_listen >= 0 ? l.agent_path : "(off)");
	gprio_ns next_status = gprio_nv_now() + (gprio_ns)(status_ms * 1e6);
	while ((rc = gprio_monitor_step(&m)) >= 0) {
		if (status_ms > 0 && gprio_nv_now() >= next_status) {
			gprio_amdkfd_print(&ak, stderr);
			next_status = gprio_nv_now() + (gprio_ns)(status_ms * 1e6);
		}
	}
	/* fail open: resume what we hold, stop being anyone's debugger */
	gprio_monitor_release_all(&m);
	int crc = gprio_amdkfd_close(&ak);
	gprio_amdkfd_print(&ak, stderr);
	gprio_kfd_linux_close(&l);
	fprintf(stderr, "gpriod: stopped%s\n", crc ? " (a resume failed; KFD resumes on our exit)" : "");
	return rc == -ECANCELED ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *path = getenv("GPRIO_SHM");
	if (!path || !*path)
		path = GPRIO_SHM_DEFAULT_PATH;
	struct gprio_monitor_cfg cfg;
	gprio_monitor_cfg_defaults(&cfg);
	cfg.events = false;
	cfg.policy.hysteresis = 500 * GPRIO_NS_PER_US;
	double online_ts = 0, offline_ts = 1, status_ms = 0, v;
	bool gating = true, amd = false;
	const char *agent_path = GPRIO_KFD_AGENT_DEFAULT_SOCKET;
	struct gprio_auth auth = {.daemon_uid = (uint32_t)getuid()};
	double inflight = 0, stage = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return usage(NULL, NULL), 0;
		if (!val)
			return usage(a, NULL);
		i++;
		if (strcmp(a, "--shm") == 0)
			path = val;
		else if (strcmp(a, "--agent-socket") == 0)
			agent_path = val;
		else if (strcmp(a, "--allow") == 0) {
			char why[128];
			if (gprio_auth_parse(&auth, val, uid_of, why, sizeof(why))) {
				fprintf(stderr, "gpriod: --allow: %s\n", why);
				return 2;
			}
		}
		else if (strcmp(a, "--backend") == 0 &&
			 (!strcmp(val, "nvidia") || !strcmp(val, "amdkfd")))
			amd = strcmp(val, "amdkfd") == 0;
		else if (strcmp(a, "--stage") == 0 && num(val, 0, 2, &stage) && stage == (int)stage)
			;
		else if (strcmp(a, "--policy") == 0) {
			if (!(cfg.policy.policy = gprio_policy_find(val)))
				return usage(a, val);
		} else if (strcmp(a, "--hysteresis-us") == 0 && num(val, 0, 1e7, &v))
			cfg.policy.hysteresis = (gprio_ns)(v * 1e3);
		else if (strcmp(a, "--poll-ms") == 0 && num(val, 0.01, 1e4, &v))
			cfg.poll = (gprio_ns)(v * 1e6);
		else if (strcmp(a, "--online-timeslice-us") == 0 && num(val, 0, 1e6, &v))
			online_ts = v;
		else if (strcmp(a, "--offline-timeslice-us") == 0 && num(val, 0, 1e6, &v))
			offline_ts = v;
		else if (strcmp(a, "--share") == 0 && num(val, 0, 100, &v))
			cfg.policy.share_permille = (uint32_t)(v * 10);
		else if (strcmp(a, "--gating") == 0 && (!strcmp(val, "on") || !strcmp(val, "off")))
			gating = strcmp(val, "on") == 0;
		else if (strcmp(a, "--offline-inflight") == 0 && num(val, 0, 255, &inflight))
			;
		else if (strcmp(a, "--status-ms") == 0 && num(val, 0, 1e7, &v))
			status_ms = v;
		else
			return usage(a, val);
	}

	if (amd)
		return run_amdkfd(&cfg, (int)stage, status_ms, agent_path);
	if (stage)
		return usage("--stage", "(only with --backend amdkfd)");

	static struct gprio_monitor m;
	struct gprio_nv *nv = &g_nv;
	nv->now = gprio_nv_now;
	nv->sleep_until = sleep_until;
	nv->stop = &g_stop;
	nv->log = stderr;
	const char *what = path;
	int rc = gprio_nv_open(nv, path, &auth, (uint32_t)gprio_policy_index(cfg.policy.policy), cfg.policy.hysteresis,
			       (uint32_t)online_ts, (uint32_t)offline_ts, gating, (uint32_t)inflight, &what);
	if (rc) {
		fprintf(stderr, "gpriod: %s: %s\n", what, strerror(-rc));
		return 1;
	}
	struct gprio_clock clk = {clock_now, NULL};
	if (gprio_monitor_init(&m, &cfg, &gprio_nvidia_ops, nv, &clk)) {
		fprintf(stderr, "gpriod: bad configuration\n");
		gprio_nv_close(nv, false);
		return 1;
	}
	catch_stop_signals();
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&nv->shm->heartbeat_ns, gprio_nv_now());
	fprintf(stderr, "gpriod: %s (socket %s), policy %s, gating %s, hysteresis %.0f us, poll %.1f ms, "
			"TSG timeslice online %.0f us / offline %.0f us (0 = driver default), %u user(s) "
			"allowed online besides root and uid %u\n",
		path, nv->sock.sun_path, gprio_policy_name(cfg.policy.policy), gating ? "on" : "off",
		(double)cfg.policy.hysteresis / 1e3, (double)cfg.poll / 1e6, online_ts, offline_ts,
		auth.n, auth.daemon_uid);
	gprio_ns next_status = gprio_nv_now() + (gprio_ns)(status_ms * 1e6), next_reap = 0;
	while ((rc = gprio_monitor_step(&m)) >= 0) {
		gprio_ns now = gprio_nv_now();
		if (now >= next_reap) {
			gprio_nv_reap(nv);
			next_reap = now + 500 * GPRIO_NS_PER_MS;
		}
		if (status_ms > 0 && now >= next_status) {
			print_status(&m, nv->shm);
			next_status = now + (gprio_ns)(status_ms * 1e6);
		}
	}
	gprio_monitor_release_all(&m);
	print_status(&m, nv->shm);
	gprio_nv_close(nv, false);
	fprintf(stderr, "gpriod: stopped; shims fail open\n");
	return rc == -ECANCELED ? 0 : 1;
}
