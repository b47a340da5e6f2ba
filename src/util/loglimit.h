/* A log-line budget for what untrusted users make a daemon say: at most `burst` lines in each
 * `period`; the lines past it are counted, and the first line of a later period reports how
 * many were dropped. Pure: the caller passes the time. */
#ifndef GPRIO_LOGLIMIT_H
#define GPRIO_LOGLIMIT_H

#include <stdbool.h>

#include "gprio/types.h"

struct gprio_loglimit {
	unsigned burst;        /* lines allowed per period */
	gprio_ns period;       /* the budget's period */
	gprio_ns start;        /* the current period began (0: none yet) */
	unsigned used;         /* lines printed in it */
	unsigned long dropped; /* lines dropped since the last report */
};

/* May a line be printed at `now`? When one may and lines were dropped before, *dropped says
 * how many (to report first; reset), else 0. */
bool gprio_loglimit_take(struct gprio_loglimit *l, gprio_ns now, unsigned long *dropped);

#endif
