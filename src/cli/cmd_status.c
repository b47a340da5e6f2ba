/* gprio status: read gpriod's control segment (read-only) and show the daemon, its policy, and
 * every registered process with its class, priority, mechanisms and gating counters (as of
 * gpriod's last tick). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../backends/nvidia/nvidia_backend.h"
#include "cmd.h"
#include "../backends/nvidia/ctl.h"
#include "gprio/policy.h"
#include "gprio/turns.h"
#include "gprio/priority.h"
#include "../backends/nvidia/shm.h"

/* Does anything listen on gpriod's control socket? (A killed gpriod leaves a fresh-looking
 * heartbeat for up to 100 ms; its socket refuses at once.) */
static bool socket_alive(const char *path)
{
	struct sockaddr_un a;
	if (gprio_ctl_addr(path, &a) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* The same facts as the table, as one JSON object (schema: docs/nvidia.md, "gprio status"). */
/* offline MPS clients' share of SMs in % (gpriod --mps-offline-sm; 100: no limit) */
static unsigned sm_share(const struct gprio_shm *s)
{
	unsigned v = atomic_load(&s->mps_offline_sm);
	return v && v < 100 ? v : 100;
}

/* gpriod's MPS pipe directory (gpriod --mps on) if it is made only of letters, digits and
 * / . _ - (printable as is, JSON included); NULL otherwise */
static const char *mps_pipe(const struct gprio_shm *s, char *buf, size_t len)
{
	if (!gprio_shm_mps_pipe(s, buf, len))
		return NULL;
	for (const char *c = buf; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/._-", *c))
			return NULL;
	return buf;
}

static void print_json(const struct gprio_shm *s, bool alive, gprio_ns now)
{
	gprio_ns hb = atomic_load(&s->heartbeat_ns);
	printf("{\"version\": \"%s\", \"gpriod\": {\"running\": %s, \"heartbeat_age_ms\": ",
	       GPRIO_VERSION, alive ? "true" : "false");
	if (hb && now >= hb)
		printf("%.3f", (double)(now - hb) / 1e6);
	else
		printf("null");
	/* the node-wide gating and timeslices apply only to a fixed mechanism (else: per GPU) */
	bool fixed = !atomic_load(&s->mech_auto);
	char gating[8] = "null", on_ts[16] = "null", off_ts[16] = "null";
	if (fixed) {
		snprintf(gating, sizeof(gating), "%s", atomic_load(&s->gating) ? "true" : "false");
		snprintf(on_ts, sizeof(on_ts), "%u", atomic_load(&s->online_timeslice_us));
		snprintf(off_ts, sizeof(off_ts), "%u", atomic_load(&s->offline_timeslice_us));
	}
	char mb[sizeof(s->mps_pipe)];
	const char *mps = mps_pipe(s, mb, sizeof(mb));
	printf(", \"mps_pipe\": ");
	if (mps)
		printf("\"%s\", \"mps_offline_sm_pct\": %u", mps, sm_share(s));
	else
		printf("null, \"mps_offline_sm_pct\": null");
	printf(", \"policy\": \"%s\", \"mechanism\": \"%s\", \"gating\": %s, "
	       "\"hysteresis_us\": %.3f, \"online_timeslice_us\": %s, \"offline_timeslice_us\": "
	       "%s, \"inflight_bound\": %u, \"linger_us\": %u}, \"gpus\": [",
	       gprio_policy_name(gprio_policy_at(atomic_load(&s->policy))),
	       fixed ? "fixed" : "auto", gating, (double)atomic_load(&s->hysteresis_ns) / 1e3,
	       on_ts, off_ts, atomic_load(&s->inflight_bound), atomic_load(&s->linger_us));
	int ng = 0;
	for (int g = 0; g < GPRIO_SHM_GPUS && atomic_load(&s->mech_auto); g++) {
		const struct gprio_shm_gpu *r = &s->gpus[g];
		uint32_t pci = atomic_load(&r->pci);
		if (!pci)
			continue;
		char why[sizeof(r->why)];
		memcpy(why, r->why, sizeof(why));
		why[sizeof(why) - 1] = '\0';
		for (char *p = why; *p; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				*p = ' ';
		gprio_ns since = atomic_load(&r->since_ns);
		/* offline turns: null (none), 0 (between turns), or the pid whose turn it is */
		char turn[16] = "null";
		uint32_t tv = atomic_load(&r->turn);
		if (tv == GPRIO_TURN_NONE)
			snprintf(turn, sizeof(turn), "0");
		else if (tv && tv <= GPRIO_SHM_PROCS)
			snprintf(turn, sizeof(turn), "%u", atomic_load(&s->procs[tv - 1].pid));
		printf("%s{\"pci\": \"" GPRIO_PCI_FMT "\", \"mechanism\": \"%s\", \"for_s\": %.3f, "
		       "\"online_timeslice_us\": %u, \"offline_timeslice_us\": %u, \"gating\": %s, "
		       "\"offline_turn_pid\": %s, \"why\": \"%s\"}",
		       ng++ ? ", " : "", GPRIO_PCI_ARGS(pci),
		       gprio_mech_name((enum gprio_mech)atomic_load(&r->mech)),
		       since && since <= now ? (double)(now - since) / 1e9 : 0.0,
		       atomic_load(&r->online_timeslice_us), atomic_load(&r->offline_timeslice_us),
		       atomic_load(&r->gating) ? "true" : "false", turn, why);
	}
	printf("], \"processes\": [");
	static const struct {
		uint32_t bit;
		const char *name;
	} mech[] = {{GPRIO_MECH_GATING, "gating"},
		    {GPRIO_MECH_PUBLISH, "publish"},
		    {GPRIO_MECH_TSG_TIMESLICE, "tsg-timeslice"},
		    {GPRIO_MECH_TSG_FAILED, "tsg-refused"},
		    {GPRIO_MECH_INFLIGHT, "inflight"},
		    {GPRIO_MECH_COMPLETION, "completion"},
		    {GPRIO_MECH_COMPLETION_OFF, "completion-refused"},
		    {GPRIO_MECH_MPS, "mps"}};
	int n = 0;
	for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
		const struct gprio_shm_proc *r = &s->procs[i];
		uint32_t pid = atomic_load(&r->pid);
		if (!pid)
			continue;
		const struct gprio_shm_stats *c = &s->copy[i];
		uint32_t m = atomic_load(&c->mechanisms), slo = atomic_load(&r->slo_us);
		printf("%s{\"pid\": %u, \"uid\": %u, \"class\": \"%s\", \"priority\": %u, "
		       "\"weight\": %u, \"slo_ms\": ",
		       n++ ? ", " : "", pid, atomic_load(&r->uid),
		       gprio_class_name((enum gprio_class)atomic_load(&r->klass)),
		       atomic_load(&r->priority), atomic_load(&r->weight));
		if (slo)
			printf("%.3f", (double)slo / 1e3);
		else
			printf("null");
		/* gpriod writes only names it checked; checked again before it goes into JSON */
		char grp[GPRIO_GROUP_MAX];
		memcpy(grp, r->group, sizeof(grp));
		grp[sizeof(grp) - 1] = '\0';
		if (gprio_group_name_ok(grp, sizeof(grp)))
			printf(", \"group\": \"%s\", \"group_gpu_rows\": %d", grp,
			       __builtin_popcount(atomic_load(&r->group_rows)));
		else
			printf(", \"group\": null, \"group_gpu_rows\": 0");
		printf(", \"mechanisms\": [");
		int k = 0;
		for (size_t j = 0; j < sizeof(mech) / sizeof(mech[0]); j++)
			if (m & mech[j].bit)
				printf("%s\"%s\"", k++ ? ", " : "", mech[j].name);
		printf("], \"gpus\": [");
		uint32_t ngp = atomic_load(&c->ngpus);
		for (uint32_t gi = 0; gi < ngp && gi < GPRIO_SHM_PROC_GPUS; gi++) {
			uint32_t pci = atomic_load(&c->gpus[gi]);
			printf("%s\"" GPRIO_PCI_FMT "\"", gi ? ", " : "", GPRIO_PCI_ARGS(pci));
		}
		printf("], \"launches\": %llu, \"gated_launches\": %llu, \"gate_wait_ms\": %.3f, "
		       "\"waiting\": %u, \"submitted\": %llu, \"completed\": %llu, "
		       "\"markers\": %llu, \"starts\": %llu, \"sampled\": %llu, "
		       "\"sampled_starts\": %llu, \"streams\": %u, \"streams_pending\": "
		       "%u, "
		       "\"streams_stuck\": %u, \"host_waits\": %llu, \"host_wait_ms\": %.3f, "
		       "\"lingers\": %llu, \"linger_ms\": %.3f, \"lingers_expired\": %llu}",
		       (unsigned long long)atomic_load(&c->launches),
		       (unsigned long long)atomic_load(&c->gated_launches),
		       (double)atomic_load(&c->gate_wait_ns) / 1e6, atomic_load(&c->waiting),
		       (unsigned long long)atomic_load(&c->submitted),
		       (unsigned long long)atomic_load(&c->completed),
		       (unsigned long long)atomic_load(&c->markers),
		       (unsigned long long)atomic_load(&c->starts),
		       (unsigned long long)atomic_load(&c->sampled),
		       (unsigned long long)atomic_load(&c->sampled_starts),
		       atomic_load(&c->streams), atomic_load(&c->pending), atomic_load(&c->stuck),
		       (unsigned long long)atomic_load(&c->waits),
		       (double)atomic_load(&c->wait_ns) / 1e6,
		       (unsigned long long)atomic_load(&c->lingers),
		       (double)atomic_load(&c->linger_ns) / 1e6,
		       (unsigned long long)atomic_load(&c->linger_expired));
	}
	printf("]}\n");
}

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: gprio status [--shm PATH] [--json]\n"
		"  gpriod, its configuration and every registered process (as of gpriod's last "
		"tick).\n"
		"  --shm PATH   gpriod's control segment (default $GPRIO_SHM "
		"or " GPRIO_SHM_DEFAULT_PATH ")\n"
		"  --json       one JSON object (schema: docs/nvidia.md)\n"
		"  exit status: 0 gpriod running, 3 not running (stale or gone), 1 no segment, 2 "
		"usage\n");
	return rc;
}

int gprio_cmd_status(int argc, char **argv)
{
	const char *path = getenv("GPRIO_SHM");
	if (!path || !*path)
		path = GPRIO_SHM_DEFAULT_PATH;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--shm") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--shm=", 6) == 0)
			path = argv[i] + 6;
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(stdout, 0);
		else {
			fprintf(stderr, "gprio status: %s: unknown option\n", argv[i]);
			return usage(stderr, 2);
		}
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "gprio status: %s: %s (is gpriod running?)\n", path,
			strerror(errno));
		return 1;
	}
	struct stat st;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct gprio_shm))
		m = mmap(NULL, sizeof(struct gprio_shm), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "gprio status: %s: not a gprio segment (size %lld)\n", path,
			(long long)st.st_size);
		return 1;
	}
	struct gprio_shm *s = m;
	if (s->magic != GPRIO_SHM_MAGIC || s->version != GPRIO_SHM_VERSION) {
		fprintf(stderr, "gprio status: %s: not a gprio segment of version %u\n", path,
			GPRIO_SHM_VERSION);
		munmap(m, sizeof(*s));
		return 1;
	}
	gprio_ns now = gprio_mono_now(), hb = atomic_load(&s->heartbeat_ns);
	bool alive = hb + GPRIO_SHM_STALE_NS > now && socket_alive(path);
	if (json) {
		print_json(s, alive, now);
		munmap(m, sizeof(*s));
		return alive ? 0 : 3;
	}
	printf("gpriod: %s (heartbeat %s), policy %s, hysteresis %.0f us, offline in flight %u (0: "
	       "unbounded)\n",
	       alive ? "running" : "NOT RUNNING: shims pass through",
	       hb ? (alive ? "fresh" : "stale") : "none",
	       gprio_policy_name(gprio_policy_at(atomic_load(&s->policy))),
	       (double)atomic_load(&s->hysteresis_ns) / 1e3, atomic_load(&s->inflight_bound));
	char mb[sizeof(s->mps_pipe)];
	const char *mps = mps_pipe(s, mb, sizeof(mb));
	if (mps)
		printf("MPS: gpriod's control daemon, pipes in %s (gprio run's programs are its "
		       "clients; offline ones may use %u %% of each GPU's SMs)\n",
		       mps, sm_share(s));
	unsigned linger = atomic_load(&s->linger_us);
	if (linger)
		printf("lingering: an online stream synchronisation keeps the GPU up to %u us "
		       "where online has the long timeslice\n",
		       linger);
	gprio_nv_print_gpus(stdout, s, now);
	gprio_nv_print_procs(stdout, s);
	munmap(m, sizeof(*s));
	return alive ? 0 : 3; /* never "fine" when nothing is enforced */
}
