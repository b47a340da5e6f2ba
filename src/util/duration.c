#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int gprio_parse_duration(const char *s, gprio_ns *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	double mul;
	if (strcmp(end, "ns") == 0)
		mul = 1;
	else if (strcmp(end, "us") == 0)
		mul = 1e3;
	else if (strcmp(end, "ms") == 0)
		mul = 1e6;
	else if (strcmp(end, "s") == 0)
		mul = 1e9;
	else if (*end == '\0' && v == 0)
		mul = 0; /* a bare 0 needs no unit */
	else
		return -EINVAL;
	double ns = v * mul;
	if (ns > 1e18)
		return -EINVAL;
	*out = (gprio_ns)llround(ns);
	return 0;
}

int gprio_parse_duration_in(const char *s, gprio_ns lo, gprio_ns hi, gprio_ns *out)
{
	gprio_ns v;
	if (gprio_parse_duration(s, &v) || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}
