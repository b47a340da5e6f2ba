/* Scenario files: an INI-like, line-oriented format (docs/scenarios.md). Every error names the
 * file, the line and the offending value; on error nothing partial is returned. */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim.h"

#define SIM_TRACE_MAX_BYTES (64 << 20)
#define SIM_TRACE_MAX_TEXT  "64 MiB"

#define US GPRIO_NS_PER_US
#define MS GPRIO_NS_PER_MS

enum section { SEC_NONE, SEC_SIM, SEC_GPU, SEC_SCHED, SEC_PROC, SEC_KFD };

struct parser {
	struct sim_scenario *sc;
	const char *path;
	int line;
	char *err;
	size_t errlen;
	enum section sec;
	struct sim_proc_spec *proc;
	bool seen_class, seen_arrival;
	int duration_line, warmup_line; /* where they were set (0: the default) */
};

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* Split on blanks in place; returns the number of words (at most max). */
static int words(char *s, char **w, int max)
{
	int n = 0;
	while (*s) {
		while (*s && isspace((unsigned char)*s))
			*s++ = '\0';
		if (!*s)
			break;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
	}
	return n;
}

/* "fixed 5us" | "5us" | "uniform 1us 2us" | "exp 5us" | "normal 5us 1us". Durations when
 * `time`, else plain non-negative numbers. */
static int parse_dist(struct parser *p, const char *key, const char *val, bool time,
		      struct sim_dist *d)
{
	char buf[128], *w[4];
	snprintf(buf, sizeof(buf), "%s", val);
	int n = words(buf, w, 3);
	const char *kind = n >= 1 ? w[0] : "";
	double a[2] = {0, 0};
	int want;
	enum sim_dist_kind k;
	int first = 1;
	if (strcmp(kind, "fixed") == 0)
		k = SIM_DIST_FIXED, want = 1;
	else if (strcmp(kind, "uniform") == 0)
		k = SIM_DIST_UNIFORM, want = 2;
	else if (strcmp(kind, "exp") == 0)
		k = SIM_DIST_EXP, want = 1;
	else if (strcmp(kind, "normal") == 0)
		k = SIM_DIST_NORMAL, want = 2;
	else
		k = SIM_DIST_FIXED, want = 1, first = 0;
	if (n != first + want)
		return fail(p,
			    "%s: bad distribution '%s' (expected e.g. '50us', 'exp 50us', "
			    "'uniform 40us 60us', 'normal 50us 5us')",
			    key, val);
	for (int i = 0; i < want; i++) {
		const char *s = w[first + i];
		if (time) {
			gprio_ns ns;
			if (gprio_parse_duration(s, &ns))
				return fail(p,
					    "%s: bad duration '%s' (expected e.g. 50us, 2ms, 1.5s)",
					    key, s);
			a[i] = (double)ns;
		} else if (parse_double(s, &a[i]) || a[i] < 0) {
			return fail(p, "%s: bad number '%s' (expected a non-negative number)", key,
				    s);
		}
	}
	if (k == SIM_DIST_UNIFORM && a[1] < a[0])
		return fail(p, "%s: uniform bounds out of order in '%s'", key, val);
	d->kind = k;
	d->a = a[0];
	d->b = a[1];
	return 0;
}

static int parse_dur_key(struct parser *p, const char *key, const char *val, gprio_ns *out)
{
	if (gprio_parse_duration(val, out))
		return fail(p, "%s: bad duration '%s' (expected e.g. 5ms, 200us, 1.5s)", key, val);
	return 0;
}

static int parse_onoff(struct parser *p, const char *key, const char *val, bool *out)
{
	if (strcmp(val, "on") == 0 || strcmp(val, "yes") == 0 || strcmp(val, "true") == 0)
		*out = true;
	else if (strcmp(val, "off") == 0 || strcmp(val, "no") == 0 || strcmp(val, "false") == 0)
		*out = false;
	else
		return fail(p, "%s: expected on or off, got '%s'", key, val);
	return 0;
}

static int load_trace(struct parser *p, const char *file, struct sim_proc_spec *ps)
{
	char full[512];
	const char *slash = strrchr(p->path, '/');
	int n0 = file[0] == '/' || !slash ? snprintf(full, sizeof(full), "%s", file)
					  : snprintf(full, sizeof(full), "%.*s/%s",
						     (int)(slash - p->path), p->path, file);
	if (n0 < 0 || (size_t)n0 >= sizeof(full))
		return fail(p, "arrival: trace path longer than %zu characters", sizeof(full) - 1);
	FILE *f = fopen(full, "r");
	if (!f)
		return fail(p, "arrival: cannot open trace '%s': %s", full, strerror(errno));
	/* a regular file of bounded size: not a directory, not /dev/zero or a pipe that never ends */
	struct stat st;
	const char *why = fstat(fileno(f), &st) != 0         ? strerror(errno)
			  : !S_ISREG(st.st_mode)             ? "not a regular file"
			  : st.st_size > SIM_TRACE_MAX_BYTES ? "larger than " SIM_TRACE_MAX_TEXT
							     : NULL;
	if (why) {
		fclose(f);
		return fail(p, "arrival: trace '%s': %s", full, why);
	}
	size_t cap = 0, n = 0;
	gprio_ns *t = NULL, prev = 0;
	char line[256];
	int ln = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(p->err, p->errlen, "%s:%d: line longer than %zu characters", full,
				 ln, sizeof(line) - 2);
			rc = -EINVAL;
			break;
		}
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		s[strcspn(s, "\r\n#")] = '\0';
		for (size_t k = strlen(s); k > 0 && isspace((unsigned char)s[k - 1]); k--)
			s[k - 1] = '\0';
		if (!*s)
			continue;
		gprio_ns v;
		if (gprio_parse_duration(s, &v) || v < prev) {
			snprintf(p->err, p->errlen,
				 "%s:%d: bad arrival time '%s' (expected ascending "
				 "times with units, e.g. 12.5ms)",
				 full, ln, s);
			rc = -EINVAL;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			gprio_ns *nt = realloc(t, cap * sizeof(*t));
			if (!nt) {
				rc = -ENOMEM;
				snprintf(p->err, p->errlen, "%s: out of memory", full);
				break;
			}
			t = nt;
		}
		t[n++] = prev = v;
	}
	fclose(f);
	if (rc == 0 && n == 0) {
		snprintf(p->err, p->errlen, "%s: trace has no arrival times", full);
		rc = -EINVAL;
	}
	if (rc) {
		free(t);
		return rc;
	}
	ps->trace = t;
	ps->ntrace = n;
	return 0;
}

/* ---------------------------------------------------------------- the keys, as tables
 *
 * Each section is a table of keys: where the value goes (an offset into the section's object:
 * the scenario, or the process being defined), how it is read, and its bounds with the phrase
 * a message uses for them. Unknown-key messages list the table. Keys that are more than a
 * value (a policy name, a distribution, an arrival process, a [kfd] event) have a function. */
enum key_kind {
	KEY_DUR,     /* a duration, bounds in ns */
	KEY_UINT,    /* an unsigned integer */
	KEY_PERCENT, /* "25" or "25%", stored as permille */
	KEY_ONOFF,   /* on/off, yes/no, true/false */
	KEY_FN,      /* fn parses it */
};

struct key {
	const char *name;
	enum key_kind kind;
	size_t off, size;   /* the field, in the section's object */
	uint64_t min, max;  /* inclusive */
	const char *bounds; /* "must be at least 1us", "expected 1..256": after "KEY: " */
	int (*fn)(struct parser *p, const char *k, const char *v);
};

#define SC_FIELD(f) offsetof(struct sim_scenario, f), sizeof(((struct sim_scenario *)0)->f)
#define PS_FIELD(f) offsetof(struct sim_proc_spec, f), sizeof(((struct sim_proc_spec *)0)->f)
#define NOBOUND     0, UINT64_MAX, NULL

static void store(void *obj, const struct key *k, uint64_t v)
{
	char *at = (char *)obj + k->off;
	switch (k->size) {
	case 1: *(uint8_t *)at = (uint8_t)v; break;
	case 2: *(uint16_t *)at = (uint16_t)v; break;
	case 4: *(uint32_t *)at = (uint32_t)v; break;
	default: *(uint64_t *)at = v; break;
	}
}

static int percent(struct parser *p, const char *k, const char *v, uint64_t *permille)
{
	double d;
	char buf[32];
	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", v);
	size_t l = strlen(buf);
	if (l > 0 && buf[l - 1] == '%')
		buf[l - 1] = '\0';
	(void)p, (void)k;
	if (parse_double(buf, &d) || d < 0 || d > 100)
		return -EINVAL;
	*permille = (uint64_t)llround(d * 10);
	return 0;
}

static const struct key sim_keys[];

/* One key of a section: look it up in the table, read, check, store. */
static int set_key(struct parser *p, const struct key *tab, void *obj, const char *section,
		   const char *k, const char *v)
{
	const struct key *key = tab;
	while (key->name && strcmp(key->name, k) != 0)
		key++;
	if (!key->name) {
		char known[512];
		size_t n = 0;
		known[0] = '\0';
		for (const struct key *t = tab; t->name && n < sizeof(known); t++)
			n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s",
					      t == tab ? "" : ", ", t->name);
		return fail(p, "unknown key '%s' in [%s] (known: %s)", k, section, known);
	}
	uint64_t u = 0;
	bool b = false;
	switch (key->kind) {
	case KEY_FN: return key->fn(p, k, v);
	case KEY_DUR:
		if (parse_dur_key(p, k, v, &u))
			return -EINVAL;
		break;
	case KEY_UINT:
		if (parse_u64(v, UINT64_MAX, &u))
			return fail(p, "%s: %s, got '%s'", k, key->bounds, v);
		break;
	case KEY_PERCENT:
		if (percent(p, k, v, &u))
			return fail(p, "%s: %s, got '%s'", k, key->bounds, v);
		break;
	case KEY_ONOFF:
		if (parse_onoff(p, k, v, &b))
			return -EINVAL;
		u = b;
		break;
	}
	if (u < key->min || u > key->max)
		return fail(p, "%s: %s, got '%s'", k, key->bounds, v);
	store(obj, key, u);
	if (tab == sim_keys && strcmp(k, "duration") == 0)
		p->duration_line = p->line;
	if (tab == sim_keys && strcmp(k, "warmup") == 0)
		p->warmup_line = p->line;
	return 0;
}

/* [sim] */
static int sim_profile_key(struct parser *p, const char *k, const char *v)
{
	struct sim_profile tmp;
	(void)k;
	if (sim_profile_get(v, &tmp))
		return fail(p, "profile: unknown profile '%s' (known: mi308x-cpsch, h100)", v);
	snprintf(p->sc->profile_name, sizeof(p->sc->profile_name), "%s", v);
	return 0;
}

static const struct key sim_keys[] = {
	{"profile", KEY_FN, 0, 0, NOBOUND, sim_profile_key},
	{"duration", KEY_DUR, SC_FIELD(duration), 1, UINT64_MAX, "must be positive", NULL},
	{"warmup", KEY_DUR, SC_FIELD(warmup), NOBOUND, NULL},
	{"seed", KEY_UINT, SC_FIELD(seed), 0, UINT64_MAX, "expected a non-negative integer", NULL},
	{NULL, KEY_FN, 0, 0, NOBOUND, NULL},
};

/* [scheduler] */
static int sched_policy_key(struct parser *p, const char *k, const char *v)
{
	(void)k;
	if (!(p->sc->sched.policy.policy = gprio_policy_find(v))) {
		char known[128];
		gprio_policy_names(known, sizeof(known));
		return fail(p, "policy: unknown policy '%s' (known: %s)", v, known);
	}
	return 0;
}

static int sched_mechanism_key(struct parser *p, const char *k, const char *v)
{
	(void)k;
	if (strcmp(v, "auto") && strcmp(v, "gate"))
		return fail(p, "mechanism: unknown mechanism '%s' (known: auto, gate)", v);
	p->sc->mech_auto = strcmp(v, "auto") == 0;
	return 0;
}

static const struct key sched_keys[] = {
	{"policy", KEY_FN, 0, 0, NOBOUND, sched_policy_key},
	{"mechanism", KEY_FN, 0, 0, NOBOUND, sched_mechanism_key},
	{"linger", KEY_DUR, SC_FIELD(linger), 0, 10 * MS, "expected 0..10ms (gpriod --linger-us)",
	 NULL},
	{"poll", KEY_DUR, SC_FIELD(sched.poll), US, UINT64_MAX, "must be at least 1us", NULL},
	{"events", KEY_ONOFF, SC_FIELD(sched.events), NOBOUND, NULL},
	{"hysteresis", KEY_DUR, SC_FIELD(sched.policy.hysteresis), NOBOUND, NULL},
	{"share", KEY_PERCENT, SC_FIELD(sched.policy.share_permille), 0, 1000,
	 "expected a percentage 0..100", NULL},
	{"window", KEY_DUR, SC_FIELD(sched.policy.window), MS, UINT64_MAX, "must be at least 1ms",
	 NULL},
	{"quantum", KEY_DUR, SC_FIELD(sched.policy.quantum), 10 * US, UINT64_MAX,
	 "must be at least 10us", NULL},
	{"slo_trigger", KEY_PERCENT, SC_FIELD(sched.policy.slo_permille), 10, 1000,
	 "expected a percentage 1..100", NULL},
	{"grace", KEY_DUR, SC_FIELD(sched.grace), NOBOUND, NULL},
	{"suspend_timeout", KEY_DUR, SC_FIELD(sched.suspend_timeout), 1, UINT64_MAX,
	 "must be positive", NULL},
	{"event_latency", KEY_DUR, SC_FIELD(event_latency), NOBOUND, NULL},
	{"die_at", KEY_DUR, SC_FIELD(die_at), NOBOUND, NULL},
	{NULL, KEY_FN, 0, 0, NOBOUND, NULL},
};

/* [kfd]: conditions of the simulated KFD. Process names are resolved once all are known. */
static int kfd_event(struct parser *p, enum sim_kfd_ev_kind kind, const char *k, const char *v)
{
	struct sim_kfd_cfg *c = &p->sc->kfd;
	char buf[128], *w[5];
	if (strlen(v) >= sizeof(buf))
		return fail(p, "%s: value too long", k);
	snprintf(buf, sizeof(buf), "%s", v);
	int n = words(buf, w, 4);
	struct sim_kfd_event e = {.kind = kind, .line = p->line};
	/* exit = NAME at TIME | destroy = NAME QUEUE at TIME | shim_lost = NAME at TIME |
	 * debugger = NAME | no_runtime_enable = NAME | shim = NAME */
	bool timed = kind == SIM_KFD_EXIT || kind == SIM_KFD_DESTROY || kind == SIM_KFD_SHIM_LOST;
	int want = kind == SIM_KFD_DESTROY ? 4 : timed ? 3 : 1;
	if (n != want || (timed && strcmp(w[n - 2], "at") != 0))
		return fail(p, "%s: expected '%s', got '%s'", k,
			    kind == SIM_KFD_DESTROY ? "PROCESS QUEUE at TIME"
			    : timed                 ? "PROCESS at TIME"
						    : "PROCESS",
			    v);
	if (strlen(w[0]) >= sizeof(e.proc))
		return fail(p, "%s: process name '%s' too long", k, w[0]);
	snprintf(e.proc, sizeof(e.proc), "%s", w[0]);
	if (kind == SIM_KFD_DESTROY) {
		uint64_t q;
		if (parse_u64(w[1], 1023, &q))
			return fail(p, "%s: queue: expected 0..1023, got '%s'", k, w[1]);
		e.queue = (uint32_t)q;
	}
	if (timed && gprio_parse_duration(w[n - 1], &e.at))
		return fail(p, "%s: time: expected a duration such as 2s, got '%s'", k, w[n - 1]);
	if (c->nev == SIM_KFD_MAX_EVENTS)
		return fail(p, "too many [kfd] events (at most %d)", SIM_KFD_MAX_EVENTS);
	c->ev[c->nev++] = e;
	return 0;
}

static int kfd_onoff(struct parser *p, const char *k, const char *v)
{
	bool b = false;
	if (parse_onoff(p, k, v, &b))
		return -EINVAL;
	/* both are stored as what is missing: the default is a working, privileged set-up */
	if (strcmp(k, "hws") == 0)
		p->sc->kfd.no_hws = !b;
	else
		p->sc->kfd.unprivileged = !b;
	return 0;
}

static int kfd_version(struct parser *p, const char *k, const char *v)
{
	unsigned ma, mi;
	char tail;
	(void)k;
	/* digits only: sscanf's %u would take "-1" as a huge number */
	if (strspn(v, "0123456789.") != strlen(v) || sscanf(v, "%u.%u%c", &ma, &mi, &tail) != 2 ||
	    ma > 1000 || mi > 1000)
		return fail(p, "version: expected MAJOR.MINOR such as 1.17, got '%s'", v);
	p->sc->kfd.major = ma;
	p->sc->kfd.minor = mi;
	return 0;
}

static int kfd_kernel(struct parser *p, const char *k, const char *v)
{
	(void)k;
	size_t n = strlen(v);
	if (n == 0 || n >= sizeof(p->sc->kfd.kernel) || !(v[0] >= '0' && v[0] <= '9') ||
	    strspn(v, "0123456789.-+_abcdefghijklmnopqrstuvwxyz") != n)
		return fail(p, "kernel: expected a release such as 6.12.117 (uname -r), got '%s'",
			    v);
	memcpy(p->sc->kfd.kernel, v, n + 1);
	return 0;
}

#define KFD_EVENT(fn, kind)                                           \
	static int fn(struct parser *p, const char *k, const char *v) \
	{                                                             \
		return kfd_event(p, kind, k, v);                      \
	}
KFD_EVENT(kfd_exit, SIM_KFD_EXIT)
KFD_EVENT(kfd_destroy, SIM_KFD_DESTROY)
KFD_EVENT(kfd_debugger, SIM_KFD_DEBUGGER)
KFD_EVENT(kfd_no_runtime, SIM_KFD_NO_RUNTIME)
KFD_EVENT(kfd_shim, SIM_KFD_SHIM)
KFD_EVENT(kfd_shim_lost, SIM_KFD_SHIM_LOST)

static const struct key kfd_keys[] = {
	{"hws", KEY_FN, 0, 0, NOBOUND, kfd_onoff},
	{"root", KEY_FN, 0, 0, NOBOUND, kfd_onoff},
	{"version", KEY_FN, 0, 0, NOBOUND, kfd_version},
	{"kernel", KEY_FN, 0, 0, NOBOUND, kfd_kernel},
	{"exit", KEY_FN, 0, 0, NOBOUND, kfd_exit},
	{"destroy", KEY_FN, 0, 0, NOBOUND, kfd_destroy},
	{"debugger", KEY_FN, 0, 0, NOBOUND, kfd_debugger},
	{"no_runtime_enable", KEY_FN, 0, 0, NOBOUND, kfd_no_runtime},
	{"shim", KEY_FN, 0, 0, NOBOUND, kfd_shim},
	{"shim_lost", KEY_FN, 0, 0, NOBOUND, kfd_shim_lost},
	{NULL, KEY_FN, 0, 0, NOBOUND, NULL},
};

static int resolve_kfd(struct sim_scenario *sc, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < sc->kfd.nev; i++) {
		struct sim_kfd_event *e = &sc->kfd.ev[i];
		uint32_t j = 0;
		while (j < sc->nprocs && strcmp(sc->procs[j].name, e->proc) != 0)
			j++;
		if (j == sc->nprocs) {
			snprintf(err, errlen, "%s:%d: [kfd]: no process named '%s'", sc->path,
				 e->line, e->proc);
			return -EINVAL;
		}
		if (e->kind == SIM_KFD_DESTROY && e->queue >= sc->procs[j].queues) {
			snprintf(err, errlen,
				 "%s:%d: [kfd]: process '%s' has %u queue(s), no queue %u",
				 sc->path, e->line, e->proc, sc->procs[j].queues, e->queue);
			return -EINVAL;
		}
		e->proc_idx = j;
	}
	return 0;
}

/* [process NAME] */
static int proc_class(struct parser *p, const char *k, const char *v)
{
	struct sim_proc_spec *ps = p->proc;
	(void)k;
	if (gprio_class_parse(v, &ps->klass))
		return fail(p, "class: expected online or offline, got '%s'", v);
	if (ps->priority < 0)
		ps->priority = gprio_class_default_priority(ps->klass);
	p->seen_class = true;
	return 0;
}

static int proc_priority(struct parser *p, const char *k, const char *v)
{
	uint64_t u;
	(void)k;
	if (parse_u64(v, GPRIO_PRIO_MAX, &u))
		return fail(p, "priority: expected 0..15, got '%s'", v);
	p->proc->priority = (int)u;
	return 0;
}

/* How far a distribution's values reach: a uniform's upper end, a normal's mean plus its
 * deviation, else its mean (exp's tail is left to the mean). */
static double dist_reach(const struct sim_dist *d)
{
	return d->kind == SIM_DIST_UNIFORM ? d->b : d->kind == SIM_DIST_NORMAL ? d->a + d->b : d->a;
}

static int proc_kernel_time(struct parser *p, const char *k, const char *v)
{
	const struct sim_dist *d = &p->proc->kernel_time;
	int rc = parse_dist(p, k, v, true, &p->proc->kernel_time);
	if (rc)
		return rc;
	/* kernels of nothing would be simulated a nanosecond at a time: a run of hours */
	if (sim_dist_mean(d) < 1e3)
		return fail(p, "%s: '%s' averages under 1us (a kernel runs at least a microsecond)",
			    k, v);
	/* every kernel submitted runs to its end after the run (nothing is lost): kernels of
	 * minutes make that drain, not the run, the cost (the fuzzer's `normal 501s 10us` on an
	 * oversubscribed MI308X: 5000 simulated seconds of HWS rotations after a 100 ms run) */
	if (dist_reach(d) > 10e9)
		return fail(p,
			    "%s: '%s' reaches over 10s (mean plus spread; a kernel that long is "
			    "simulated to its end after the run)",
			    k, v);
	return 0;
}

static int proc_gap(struct parser *p, const char *k, const char *v)
{
	return parse_dist(p, k, v, true, &p->proc->gap);
}

/* startup = DURATION [every GAP]: the program's warm-up before it serves requests */
static int proc_startup(struct parser *p, const char *k, const char *v)
{
	struct sim_proc_spec *ps = p->proc;
	char buf[200], *w[3];
	if (strlen(v) >= sizeof(buf))
		return fail(p, "%s: value longer than %zu characters", k, sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", v);
	int n = words(buf, w, 3);
	gprio_ns gap = 0;
	if ((n != 1 && n != 3) || (n == 3 && strcmp(w[1], "every") != 0))
		return fail(p, "%s: expected 'DURATION' or 'DURATION every GAP', got '%s'", k, v);
	int rc = parse_dur_key(p, k, w[0], &ps->startup);
	if (!rc && n == 3)
		rc = parse_dur_key(p, k, w[2], &gap);
	if (rc)
		return rc;
	if (ps->startup > 3600 * GPRIO_NS_PER_S)
		return fail(p, "%s: expected at most 1h, got '%s'", k, w[0]);
	if (n == 3 && (gap < GPRIO_NS_PER_US || gap > GPRIO_NS_PER_S))
		return fail(p, "%s: the gap must be 1us..1s, got '%s'", k, w[2]);
	ps->startup_gap = gap;
	return 0;
}

static int proc_blocks(struct parser *p, const char *k, const char *v)
{
	const struct sim_dist *d = &p->proc->blocks;
	int rc = parse_dist(p, k, v, false, &p->proc->blocks);
	if (rc)
		return rc;
	if (sim_dist_mean(d) < 1)
		return fail(p, "blocks: a kernel needs at least 1 block, got '%s'", v);
	/* each round of blocks on the GPU's slots is simulated: a kernel of 10^99 blocks never
	 * ends (the fuzzer's `blocks = 1324444...`) */
	if (dist_reach(d) > 100000)
		return fail(p, "blocks: '%s' reaches over 100000 (mean plus spread)", v);
	return 0;
}

static int proc_arrival(struct parser *p, const char *k, const char *v)
{
	struct sim_proc_spec *ps = p->proc;
	(void)k;
	char buf[300], *w[5];
	if (strlen(v) >= sizeof(buf))
		return fail(p, "arrival: value longer than %zu characters", sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", v);
	int n = words(buf, w, 4);
	p->seen_arrival = true;
	if (n == 1 && strcmp(w[0], "continuous") == 0) {
		ps->arrival = SIM_ARRIVE_CONTINUOUS;
		return 0;
	}
	if (n == 2 && strcmp(w[0], "poisson") == 0) {
		char *slash = strstr(w[1], "/s");
		double r;
		if (slash && slash[2] == '\0')
			*slash = '\0';
		if (!slash || parse_double(w[1], &r) || r <= 0 || r > 1e6)
			return fail(p, "arrival: bad rate in '%s' (expected e.g. 'poisson 40/s')",
				    v);
		ps->arrival = SIM_ARRIVE_POISSON;
		ps->rate = r;
		return 0;
	}
	if (n >= 2 && strcmp(w[0], "closed") == 0) {
		const char *rest = v + strlen("closed");
		while (*rest == ' ' || *rest == '\t')
			rest++;
		ps->arrival = SIM_ARRIVE_CLOSED;
		return parse_dist(p, "arrival: closed think time", rest, true, &ps->think);
	}
	if (n == 2 && strcmp(w[0], "trace") == 0) {
		if (ps->trace)
			return fail(p, "arrival: trace given twice");
		ps->arrival = SIM_ARRIVE_TRACE;
		return load_trace(p, w[1], ps);
	}
	return fail(p,
		    "arrival: expected 'continuous', 'poisson RATE/s', 'closed THINK' or "
		    "'trace FILE', got '%s'",
		    v);
}

static const struct key proc_keys[] = {
	{"class", KEY_FN, 0, 0, NOBOUND, proc_class},
	{"priority", KEY_FN, 0, 0, NOBOUND, proc_priority},
	{"queues", KEY_UINT, PS_FIELD(queues), 1, 256, "expected 1..256", NULL},
	{"arrival", KEY_FN, 0, 0, NOBOUND, proc_arrival},
	{"kernels", KEY_UINT, PS_FIELD(kernels), 1, 100000, "expected 1..100000", NULL},
	{"kernel_time", KEY_FN, 0, 0, NOBOUND, proc_kernel_time},
	{"blocks", KEY_FN, 0, 0, NOBOUND, proc_blocks},
	{"gap", KEY_FN, 0, 0, NOBOUND, proc_gap},
	{"sync_every", KEY_UINT, PS_FIELD(sync_every), 0, 100000, "expected 0..100000", NULL},
	{"inflight", KEY_UINT, PS_FIELD(inflight), 1, 1024, "expected 1..1024", NULL},
	{"timeslice", KEY_DUR, PS_FIELD(timeslice), US, GPRIO_NS_PER_S,
	 "expected 1us..1s (SET_TIMESLICE range)", NULL},
	{"start", KEY_DUR, PS_FIELD(start), NOBOUND, NULL},
	{"startup", KEY_FN, 0, 0, NOBOUND, proc_startup},
	{"weight", KEY_UINT, PS_FIELD(weight), 1, GPRIO_WEIGHT_MAX, "expected 1..1000", NULL},
	{"slo", KEY_DUR, PS_FIELD(slo), 10 * US, 3600 * GPRIO_NS_PER_S, "expected 10us..1h", NULL},
	{NULL, KEY_FN, 0, 0, NOBOUND, NULL},
};

static int end_proc(struct parser *p)
{
	struct sim_proc_spec *ps = p->proc;
	if (!ps)
		return 0;
	int save = p->line;
	p->line = ps->line;
	int rc = 0;
	if (!p->seen_class)
		rc = fail(p, "[process %s]: 'class' (online or offline) is required", ps->name);
	else if (!p->seen_arrival)
		rc = fail(p, "[process %s]: 'arrival' is required", ps->name);
	else if (ps->sync_every && ps->arrival == SIM_ARRIVE_CONTINUOUS)
		rc = fail(p,
			  "[process %s]: 'sync_every' = %u needs requests (an arrival other "
			  "than continuous)",
			  ps->name, ps->sync_every);
	else if (ps->startup && ps->arrival == SIM_ARRIVE_CONTINUOUS)
		rc = fail(p,
			  "[process %s]: 'startup' needs requests (an arrival other than "
			  "continuous)",
			  ps->name);
	p->line = save;
	p->proc = NULL;
	return rc;
}

static void proc_defaults(struct sim_proc_spec *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->priority = -1;
	ps->queues = 1;
	ps->kernels = 1;
	ps->inflight = 4;
	ps->weight = 1;
	ps->kernel_time = (struct sim_dist){SIM_DIST_FIXED, 100e3, 0};
	ps->blocks = (struct sim_dist){SIM_DIST_FIXED, 1, 0};
	ps->gap = (struct sim_dist){SIM_DIST_FIXED, 0, 0};
}

static int section(struct parser *p, char *s)
{
	int rc = end_proc(p);
	if (rc)
		return rc;
	char *w[3];
	int n = words(s, w, 2);
	if (n == 1 && strcmp(w[0], "sim") == 0)
		p->sec = SEC_SIM;
	else if (n == 1 && strcmp(w[0], "gpu") == 0)
		p->sec = SEC_GPU;
	else if (n == 1 && strcmp(w[0], "scheduler") == 0)
		p->sec = SEC_SCHED;
	else if (n == 1 && strcmp(w[0], "kfd") == 0)
		p->sec = SEC_KFD;
	else if (n == 2 && strcmp(w[0], "process") == 0) {
		struct sim_scenario *sc = p->sc;
		if (strlen(w[1]) >= sizeof(sc->procs[0].name))
			return fail(p, "process name '%s' is longer than 31 characters", w[1]);
		for (uint32_t i = 0; i < sc->nprocs; i++)
			if (strcmp(sc->procs[i].name, w[1]) == 0)
				return fail(p, "process '%s' defined twice (first at line %d)",
					    w[1], sc->procs[i].line);
		if (sc->nprocs == SIM_MAX_PROCS)
			return fail(p, "too many processes (at most %d)", SIM_MAX_PROCS);
		p->proc = &sc->procs[sc->nprocs++];
		proc_defaults(p->proc);
		snprintf(p->proc->name, sizeof(p->proc->name), "%s", w[1]);
		p->proc->line = p->line;
		p->seen_class = p->seen_arrival = false;
		p->sec = SEC_PROC;
	} else
		return fail(p,
			    "unknown section '[%s]' (known: [sim], [gpu], [scheduler], "
			    "[kfd], [process NAME])",
			    s);
	return 0;
}

static void scenario_defaults(struct sim_scenario *sc, const char *path)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->path, sizeof(sc->path), "%s", path);
	snprintf(sc->profile_name, sizeof(sc->profile_name), "mi308x-cpsch");
	sc->duration = 10 * GPRIO_NS_PER_S;
	sc->warmup = 200 * MS;
	sc->seed = 1;
	gprio_monitor_cfg_defaults(&sc->sched);
	sc->event_latency = 2 * US; /* estimate: shim/eventfd notification -> daemon wakes */
	sc->die_at = GPRIO_NS_NEVER;
	sc->kfd.major = 1;
	sc->kfd.minor = 17; /* Linux 6.12's KFD ioctl API */
	snprintf(sc->kfd.kernel, sizeof(sc->kfd.kernel), "6.12.117");
}

int sim_scenario_parse(struct sim_scenario *sc, const char *text, const char *path, char *err,
		       size_t errlen)
{
	struct parser p = {.sc = sc, .path = path, .err = err, .errlen = errlen, .sec = SEC_NONE};
	scenario_defaults(sc, path);
	int rc = 0;
	const char *s = text;
	while (*s && rc == 0) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char line[1024];
		p.line++;
		if (len >= sizeof(line)) {
			rc = fail(&p, "line longer than %zu characters", sizeof(line) - 1);
			break;
		}
		memcpy(line, s, len);
		line[len] = '\0';
		s += len + (nl ? 1 : 0);
		line[strcspn(line, "#\r")] = '\0';
		char *b = line;
		while (isspace((unsigned char)*b))
			b++;
		for (size_t k = strlen(b); k > 0 && isspace((unsigned char)b[k - 1]); k--)
			b[k - 1] = '\0';
		if (!*b)
			continue;
		if (*b == '[') {
			char *e = strchr(b, ']');
			if (!e || e[1] != '\0') {
				rc = fail(&p,
					  "bad section header '%s' (expected e.g. [process web])",
					  b);
				break;
			}
			*e = '\0';
			rc = section(&p, b + 1);
			continue;
		}
		char *eq = strchr(b, '=');
		if (!eq) {
			rc = fail(&p, "expected 'key = value', got '%s'", b);
			break;
		}
		*eq = '\0';
		char *k = b, *v = eq + 1;
		for (size_t i = strlen(k); i > 0 && isspace((unsigned char)k[i - 1]); i--)
			k[i - 1] = '\0';
		while (isspace((unsigned char)*v))
			v++;
		if (!*k || !*v) {
			rc = fail(&p, "expected 'key = value', got '%s=%s'", k, v);
			break;
		}
		switch (p.sec) {
		case SEC_NONE:
			rc = fail(&p, "'%s' outside any section (start with [sim])", k);
			break;
		case SEC_SIM: rc = set_key(&p, sim_keys, sc, "sim", k, v); break;
		case SEC_SCHED: rc = set_key(&p, sched_keys, sc, "scheduler", k, v); break;
		case SEC_KFD: rc = set_key(&p, kfd_keys, sc, "kfd", k, v); break;
		case SEC_PROC: {
			char name[48];
			snprintf(name, sizeof(name), "process %s", p.proc->name);
			rc = set_key(&p, proc_keys, p.proc, name, k, v);
			break;
		}
		case SEC_GPU:
			if (sc->ngpu == SIM_MAX_GPU_KEYS) {
				rc = fail(&p, "too many [gpu] keys");
				break;
			}
			if (strlen(k) >= sizeof(sc->gpu[0].key) ||
			    strlen(v) >= sizeof(sc->gpu[0].val)) {
				rc = fail(&p, "[gpu] '%s': key or value too long", k);
				break;
			}
			/* lengths checked above */
			memcpy(sc->gpu[sc->ngpu].key, k, strlen(k) + 1);
			memcpy(sc->gpu[sc->ngpu].val, v, strlen(v) + 1);
			sc->gpu[sc->ngpu++].line = p.line;
			break;
		}
	}
	if (rc == 0)
		rc = end_proc(&p);
	if (rc == 0 && sc->nprocs == 0) {
		p.line = 0;
		snprintf(err, errlen, "%s: no [process NAME] sections: nothing to simulate", path);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = resolve_kfd(sc, err, errlen);
	if (rc == 0 && sc->warmup >= sc->duration) {
		/* the line that made them clash: the later of the two that were set */
		p.line = p.warmup_line > p.duration_line ? p.warmup_line : p.duration_line;
		rc = fail(&p, "warmup (%.3f s) must be shorter than duration (%.3f s)",
			  (double)sc->warmup / 1e9, (double)sc->duration / 1e9);
	}
	if (rc)
		sim_scenario_free(sc);
	return rc;
}

int sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -errno;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a scenario file", path);
		fclose(f);
		return -EISDIR;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int rc = 0;
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (ferror(f)) {
			snprintf(err, errlen, "%s: read error", path);
			rc = -EIO;
			break;
		}
		if (feof(f))
			break;
		if (cap > (1u << 24)) {
			snprintf(err, errlen, "%s: larger than 16 MiB", path);
			rc = -EFBIG;
			break;
		}
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (rc == 0) {
		buf[n] = '\0';
		if (memchr(buf, '\0', n)) {
			snprintf(err, errlen, "%s: contains a NUL byte: not a scenario text file",
				 path);
			rc = -EINVAL;
		} else {
			rc = sim_scenario_parse(sc, buf, path, err, errlen);
		}
	}
	free(buf);
	return rc;
}

static int gpu_key(struct sim_scenario *sc, const struct sim_gpu_kv *kv, char *err, size_t errlen)
{
	struct parser p = {
		.sc = sc, .path = sc->path, .line = kv->line, .err = err, .errlen = errlen};
	struct sim_profile *pr = &sc->profile;
	const char *k = kv->key, *v = kv->val;
	uint64_t u;
	struct {
		const char *name;
		gprio_ns *field;
	} durs[] = {
		{"launch", &pr->launch},
		{"hiq", &pr->hiq},
		{"map", &pr->map},
		{"cwsr_save", &pr->cwsr_save},
		{"cwsr_restore", &pr->cwsr_restore},
		{"grace", &pr->grace},
		{"preempt_timeout", &pr->preempt_timeout},
		{"oversub_quantum", &pr->oversub_quantum},
		{"ctx_switch", &pr->ctx_switch},
		{"timeslice", &pr->timeslice},
		{"held_timeslice", &pr->held_timeslice},
		{"gate", &pr->gate},
	};
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++)
		if (strcmp(k, durs[i].name) == 0) {
			int rc = parse_dur_key(&p, k, v, durs[i].field);
			if (!rc &&
			    (strcmp(k, "timeslice") == 0 || strcmp(k, "held_timeslice") == 0 ||
			     strcmp(k, "oversub_quantum") == 0 ||
			     strcmp(k, "preempt_timeout") == 0) &&
			    *durs[i].field == 0)
				return fail(&p, "%s: must be positive, got '%s'", k, v);
			return rc;
		}
	struct {
		const char *name;
		uint32_t *field;
		uint64_t max;
	} ints[] = {{"slots", &pr->slots, 1u << 20},
		    {"xcc", &pr->xcc, 64},
		    {"pipes", &pr->pipes, 64},
		    {"queues_per_pipe", &pr->queues_per_pipe, 1024},
		    {"mps_offline_sm", &pr->mps_offline_sm, 100}};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (strcmp(k, ints[i].name) == 0) {
			if (parse_u64(v, ints[i].max, &u) || u == 0)
				return fail(&p, "%s: expected an integer 1..%llu, got '%s'", k,
					    (unsigned long long)ints[i].max, v);
			*ints[i].field = (uint32_t)u;
			return 0;
		}
	if (strcmp(k, "preempt") == 0) {
		if (pr->arch != SIM_ARCH_AMD_CPSCH)
			return fail(&p, "preempt: only for AMD profiles, not '%s'", pr->name);
		if (strcmp(v, "device-wide") == 0)
			pr->preempt = SIM_AMD_DEVICE_WIDE;
		else if (strcmp(v, "per-queue") == 0)
			pr->preempt = SIM_AMD_PER_QUEUE;
		else
			return fail(&p, "preempt: expected device-wide or per-queue, got '%s'", v);
		return 0;
	}
	if (strcmp(k, "mode") == 0) {
		if (pr->arch != SIM_ARCH_NV_TSG)
			return fail(&p, "mode: only for NVIDIA profiles, not '%s'", pr->name);
		if (strcmp(v, "timeslice") == 0)
			pr->mode = SIM_NV_TIMESLICE;
		else if (strcmp(v, "mps") == 0)
			pr->mode = SIM_NV_MPS;
		else
			return fail(&p, "mode: expected timeslice or mps, got '%s'", v);
		return 0;
	}
	if (strcmp(k, "hang_rate") == 0) {
		double d;
		if (parse_double(v, &d) || d < 0 || d > 1)
			return fail(&p, "hang_rate: expected a probability 0..1, got '%s'", v);
		pr->hang_rate = d;
		return 0;
	}
	return fail(&p, "unknown key '%s' in [gpu] (see docs/scenarios.md)", k);
}

int sim_scenario_finalize(struct sim_scenario *sc, const char *profile_override, char *err,
			  size_t errlen)
{
	const char *name = profile_override ? profile_override : sc->profile_name;
	if (sim_profile_get(name, &sc->profile)) {
		snprintf(err, errlen, "unknown profile '%s' (known: mi308x-cpsch, h100)", name);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < sc->ngpu; i++) {
		int rc = gpu_key(sc, &sc->gpu[i], err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

void sim_scenario_free(struct sim_scenario *sc)
{
	for (uint32_t i = 0; i < sc->nprocs; i++) {
		free(sc->procs[i].trace);
		sc->procs[i].trace = NULL;
	}
	sc->nprocs = 0;
}
