#include "number.h"

#include <errno.h>
#include <stdlib.h>

bool gprio_parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}
