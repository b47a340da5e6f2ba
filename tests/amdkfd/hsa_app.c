/* A ROCm-like program for the HSA shim test: creates two queues, says "ready", waits for a line
 * on stdin, destroys them, and exits 0 when the runtime saw every call.
 * HSA_APP_RING=N: after "ready", N submissions (a doorbell store on its first queue) 3 ms
 * apart, then "rang" on stdout.
 * HSA_APP_BENCH=N: instead, time N signal stores to a doorbell and to another signal and print
 * one JSON line (ns per store; the shim's share is the difference with and without it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
	uint64_t handle;
} hsa_agent_t;
typedef struct {
	uint64_t handle;
} hsa_signal_t;
typedef struct {
	uint32_t type, features;
	void *base_address;
	hsa_signal_t doorbell_signal;
	uint32_t size, reserved1;
	uint64_t id;
} hsa_queue_t;
int hsa_queue_create(hsa_agent_t agent, uint32_t size, uint32_t type,
		     void (*cb)(int, hsa_queue_t *, void *), void *data, uint32_t priv,
		     uint32_t group, hsa_queue_t **queue);
int hsa_queue_destroy(hsa_queue_t *queue);
void hsa_signal_store_screlease(hsa_signal_t s, int64_t v);
extern int fake_hsa_creates, fake_hsa_destroys;
extern long fake_hsa_stores;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double per_store(hsa_signal_t s, long n)
{
	double t0 = now_ns();
	for (long i = 0; i < n; i++)
		hsa_signal_store_screlease(s, i);
	return (now_ns() - t0) / (double)n;
}

int main(void)
{
	hsa_agent_t gpu = {1};
	hsa_queue_t *q[2];
	for (int i = 0; i < 2; i++)
		if (hsa_queue_create(gpu, 4096, 0, NULL, NULL, 0, 0, &q[i]) != 0)
			return 2;
	const char *b = getenv("HSA_APP_BENCH");
	if (b) {
		long n = atol(b);
		hsa_signal_t other = {7};
		per_store(q[0]->doorbell_signal, n / 10); /* warm */
		double bell = per_store(q[0]->doorbell_signal, n);
		double plain = per_store(other, n);
		printf("{\"stores\": %ld, \"doorbell_ns\": %.1f, \"other_signal_ns\": %.1f}\n", n,
		       bell, plain);
		return 0;
	}
	printf("ready\n");
	fflush(stdout);
	const char *r = getenv("HSA_APP_RING");
	if (r) {
		struct timespec gap = {0, 3000000};
		for (int i = 0; i < atoi(r); i++) {
			hsa_signal_store_screlease(q[0]->doorbell_signal, i);
			nanosleep(&gap, NULL);
		}
		printf("rang\n");
		fflush(stdout);
	}
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 3;
	for (int i = 0; i < 2; i++)
		if (hsa_queue_destroy(q[i]) != 0)
			return 4;
	return fake_hsa_creates == 2 && fake_hsa_destroys == 2 ? 0 : 5;
}
