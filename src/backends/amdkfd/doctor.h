/* gprio doctor for AMD: what this machine offers the amdkfd backend, and which stages can run.
 * Probing (I/O) and the verdict (a pure function of the probe) are separate so the verdict is
 * tested on every kind of machine. */
#ifndef GPRIO_KFD_DOCTOR_H
#define GPRIO_KFD_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gprio_kfd_probe {
	bool kfd_present;  /* /dev/kfd exists */
	bool kfd_openable; /* we could open it read-write */
	int open_errno;
	bool version_known;
	uint32_t major, minor;
	int sched_policy;        /* amdgpu.sched_policy: 0 HWS (CPSCH), 2 no HWS; -1 unknown */
	int cwsr_enable;         /* amdgpu.cwsr_enable; -1 unknown */
	long preempt_timeout_ms; /* amdkfd queue_preemption_timeout_ms; -1 unknown */
	bool root;
	bool ptrace_ok;     /* kernel.yama.ptrace_scope allows attaching (0, or root with <= 2) */
	int stage2_version; /* amdgpu.gprio_preempt_version; -1 (or 0) none: a stock KFD */
	bool stage2_ioctl;  /* that said 1, and the preempt ioctl answered */
	int stage3_version; /* amdgpu.gprio_monitor_version (patch 0005); -1 (or 0): none */
	unsigned gpus;      /* nodes under /sys/class/kfd/kfd/topology/nodes with a gpu_id */
	char kernel[65];    /* uname -r: the ptrace rule after detach (gprio_kfd_detach_rule) */
};

enum gprio_kfd_stage_ok { GPRIO_STAGE_NO = 0, GPRIO_STAGE_YES = 1, GPRIO_STAGE_LIMITED = 2 };

struct gprio_kfd_verdict {
	enum gprio_kfd_stage_ok stage1; /* unmodified KFD: DBG_TRAP suspend/resume */
	enum gprio_kfd_stage_ok stage2; /* patched KFD: per-queue preempt ioctl */
	char summary[160];
};

/* Fill *v and write a human-readable report (one finding per line) into buf. */
void gprio_kfd_verdict(const struct gprio_kfd_probe *p, struct gprio_kfd_verdict *v, char *buf,
		       size_t len);
/* Probe this machine (read-only: opens /dev/kfd, one GET_VERSION ioctl, sysfs/procfs reads). */
void gprio_kfd_probe_machine(struct gprio_kfd_probe *p);

#endif
