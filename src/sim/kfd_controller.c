/* The simulator's stage controller for AMD: the real amdkfd backend (src/backends/amdkfd)
 * against the simulated KFD (sim_kfd.c), for scenario stages 1 and 2 (and for tests, stage 3:
 * the backend configuring KFD's monitor; what that monitor does is `priority:stage3`). Built with sim_kfd.c into
 * gprio_sim_kfd, which joins the simulator and the backend; the simulator itself links neither. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/amdkfd/amdkfd_backend.h"
#include "sim_kfd.h"

struct kfd_ctl {
	struct sim_kfd kfd;
	struct gprio_amdkfd ak;
};

static int kc_init(void **st, struct sim_world *w, const struct sim_scenario *sc,
		   const struct gprio_backend_ops **ops, void **be, char *err, size_t errlen)
{
	if (sc->profile.arch != SIM_ARCH_AMD_CPSCH) {
		snprintf(err, errlen, "%s: stage %d needs an AMD profile, not '%s'", sc->path,
			 sc->kfd.stage, sc->profile.name);
		return -EINVAL;
	}
	struct kfd_ctl *c = calloc(1, sizeof(*c));
	if (!c || sim_kfd_init(&c->kfd, w, &sc->kfd)) {
		snprintf(err, errlen, "out of memory building the simulated KFD");
		free(c);
		return -ENOMEM;
	}
	struct gprio_kfd_sys sys;
	struct gprio_amdkfd_cfg cfg;
	sim_kfd_sys(&c->kfd, &sys);
	gprio_amdkfd_cfg_defaults(&cfg);
	cfg.stage = sc->kfd.stage;
	cfg.detach = gprio_kfd_detach_rule(sc->kfd.kernel);
	int rc = gprio_amdkfd_open(&c->ak, &sys, &cfg, err, errlen);
	if (rc) {
		sim_kfd_free(&c->kfd);
		free(c);
		return rc;
	}
	*st = c;
	*ops = &gprio_amdkfd_ops;
	*be = &c->ak;
	return 0;
}

static void kc_died(void *st)
{
	sim_kfd_controller_died(&((struct kfd_ctl *)st)->kfd);
}

static int kc_close(void *st)
{
	return gprio_amdkfd_close(&((struct kfd_ctl *)st)->ak);
}

static void kc_results(void *st, struct sim_result *r)
{
	const struct kfd_ctl *kc = st;
	const struct gprio_amdkfd *ak = &kc->ak;
	uint64_t hung = 0; /* exiting processes still blocked in runtime_disable() */
	for (uint32_t i = 0; i < kc->kfd.np; i++)
		hung += kc->kfd.p[i].exit_waiting;
	const struct sim_ctl_counter c[] = {
		{"ioctls", "KFD ioctls (amdkfd backend)", true, ak->st.ioctls},
		{"enables", "DBG_TRAP ENABLEs", true, ak->st.enables},
		{"ec_queue_new_retries", "EC_QUEUE_NEW retries", true, ak->st.ebusy_retries},
		{"queue_errors", NULL, true, ak->st.queue_errors},
		{"refused_calls", "refused KFD calls", true, ak->st.call_errors},
		{"blocked_processes", "processes not controllable", true, ak->st.blocked},
		{"agent_calls", NULL, false, ak->st.agent_calls},
		{"detach_refused", "left alone (pre-6.12.103)", true, ak->st.detach_refused},
		{"hung_at_exit", "processes hung at exit", true, hung},
		{"monitor_calls", NULL, false, ak->st.monitor_calls},
		{"monitor_processes", NULL, false, kc->kfd.mon_most},
		{"monitor_running", NULL, false, kc->kfd.nmon},
	};
	r->ctl_stage = ak->stage;
	r->nctl = sizeof(c) / sizeof(c[0]);
	memcpy(r->ctl, c, sizeof(c));
}

static void kc_free(void *st)
{
	struct kfd_ctl *c = st;
	sim_kfd_free(&c->kfd);
	free(c);
}

static const struct sim_controller kfd_controller = {
	.name = "kfd",
	.note = "  :stage1 / :stage2 = the amdkfd backend on the simulated KFD: stock KFD "
		"(DBG_TRAP, device-wide unmap) / gprio's KFD patch (per-queue unmap);\n"
		"  both poll, since KFD reports no new work, and see rptr (consumed), not "
		"completion\n",
	.init = kc_init,
	.died = kc_died,
	.close = kc_close,
	.results = kc_results,
	.free = kc_free,
};

void sim_kfd_register(void)
{
	sim_register_stage_controller(&kfd_controller);
}
