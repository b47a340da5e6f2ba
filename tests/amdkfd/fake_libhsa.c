/* A stand-in libhsa-runtime64.so.1 for testing libgprio-hsa.so without ROCm: hsa_queue_create
 * hands out queues with distinct ring addresses and doorbell signals, hsa_queue_destroy frees
 * them; both count. hsa_signal_store_* store into a table of signal values (a doorbell store is
 * what ROCr does after writing an AQL packet). */
#include <stdint.h>
#include <stdlib.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct {
	uint64_t handle;
} hsa_agent_t;
typedef struct {
	uint32_t type, features;
	void *base_address;
	uint64_t doorbell_signal;
	uint32_t size, reserved1;
	uint64_t id;
} hsa_queue_t;

EXPORT int fake_hsa_creates, fake_hsa_destroys;
EXPORT int64_t fake_hsa_signal[64]; /* signal handle h (< 64) stores here */
EXPORT long fake_hsa_stores;

typedef struct {
	uint64_t handle;
} hsa_signal_t;
EXPORT void hsa_signal_store_relaxed(hsa_signal_t s, int64_t v);
EXPORT void hsa_signal_store_screlease(hsa_signal_t s, int64_t v);
EXPORT void hsa_signal_store_relaxed(hsa_signal_t s, int64_t v)
{
	fake_hsa_signal[s.handle % 64] = v;
	fake_hsa_stores++;
}
EXPORT void hsa_signal_store_screlease(hsa_signal_t s, int64_t v)
{
	__atomic_store_n(&fake_hsa_signal[s.handle % 64], v, __ATOMIC_RELEASE);
	fake_hsa_stores++;
}

EXPORT int hsa_queue_create(hsa_agent_t agent, uint32_t size, uint32_t type,
			    void (*cb)(int, hsa_queue_t *, void *), void *data, uint32_t priv,
			    uint32_t group, hsa_queue_t **queue);
EXPORT int hsa_queue_destroy(hsa_queue_t *queue);

EXPORT int hsa_queue_create(hsa_agent_t agent, uint32_t size, uint32_t type,
			    void (*cb)(int, hsa_queue_t *, void *), void *data, uint32_t priv,
			    uint32_t group, hsa_queue_t **queue)
{
	(void)agent, (void)type, (void)cb, (void)data, (void)priv, (void)group;
	hsa_queue_t *q = calloc(1, sizeof(*q));
	if (!q || !queue)
		return 0x1001; /* HSA_STATUS_ERROR_INVALID_ARGUMENT */
	q->size = size;
	q->base_address = calloc(1, 4096);
	q->id = (uint64_t)++fake_hsa_creates;
	q->doorbell_signal = 32 + q->id % 32; /* signals 32..63 are doorbells */
	*queue = q;
	return 0;
}

EXPORT int hsa_queue_destroy(hsa_queue_t *queue)
{
	if (!queue)
		return 0x1001;
	fake_hsa_destroys++;
	free(queue->base_address);
	free(queue);
	return 0;
}
