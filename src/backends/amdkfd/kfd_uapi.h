/* The subset of the KFD ioctl interface gprio uses (KFD ioctl API 1.13-1.17). Debian 12's
 * installed header is API 1.11 and lacks RUNTIME_ENABLE and DBG_TRAP, so gprio carries its own;
 * kernel/uapi-check.sh compiles tests/amdkfd/kfd_uapi_layout.c against Linux 6.12's
 * include/uapi/linux/kfd_ioctl.h and asserts every number, size, offset and constant here. */
#ifndef GPRIO_KFD_UAPI_H
#define GPRIO_KFD_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>

#define GPRIO_KFD_IOC 'K'

struct gprio_kfd_version {
	uint32_t major;
	uint32_t minor;
};
#define GPRIO_KFD_GET_VERSION _IOR(GPRIO_KFD_IOC, 0x01, struct gprio_kfd_version)

struct gprio_kfd_runtime_enable {
	uint64_t r_debug;
	uint32_t mode_mask;
	uint32_t capabilities_mask;
};
#define GPRIO_KFD_RUNTIME_ENABLE _IOWR(GPRIO_KFD_IOC, 0x25, struct gprio_kfd_runtime_enable)

enum gprio_kfd_dbg_op {
	GPRIO_KFD_DBG_ENABLE = 0,
	GPRIO_KFD_DBG_DISABLE = 1,
	GPRIO_KFD_DBG_SEND_RUNTIME_EVENT = 2,
	GPRIO_KFD_DBG_SUSPEND_QUEUES = 6,
	GPRIO_KFD_DBG_RESUME_QUEUES = 7,
	GPRIO_KFD_DBG_GET_QUEUE_SNAPSHOT = 13,
};

struct gprio_kfd_dbg_enable {
	uint64_t exception_mask;
	uint64_t rinfo_ptr;
	uint32_t rinfo_size;
	uint32_t dbg_fd;
};

struct gprio_kfd_dbg_suspend {
	uint64_t exception_mask;
	uint64_t queue_array_ptr;
	uint32_t num_queues;
	uint32_t grace_period; /* units of 1000 GPU clocks; KFD turns 0 into 1 */
};

struct gprio_kfd_dbg_send_runtime {
	uint64_t exception_mask;
	uint32_t gpu_id;
	uint32_t queue_id;
};

struct gprio_kfd_dbg_resume {
	uint64_t queue_array_ptr;
	uint32_t num_queues;
	uint32_t pad;
};

struct gprio_kfd_dbg_snapshot {
	uint64_t exception_mask;
	uint64_t snapshot_buf_ptr;
	uint32_t num_queues;
	uint32_t entry_size;
};

struct gprio_kfd_dbg_trap {
	uint32_t pid;
	uint32_t op;
	union {
		struct gprio_kfd_dbg_enable enable;
		struct gprio_kfd_dbg_send_runtime send_runtime;
		struct gprio_kfd_dbg_suspend suspend;
		struct gprio_kfd_dbg_resume resume;
		struct gprio_kfd_dbg_snapshot snapshot;
	};
};
#define GPRIO_KFD_DBG_TRAP _IOWR(GPRIO_KFD_IOC, 0x26, struct gprio_kfd_dbg_trap)

/* per-queue result bits in SUSPEND/RESUME queue arrays */
#define GPRIO_KFD_QUEUE_ERROR   (1u << 30)
#define GPRIO_KFD_QUEUE_INVALID (1u << 31)

/* one GET_QUEUE_SNAPSHOT entry */
struct gprio_kfd_queue_snapshot {
	uint64_t exception_status;
	uint64_t ring_base_address;
	uint64_t write_pointer_address;
	uint64_t read_pointer_address;
	uint64_t ctx_save_restore_address;
	uint32_t queue_id;
	uint32_t gpu_id;
	uint32_t ring_size;
	uint32_t queue_type;
	uint32_t ctx_save_restore_area_size;
	uint32_t reserved;
};

/* gprio's stage-2 KFD change (kernel/amdkfd/): preempt or resume only the given queues of a
 * process (UNMAP_QUEUES by doorbell, CWSR save; MAP_QUEUES of that queue), no debugger mode,
 * no ptrace; CAP_SYS_ADMIN. Probed with num_queues = 0: 0 when the patched KFD is loaded,
 * ENOTTY/EINVAL from a stock one. Same per-entry error bits as DBG_TRAP. */
enum gprio_kfd_preempt_op { GPRIO_KFD_PREEMPT = 0, GPRIO_KFD_RESUME = 1 };
struct gprio_kfd_preempt_queues {
	uint64_t queue_array_ptr; /* uint32_t queue ids */
	uint32_t pid;
	uint32_t num_queues;
	uint32_t op;
	uint32_t grace_period; /* as DBG_TRAP: units of 1000 GPU clocks, 0 -> 1 */
	uint32_t timeout_ms;   /* fence wait: raised to queue_preemption_timeout_ms, at most 4x */
	uint32_t pad;
};
/* 0x7e, not the next free number: KFD dispatches on the number alone (kfd_chardev.c,
 * kfd_ioctl(): `ioctl = &amdkfd_ioctls[nr]; cmd = ioctl->cmd`), so a probe with a number a newer
 * kernel has taken would run that kernel's ioctl (0x27 is AMDKFD_IOC_CREATE_PROCESS in the 2026
 * drm-next merge). The uapi check asserts it is beyond Linux 6.12's AMDKFD_COMMAND_END. */
#define GPRIO_KFD_PREEMPT_QUEUES _IOWR(GPRIO_KFD_IOC, 0x7e, struct gprio_kfd_preempt_queues)
/* the interface version the patched KFD publishes as amdgpu.gprio_preempt_version */
#define GPRIO_KFD_PREEMPT_IFACE 1

/* gprio's stage 3 (kernel/amdkfd/0005): the in-kernel monitor. KFD reads each managed compute
 * queue's AQL dispatch ids every period and preempts lower priorities per queue while higher
 * priority work is pending (kfd_gprio_monitor.c). The call replaces the managed set;
 * num_procs = 0 stops it and maps back what it holds, as does the release of the caller's KFD
 * process (fail open). CAP_SYS_ADMIN; EINVAL outside 1..64 processes, a period outside
 * 100..100000 us or a hysteresis above 1 s, a priority above 15; ESRCH for a pid without a KFD
 * process, or the caller's own (kfd_ioctl_gprio_monitor). */
struct gprio_kfd_monitor_proc {
	uint32_t pid;
	uint32_t priority; /* 0..15 */
	uint32_t online;   /* 1: latency-critical, 0: best effort */
	uint32_t pad;
};
struct gprio_kfd_monitor {
	uint64_t procs_ptr; /* struct gprio_kfd_monitor_proc[num_procs] */
	uint32_t num_procs;
	uint32_t period_us;
	uint32_t hysteresis_us;
	uint32_t pad;
};
#define GPRIO_KFD_GPRIO_MONITOR _IOWR(GPRIO_KFD_IOC, 0x7f, struct gprio_kfd_monitor)
/* the interface version the patched KFD publishes as amdgpu.gprio_monitor_version */
#define GPRIO_KFD_MONITOR_IFACE     1
#define GPRIO_KFD_MONITOR_MAX_PROCS 64

/* KFD exception codes gprio cares about (bit (code - 1) of an exception mask): enum
 * kfd_dbg_trap_exception_code in include/uapi/linux/kfd_ioctl.h (checked against Linux 6.12 by
 * kernel/uapi-check.sh). */
#define GPRIO_KFD_EC_QUEUE_NEW       31u
#define GPRIO_KFD_EC_PROCESS_RUNTIME 48u
#define GPRIO_KFD_EC_MASK(ec)        (1ull << ((ec)-1))

/* The debugger API (DBG_TRAP) arrived in KFD ioctl API 1.13. */
#define GPRIO_KFD_MIN_MAJOR     1u
#define GPRIO_KFD_MIN_MINOR_DBG 13u

#endif
