/* gprio's stage-2 and stage-3 definitions (src/backends/amdkfd/kfd_uapi.h) against the uapi
 * header of Linux 6.12 with gprio's KFD patch series applied (kernel/amdkfd/0001-0005): the
 * ioctl numbers, struct sizes, field offsets and constants gpriod issues to the patched KFD.
 * Compiled by kernel/check.sh after it applies the series; a mismatch is a compile error. */
#include <linux/kfd_ioctl.h>

#include "kfd_uapi.h"

#define THEIRS "the patch's"
#include "uapi_same.h"

/* stage 2: AMDKFD_IOC_PREEMPT_QUEUES (0001, 0003) */
SAME(GPRIO_KFD_PREEMPT_QUEUES, AMDKFD_IOC_PREEMPT_QUEUES);
SAME(GPRIO_KFD_PREEMPT, KFD_PREEMPT_QUEUES_OP_PREEMPT);
SAME(GPRIO_KFD_RESUME, KFD_PREEMPT_QUEUES_OP_RESUME);
SAME_SIZE(gprio_kfd_preempt_queues, kfd_ioctl_preempt_queues_args);
SAME_FIELD(gprio_kfd_preempt_queues, queue_array_ptr, kfd_ioctl_preempt_queues_args,
	   queue_array_ptr);
SAME_FIELD(gprio_kfd_preempt_queues, pid, kfd_ioctl_preempt_queues_args, pid);
SAME_FIELD(gprio_kfd_preempt_queues, num_queues, kfd_ioctl_preempt_queues_args, num_queues);
SAME_FIELD(gprio_kfd_preempt_queues, op, kfd_ioctl_preempt_queues_args, op);
SAME_FIELD(gprio_kfd_preempt_queues, grace_period, kfd_ioctl_preempt_queues_args, grace_period);
SAME_FIELD(gprio_kfd_preempt_queues, timeout_ms, kfd_ioctl_preempt_queues_args, timeout_ms);

/* stage 3: AMDKFD_IOC_GPRIO_MONITOR (0005) */
SAME(GPRIO_KFD_GPRIO_MONITOR, AMDKFD_IOC_GPRIO_MONITOR);
SAME_SIZE(gprio_kfd_monitor, kfd_ioctl_gprio_monitor_args);
SAME_FIELD(gprio_kfd_monitor, procs_ptr, kfd_ioctl_gprio_monitor_args, procs_ptr);
SAME_FIELD(gprio_kfd_monitor, num_procs, kfd_ioctl_gprio_monitor_args, num_procs);
SAME_FIELD(gprio_kfd_monitor, period_us, kfd_ioctl_gprio_monitor_args, period_us);
SAME_FIELD(gprio_kfd_monitor, hysteresis_us, kfd_ioctl_gprio_monitor_args, hysteresis_us);
SAME_SIZE(gprio_kfd_monitor_proc, kfd_gprio_monitor_proc);
SAME_FIELD(gprio_kfd_monitor_proc, pid, kfd_gprio_monitor_proc, pid);
SAME_FIELD(gprio_kfd_monitor_proc, priority, kfd_gprio_monitor_proc, priority);
SAME_FIELD(gprio_kfd_monitor_proc, online, kfd_gprio_monitor_proc, online);

int main(void)
{
	return 0;
}
