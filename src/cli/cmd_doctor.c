/* gprio doctor: what this machine offers each backend, with a clear verdict. */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../backends/amdkfd/doctor.h"
#include "../backends/amdkfd/selftest_linux.h"
#include "../backends/nvidia/shm.h"
#include "../daemon/evloop.h"
#include "cmd.h"

/* NVIDIA: the driver, the device node, libcuda, the shim (loaded here, passive: no GPRIO_CLASS),
 * MPS, and gpriod. Returns whether the nvidia backend can work here. */
static bool nvidia(void)
{
	printf("NVIDIA (nvidia backend)\n");
	char line[256] = "";
	FILE *f = fopen("/proc/driver/nvidia/version", "r");
	bool driver = f && fgets(line, sizeof(line), f);
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	printf("  driver: %s\n",
	       driver ? line : "none loaded (/proc/driver/nvidia/version missing)");
	bool node = access("/dev/nvidiactl", R_OK | W_OK) == 0;
	printf("  /dev/nvidiactl: %s\n", node ? "usable" : "missing or not ours to open");
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	printf("  libcuda.so.1: %s\n", h ? "loads" : "not found");
	if (h)
		dlclose(h);
	char shim[PATH_MAX];
	bool shim_ok = false;
	if (gprio_find_shim("GPRIO_SHIM", "libgprio-cuda.so", shim, sizeof(shim)) == 0) {
		void *s = dlopen(shim, RTLD_NOW | RTLD_LOCAL);
		shim_ok = s != NULL;
		printf("  shim: %s %s\n", shim, shim_ok ? "(loads)" : dlerror());
		if (s)
			dlclose(s);
	} else {
		printf("  shim: libgprio-cuda.so not found (next to gprio, in ../lib/gprio, or "
		       "$GPRIO_SHIM)\n");
	}
	const char *dir = getenv("CUDA_MPS_PIPE_DIRECTORY");
	char mps[512];
	snprintf(mps, sizeof(mps), "%s/control", dir && *dir ? dir : "/tmp/nvidia-mps");
	printf("  MPS: %s\n",
	       access(mps, F_OK) == 0
		       ? "a control daemon runs: offline clients get priority 1 (block "
			 "level only)"
		       : "no control daemon: TSG timeslices and launch gating");
	/* gpriod --mps on starts nvidia-cuda-mps-control from PATH */
	bool mps_bin = false;
	const char *path = getenv("PATH");
	for (const char *p = path ? path : ""; p && *p && !mps_bin;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char cand[512];
		int n = snprintf(cand, sizeof(cand), "%.*s/nvidia-cuda-mps-control", (int)len, p);
		mps_bin = len && n > 0 && (size_t)n < sizeof(cand) && access(cand, X_OK) == 0;
		p = end ? end + 1 : NULL;
	}
	printf("  gpriod --mps on: %s\n",
	       mps_bin ? "possible (nvidia-cuda-mps-control on PATH)"
		       : "not possible: nvidia-cuda-mps-control is not on PATH");
	const char *seg = getenv("GPRIO_SHM");
	seg = seg && *seg ? seg : GPRIO_SHM_DEFAULT_PATH;
	int fd = open(seg, O_RDONLY | O_CLOEXEC);
	const struct gprio_shm *m = MAP_FAILED;
	if (fd >= 0) {
		m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
	}
	bool alive = m != MAP_FAILED && m->magic == GPRIO_SHM_MAGIC &&
		     m->version == GPRIO_SHM_VERSION &&
		     atomic_load(&m->heartbeat_ns) + GPRIO_SHM_STALE_NS > gprio_mono_now();
	if (m != MAP_FAILED)
		munmap((void *)m, sizeof(*m));
	printf("  gpriod: %s (%s)\n", alive ? "running" : "not running", seg);
	printf("  TSG timeslices: checked when a program runs (gprio status shows tsg-timeslice or "
	       "tsg-REFUSED)\n");
	bool usable = driver && node && h && shim_ok;
	printf("verdict: %s\n",
	       usable    ? (alive ? "the nvidia backend works here"
				  : "the nvidia backend can work here: start gpriod")
	       : !driver ? "no NVIDIA GPU driver here"
	       : !node   ? "the driver is loaded but /dev/nvidiactl cannot be opened"
	       : !h      ? "no libcuda.so.1: install the NVIDIA driver's user-space libraries"
			 : "the shim cannot be loaded (see above)");
	return usable;
}

/* The HIP test program's source: $GPRIO_SELFTEST_SRC, else where the package puts it
 * (BIN/../share/gprio), else in the source tree beside a build directory. */
static void selftest_src(char *out, size_t len)
{
	const char *e = getenv("GPRIO_SELFTEST_SRC");
	if (e && *e) {
		snprintf(out, len, "%s", e);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	const char *where[] = {"%s/../share/gprio/selftest_app.hip",
			       "%s/../src/backends/amdkfd/selftest_app.hip"};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(out, len, where[i], self);
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(out, len, "selftest_app.hip (not found: set GPRIO_SELFTEST_SRC)");
}

int gprio_cmd_doctor(int argc, char **argv)
{
	const char *app = NULL;
	bool selftest = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--selftest") == 0)
			selftest = true;
		else if (strcmp(argv[i], "--app") == 0 && i + 1 < argc)
			app = argv[++i];
		else if (strncmp(argv[i], "--app=", 6) == 0)
			app = argv[i] + 6;
		else {
			fprintf(stderr,
				"gprio doctor: unknown argument '%s' (usage: gprio doctor "
				"[--selftest [--app CMD]])\n",
				argv[i]);
			return 2;
		}
	}
	if (app && !selftest) {
		fprintf(stderr, "gprio doctor: --app goes with --selftest\n");
		return 2;
	}
	if (selftest) {
		char src[PATH_MAX + 64];
		selftest_src(src, sizeof(src));
		return gprio_selftest_linux(app, src, stdout);
	}
	struct gprio_kfd_probe p;
	struct gprio_kfd_verdict v;
	char report[2048];
	gprio_kfd_probe_machine(&p);
	gprio_kfd_verdict(&p, &v, report, sizeof(report));
	nvidia();
	printf("\nAMD (amdkfd backend)\n");
	for (char *l = strtok(report, "\n"); l; l = strtok(NULL, "\n"))
		printf("  %s\n", l);
	printf("verdict: %s\n", v.summary);
	return 0;
}
