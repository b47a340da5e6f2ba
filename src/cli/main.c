/* gprio: the command line. A table of subcommands, each with its usage text; `gprio help CMD`
 * and `gprio CMD --help` print one, `gprio help` all of them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../util/args.h"
#include "cmd.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage; /* first line: the synopsis; then what it does and its options */
};

static const struct command commands[] = {
	{"sim", gprio_cmd_sim,
	 "sim [SCENARIO] [--policy P | --compare P1,P2,...] [--profile X] [--seed N]\n"
	 "    [--duration T] [--poll T] [--events on|off] [--preempt device-wide|per-queue] "
	 "[--json]\n"
	 "  simulate a scenario (default: the embedded MI308X example) under no scheduler and the\n"
	 "  given policies, side by side; a policy may carry :poll, :events, :stage1, :stage2, "
	 ":stage1ev, :stage2ev or\n"
	 "  :stage3\n"
	 "  (docs/scenarios.md)\n"},
	{"profiles", gprio_cmd_profiles,
	 "profiles [NAME]\n  the simulator's GPU profiles and their parameters\n"},
	{"run", gprio_cmd_run,
	 "run --online|--offline [--priority N] [--weight N] [--slo TIME] [--group NAME] [--hint] "
	 "-- CMD [ARGS...]\n"
	 "  run an unmodified GPU program under gprio (its shim preloaded); says so when no "
	 "gpriod\n"
	 "  serves it. --priority 0..15 (default 11 online, 0 offline); --weight 1..1000 (policy\n"
	 "  wfq; above 1 for trusted users only); --slo 20ms (policy slo); --group NAME: the job\n"
	 "  its processes are held as one with (default: one group per gprio run); --hint: the\n"
	 "  program's gprio_hint() calls switch the GPU to it early (include/gprio/hint.h)\n"},
	{"status", gprio_cmd_status,
	 "status [--shm PATH] [--json]\n"
	 "  gpriod's state and every process under gprio; exit 3 when gpriod is not running\n"},
	{"top", gprio_cmd_top,
	 "top [--interval 1s] [--count N] [--shm PATH]\n"
	 "  a live view: per process and interval, launches, gated launches and gate wait per\n"
	 "  second, class, priority, user and command (like nvidia-smi dmon)\n"},
	{"set", gprio_cmd_set,
	 "set PID [--online|--offline] [--priority N] [--shm PATH]\n"
	 "  change a running process's class or priority (gpriod checks who asks)\n"},
	{"doctor", gprio_cmd_doctor,
	 "doctor [--selftest [--app CMD]]\n  what this machine offers each backend: NVIDIA "
	 "(driver, "
	 "device, libcuda, the shim,\n"
	 "  MPS, gpriod) and AMD (KFD version, HWS, CWSR, privileges), with a verdict for each.\n"
	 "  --selftest (root, AMD): start a small HIP program (built with hipcc from\n"
	 "  share/gprio/selftest_app.hip, or CMD), become its KFD debugger, suspend its queue and\n"
	 "  check its read pointer stops, resume, and check it exits cleanly; each step bounded\n"
	 "  in time; exit 0 passed, 1 failed, 77 not run (no /dev/kfd, no hipcc)\n"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: gprio COMMAND [ARGS]   (gprio help COMMAND, gprio COMMAND --help)\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s", commands[i].usage);
	fprintf(f, "  help [COMMAND | --commands]\n  --version\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
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
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		if (argc > 2 && strcmp(argv[2], "--commands") == 0) { /* for shell completion */
			for (size_t i = 0; i < NCOMMANDS; i++)
				printf("%s\n", commands[i].name);
			printf("help\n");
			return 0;
		}
		const struct command *c = argc > 2 ? find(argv[2]) : NULL;
		if (argc > 2 && !c) {
			fprintf(stderr, "gprio help: unknown command '%s'\n", argv[2]);
			return 2;
		}
		if (c)
			printf("usage: gprio %s", c->usage);
		else
			usage(stdout);
		return 0;
	}
	const struct command *c = find(cmd);
	if (!c) {
		fprintf(stderr, "gprio: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (wants_help(argc, argv)) {
		printf("usage: gprio %s", c->usage);
		return 0;
	}
	/* --name=value as --name value; gprio run's program and its arguments stay as given */
	static const char *const run_values[] = {"--priority", "--weight", "--slo", "--group",
						 NULL};
	bool run = strcmp(c->name, "run") == 0;
	int n;
	char **args = gprio_args_split(argc - 1, argv + 1, run ? run_values : NULL, run, &n);
	if (!args) {
		fprintf(stderr, "gprio: out of memory\n");
		return 1;
	}
	return c->run(n, args);
}
