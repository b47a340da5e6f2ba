#include "gprio/priority.h"

#include "gprio/errno.h"

enum gprio_pipe_prio gprio_pipe_priority(int prio)
{
	if (prio >= 11)
		return GPRIO_PIPE_HIGH;
	if (prio >= 7)
		return GPRIO_PIPE_MEDIUM;
	return GPRIO_PIPE_LOW;
}

int gprio_class_default_priority(enum gprio_class c)
{
	return c == GPRIO_CLASS_ONLINE ? 11 : 0;
}

enum gprio_class gprio_class_of_priority(int prio)
{
	return gprio_pipe_priority(prio) == GPRIO_PIPE_HIGH ? GPRIO_CLASS_ONLINE
							    : GPRIO_CLASS_OFFLINE;
}

const char *gprio_class_name(enum gprio_class c)
{
	return c == GPRIO_CLASS_ONLINE ? "online" : "offline";
}

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

int gprio_class_parse(const char *s, enum gprio_class *out)
{
	if (s && same(s, "online")) {
		*out = GPRIO_CLASS_ONLINE;
		return 0;
	}
	if (s && same(s, "offline")) {
		*out = GPRIO_CLASS_OFFLINE;
		return 0;
	}
	return -EINVAL;
}

bool gprio_priority_valid(long prio)
{
	return prio >= GPRIO_PRIO_MIN && prio <= GPRIO_PRIO_MAX;
}
