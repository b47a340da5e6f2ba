/* gpriod's registry row for the nvidia backend: flags, open on the daemon's loop, status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/metrics.h"
#include "../../daemon/registry.h"
#include "nvidia_backend.h"
#include "../../util/duration.h"
#include "../../util/number.h"

static struct gprio_nv g_nv;
static struct gprio_nv_cfg g_cfg;
static bool g_cfg_set;

static struct gprio_nv_cfg *cfg(void)
{
	if (!g_cfg_set) {
		gprio_nv_cfg_defaults(&g_cfg);
		const char *env = getenv("GPRIO_SHM");
		if (env && *env)
			g_cfg.path = env;
		g_cfg_set = true;
	}
	return &g_cfg;
}

static void nv_defaults(struct gprio_monitor_cfg *mon)
{
	/* the shims report no new-work events to the daemon: poll; the gate's hysteresis */
	mon->events = false;
	mon->policy.hysteresis = cfg()->hysteresis;
	/* the shims stamp each process's last launch (last_busy), more precisely than a tick */
	mon->wptr_activity = false;
}

static int nv_option(const char *flag, const char *val)
{
	struct gprio_nv_cfg *c = cfg();
	double v;
	if (strcmp(flag, "--shm") == 0) {
		if (!*val)
			return -EINVAL;
		c->path = val;
		return 0;
	}
	gprio_ns ns;
	if (strcmp(flag, "--online-timeslice") == 0 || strcmp(flag, "--offline-timeslice") == 0) {
		if (gprio_parse_duration_in(val, 0, GPRIO_NS_PER_S, &ns))
			return -EINVAL;
		*(flag[2] == 'o' && flag[3] == 'n' ? &c->online_ts_us : &c->offline_ts_us) =
			(uint32_t)(ns / GPRIO_NS_PER_US);
		c->mech_auto = false;
		return 0;
	}
	if (strcmp(flag, "--online-timeslice-us") == 0)
		return gprio_parse_number(val, 0, 1e6, &v)
			       ? (c->online_ts_us = (uint32_t)v, c->mech_auto = false, 0)
			       : -EINVAL;
	if (strcmp(flag, "--offline-timeslice-us") == 0)
		return gprio_parse_number(val, 0, 1e6, &v)
			       ? (c->offline_ts_us = (uint32_t)v, c->mech_auto = false, 0)
			       : -EINVAL;
	if (strcmp(flag, "--gating") == 0) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return -EINVAL;
		c->gating = strcmp(val, "on") == 0;
		c->mech_auto = false;
		return 0;
	}
	if (strcmp(flag, "--mechanism") == 0) {
		if (strcmp(val, "auto") && strcmp(val, "fixed"))
			return -EINVAL;
		c->mech_auto = strcmp(val, "auto") == 0;
		return 0;
	}
	if (strcmp(flag, "--offline-inflight") == 0)
		return gprio_parse_number(val, 0, 255, &v) && v == (int)v
			       ? (c->inflight_bound = (uint32_t)v, 0)
			       : -EINVAL;
	if (strcmp(flag, "--group-max-hold") == 0)
		return gprio_parse_duration_in(val, 0, 3600 * GPRIO_NS_PER_S, &ns)
			       ? -EINVAL
			       : (c->group_hold = ns, 0);
	if (strcmp(flag, "--mps") == 0) {
		if (strcmp(val, "on") && strcmp(val, "off"))
			return -EINVAL;
		c->mps = strcmp(val, "on") == 0;
		return 0;
	}
	if (strcmp(flag, "--mps-offline-sm") == 0)
		return gprio_parse_number(val, 1, 100, &v) && v == (int)v
			       ? (c->mps_offline_sm = (uint32_t)v, 0)
			       : -EINVAL;
	if (strcmp(flag, "--linger-us") == 0)
		return gprio_parse_number(val, 0, 10000, &v) && v == (int)v
			       ? (c->linger_us = (uint32_t)v, 0)
			       : -EINVAL;
	if (strcmp(flag, "--max-per-user") == 0)
		return gprio_parse_number(val, 1, 256, &v) && v == (int)v
			       ? (c->max_per_user = (uint32_t)v, 0)
			       : -EINVAL;
	return -ENOENT;
}

static int nv_open(const struct gpriod_env *env, const struct gprio_backend_ops **ops, void **be,
		   char *err, size_t errlen)
{
	struct gprio_nv_cfg *c = cfg();
	c->auth = *env->auth;
	c->log = env->log;
	c->policy = (uint32_t)gprio_policy_index(env->mon->policy.policy);
	c->hysteresis = env->mon->policy.hysteresis;
	int rc = gprio_nv_open(&g_nv, c, env->loop, err, errlen);
	if (rc)
		return rc;
	/* wfq and slo hold queues through gpriod's overrides, which the shims enforce by launch
	 * gating: say where that is */
	const char *pol = gprio_policy_name(env->mon->policy.policy);
	if ((strcmp(pol, "wfq") == 0 || strcmp(pol, "slo") == 0 || strcmp(pol, "share") == 0) &&
	    (c->mech_auto || !c->gating))
		fprintf(env->log,
			"gpriod: policy %s holds processes by launch gating, which %s: elsewhere "
			"its holds are recorded but not enforced (--mechanism fixed --gating on "
			"enforces them on every GPU)\n",
			pol,
			c->mech_auto
				? "the per-GPU mechanism uses only where timeslices are refused"
				: "is off");
	*ops = &gprio_nvidia_ops;
	*be = &g_nv;
	return 0;
}

static void nv_describe(void *be, FILE *f)
{
	struct gprio_nv *nv = be;
	fprintf(f, "%s (socket %s), ", nv->cfg.path, nv->srv.addr.sun_path);
	if (nv->cfg.mech_auto)
		fprintf(f,
			"mechanism per GPU from what online work needs (tsg: online %u us / "
			"offline %u us)",
			nv->cfg.tsg_online_us, nv->cfg.tsg_offline_us);
	else
		fprintf(f,
			"mechanism fixed: gating %s, TSG timeslice online %u us / offline %u us (0 "
			"= driver default)",
			nv->cfg.gating ? "on" : "off", nv->cfg.online_ts_us, nv->cfg.offline_ts_us);
	fprintf(f, ", %u user(s) allowed online besides root and uid %u", nv->cfg.auth.n,
		nv->cfg.auth.daemon_uid);
	if (nv->cfg.linger_us)
		fprintf(f, ", lingering %u us", nv->cfg.linger_us);
	if (nv->mps_dir[0])
		fprintf(f,
			", MPS control daemon with pipes in %s/pipe (offline clients: %u %% of "
			"SMs)",
			nv->mps_dir, nv->cfg.mps_offline_sm);
}

static void nv_status(void *be, FILE *f)
{
	struct gprio_nv *nv = be;
	gprio_nv_print_gpus(f, nv->shm, nv->loop->clock->now(nv->loop->clock->ctx));
	gprio_nv_print_procs(f, nv->shm);
}

/* Per GPU: the mechanism in force (1 for the current one; labels gpu, mechanism). */
static void nv_metrics_gpus(const struct gprio_shm *s, FILE *f)
{
	if (!atomic_load(&s->mech_auto))
		return;
	gprio_metrics_family(f, "gprio_gpu_mechanism", "gauge",
			     "the preemption mechanism gpriod chose for the GPU (1: in force)");
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		uint32_t pci = atomic_load(&s->gpus[g].pci);
		if (!pci)
			continue;
		fprintf(f, "gprio_gpu_mechanism{gpu=\"" GPRIO_PCI_FMT "\",mechanism=\"%s\"} 1\n",
			GPRIO_PCI_ARGS(pci),
			gprio_mech_name((enum gprio_mech)atomic_load(&s->gpus[g].mech)));
	}
}

/* Per process: its class and priority, launches, gated launches and the time they waited, as
 * of gpriod's last tick (labels pid, uid, class). */
static void nv_metrics(void *be, FILE *f)
{
	const struct gprio_shm *s = ((struct gprio_nv *)be)->shm;
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"gprio_process_priority", "gauge", "priority gpriod granted the process (0..15)"},
		{"gprio_process_launches_total", "counter", "submissions the shim saw (the wptr)"},
		{"gprio_process_gated_launches_total", "counter",
		 "submissions that waited at the gate"},
		{"gprio_process_gate_wait_seconds_total", "counter",
		 "time those submissions waited"},
	};
	nv_metrics_gpus(s, f);
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		gprio_metrics_family(f, fam[k].name, fam[k].type, fam[k].help);
		for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
			const struct gprio_shm_proc *r = &s->procs[i];
			uint32_t pid = atomic_load(&r->pid);
			if (!pid)
				continue;
			const struct gprio_shm_stats *c = &s->copy[i];
			fprintf(f, "%s{pid=\"%u\",uid=\"%u\",class=\"%s\"} ", fam[k].name, pid,
				atomic_load(&r->uid),
				gprio_class_name((enum gprio_class)atomic_load(&r->klass)));
			switch (k) {
			case 0: fprintf(f, "%u\n", atomic_load(&r->priority)); break;
			case 1:
				fprintf(f, "%llu\n", (unsigned long long)atomic_load(&c->launches));
				break;
			case 2:
				fprintf(f, "%llu\n",
					(unsigned long long)atomic_load(&c->gated_launches));
				break;
			default:
				fprintf(f, "%.9f\n", (double)atomic_load(&c->gate_wait_ns) / 1e9);
				break;
			}
		}
	}
}

static void nv_reconfigure(void *be, const struct gprio_monitor_cfg *mon)
{
	struct gprio_nv *nv = be;
	nv->cfg.hysteresis = mon->policy.hysteresis;
	nv->cfg.policy = (uint32_t)gprio_policy_index(mon->policy.policy);
	atomic_store(&nv->shm->hysteresis_ns, nv->cfg.hysteresis);
	atomic_store(&nv->shm->policy, nv->cfg.policy);
}

static int nv_close(void *be)
{
	gprio_nv_close(be, false);
	fprintf(stderr, "gpriod: shims fail open\n");
	return 0;
}

const struct gpriod_backend gpriod_backend_nvidia = {
	.name = "nvidia",
	.help = "NVIDIA GPUs through the libgprio-cuda.so shim (gprio run): TSG timeslices and "
		"launch gating",
	.usage =
		"  --shm PATH                  control segment; PATH.sock, PATH.hot beside it "
		"(" GPRIO_SHM_DEFAULT_PATH ", or $GPRIO_SHM)\n"
		"  --mechanism auto|fixed      auto: per GPU, from what its online work needs "
		"(default); fixed: the timeslices and gating below, node-wide (implied by any "
		"of them)\n"
		"  --online-timeslice TIME     TSG timeslice of online processes (0: driver "
		"default; default 0)\n"
		"  --offline-timeslice TIME    TSG timeslice of offline processes (default 1us)\n"
		"  (--online-timeslice-us N, --offline-timeslice-us N: the same, older)\n"
		"  --gating on|off             launch gating (default on)\n"
		"  --offline-inflight N        most unfinished offline submissions (0: no bound; "
		"default 0)\n"
		"  --max-per-user N            connections of one user not in --allow (default "
		"16)\n"
		"  --group-max-hold TIME       longest a member of a group (GPRIO_GROUP, one per "
		"gprio run) is held at once, so its peers' collectives never time out (0: no "
		"bound; default 60s)\n"
		"  --mps on|off                run an MPS control daemon (nvidia-cuda-mps-control, "
		"pipes in the segment's directory/mps/pipe) for the programs gprio run starts: "
		"offline ones at the lower MPS client priority; off by default (a trade-off: "
		"docs/nvidia.md)\n"
		"  --mps-offline-sm PCT        under --mps on, the share of each GPU's SMs an "
		"offline "
		"client may use (1-100, 100: no limit; default 90)\n"
		"  --linger-us N               where online work has the long TSG timeslice, a "
		"stream synchronisation of an online program leaves a one-thread hold on that "
		"stream for up to N us, until the program submits again, so its CPU gaps do not "
		"hand the GPU to offline work and back (0-10000, 0: off; default " GPRIO_NV_STR(
			GPRIO_NV_LINGER_US_DEFAULT) ": measured worse under the per-GPU mechanism, "
						    "better with --mechanism fixed and a long "
						    "online "
						    "timeslice; docs/nvidia.md)\n",
	.defaults = nv_defaults,
	.option = nv_option,
	.open = nv_open,
	.describe = nv_describe,
	.status = nv_status,
	.metrics = nv_metrics,
	.reconfigure = nv_reconfigure,
	.close = nv_close,
};
