#include "loglimit.h"

bool gprio_loglimit_take(struct gprio_loglimit *l, gprio_ns now, unsigned long *dropped)
{
	*dropped = 0;
	if (!l->start || now - l->start >= l->period) {
		l->start = now ? now : 1;
		l->used = 0;
	}
	if (l->used >= l->burst) {
		l->dropped++;
		return false;
	}
	l->used++;
	*dropped = l->dropped;
	l->dropped = 0;
	return true;
}
