/* The real gprio_kfd_sys: /dev/kfd, KFD's sysfs, /proc, process_vm_readv, ptrace. The sysfs and
 * proc roots can be pointed elsewhere so tests exercise the parsing on a fake tree. */
#ifndef GPRIO_KFD_SYS_LINUX_H
#define GPRIO_KFD_SYS_LINUX_H

#include <signal.h>

#include "gprio/kfd_sys.h"

struct gprio_kfd_linux {
	int kfd_fd;               /* -1: not opened (ioctls answer -ENODEV) */
	int dbg_fd;               /* eventfd handed to DBG_TRAP ENABLE */
	char kfd_proc[256];       /* default /sys/class/kfd/kfd/proc */
	char proc[256];           /* default /proc */
	volatile sig_atomic_t *stop; /* sleep() returns -ECANCELED once *stop is set */
	/* in-process mode: HSA shims connect here; SO_PEERCRED names the process */
	int agent_listen;         /* -1: no in-process mode */
	char agent_path[108];
	uint32_t nagents;
	struct {
		uint32_t pid;
		int fd;
	} agents[64];
};

/* Listen for HSA shims at `path` (mode 0666: a shim can only ever act on its own process).
 * 0 or -errno. sleep() then accepts connections and notices closed ones. */
int gprio_kfd_linux_listen(struct gprio_kfd_linux *l, const char *path);

#define GPRIO_KFD_DEV "/dev/kfd"
/* Fill defaults; open the KFD device `dev` (normally GPRIO_KFD_DEV; NULL: none). 0 or -errno. */
int gprio_kfd_linux_init(struct gprio_kfd_linux *l, const char *dev);
void gprio_kfd_linux_close(struct gprio_kfd_linux *l);
void gprio_kfd_linux_sys(struct gprio_kfd_linux *l, struct gprio_kfd_sys *out);

extern const struct gprio_kfd_sys_ops gprio_kfd_linux_ops;

#endif
