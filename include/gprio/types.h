/* Basic types shared by every layer. Plain C11, no I/O: builds in user space, freestanding, and
 * in a kernel module (kernel/core-check.sh). */
#ifndef GPRIO_TYPES_H
#define GPRIO_TYPES_H

#ifdef __KERNEL__ /* inside a kernel module (kernel/core-check.sh builds it so) */
#include <linux/limits.h>
#include <linux/stddef.h>
#include <linux/types.h>
#ifndef UINT64_MAX
#define UINT64_MAX U64_MAX
#endif
#ifndef UINT32_MAX
#define UINT32_MAX U32_MAX
#endif
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

/* All time inside gprio is nanoseconds on an injected clock (virtual in the simulator). */
typedef uint64_t gprio_ns;

#define GPRIO_NS_PER_US 1000ull
#define GPRIO_NS_PER_MS 1000000ull
#define GPRIO_NS_PER_S  1000000000ull
#define GPRIO_NS_NEVER  UINT64_MAX

/* Upper bound on queues one monitor tracks; sized for the origin's "80 MQDs, 288 HQDs" MI308X
 * plus headroom. Fixed so the decision path never allocates. */
#define GPRIO_MAX_QUEUES 1024

/* The injected clock: the monitor never reads time any other way. */
struct gprio_clock {
	gprio_ns (*now)(void *ctx);
	void *ctx;
};

static inline gprio_ns gprio_clock_now(const struct gprio_clock *c)
{
	return c->now(c->ctx);
}

#endif
