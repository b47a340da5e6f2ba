#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kfd.h"
#include "kfd_uapi.h"

static void line(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	if (*off >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n < len - *off ? (size_t)n : len - *off - 1;
}

void gprio_kfd_verdict(const struct gprio_kfd_probe *p, struct gprio_kfd_verdict *v, char *buf,
		       size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	v->stage1 = v->stage2 = GPRIO_STAGE_NO;
	if (!p->kfd_present) {
		line(buf, len, &off,
		     "no /dev/kfd: no AMD GPU driver (amdgpu/amdkfd) on this machine\n");
		snprintf(v->summary, sizeof(v->summary),
			 "no AMD GPU here: only the simulator (gprio sim --profile mi308x-cpsch) "
			 "runs");
		return;
	}
	if (!p->kfd_openable) {
		line(buf, len, &off,
		     "/dev/kfd: cannot open: %s (join the render/video group or run as root)\n",
		     strerror(p->open_errno));
		snprintf(v->summary, sizeof(v->summary),
			 "/dev/kfd not accessible: fix permissions first");
		return;
	}
	line(buf, len, &off, "GPUs (KFD topology nodes): %u\n", p->gpus);
	bool dbg_api = p->version_known &&
		       (p->major > GPRIO_KFD_MIN_MAJOR ||
			(p->major == GPRIO_KFD_MIN_MAJOR && p->minor >= GPRIO_KFD_MIN_MINOR_DBG));
	if (p->version_known)
		line(buf, len, &off, "KFD ioctl API %u.%u: %s\n", p->major, p->minor,
		     dbg_api ? "has the debugger API (DBG_TRAP)"
			     : "too old: no DBG_TRAP (needs >= 1.13)");
	else
		line(buf, len, &off, "KFD version unknown (GET_VERSION failed)\n");
	bool hws = p->sched_policy == 0;
	if (p->sched_policy < 0)
		line(buf, len, &off, "amdgpu.sched_policy unknown (assuming HWS)\n");
	else
		line(buf, len, &off, "amdgpu.sched_policy=%d: %s\n", p->sched_policy,
		     hws ? "HWS (CPSCH): suspend/resume unmap every user queue of the device"
			 : "no HWS: DBG_TRAP returns EINVAL");
	if (p->sched_policy < 0)
		hws = true;
	bool cwsr = p->cwsr_enable != 0;
	line(buf, len, &off, "amdgpu.cwsr_enable=%d: %s\n", p->cwsr_enable,
	     p->cwsr_enable < 0 ? "unknown"
	     : cwsr             ? "instruction-level save/restore"
				: "OFF: preemption waits for waves to finish");
	if (p->preempt_timeout_ms >= 0)
		line(buf, len, &off,
		     "queue_preemption_timeout_ms=%ld: an unmap slower than this resets the GPU\n",
		     p->preempt_timeout_ms);
	line(buf, len, &off, "privileges: %s, ptrace %s\n", p->root ? "root" : "not root",
	     p->ptrace_ok ? "allowed" : "restricted (yama ptrace_scope)");

	if (dbg_api && hws) {
		/* stage 1: in-process (HSA shim, pid = getpid()) always; as ptrace-attached debugger of
		 * other processes only with ptrace rights */
		enum gprio_kfd_detach d = gprio_kfd_detach_rule(p->kernel);
		bool by_ptrace = p->ptrace_ok && d != GPRIO_KFD_DETACH_OLD;
		v->stage1 = by_ptrace ? GPRIO_STAGE_YES : GPRIO_STAGE_LIMITED;
		line(buf, len, &off, "kernel %s: %s\n", p->kernel[0] ? p->kernel : "unknown",
		     d == GPRIO_KFD_DETACH_OK
			     ? "KFD lets gpriod debug a process after ptrace detach"
		     : d == GPRIO_KFD_DETACH_OLD
			     ? "KFD refuses a debugger after ptrace detach (fixed in 6.12.103): "
			       "only processes started with gprio run (HSA shim) can be preempted"
			     : "not known whether KFD lets gpriod debug a process after ptrace "
			       "detach "
			       "(6.12.103 fix): gpriod finds out on the first process and stops "
			       "trying if it is refused");
		line(buf, len, &off, "stage 1 (stock KFD, DBG_TRAP suspend/resume): %s\n",
		     by_ptrace ? "available (in-process shim and ptrace-attached daemon)"
		     : p->ptrace_ok
			     ? "in-process shim only (this kernel lacks the detach fix)"
			     : "in-process shim only (no ptrace rights for the daemon mode)");
		if (!cwsr)
			line(buf, len, &off,
			     "  without CWSR, preemption latency is bounded by wave length\n");
	} else {
		line(buf, len, &off, "stage 1: unavailable (%s)\n",
		     !dbg_api ? "KFD too old" : "no HWS");
	}
	if (p->stage2_ioctl) {
		v->stage2 = p->root ? GPRIO_STAGE_YES : GPRIO_STAGE_LIMITED;
		line(buf, len, &off, "stage 2 (patched KFD, per-queue preempt ioctl): %s\n",
		     p->root ? "available" : "present, needs root (CAP_SYS_ADMIN)");
	} else {
		if (p->stage2_version > 0 && p->stage2_version != GPRIO_KFD_PREEMPT_IFACE)
			line(buf, len, &off,
			     "stage 2: the KFD patch here speaks interface %d, this gprio %d\n",
			     p->stage2_version, GPRIO_KFD_PREEMPT_IFACE);
		else if (p->stage2_version == GPRIO_KFD_PREEMPT_IFACE)
			line(buf, len, &off,
			     "stage 2: the patch is loaded but its ioctl did not answer\n");
		else
			line(buf, len, &off,
			     "stage 2: the patched KFD (kernel/amdkfd) is not loaded\n");
	}
	/* stage 3: the in-kernel monitor of patch 0005 (gpriod --backend amdkfd --stage 3, or
	 * --stage 0 where it is loaded) */
	if (p->stage3_version == 1)
		line(buf, len, &off, "stage 3 (in-kernel monitor, patch 0005): %s\n",
		     p->root ? "available (gpriod --stage 0 or 3 hands it the processes started "
			       "by gprio run)"
			     : "present, needs root (CAP_SYS_ADMIN)");
	else if (p->stage3_version > 1)
		line(buf, len, &off,
		     "stage 3: the KFD patch here speaks monitor interface %d, this gprio 1\n",
		     p->stage3_version);
	else
		line(buf, len, &off,
		     "stage 3 (in-kernel monitor, patch 0005): not loaded (simulated only: gprio "
		     "sim --compare priority:stage3)\n");
	snprintf(v->summary, sizeof(v->summary), "stage 1 %s, stage 2 %s",
		 v->stage1 == GPRIO_STAGE_YES       ? "yes"
		 : v->stage1 == GPRIO_STAGE_LIMITED ? "limited"
						    : "no",
		 v->stage2 == GPRIO_STAGE_YES       ? "yes"
		 : v->stage2 == GPRIO_STAGE_LIMITED ? "limited"
						    : "no");
}

static long read_long(const char *path, long def)
{
	FILE *f = fopen(path, "r");
	long v = def;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = def;
		fclose(f);
	}
	return v;
}

void gprio_kfd_probe_machine(struct gprio_kfd_probe *p)
{
	memset(p, 0, sizeof(*p));
	const char *dev = getenv("GPRIO_KFD_DEV");
	if (!dev || !*dev)
		dev = "/dev/kfd";
	p->kfd_present = access(dev, F_OK) == 0;
	p->sched_policy = (int)read_long("/sys/module/amdgpu/parameters/sched_policy", -1);
	p->cwsr_enable = (int)read_long("/sys/module/amdgpu/parameters/cwsr_enable", -1);
	p->preempt_timeout_ms =
		read_long("/sys/module/amdgpu/parameters/queue_preemption_timeout_ms", -1);
	p->root = geteuid() == 0;
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(p->kernel, sizeof(p->kernel), "%s", u.release);
	long scope = read_long("/proc/sys/kernel/yama/ptrace_scope", 0);
	p->ptrace_ok = scope == 0 || (p->root && scope <= 2);
	DIR *d = opendir("/sys/class/kfd/kfd/topology/nodes");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			char path[512];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/class/kfd/kfd/topology/nodes/%s/gpu_id",
				 e->d_name);
			if (read_long(path, 0) > 0)
				p->gpus++;
		}
		closedir(d);
	}
	if (!p->kfd_present)
		return;
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		p->open_errno = errno;
		return;
	}
	p->kfd_openable = true;
	struct gprio_kfd_version v;
	if (ioctl(fd, GPRIO_KFD_GET_VERSION, &v) == 0) {
		p->version_known = true;
		p->major = v.major;
		p->minor = v.minor;
	}
	/* the patched KFD says so in a module parameter; only then is 0x7e gprio's ioctl, which
	 * answers an empty request with 0 (EPERM when not root) */
	p->stage2_version =
		(int)read_long("/sys/module/amdgpu/parameters/gprio_preempt_version", -1);
	p->stage3_version =
		(int)read_long("/sys/module/amdgpu/parameters/gprio_monitor_version", -1);
	if (p->stage2_version == GPRIO_KFD_PREEMPT_IFACE) {
		struct gprio_kfd_preempt_queues pq;
		memset(&pq, 0, sizeof(pq));
		pq.pid = (uint32_t)getpid();
		p->stage2_ioctl = ioctl(fd, GPRIO_KFD_PREEMPT_QUEUES, &pq) == 0 || errno == EPERM;
	}
	close(fd);
}
