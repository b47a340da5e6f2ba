/* gprio status: read gpriod's control segment (read-only) and show the daemon, its policy, and
 * every registered process with its class, priority, mechanisms and gating counters (as of
 * gpriod's last tick). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../backends/nvidia/nvidia_backend.h"
#include "cmd.h"
#include "../backends/nvidia/ctl.h"
#include "gprio/policy.h"
#include "gprio/priority.h"
#include "../backends/nvidia/shm.h"

/* Does anything listen on gpriod's control socket? (A killed gpriod leaves a fresh-looking
 * heartbeat for up to 100 ms; its socket refuses at once.) */
static bool socket_alive(const char *path)
{
	struct sockaddr_un a;
	if (gprio_ctl_addr(path, &a) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int gprio_cmd_status(int argc, char **argv)
{
	const char *path = getenv("GPRIO_SHM");
	if (!path || !*path)
		path = GPRIO_SHM_DEFAULT_PATH;
	if (argc > 2 && strcmp(argv[1], "--shm") == 0)
		path = argv[2];
	else if (argc > 1) {
		fprintf(stderr, "usage: gprio status [--shm PATH]\n");
		return 2;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "gprio status: %s: %s (is gpriod running?)\n", path,
			strerror(errno));
		return 1;
	}
	struct stat st;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct gprio_shm))
		m = mmap(NULL, sizeof(struct gprio_shm), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "gprio status: %s: not a gprio segment (size %lld)\n", path,
			(long long)st.st_size);
		return 1;
	}
	struct gprio_shm *s = m;
	if (s->magic != GPRIO_SHM_MAGIC || s->version != GPRIO_SHM_VERSION) {
		fprintf(stderr, "gprio status: %s: not a gprio segment of version %u\n", path,
			GPRIO_SHM_VERSION);
		munmap(m, sizeof(*s));
		return 1;
	}
	gprio_ns now = gprio_mono_now(), hb = atomic_load(&s->heartbeat_ns);
	bool alive = hb + GPRIO_SHM_STALE_NS > now && socket_alive(path);
	printf("gpriod: %s (heartbeat %s), policy %s, gating %s, hysteresis %.0f us, TSG timeslice "
	       "online %u us / offline %u us, offline in flight %u (0: unbounded)\n",
	       alive ? "running" : "NOT RUNNING: shims pass through",
	       hb ? (alive ? "fresh" : "stale") : "none",
	       gprio_policy_name(gprio_policy_at(atomic_load(&s->policy))),
	       atomic_load(&s->gating) ? "on" : "off", (double)atomic_load(&s->hysteresis_ns) / 1e3,
	       atomic_load(&s->online_timeslice_us), atomic_load(&s->offline_timeslice_us),
	       atomic_load(&s->inflight_bound));
	gprio_nv_print_procs(stdout, s);
	munmap(m, sizeof(*s));
	return 0;
}
