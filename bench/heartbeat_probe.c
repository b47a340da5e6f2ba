/* How fresh gpriod's heartbeat stays: read the control segment every 200 us for a while and
 * report the largest age seen (the shims fail open at 100 ms). Used by bench/bench_heartbeat.sh
 * with every core busy.   heartbeat_probe SEGMENT SECONDS */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../src/backends/nvidia/shm.h"

static gprio_ns now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gprio_ns)ts.tv_sec * GPRIO_NS_PER_S + (gprio_ns)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: heartbeat_probe SEGMENT SECONDS\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	const struct gprio_shm *s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	gprio_ns end = now_ns() + (gprio_ns)(atof(argv[2]) * 1e9), worst = 0;
	unsigned long samples = 0, stale = 0;
	while (now_ns() < end) {
		gprio_ns t = now_ns(), hb = atomic_load(&s->heartbeat_ns);
		gprio_ns age = t > hb ? t - hb : 0;
		if (age > worst)
			worst = age;
		stale += age >= GPRIO_SHM_STALE_NS;
		samples++;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	printf("{\"samples\": %lu, \"max_age_ms\": %.3f, \"stale_samples\": %lu}\n", samples,
	       (double)worst / 1e6, stale);
	return 0;
}
