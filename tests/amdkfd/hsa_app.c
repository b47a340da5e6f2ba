/* A ROCm-like program for the HSA shim test: creates two queues, says "ready", waits for a line
 * on stdin, destroys them, and exits 0 when the runtime saw every call. */
#include <stdint.h>
#include <stdio.h>

typedef struct {
	uint64_t handle;
} hsa_agent_t;
typedef struct hsa_queue hsa_queue_t;
int hsa_queue_create(hsa_agent_t agent, uint32_t size, uint32_t type,
		     void (*cb)(int, hsa_queue_t *, void *), void *data, uint32_t priv,
		     uint32_t group, hsa_queue_t **queue);
int hsa_queue_destroy(hsa_queue_t *queue);
extern int fake_hsa_creates, fake_hsa_destroys;

int main(void)
{
	hsa_agent_t gpu = {1};
	hsa_queue_t *q[2];
	for (int i = 0; i < 2; i++)
		if (hsa_queue_create(gpu, 4096, 0, NULL, NULL, 0, 0, &q[i]) != 0)
			return 2;
	printf("ready\n");
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 3;
	for (int i = 0; i < 2; i++)
		if (hsa_queue_destroy(q[i]) != 0)
			return 4;
	return fake_hsa_creates == 2 && fake_hsa_destroys == 2 ? 0 : 5;
}
