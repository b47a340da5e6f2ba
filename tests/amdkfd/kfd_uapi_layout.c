/* gprio's KFD definitions (src/backends/amdkfd/kfd_uapi.h) against the kernel's own
 * include/uapi/linux/kfd_ioctl.h (Linux 6.12, KFD ioctl API 1.17): every ioctl number, struct
 * size, field offset and constant gprio uses. Compiled by kernel/uapi-check.sh with the
 * kernel's header first on the include path; a mismatch is a compile error naming the item. */
#include <linux/kfd_ioctl.h>

#include "kfd_uapi.h"

#define THEIRS "the kernel's"
#include "uapi_same.h"

SAME(KFD_IOCTL_MAJOR_VERSION, 1);
SAME(KFD_IOCTL_MINOR_VERSION, 17);

/* ioctl numbers (they encode the argument size too) */
SAME(GPRIO_KFD_GET_VERSION, AMDKFD_IOC_GET_VERSION);
SAME(GPRIO_KFD_RUNTIME_ENABLE, AMDKFD_IOC_RUNTIME_ENABLE);
SAME(GPRIO_KFD_DBG_TRAP, AMDKFD_IOC_DBG_TRAP);

SAME_SIZE(gprio_kfd_version, kfd_ioctl_get_version_args);
SAME_FIELD(gprio_kfd_version, major, kfd_ioctl_get_version_args, major_version);
SAME_FIELD(gprio_kfd_version, minor, kfd_ioctl_get_version_args, minor_version);

SAME_SIZE(gprio_kfd_runtime_enable, kfd_ioctl_runtime_enable_args);
SAME_FIELD(gprio_kfd_runtime_enable, r_debug, kfd_ioctl_runtime_enable_args, r_debug);
SAME_FIELD(gprio_kfd_runtime_enable, mode_mask, kfd_ioctl_runtime_enable_args, mode_mask);
SAME_FIELD(gprio_kfd_runtime_enable, capabilities_mask, kfd_ioctl_runtime_enable_args,
	   capabilities_mask);

/* DBG_TRAP: the operations gprio issues and their argument blocks */
SAME(GPRIO_KFD_DBG_ENABLE, KFD_IOC_DBG_TRAP_ENABLE);
SAME(GPRIO_KFD_DBG_DISABLE, KFD_IOC_DBG_TRAP_DISABLE);
SAME(GPRIO_KFD_DBG_SEND_RUNTIME_EVENT, KFD_IOC_DBG_TRAP_SEND_RUNTIME_EVENT);
SAME(GPRIO_KFD_DBG_SUSPEND_QUEUES, KFD_IOC_DBG_TRAP_SUSPEND_QUEUES);
SAME(GPRIO_KFD_DBG_RESUME_QUEUES, KFD_IOC_DBG_TRAP_RESUME_QUEUES);
SAME(GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT, KFD_IOC_DBG_TRAP_GET_QUEUE_SNAPSHOT);

SAME_SIZE(gprio_kfd_dbg_trap, kfd_ioctl_dbg_trap_args);
SAME_FIELD(gprio_kfd_dbg_trap, pid, kfd_ioctl_dbg_trap_args, pid);
SAME_FIELD(gprio_kfd_dbg_trap, op, kfd_ioctl_dbg_trap_args, op);
SAME_FIELD(gprio_kfd_dbg_trap, enable, kfd_ioctl_dbg_trap_args, enable);
SAME_FIELD(gprio_kfd_dbg_trap, send_runtime, kfd_ioctl_dbg_trap_args, send_runtime_event);
SAME_FIELD(gprio_kfd_dbg_trap, suspend, kfd_ioctl_dbg_trap_args, suspend_queues);
SAME_FIELD(gprio_kfd_dbg_trap, resume, kfd_ioctl_dbg_trap_args, resume_queues);
SAME_FIELD(gprio_kfd_dbg_trap, snapshot, kfd_ioctl_dbg_trap_args, queue_snapshot);

SAME_SIZE(gprio_kfd_dbg_enable, kfd_ioctl_dbg_trap_enable_args);
SAME_FIELD(gprio_kfd_dbg_enable, exception_mask, kfd_ioctl_dbg_trap_enable_args, exception_mask);
SAME_FIELD(gprio_kfd_dbg_enable, rinfo_ptr, kfd_ioctl_dbg_trap_enable_args, rinfo_ptr);
SAME_FIELD(gprio_kfd_dbg_enable, rinfo_size, kfd_ioctl_dbg_trap_enable_args, rinfo_size);
SAME_FIELD(gprio_kfd_dbg_enable, dbg_fd, kfd_ioctl_dbg_trap_enable_args, dbg_fd);

SAME_SIZE(gprio_kfd_dbg_send_runtime, kfd_ioctl_dbg_trap_send_runtime_event_args);
SAME_FIELD(gprio_kfd_dbg_send_runtime, exception_mask, kfd_ioctl_dbg_trap_send_runtime_event_args,
	   exception_mask);
SAME_FIELD(gprio_kfd_dbg_send_runtime, gpu_id, kfd_ioctl_dbg_trap_send_runtime_event_args, gpu_id);
SAME_FIELD(gprio_kfd_dbg_send_runtime, queue_id, kfd_ioctl_dbg_trap_send_runtime_event_args,
	   queue_id);

SAME_SIZE(gprio_kfd_dbg_suspend, kfd_ioctl_dbg_trap_suspend_queues_args);
SAME_FIELD(gprio_kfd_dbg_suspend, exception_mask, kfd_ioctl_dbg_trap_suspend_queues_args,
	   exception_mask);
SAME_FIELD(gprio_kfd_dbg_suspend, queue_array_ptr, kfd_ioctl_dbg_trap_suspend_queues_args,
	   queue_array_ptr);
SAME_FIELD(gprio_kfd_dbg_suspend, num_queues, kfd_ioctl_dbg_trap_suspend_queues_args, num_queues);
SAME_FIELD(gprio_kfd_dbg_suspend, grace_period, kfd_ioctl_dbg_trap_suspend_queues_args,
	   grace_period);

SAME_SIZE(gprio_kfd_dbg_resume, kfd_ioctl_dbg_trap_resume_queues_args);
SAME_FIELD(gprio_kfd_dbg_resume, queue_array_ptr, kfd_ioctl_dbg_trap_resume_queues_args,
	   queue_array_ptr);
SAME_FIELD(gprio_kfd_dbg_resume, num_queues, kfd_ioctl_dbg_trap_resume_queues_args, num_queues);

SAME_SIZE(gprio_kfd_dbg_snapshot, kfd_ioctl_dbg_trap_queue_snapshot_args);
SAME_FIELD(gprio_kfd_dbg_snapshot, exception_mask, kfd_ioctl_dbg_trap_queue_snapshot_args,
	   exception_mask);
SAME_FIELD(gprio_kfd_dbg_snapshot, snapshot_buf_ptr, kfd_ioctl_dbg_trap_queue_snapshot_args,
	   snapshot_buf_ptr);
SAME_FIELD(gprio_kfd_dbg_snapshot, num_queues, kfd_ioctl_dbg_trap_queue_snapshot_args, num_queues);
SAME_FIELD(gprio_kfd_dbg_snapshot, entry_size, kfd_ioctl_dbg_trap_queue_snapshot_args, entry_size);

SAME_SIZE(gprio_kfd_queue_snapshot, kfd_queue_snapshot_entry);
SAME_FIELD(gprio_kfd_queue_snapshot, exception_status, kfd_queue_snapshot_entry, exception_status);
SAME_FIELD(gprio_kfd_queue_snapshot, ring_base_address, kfd_queue_snapshot_entry,
	   ring_base_address);
SAME_FIELD(gprio_kfd_queue_snapshot, write_pointer_address, kfd_queue_snapshot_entry,
	   write_pointer_address);
SAME_FIELD(gprio_kfd_queue_snapshot, read_pointer_address, kfd_queue_snapshot_entry,
	   read_pointer_address);
SAME_FIELD(gprio_kfd_queue_snapshot, queue_id, kfd_queue_snapshot_entry, queue_id);
SAME_FIELD(gprio_kfd_queue_snapshot, gpu_id, kfd_queue_snapshot_entry, gpu_id);

/* per-queue result bits and exception codes */
SAME(GPRIO_KFD_QUEUE_ERROR, (unsigned)KFD_DBG_QUEUE_ERROR_MASK);
SAME(GPRIO_KFD_QUEUE_INVALID, (unsigned)KFD_DBG_QUEUE_INVALID_MASK);
SAME(GPRIO_KFD_EC_QUEUE_NEW, EC_QUEUE_NEW);
SAME(GPRIO_KFD_EC_PROCESS_RUNTIME, EC_PROCESS_RUNTIME);
SAME(GPRIO_KFD_EC_MASK(GPRIO_KFD_EC_QUEUE_NEW), KFD_EC_MASK(EC_QUEUE_NEW));

/* gprio's stage-2 ioctl (kernel/amdkfd/) is not one of this kernel's */
_Static_assert(_IOC_NR(GPRIO_KFD_PREEMPT_QUEUES) >= AMDKFD_COMMAND_END,
	       "GPRIO_KFD_PREEMPT_QUEUES's number is taken by an ioctl of this kernel");

int main(void)
{
	return 0;
}
