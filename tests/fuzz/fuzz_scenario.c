/* libFuzzer target: any bytes as a scenario file. Parsing must end in a scenario or an error
 * naming the place, never a crash, a leak or undefined behaviour; a scenario that parses is run
 * as `gprio sim` runs it (its duration cut to 100 ms, so that a run stays short: alone,
 * together, priority) and both reports are written, and must end the same way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct sim_scenario sc;
	char err[512];
	int rc = sim_scenario_parse(&sc, text, "fuzz", err, sizeof(err));
	free(text);
	if (rc != 0)
		return 0;
	if (sim_scenario_finalize(&sc, NULL, err, sizeof(err)) == 0) {
		if (sc.duration > 100 * GPRIO_NS_PER_MS)
			sc.duration = 100 * GPRIO_NS_PER_MS;
		if (sc.warmup >= sc.duration)
			sc.warmup = sc.duration / 2;
		/* as `gprio sim`: the baselines and a policy, then both reports */
		struct sim_variant v;
		static struct sim_compare cmp;
		if (sim_variant_parse("priority", &v) == 0 &&
		    sim_compare_run(&sc, &v, 1, &cmp, err, sizeof(err)) == 0) {
			FILE *f = fopen("/dev/null", "w");
			if (f) {
				sim_report_text(f, &sc, &cmp);
				sim_report_json(f, &sc, &cmp);
				fclose(f);
			}
		}
	}
	sim_scenario_free(&sc);
	return 0;
}
