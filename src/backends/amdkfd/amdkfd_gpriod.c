/* gpriod's registry row for the amdkfd backend: /dev/kfd, the HSA shims' agent socket on the
 * daemon's loop, stage 1, 2 or 3. */
#include <sys/utsname.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/registry.h"
#include "agent_server.h"
#include "amdkfd_backend.h"
#include "kfd_agent.h"

static struct gprio_kfd_linux g_l;
static struct gprio_kfd_agents g_agents;
static bool g_agents_on;
static struct gprio_amdkfd g_ak;
static int g_stage;
static const char *g_agent_path = GPRIO_KFD_AGENT_DEFAULT_SOCKET;

static void ak_defaults(struct gprio_monitor_cfg *mon)
{
	mon->events = false; /* KFD reports no new work: poll */
	mon->policy.hysteresis = 500 * GPRIO_NS_PER_US;
}

static int ak_option(const char *flag, const char *val)
{
	if (strcmp(flag, "--stage") == 0) {
		if (strcmp(val, "0") && strcmp(val, "1") && strcmp(val, "2") && strcmp(val, "3"))
			return -EINVAL;
		g_stage = atoi(val);
		return 0;
	}
	if (strcmp(flag, "--agent-socket") == 0) {
		if (!*val)
			return -EINVAL;
		g_agent_path = val;
		return 0;
	}
	return -ENOENT;
}

static int ak_open(const struct gpriod_env *env, const struct gprio_backend_ops **ops, void **be,
		   char *err, size_t errlen)
{
	int rc = gprio_kfd_linux_init(&g_l, GPRIO_KFD_DEV);
	if (rc) {
		snprintf(err, errlen,
			 "/dev/kfd: %s (no AMD GPU driver here, or no access: run "
			 "`gprio doctor`)",
			 strerror(-rc));
		return rc;
	}
	g_agents_on = false;
	if (strcmp(g_agent_path, "none") != 0) {
		g_agents.auth = env->auth; /* untrusted users: a quota of connections */
		rc = gprio_kfd_agents_listen(&g_agents, env->loop, g_agent_path);
		if (rc < 0)
			fprintf(env->log,
				"gpriod: %s: %s: in-process mode (libgprio-hsa.so) off, ptrace "
				"mode only\n",
				g_agent_path, strerror(-rc));
		else
			g_agents_on = true;
	}
	gprio_kfd_agents_attach(&g_l, env->loop, g_agents_on ? &g_agents : NULL);
	g_l.auth = env->auth; /* the same --allow decisions as on NVIDIA */
	struct gprio_kfd_sys sys;
	gprio_kfd_linux_sys(&g_l, &sys);
	struct gprio_amdkfd_cfg acfg;
	gprio_amdkfd_cfg_defaults(&acfg);
	acfg.stage = g_stage;
	acfg.dbg_fd = g_l.dbg_fd;
	struct utsname u;
	acfg.detach = uname(&u) == 0 ? gprio_kfd_detach_rule(u.release) : GPRIO_KFD_DETACH_UNKNOWN;
	if ((rc = gprio_amdkfd_open(&g_ak, &sys, &acfg, err, errlen))) {
		if (g_agents_on)
			gprio_kfd_agents_close(&g_agents);
		gprio_kfd_linux_close(&g_l);
		return rc;
	}
	*ops = &gprio_amdkfd_ops;
	*be = &g_ak;
	return 0;
}

static void ak_describe(void *be, FILE *f)
{
	struct gprio_amdkfd *ak = be;
	fprintf(f, "KFD %u.%u, stage %d, HSA shims at %s", ak->major, ak->minor, ak->stage,
		g_agents_on ? g_agents.srv.addr.sun_path : "(off)");
}

static void ak_status(void *be, FILE *f)
{
	gprio_amdkfd_print(be, f);
}

static int ak_close(void *be)
{
	/* stop being anyone's debugger; each HSA shim resumes its own queues on hang-up */
	int rc = gprio_amdkfd_close(be);
	gprio_amdkfd_print(be, stderr);
	if (g_agents_on)
		gprio_kfd_agents_close(&g_agents);
	gprio_kfd_linux_close(&g_l);
	if (rc)
		fprintf(stderr, "gpriod: a resume failed; KFD resumes on our exit\n");
	return rc;
}

const struct gpriod_backend gpriod_backend_amdkfd = {
	.name = "amdkfd",
	.help = "AMD GPUs through /dev/kfd (root): stage 1 DBG_TRAP suspend/resume, stage 2 the "
		"patched KFD's per-queue preemption, stage 3 its in-kernel monitor (docs/amd.md)",
	.usage = "  --stage 0|1|2|3             0: the best this kernel offers (default 0)\n"
		 "  --agent-socket PATH|none    HSA shims connect here "
		 "(" GPRIO_KFD_AGENT_DEFAULT_SOCKET ")\n",
	.defaults = ak_defaults,
	.option = ak_option,
	.open = ak_open,
	.describe = ak_describe,
	.status = ak_status,
	.close = ak_close,
};
