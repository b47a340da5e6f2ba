/* Durations as people write them, one syntax for every command, flag, configuration file and
 * scenario: a number and a unit, ns, us, ms or s ("20ms", "1.5s", "500us"); a bare 0 needs
 * none. Outside the core: it needs strtod. */
#ifndef GPRIO_UTIL_DURATION_H
#define GPRIO_UTIL_DURATION_H

#include "gprio/types.h"

/* 0, or -EINVAL for anything else (no unit, a negative or non-finite number, over 1e18 ns). */
int gprio_parse_duration(const char *s, gprio_ns *out);
/* The same, within lo..hi. */
int gprio_parse_duration_in(const char *s, gprio_ns lo, gprio_ns hi, gprio_ns *out);

#endif
