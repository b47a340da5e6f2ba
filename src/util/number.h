/* Numbers given on a command line or in a configuration file. */
#ifndef GPRIO_UTIL_NUMBER_H
#define GPRIO_UTIL_NUMBER_H

#include <stdbool.h>

/* The whole of s as a number within lo..hi (NaN and trailing text refused). */
bool gprio_parse_number(const char *s, double lo, double hi, double *out);

#endif
