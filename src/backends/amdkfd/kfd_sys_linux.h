/* The real gprio_kfd_sys: /dev/kfd, KFD's sysfs, /proc, process_vm_readv, ptrace. The sysfs and
 * proc roots can be pointed elsewhere so tests exercise the parsing on a fake tree. */
#ifndef GPRIO_KFD_SYS_LINUX_H
#define GPRIO_KFD_SYS_LINUX_H

#include <signal.h>

#include "../../daemon/auth.h"
#include "kfd_sys.h"

struct gprio_kfd_agent_msg;

struct gprio_kfd_linux {
	int kfd_fd;                  /* -1: not opened (ioctls answer -ENODEV) */
	int dbg_fd;                  /* eventfd handed to DBG_TRAP ENABLE */
	char kfd_proc[256];          /* default /sys/class/kfd/kfd/proc */
	char proc[256];              /* default /proc */
	char amdgpu_params[256];     /* default /sys/module/amdgpu/parameters */
	volatile sig_atomic_t *stop; /* sleep() returns -ECANCELED once *stop is set */
	/* gpriod: who may be online (its --allow list). A process's class comes from its own
	 * environment (GPRIO_CLASS/GPRIO_PRIORITY, set by gprio run): what its owner asked for,
	 * granted or demoted by the same rule as on NVIDIA. NULL: taken as asked. */
	const struct gprio_auth *auth;
	/* gpriod (agent_server.c): wait in its event loop and reach the in-process agents of
	 * the HSA shims. NULL in the HSA shim itself, which needs neither: sleep() then sleeps. */
	int (*wait)(void *ctx, gprio_ns deadline);
	void *wait_ctx;
	int (*agent_fd)(void *ctx, uint32_t pid);            /* the connected shim of pid, or -1 */
	void (*agent_lost)(void *ctx, uint32_t pid, int rc); /* rc: why (-ETIMEDOUT: stuck) */
	/* One call to pid's agent, served by gpriod's event loop while it waits for the reply
	 * (other agents, the control socket, timers and metrics go on); NULL: a blocking call on
	 * agent_fd. Returns as gprio_kfd_agent_call. */
	int (*agent_call)(void *ctx, uint32_t pid, struct gprio_kfd_agent_msg *m, int timeout_ms);
	void *agents_ctx;
};

#define GPRIO_KFD_DEV "/dev/kfd"
/* Fill defaults; open the KFD device `dev` (normally GPRIO_KFD_DEV; NULL: none). 0 or -errno. */
int gprio_kfd_linux_init(struct gprio_kfd_linux *l, const char *dev);
void gprio_kfd_linux_close(struct gprio_kfd_linux *l);
void gprio_kfd_linux_sys(struct gprio_kfd_linux *l, struct gprio_kfd_sys *out);

extern const struct gprio_kfd_sys_ops gprio_kfd_linux_ops;

#endif
