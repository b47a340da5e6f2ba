/* gpriod: the node daemon. One event loop (evloop.c) that every backend registers its sockets
 * and timers with, one monitor (src/core) stepping over the backend chosen from the registry
 * (registry.c), fail-open on exit. Logs to stderr (journald picks it up under systemd).
 * `gpriod --help` lists the common flags and each backend's own. */
#define _GNU_SOURCE /* SCHED_RESET_ON_FORK */
#include <errno.h>
#include <pwd.h>
#include <sched.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "evloop.h"
#include "metrics.h"
#include "gprio/monitor.h"
#include "registry.h"
#include "../util/args.h"
#include "../util/duration.h"
#include "../util/number.h"

#define GPRIOD_DEFAULT_CONFIG "/etc/gprio/gpriod.conf"

static volatile sig_atomic_t g_stop, g_reload;

static void on_hup(int sig)
{
	(void)sig;
	g_reload = 1;
}

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
	sa.sa_handler = on_hup; /* reload the configuration file */
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* gpriod's heartbeat keeps every shim's gate working: when it lapses for 100 ms the shims fail
 * open, which is right for a dead daemon and wrong for a busy machine. So gpriod runs in a
 * real-time class (SCHED_RR, low priority: it sleeps between ticks and the kernel's RT
 * throttling bounds it), or failing that at the highest nice it may have, and says which. */
static void scheduling(bool realtime, FILE *log)
{
	if (!realtime) {
		fprintf(log, "gpriod: normal scheduling (--realtime off): under full CPU load the "
			     "heartbeat can lapse and the shims fail open\n");
		return;
	}
	struct sched_param sp = {.sched_priority = 10};
	if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) == 0)
		return;
	int e = errno;
	if (setpriority(PRIO_PROCESS, 0, -10) == 0) {
		fprintf(log, "gpriod: no real-time scheduling (%s): running at nice -10\n",
			strerror(e));
		return;
	}
	fprintf(log,
		"gpriod: no real-time scheduling (%s) nor a higher priority: under full CPU "
		"load the heartbeat can lapse and the shims fail open\n",
		strerror(e));
}

/* systemd's readiness protocol (Type=notify) without libsystemd: one datagram to
 * $NOTIFY_SOCKET (a path, or an abstract name starting with '@'). Nothing when not under it. */
static void sd_notify_state(const char *state)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t l = p ? strlen(p) : 0;
	if (!p || (p[0] != '/' && p[0] != '@') || l >= sizeof(a.sun_path))
		return;
	memcpy(a.sun_path, p, l);
	if (p[0] == '@')
		a.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&a,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l));
	close(fd);
}

static int uid_of(const char *name, uint32_t *uid)
{
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return -ENOENT;
	*uid = (uint32_t)pw->pw_uid;
	return 0;
}

static void usage(FILE *f)
{
	char names[128];
	gprio_policy_names(names, sizeof(names));
	fprintf(f, "usage: gpriod [--backend NAME] [FLAG VALUE]...\n\ncommon flags:\n"
		   "  --backend NAME              the mechanism (default nvidia):\n");
	for (int i = 0; gpriod_backends[i]; i++)
		fprintf(f, "                                %-8s %s\n", gpriod_backends[i]->name,
			gpriod_backends[i]->help);
	fprintf(f, "  --policy NAME               %s (default priority):\n", names);
	for (int i = 0; gprio_policies[i]; i++)
		fprintf(f, "                                %-8s %s\n", gprio_policies[i]->name,
			gprio_policies[i]->help);
	fprintf(f,
		"  --hysteresis TIME           a queue stays hot this long after its last work\n"
		"                              (TIME: a number and ns, us, ms or s; default "
		"500us)\n"
		"  --poll TIME                 monitor poll period (default 5ms)\n"
		"  --share PCT                 share: minimum share of a held queue (default 10)\n"
		"  --quantum TIME              wfq: turn length in weighted run time (default "
		"10ms)\n"
		"  --slo-trigger PCT           slo: hold lower queues once online work has waited\n"
		"                              this much of its objective (default 50)\n"
		"  --allow USER,...            users besides root and gpriod's own who may run "
		"online\n"
		"  --status-every TIME         print the status this often (0: only at exit)\n"
		"  (--hysteresis-us N, --poll-ms N, --quantum-ms N, --status-ms N: the same, "
		"older)\n"
		"  --metrics HOST:PORT|off     serve Prometheus metrics there (default off)\n"
		"  --version                   print the version\n"
		"  --config PATH|none          settings file, 'name = value' lines named as these\n"
		"                              flags (default " GPRIOD_DEFAULT_CONFIG
		" if it exists;\n"
		"                              flags win; SIGHUP reloads the scheduling settings)\n"
		"  --realtime on|off           run in a real-time class so the heartbeat holds "
		"under\n"
		"                              full CPU load (default on; falls back to nice "
		"-10)\n");
	for (int i = 0; gpriod_backends[i]; i++)
		fprintf(f, "\n--backend %s:\n%s", gpriod_backends[i]->name,
			gpriod_backends[i]->usage);
}

static int bad(const char *flag, const char *val)
{
	fprintf(stderr, "gpriod: %s: bad value '%s' (gpriod --help)\n", flag,
		val ? val : "(missing)");
	return 2;
}

/* The flags every backend shares. 0 taken, -ENOENT not one of them, -EINVAL bad value. */
static int common_option(const char *a, const char *val, struct gprio_monitor_cfg *cfg,
			 struct gprio_auth *auth, double *status_ms, bool *realtime,
			 const char **metrics)
{
	double v;
	if (strcmp(a, "--policy") == 0)
		return (cfg->policy.policy = gprio_policy_find(val)) ? 0 : -EINVAL;
	gprio_ns ns;
	/* durations with their unit (--poll 5ms), as everywhere in gprio; the older flags with the
	 * unit in their name (--poll-ms 5) stay */
	if (strcmp(a, "--hysteresis") == 0)
		return gprio_parse_duration_in(val, 0, 10 * GPRIO_NS_PER_S,
					       &cfg->policy.hysteresis);
	if (strcmp(a, "--poll") == 0)
		return gprio_parse_duration_in(val, 10 * GPRIO_NS_PER_US, 10 * GPRIO_NS_PER_S,
					       &cfg->poll);
	if (strcmp(a, "--quantum") == 0)
		return gprio_parse_duration_in(val, 10 * GPRIO_NS_PER_US, 10 * GPRIO_NS_PER_S,
					       &cfg->policy.quantum);
	if (strcmp(a, "--status-every") == 0) {
		if (gprio_parse_duration_in(val, 0, 10000 * GPRIO_NS_PER_S, &ns))
			return -EINVAL;
		*status_ms = (double)ns / 1e6;
		return 0;
	}
	if (strcmp(a, "--hysteresis-us") == 0)
		return gprio_parse_number(val, 0, 1e7, &v)
			       ? (cfg->policy.hysteresis = (gprio_ns)(v * 1e3), 0)
			       : -EINVAL;
	if (strcmp(a, "--poll-ms") == 0)
		return gprio_parse_number(val, 0.01, 1e4, &v) ? (cfg->poll = (gprio_ns)(v * 1e6), 0)
							      : -EINVAL;
	if (strcmp(a, "--share") == 0)
		return gprio_parse_number(val, 0, 100, &v)
			       ? (cfg->policy.share_permille = (uint32_t)(v * 10), 0)
			       : -EINVAL;
	if (strcmp(a, "--quantum-ms") == 0)
		return gprio_parse_number(val, 0.01, 1e4, &v)
			       ? (cfg->policy.quantum = (gprio_ns)(v * 1e6), 0)
			       : -EINVAL;
	if (strcmp(a, "--slo-trigger") == 0)
		return gprio_parse_number(val, 1, 100, &v)
			       ? (cfg->policy.slo_permille = (uint32_t)(v * 10), 0)
			       : -EINVAL;
	if (strcmp(a, "--realtime") == 0) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return -EINVAL;
		*realtime = strcmp(val, "on") == 0;
		return 0;
	}
	if (strcmp(a, "--metrics") == 0) {
		*metrics = val;
		return 0;
	}
	if (strcmp(a, "--status-ms") == 0)
		return gprio_parse_number(val, 0, 1e7, status_ms) ? 0 : -EINVAL;
	if (strcmp(a, "--allow") == 0) {
		char why[128];
		if (gprio_auth_parse(auth, val, uid_of, why, sizeof(why))) {
			fprintf(stderr, "gpriod: --allow: %s\n", why);
			return -EINVAL;
		}
		return 0;
	}
	return -ENOENT;
}

/* gpriod's own metrics, then the backend's. */
/* The configuration file: the same settings as the flags, one "name = value" per line (name
 * without the leading --), '#' comments; flags given on the command line win. */

struct settings {
	struct gprio_monitor_cfg cfg;
	struct gprio_auth auth;
	double status_ms;
	bool realtime;
	const char *metrics_addr;
	const char *config;
};

static int common_option(const char *a, const char *val, struct gprio_monitor_cfg *cfg,
			 struct gprio_auth *auth, double *status_ms, bool *realtime,
			 const char **metrics);

/* One setting, from argv or the file. backend: also the backend's own flags (at start; a
 * reload cannot reopen the backend). 0, or 2 with the message printed. */
static int setting(const struct gpriod_backend *b, struct settings *s, const char *flag,
		   const char *val, bool backend, const char *where)
{
	int rc = common_option(flag, val, &s->cfg, &s->auth, &s->status_ms, &s->realtime,
			       &s->metrics_addr);
	if (rc == -ENOENT && strcmp(flag, "--config") == 0)
		rc = 0;
	if (rc == -ENOENT && backend)
		rc = b->option(flag, val);
	else if (rc == -ENOENT)
		rc = 0; /* at a reload, the backend's (read at start only) are not looked at */
	if (rc == -ENOENT) {
		fprintf(stderr, "gpriod: %s%s: not a flag of gpriod --backend %s (gpriod --help)\n",
			where, flag, b->name);
		return 2;
	}
	if (rc) {
		fprintf(stderr, "gpriod: %s%s: bad value '%s' (gpriod --help)\n", where, flag, val);
		return 2;
	}
	return 0;
}

/* Values read from the file outlive it (some settings keep the pointer): every copy is kept
 * here, reachable, for the daemon's life (a few bytes per setting and reload). */
static char *keep(const char *v)
{
	static char **kept;
	static size_t n, cap;
	if (n == cap) {
		size_t nc = cap ? cap * 2 : 64;
		char **k = realloc(kept, nc * sizeof(*k));
		if (!k)
			return NULL;
		kept = k;
		cap = nc;
	}
	char *c = strdup(v);
	if (c)
		kept[n++] = c;
	return c;
}

/* Read the file into s. A missing default file is fine; a missing named one is not. */
static int read_config(const struct gpriod_backend *b, struct settings *s, bool backend, bool named)
{
	FILE *f = fopen(s->config, "r");
	if (!f) {
		if (!named && errno == ENOENT)
			return 0;
		fprintf(stderr, "gpriod: %s: %s\n", s->config, strerror(errno));
		return 2;
	}
	char line[512];
	int ln = 0, nv = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			/* the rest would be read as a line of its own */
			fprintf(stderr, "gpriod: %s:%d: line longer than %zu characters\n",
				s->config, ln, sizeof(line) - 2);
			rc = 2;
			break;
		}
		line[strcspn(line, "#\r\n")] = '\0';
		char *eq = strchr(line, '='), name[128], where[300];
		char *k = line;
		while (*k == ' ' || *k == '\t')
			k++;
		if (!*k)
			continue;
		snprintf(where, sizeof(where), "%s:%d: ", s->config, ln);
		if (!eq || nv == 256) {
			fprintf(stderr, "gpriod: %s%s\n", where,
				eq ? "more than 256 settings" : "expected 'name = value'");
			rc = 2;
			break;
		}
		*eq = '\0';
		char *v = eq + 1;
		for (size_t l = strlen(k); l && (k[l - 1] == ' ' || k[l - 1] == '\t'); l--)
			k[l - 1] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		for (size_t l = strlen(v); l && (v[l - 1] == ' ' || v[l - 1] == '\t'); l--)
			v[l - 1] = '\0';
		char *val = strlen(k) > 120 ? NULL : keep(v);
		if (!val) {
			fprintf(stderr, "gpriod: %s%s\n", where,
				strlen(k) > 120 ? "name too long" : "out of memory");
			rc = 2;
			break;
		}
		snprintf(name, sizeof(name), "--%.120s", k); /* length checked above */
		nv++;
		rc = setting(b, s, name, val, backend, where);
	}
	fclose(f);
	return rc;
}

/* Defaults, then the file, then the command line. */
static int load_settings(const struct gpriod_backend *b, struct settings *s, int argc, char **argv,
			 bool backend)
{
	gprio_monitor_cfg_defaults(&s->cfg);
	b->defaults(&s->cfg);
	s->auth = (struct gprio_auth){.daemon_uid = (uint32_t)getuid()};
	s->status_ms = 0;
	s->realtime = true;
	s->metrics_addr = NULL;
	s->config = GPRIOD_DEFAULT_CONFIG;
	bool named = false;
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0) {
			s->config = argv[i + 1];
			named = true;
		}
	int rc = strcmp(s->config, "none") == 0 ? 0 : read_config(b, s, backend, named);
	for (int i = 1; rc == 0 && i < argc; i += 2) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val)
			return bad(a, NULL);
		if (strcmp(a, "--backend") == 0)
			continue;
		rc = setting(b, s, a, val, backend, "");
	}
	return rc;
}

struct metrics_ctx {
	const struct gpriod_backend *b;
	void *be;
	const struct gprio_monitor *m;
};

static void counter(FILE *f, const char *name, const char *help, unsigned long long v)
{
	gprio_metrics_family(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, v);
}

static void write_metrics(FILE *f, void *ctx)
{
	const struct metrics_ctx *c = ctx;
	const struct gprio_monitor_stats *st = &c->m->st;
	gprio_metrics_family(f, "gprio_build_info", "gauge",
			     "gpriod's version, backend and policy");
	fprintf(f, "gprio_build_info{version=\"%s\",backend=\"%s\",policy=\"%s\"} 1\n",
		GPRIO_VERSION, c->b->name, gprio_policy_name(c->m->cfg.policy.policy));
	counter(f, "gprio_monitor_ticks_total", "monitor passes (refresh, decide, act)", st->ticks);
	counter(f, "gprio_inversions_total", "ticks that found lower work running under hot work",
		st->inversions);
	counter(f, "gprio_suspends_total", "queues asked to suspend", st->suspends);
	counter(f, "gprio_resumes_total", "queues asked to resume", st->resumes);
	counter(f, "gprio_suspend_failures_total",
		"suspend or resume requests the mechanism refused", st->failures);
	counter(f, "gprio_suspend_timeouts_total",
		"suspends not confirmed in time (resumed: fail open)", st->timeouts);
	gprio_metrics_family(f, "gprio_preempt_latency_seconds", "summary",
			     "suspend request to the queue seen off the GPU");
	static const uint32_t q[] = {500, 900, 990};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		fprintf(f, "gprio_preempt_latency_seconds{quantile=\"%.2f\"} %.9f\n", q[i] / 1000.0,
			(double)gprio_hist_permille(&st->preempt_lat, q[i]) / 1e9);
	fprintf(f,
		"gprio_preempt_latency_seconds_sum %.9f\ngprio_preempt_latency_seconds_count "
		"%llu\n",
		(double)st->preempt_lat.sum / 1e9, (unsigned long long)st->preempt_lat.count);
	gprio_metrics_family(f, "gprio_queues", "gauge", "queues in the monitor's table");
	fprintf(f, "gprio_queues %u\n", c->m->table.n);
	if (c->b->metrics)
		c->b->metrics(c->be, f);
}

struct status_ctx {
	const struct gpriod_backend *b;
	void *be;
	const struct gprio_monitor *m;
	gprio_ns every;
};

static void print_status(const struct status_ctx *s)
{
	fprintf(stderr, "gpriod: ticks %llu, suspends %llu, resumes %llu, failures %llu\n",
		(unsigned long long)s->m->st.ticks, (unsigned long long)s->m->st.suspends,
		(unsigned long long)s->m->st.resumes, (unsigned long long)s->m->st.failures);
	s->b->status(s->be, stderr);
}

static gprio_ns status_timer(struct gprio_evloop *l, gprio_ns now, void *ctx)
{
	struct status_ctx *s = ctx;
	(void)l;
	print_status(s);
	return now + s->every;
}

int main(int argc, char **argv)
{
	/* --name=value as --name value, everywhere below */
	argv = gprio_args_split(argc, argv, NULL, false, &argc);
	if (!argv) {
		fprintf(stderr, "gpriod: out of memory\n");
		return 1;
	}
	const char *name = "nvidia";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("gpriod %s\n", GPRIO_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
			name = argv[i + 1];
	}
	const struct gpriod_backend *b = gpriod_backend_find(name);
	if (!b)
		return bad("--backend", name);

	static struct gprio_monitor m;
	static struct settings set;
	if (load_settings(b, &set, argc, argv, true))
		return 2;
	struct gprio_monitor_cfg cfg = set.cfg;
	struct gprio_auth auth = set.auth;
	double status_ms = set.status_ms;
	bool realtime = set.realtime;
	const char *metrics_addr = set.metrics_addr;

	scheduling(realtime, stderr);
	static struct gprio_evloop loop;
	gprio_evloop_init(&loop, &gprio_mono_clock, &g_stop);
	catch_stop_signals();
	const struct gpriod_env env = {&loop, &auth, &cfg, stderr};
	const struct gprio_backend_ops *ops;
	void *be;
	char err[512];
	int rc = b->open(&env, &ops, &be, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "gpriod: %s\n", err);
		return 1;
	}
	if (gprio_monitor_init(&m, &cfg, ops, be, &gprio_mono_clock)) {
		fprintf(stderr, "gpriod: bad configuration\n");
		b->close(be);
		return 1;
	}
	fprintf(stderr, "gpriod: %s, policy %s, hysteresis %.0f us, poll %.1f ms: ", b->name,
		gprio_policy_name(cfg.policy.policy), (double)cfg.policy.hysteresis / 1e3,
		(double)cfg.poll / 1e6);
	b->describe(be, stderr);
	fprintf(stderr, "\n");
	struct status_ctx sc = {b, be, &m, (gprio_ns)(status_ms * 1e6)};
	static struct gprio_metrics metrics;
	struct metrics_ctx mc = {b, be, &m};
	metrics.listen_fd = -1;
	if (metrics_addr && strcmp(metrics_addr, "off") != 0) {
		rc = gprio_metrics_listen(&metrics, &loop, metrics_addr, write_metrics, &mc, err,
					  sizeof(err));
		if (rc) {
			fprintf(stderr, "gpriod: %s\n", err);
			b->close(be);
			return 1;
		}
		fprintf(stderr, "gpriod: metrics on http://%s/metrics\n", metrics_addr);
	}
	if (sc.every)
		gprio_evloop_add_timer(&loop, gprio_mono_now() + sc.every, status_timer, &sc);

	sd_notify_state("READY=1");
	while ((rc = gprio_monitor_step(&m)) >= 0) {
		if (!g_reload)
			continue;
		g_reload = 0;
		sd_notify_state("RELOADING=1");
		/* the scheduling settings change in place; a bad file changes nothing */
		static struct settings fresh;
		if (load_settings(b, &fresh, argc, argv, false) == 0) {
			m.cfg.policy = fresh.cfg.policy;
			m.cfg.poll = fresh.cfg.poll;
			if (b->reconfigure)
				b->reconfigure(be, &m.cfg);
			fprintf(stderr,
				"gpriod: %s reloaded: policy %s, hysteresis %.0f us, poll %.1f ms "
				"(the backend's settings, --metrics, --allow and --realtime take "
				"effect at the next start)\n",
				fresh.config, gprio_policy_name(m.cfg.policy.policy),
				(double)m.cfg.policy.hysteresis / 1e3, (double)m.cfg.poll / 1e6);
		} else {
			fprintf(stderr, "gpriod: reload refused: the running settings stay\n");
		}
		sd_notify_state("READY=1");
	}
	sd_notify_state("STOPPING=1");
	/* fail open: resume what we hold, then the mechanism's own release */
	gprio_monitor_release_all(&m);
	gprio_metrics_close(&metrics);
	print_status(&sc);
	b->close(be);
	fprintf(stderr, "gpriod: stopped\n");
	return rc == -ECANCELED ? 0 : 1;
}
