#include "sim_profile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define US GPRIO_NS_PER_US
#define MS GPRIO_NS_PER_MS

/* MI308X in CPSCH mode (GFX 9.4.3, HWS + runlist through the HIQ). */
static const struct sim_profile mi308x = {
	.name = "mi308x-cpsch",
	.arch = SIM_ARCH_AMD_CPSCH,
	.slots = 80,           /* estimate: MI308X has 80 CUs per public spec sheets; 1 slot = 1 CU
				 * worth of workgroups */
	.launch = 5 * US,      /* estimate: doorbell write -> CP fetch of the AQL packet */
	.xcc = 4,              /* read: seed 003 ("4 XCC") */
	.pipes = 4,            /* estimate: pipes x queues chosen so xcc x pipes x queues = 288 */
	.queues_per_pipe = 18, /* read: seed 003 ("288 HQD"); split over pipes is an estimate */
	.hiq = 50 * US,        /* estimate: no published MI300 unmap latency */
	.map = 50 * US,        /* estimate */
	.cwsr_save = 10 * US,  /* estimate: seed 004 says 1-10 us, unmeasured */
	.cwsr_restore = 10 * US, /* estimate: as save */
	.grace = 476,            /* read: 1 unit = 1000 GPU clocks (facts/kfd.md), at 2.1 GHz */
	.preempt_timeout = 9000 * MS, /* read: queue_preemption_timeout_ms default (facts/kfd.md) */
	.oversub_quantum = 10 * MS,   /* estimate: HWS rotation period under oversubscription */
	.preempt = SIM_AMD_DEVICE_WIDE, /* read: unmodified KFD unmaps all queues (facts/kfd.md) */
	.hang_rate = 0,
	.mode = SIM_NV_TIMESLICE,
};

/* H100 80GB HBM3, driver 580.159.04 (facts/nvidia.md). */
static const struct sim_profile h100 = {
	.name = "h100",
	.arch = SIM_ARCH_NV_TSG,
	.slots = 132,             /* measured: 132 SMs */
	.launch = 10 * US,        /* measured: idle launch + 10 us kernel + sync = 0.02 ms */
	.mode = SIM_NV_TIMESLICE, /* read: default compute mode, time-sliced processes */
	.ctx_switch = 175 * US,   /* measured: 0.195 ms median with offline timeslice 1 us, minus
				     * the 0.02 ms an idle launch+kernel takes */
	.timeslice = 1024 * US,   /* measured: TSG default 1024 us (2048 for a context's first
				     * TSG; the worst wait, 1.33 ms, fits 1024) */
	.held_timeslice = 1 * US, /* measured: SET_TIMESLICE honours 1 us */
	.gate = 1 * US,           /* estimate: an in-process flag the shim checks per launch */
	.preempt_timeout = 9000 * MS,
	.grace = 0,
	.xcc = 1,
	.oversub_quantum = 10 * MS,
};

static const struct sim_profile *const profiles[] = {&mi308x, &h100};
static const char *const names[] = {"mi308x-cpsch", "h100", NULL};

int sim_profile_get(const char *name, struct sim_profile *p)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (name && strcmp(profiles[i]->name, name) == 0) {
			*p = *profiles[i];
			return 0;
		}
	return -ENOENT;
}

const char *const *sim_profile_names(void)
{
	return names;
}

uint32_t sim_profile_queue_hqds(const struct sim_profile *p)
{
	uint32_t per_xcc = p->pipes * p->queues_per_pipe;
	return per_xcc ? per_xcc : UINT32_MAX;
}

void sim_profile_describe(const struct sim_profile *p, void (*emit)(void *, const char *),
			  void *ctx)
{
	char line[160];
#define ROW(fmt, ...)                                           \
	do {                                                    \
		snprintf(line, sizeof(line), fmt, __VA_ARGS__); \
		emit(ctx, line);                                \
	} while (0)
	ROW("profile %s (%s)", p->name, p->arch == SIM_ARCH_AMD_CPSCH ? "amd-cpsch" : "nv-tsg");
	ROW("  slots %u, launch %.1f us", p->slots, (double)p->launch / US);
	if (p->arch == SIM_ARCH_AMD_CPSCH) {
		ROW("  %u XCC x %u pipes x %u queues = %u HQDs (%u queues resident in SPX)", p->xcc,
		    p->pipes, p->queues_per_pipe, p->xcc * p->pipes * p->queues_per_pipe,
		    sim_profile_queue_hqds(p));
		ROW("  hiq %.1f us, map %.1f us, cwsr save %.1f us / restore %.1f us, grace %.3f "
		    "us",
		    (double)p->hiq / US, (double)p->map / US, (double)p->cwsr_save / US,
		    (double)p->cwsr_restore / US, (double)p->grace / US);
		ROW("  preemption %s, timeout %.0f ms, oversubscription quantum %.1f ms",
		    p->preempt == SIM_AMD_PER_QUEUE ? "per-queue (patched KFD)"
						    : "device-wide (stock KFD)",
		    (double)p->preempt_timeout / MS, (double)p->oversub_quantum / MS);
	} else {
		ROW("  mode %s, context switch %.1f us, timeslice %.1f us, held timeslice %.1f us",
		    p->mode == SIM_NV_MPS ? "mps" : "timeslice", (double)p->ctx_switch / US,
		    (double)p->timeslice / US, (double)p->held_timeslice / US);
		if (p->mode == SIM_NV_MPS)
			ROW("  offline MPS clients hold at most %u %% of the slots",
			    p->mps_offline_sm ? p->mps_offline_sm : 100);
	}
#undef ROW
}
