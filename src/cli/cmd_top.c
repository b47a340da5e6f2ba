/* gprio top: a live view of the processes under gprio, in the habit of `nvidia-smi dmon`: every
 * interval, one line per process with its rates over the interval (launches, gated launches,
 * time waited at the gate), its class, priority, mechanisms, user and command. Reads gpriod's
 * control segment read-only; needs no privilege. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../backends/nvidia/shm.h"
#include "../daemon/evloop.h"
#include "../sim/sim.h"
#include "cmd.h"
#include "gprio/mechanism.h"

struct last {
	uint32_t pid;
	uint64_t launches, gated, wait_ns;
};

static void comm_of(uint32_t pid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(out, (int)len, f))
		snprintf(out, len, "?");
	else
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

static void user_of(uint32_t uid, char *out, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "%u", uid);
}

int gprio_cmd_top(int argc, char **argv)
{
	const char *path = getenv("GPRIO_SHM");
	path = path && *path ? path : GPRIO_SHM_DEFAULT_PATH;
	gprio_ns interval = GPRIO_NS_PER_S;
	long count = -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--shm") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			if (gprio_parse_duration(argv[++i], &interval) ||
			    interval < 10 * GPRIO_NS_PER_MS || interval > 3600 * GPRIO_NS_PER_S) {
				fprintf(stderr,
					"gprio top: --interval: expected 10ms..1h, got '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			char *end;
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1) {
				fprintf(stderr,
					"gprio top: --count: expected 1 or more, got '%s'\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "gprio top: %s: unknown option (gprio top --help)\n",
				argv[i]);
			return 2;
		}
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "gprio top: %s: %s (is gpriod running?)\n", path, strerror(errno));
		return 1;
	}
	struct stat st;
	const struct gprio_shm *s = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(*s))
		s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED || s->magic != GPRIO_SHM_MAGIC || s->version != GPRIO_SHM_VERSION) {
		fprintf(stderr, "gprio top: %s: not a gprio segment of version %u\n", path,
			GPRIO_SHM_VERSION);
		return 1;
	}
	static struct last last[GPRIO_SHM_PROCS];
	double secs = (double)interval / 1e9;
	for (long n = 0; count < 0 || n <= count; n++) {
		if (n > 0) {
			struct timespec ts = {(time_t)(interval / GPRIO_NS_PER_S),
					      (long)(interval % GPRIO_NS_PER_S)};
			nanosleep(&ts, NULL);
		}
		gprio_ns hb = atomic_load(&s->heartbeat_ns);
		bool alive = hb + GPRIO_SHM_STALE_NS > gprio_mono_now();
		if (n == 0) {
			printf("# %-7s %-8s %-8s %4s %-6s %10s %10s %10s %-10s %-11s %6s  %s\n",
			       "pid", "user", "class", "prio", "gate", "launch/s", "gated/s",
			       "wait ms/s", "gpu", "mechanism", "unfin", "command");
		} else if (!alive) {
			printf("# gpriod not running: shims pass everything through\n");
		}
		for (int i = 0; i < GPRIO_SHM_PROCS; i++) {
			const struct gprio_shm_proc *r = &s->procs[i];
			uint32_t pid = atomic_load(&r->pid);
			if (!pid)
				continue;
			const struct gprio_shm_stats *c = &s->copy[i];
			uint64_t l = atomic_load(&c->launches), g = atomic_load(&c->gated_launches),
				 w = atomic_load(&c->gate_wait_ns);
			bool same = last[i].pid == pid;
			if (n > 0) {
				char user[32], comm[32];
				user_of(atomic_load(&r->uid), user, sizeof(user));
				comm_of(pid, comm, sizeof(comm));
				uint32_t mech = atomic_load(&c->mechanisms);
				/* its (first) GPU, the mechanism gpriod chose there, its work
				 * submitted and not finished */
				char gpu[16] = "-", unf[24] = "-";
				const char *gm = atomic_load(&s->mech_auto) ? "-" : "fixed";
				if (atomic_load(&c->ngpus)) {
					uint32_t pci = atomic_load(&c->gpus[0]);
					snprintf(gpu, sizeof(gpu), GPRIO_PCI_FMT,
						 GPRIO_PCI_ARGS(pci));
					for (int gr = 0;
					     gr < GPRIO_SHM_GPUS && atomic_load(&s->mech_auto);
					     gr++)
						if (atomic_load(&s->gpus[gr].pci) == pci)
							gm = gprio_mech_name(
								(enum gprio_mech)atomic_load(
									&s->gpus[gr].mech));
				}
				if (mech & GPRIO_MECH_COMPLETION)
					snprintf(unf, sizeof(unf), "%llu",
						 (unsigned long long)(atomic_load(&c->submitted) -
								      atomic_load(&c->completed)));
				printf("  %-7u %-8.8s %-8s %4u %-6s %10.1f %10.1f %10.3f %-10s "
				       "%-11s "
				       "%6s  %s\n",
				       pid, user,
				       gprio_class_name((enum gprio_class)atomic_load(&r->klass)),
				       atomic_load(&r->priority),
				       atomic_load(&c->waiting)   ? "held"
				       : mech & GPRIO_MECH_GATING ? "open"
								  : "-",
				       same ? (double)(l - last[i].launches) / secs : 0.0,
				       same ? (double)(g - last[i].gated) / secs : 0.0,
				       same ? (double)(w - last[i].wait_ns) / 1e6 / secs : 0.0, gpu,
				       gm, unf, comm);
			}
			last[i] = (struct last){pid, l, g, w};
		}
		fflush(stdout);
	}
	munmap((void *)s, sizeof(*s));
	return 0;
}
