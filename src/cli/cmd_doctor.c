/* gprio doctor: what this machine offers each backend, with a clear verdict. */
#include <stdio.h>
#include <string.h>

#include "../backends/amdkfd/doctor.h"
#include "cmd.h"

int gprio_cmd_doctor(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: gprio doctor\n");
		return 2;
	}
	struct gprio_kfd_probe p;
	struct gprio_kfd_verdict v;
	char report[2048];
	gprio_kfd_probe_machine(&p);
	gprio_kfd_verdict(&p, &v, report, sizeof(report));
	printf("AMD (amdkfd backend)\n");
	for (char *l = strtok(report, "\n"); l; l = strtok(NULL, "\n"))
		printf("  %s\n", l);
	printf("verdict: %s\n", v.summary);
	return 0;
}
