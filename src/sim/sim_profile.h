/* Hardware profiles of the simulated GPU. Every parameter carries its source in profile.c:
 * "measured" (../shared/facts), "read" (kernel source / documents), or "estimate". */
#ifndef GPRIO_SIM_PROFILE_H
#define GPRIO_SIM_PROFILE_H

#include "gprio/types.h"

enum sim_arch { SIM_ARCH_AMD_CPSCH = 0, SIM_ARCH_NV_TSG = 1 };

/* How an AMD suspend/resume reaches the hardware. */
enum sim_amd_preempt {
	SIM_AMD_DEVICE_WIDE = 0, /* unmodified KFD: unmap+remap every user queue (stage 1) */
	SIM_AMD_PER_QUEUE = 1,   /* patched KFD: UNMAP_QUEUES for the given queues only (stage 2) */
};

enum sim_nv_mode { SIM_NV_TIMESLICE = 0, SIM_NV_MPS = 1 };

struct sim_profile {
	char name[32];
	enum sim_arch arch;
	uint32_t slots;  /* concurrent thread blocks / workgroups the device holds (CUs, SMs) */
	gprio_ns launch; /* submit on the CPU -> visible to the GPU's scheduler */

	/* AMD CPSCH */
	uint32_t xcc;             /* XCCs; in SPX mode a queue takes one HQD on each */
	uint32_t pipes;           /* pipes per XCC */
	uint32_t queues_per_pipe; /* HQDs per pipe */
	gprio_ns hiq;             /* UNMAP_QUEUES packet through the HIQ until the CP acts */
	gprio_ns map;             /* rebuild + send the runlist (MAP_QUEUES) */
	gprio_ns cwsr_save;       /* CWSR: save all waves of the unmapped queues */
	gprio_ns cwsr_restore;    /* CWSR: restore on map */
	gprio_ns grace;           /* CP_IQ_WAIT_TIME2.SCH_WAVE: waves get this long to finish */
	gprio_ns preempt_timeout; /* queue_preemption_timeout_ms: then HWS hang -> GPU reset */
	gprio_ns oversub_quantum; /* HWS rotation period when queues outnumber HQDs */
	enum sim_amd_preempt preempt;
	double hang_rate; /* fault injection: probability an unmap never completes */

	/* NVIDIA TSG */
	enum sim_nv_mode mode;
	gprio_ns ctx_switch;     /* cross-process context switch */
	gprio_ns timeslice;      /* default TSG timeslice */
	gprio_ns held_timeslice; /* timeslice gprio gives a held (gated) context */
	gprio_ns gate;           /* launch gating takes effect (in-process flag) */
	uint32_t mps_offline_sm; /* mode mps: % of the slots offline clients may hold (gpriod
				  * --mps-offline-sm, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE); 0: 100 */
};

/* 0 and *p filled, or -ENOENT for an unknown name. */
int sim_profile_get(const char *name, struct sim_profile *p);
/* NULL-terminated list of profile names. */
const char *const *sim_profile_names(void);
/* Human-readable table of the profile's parameters and their sources (docs/model.md shows it). */
void sim_profile_describe(const struct sim_profile *p, void (*emit)(void *ctx, const char *line),
			  void *ctx);

uint32_t sim_profile_queue_hqds(const struct sim_profile *p); /* queues that fit in HQDs */

#endif
