/* Simulator speed: one simulated hour (default) of a scenario with ~100 queues, on one core.
 * Prints JSON with events/s. Target: an hour in under 10 s of wall time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "../src/sim/sim.h"
#include "../src/sim/sim_kfd.h"

/* The first line of `file` that starts with `key`, after its ':' (or the whole first line when
 * key is NULL), into buf; "?" when unreadable. */
static void read_line(const char *file, const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "?");
	FILE *f = fopen(file, "r");
	char line[256];
	while (f && fgets(line, sizeof(line), f)) {
		if (key && strncmp(line, key, strlen(key)) != 0)
			continue;
		const char *v = key ? strchr(line, ':') : line;
		if (!v)
			continue;
		v += key ? 1 : 0;
		while (*v == ' ' || *v == '\t')
			v++;
		snprintf(buf, len, "%s", v);
		buf[strcspn(buf, "\n\"")] = '\0';
		break;
	}
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "examples/mi308x-oversubscribed.scn";
	const char *dur = argc > 2 ? argv[2] : "3600s";
	static struct sim_scenario sc;
	static struct sim_result r;
	char err[SIM_ERR_LEN];
	sim_kfd_register();
	if (sim_scenario_load(&sc, path, err, sizeof(err)) ||
	    sim_scenario_finalize(&sc, NULL, err, sizeof(err))) {
		fprintf(stderr, "bench_sim: %s\n", err);
		return 1;
	}
	gprio_ns d;
	if (gprio_parse_duration(dur, &d) || d <= sc.warmup) {
		fprintf(stderr, "bench_sim: bad duration '%s'\n", dur);
		return 2;
	}
	sc.duration = d;
	uint32_t nq = 0;
	for (uint32_t i = 0; i < sc.nprocs; i++)
		nq += sc.procs[i].queues;
	if (sim_run(&sc, &r, err, sizeof(err))) {
		fprintf(stderr, "bench_sim: %s\n", err);
		return 1;
	}
	struct utsname u;
	uname(&u);
	/* what the figure depends on: the CPU and how busy the machine was while it ran */
	char cpu[128], load[128];
	read_line("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	read_line("/proc/loadavg", NULL, load, sizeof(load));
	time_t now = time(NULL);
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("{\"bench\": \"sim_speed\", \"command\": \"bench_sim %s %s\", \"machine\": \"%s "
	       "%s\", "
	       "\"date\": \"%s\", \"scenario\": \"%s\", \"policy\": \"%s\", \"queues\": %u, "
	       "\"simulated_s\": %.1f, \"wall_s\": %.3f, \"events\": %llu, \"events_per_s\": %.0f, "
	       "\"sim_seconds_per_wall_second\": %.1f, \"work_lost\": %llu, \"target_wall_s\": "
	       "10, \"cpu\": \"%s\", \"loadavg_after\": \"%s\"}\n",
	       path, dur, u.nodename, u.machine, date, path, r.policy, nq, (double)d / 1e9,
	       r.wall_s, (unsigned long long)r.events, (double)r.events / r.wall_s,
	       (double)d / 1e9 / r.wall_s, (unsigned long long)r.lost, cpu, load);
	sim_scenario_free(&sc);
	return 0;
}
