/* gprio run --online|--offline [--priority N] -- CMD...: run an unmodified program under the shim.
 * Sets GPRIO_CLASS / GPRIO_PRIORITY and preloads the shim of this machine's GPU, found next to
 * the gprio binary or named by an environment variable: libgprio-cuda.so (GPRIO_SHIM) unless the
 * machine has /dev/kfd and no /dev/nvidiactl, and libgprio-hsa.so (GPRIO_HSA_SHIM, AMD's
 * in-process agent) when it has /dev/kfd. Without gpriod running, the shims pass everything
 * through. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../backends/nvidia/shm.h"
#include "../daemon/evloop.h"
#include "../sim/sim.h"
#include "gprio/priority.h"
#include "gprio/queue.h"

/* The shim: named by the environment variable, else next to the gprio binary (a build tree),
 * else where `cmake --install` and the package put it (BIN/../lib/gprio/). */
int gprio_find_shim(const char *var, const char *file, char *out, size_t len)
{
	const char *env = getenv(var);
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) == 0 ? 0 : -ENOENT;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	const char *where[] = {"%s/%s", "%s/../lib/gprio/%s"};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		char cand[PATH_MAX];
		int m = snprintf(cand, sizeof(cand), where[i], self, file);
		/* canonical (no "bin/.."): it is what LD_PRELOAD will show */
		if (m > 0 && (size_t)m < sizeof(cand) && access(cand, R_OK) == 0 &&
		    realpath(cand, out) && strlen(out) < len)
			return 0;
	}
	return -ENOENT;
}

/* Is a gpriod serving the control segment at `path` (its heartbeat fresh)? If it runs an MPS
 * control daemon (gpriod --mps on), its pipe directory goes to `mps` ("" otherwise) and the
 * offline clients' share of SMs to `sm` (0: no limit). */
static bool gpriod_alive(const char *path, char *mps, size_t mpslen, unsigned *sm)
{
	mps[0] = '\0';
	*sm = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct gprio_shm *s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return false;
	bool alive = s->magic == GPRIO_SHM_MAGIC && s->version == GPRIO_SHM_VERSION &&
		     atomic_load(&s->heartbeat_ns) + GPRIO_SHM_STALE_NS > gprio_mono_now();
	/* written once before gpriod published the segment */
	if (alive && gprio_shm_mps_pipe(s, mps, mpslen)) {
		unsigned v = atomic_load(&s->mps_offline_sm);
		*sm = v < 100 ? v : 0;
	}
	munmap(s, sizeof(*s));
	return alive;
}

int gprio_cmd_run(int argc, char **argv)
{
	const char *klass = NULL, *prio = NULL, *weight = NULL, *group = NULL;
	char slo_us[24] = "";
	bool hint = false;
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--online") == 0 || strcmp(argv[i], "--offline") == 0) {
			if (klass) {
				fprintf(stderr, "gprio run: give --online or --offline once\n");
				return 2;
			}
			klass = argv[i] + 2;
		} else if (strcmp(argv[i], "--priority") == 0 && i + 1 < argc) {
			prio = argv[++i];
			char *end;
			long v = strtol(prio, &end, 10);
			if (*end || !*prio || !gprio_priority_valid(v)) {
				fprintf(stderr, "gprio run: --priority: expected 0..15, got '%s'\n",
					prio);
				return 2;
			}
		} else if (strcmp(argv[i], "--weight") == 0 && i + 1 < argc) {
			weight = argv[++i];
			char *end;
			long v = strtol(weight, &end, 10);
			if (*end || !*weight || v < 1 || v > GPRIO_WEIGHT_MAX) {
				fprintf(stderr, "gprio run: --weight: expected 1..%d, got '%s'\n",
					GPRIO_WEIGHT_MAX, weight);
				return 2;
			}
		} else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
			group = argv[++i];
			if (!gprio_group_name_ok(group, strlen(group) + 1)) {
				fprintf(stderr,
					"gprio run: --group: expected 1-31 of letters, digits, . _ "
					": "
					"-, got '%s'\n",
					group);
				return 2;
			}
		} else if (strcmp(argv[i], "--hint") == 0) {
			hint = true;
		} else if (strcmp(argv[i], "--slo") == 0 && i + 1 < argc) {
			gprio_ns ns;
			if (gprio_parse_duration(argv[++i], &ns) || ns < 10 * GPRIO_NS_PER_US ||
			    ns > 3600 * GPRIO_NS_PER_S) {
				fprintf(stderr,
					"gprio run: --slo: expected 10us..1h (e.g. 20ms), got "
					"'%s'\n",
					argv[i]);
				return 2;
			}
			snprintf(slo_us, sizeof(slo_us), "%llu",
				 (unsigned long long)(ns / GPRIO_NS_PER_US));
		} else {
			break;
		}
	}
	if (!klass || i >= argc) {
		fprintf(stderr, "usage: gprio run --online|--offline [--priority N] [--weight N] "
				"[--slo TIME] [--group NAME] [--hint] -- CMD [ARGS...]\n");
		return 2;
	}
	if (hint && strcmp(klass, "online") != 0) {
		fprintf(stderr, "gprio run: --hint: only online programs may hint (got --%s)\n",
			klass);
		return 2;
	}
	bool amd = access("/dev/kfd", F_OK) == 0;
	bool nv = !amd || access("/dev/nvidiactl", F_OK) == 0;
	char cuda[PATH_MAX], hsa[PATH_MAX];
	if (nv && gprio_find_shim("GPRIO_SHIM", "libgprio-cuda.so", cuda, sizeof(cuda))) {
		fprintf(stderr,
			"gprio run: libgprio-cuda.so not found next to gprio or in ../lib/gprio "
			"(set GPRIO_SHIM)\n");
		return 1;
	}
	if (amd && gprio_find_shim("GPRIO_HSA_SHIM", "libgprio-hsa.so", hsa, sizeof(hsa))) {
		fprintf(stderr, "gprio run: libgprio-hsa.so not found next to gprio (set "
				"GPRIO_HSA_SHIM)\n");
		return 1;
	}
	const char *pre = getenv("LD_PRELOAD");
	char buf[3 * PATH_MAX + 2];
	snprintf(buf, sizeof(buf), "%s%s%s%s%s", nv ? cuda : "", nv && amd ? ":" : "",
		 amd ? hsa : "", pre && *pre ? ":" : "", pre && *pre ? pre : "");
	setenv("LD_PRELOAD", buf, 1);
	setenv("GPRIO_CLASS", klass, 1);
	if (prio)
		setenv("GPRIO_PRIORITY", prio, 1);
	/* priorities order the GPU, classes only name them: an offline job above an online one
	 * (default 11), or an online one below offline work, is almost always a mistake */
	long pv = prio ? strtol(prio, NULL, 10) : -1;
	if (pv >= 0 && strcmp(klass, "offline") == 0 &&
	    pv >= gprio_class_default_priority(GPRIO_CLASS_ONLINE))
		fprintf(stderr,
			"gprio run: warning: offline at priority %ld holds back online work at "
			"priority %d and below\n",
			pv, gprio_class_default_priority(GPRIO_CLASS_ONLINE));
	else if (pv >= 0 && strcmp(klass, "online") == 0 &&
		 pv <= gprio_class_default_priority(GPRIO_CLASS_OFFLINE))
		fprintf(stderr,
			"gprio run: warning: online at priority %ld is not above offline work "
			"(priority %d): it will not preempt it\n",
			pv, gprio_class_default_priority(GPRIO_CLASS_OFFLINE));
	if (weight)
		setenv("GPRIO_WEIGHT", weight, 1);
	/* the program's gprio_hint() calls place holds (include/gprio/hint.h); off otherwise */
	setenv("GPRIO_HINT", hint ? "1" : "0", 1);
	if (slo_us[0])
		setenv("GPRIO_SLO_US", slo_us, 1);
	/* every process this command starts is one job (a launcher and its ranks), held as one
	 * group, unless an outer gprio run or the user named the group */
	char own[32];
	if (group)
		setenv("GPRIO_GROUP", group, 1);
	else if (!getenv("GPRIO_GROUP") || !*getenv("GPRIO_GROUP")) {
		snprintf(own, sizeof(own), "run-%ld", (long)getpid());
		setenv("GPRIO_GROUP", own, 1);
	}
	/* never silent: without gpriod nothing is enforced (the shim passes everything through,
	 * and registers if gpriod starts later) */
	const char *shm = getenv("GPRIO_SHM");
	shm = shm && *shm ? shm : GPRIO_SHM_DEFAULT_PATH;
	char mps[sizeof(((struct gprio_shm *)0)->mps_pipe)];
	unsigned sm = 0;
	if (nv && !gpriod_alive(shm, mps, sizeof(mps), &sm))
		fprintf(stderr,
			"gprio run: no gpriod serving %s: %s runs unmanaged until one starts\n",
			shm, argv[i]);
	/* gpriod runs an MPS control daemon: the program becomes its client (unless it names
	 * one itself), and the shim sets an offline client's priority below normal */
	const char *own_mps = getenv("CUDA_MPS_PIPE_DIRECTORY");
	if (nv && mps[0] && (!own_mps || !*own_mps)) {
		setenv("CUDA_MPS_PIPE_DIRECTORY", mps, 1);
		/* and an offline client gets its share of SMs (gpriod --mps-offline-sm), so online
		 * clients always find SMs free instead of waiting for offline blocks to end */
		if (sm && strcmp(klass, "offline") == 0) {
			char pct[8];
			snprintf(pct, sizeof(pct), "%u", sm);
			setenv("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", pct, 0);
		}
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "gprio run: %s: %s\n", argv[i], strerror(errno));
	return 127;
}
