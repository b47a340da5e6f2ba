/* gprio: the command line. Subcommands dispatch to their own modules (sim here; run, status and
 * set talk to gpriod). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gprio COMMAND [ARGS]\n"
		   "  sim [SCENARIO] [--policy P | --compare P1,P2,...] [--profile X] [--seed N]\n"
		   "      [--duration T] [--poll-ms N] [--events on|off] [--preempt "
		   "device-wide|per-queue]\n"
		   "      [--json]          simulate a scenario (default: the embedded MI308X "
		   "example)\n"
		   "  profiles [NAME]        list simulator profiles and their parameters\n"
		   "  run --online|--offline [--priority N] -- CMD...\n"
		   "                         run an unmodified CUDA program under gprio (needs "
		   "gpriod)\n"
		   "  status [--shm PATH]    gpriod's state and every process under gprio\n"
		   "  set PID [--online|--offline] [--priority N] [--shm PATH]\n"
		   "                         change a running process (gpriod checks who asks)\n"
		   "  doctor                 what this machine offers the AMD backend (KFD, HWS, "
		   "CWSR)\n"
		   "  help                   this text\n"
		   "  --version              the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("gprio %s\n", GPRIO_VERSION);
		return 0;
	}
	if (strcmp(cmd, "sim") == 0)
		return gprio_cmd_sim(argc - 1, argv + 1);
	if (strcmp(cmd, "doctor") == 0)
		return gprio_cmd_doctor(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0)
		return gprio_cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "set") == 0)
		return gprio_cmd_set(argc - 1, argv + 1);
	if (strcmp(cmd, "run") == 0)
		return gprio_cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "profiles") == 0)
		return gprio_cmd_profiles(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "gprio: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
