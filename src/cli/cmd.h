/* The CLI's subcommands. Each returns the process exit status: 0 ok, 1 failure, 2 usage error. */
#ifndef GPRIO_CLI_CMD_H
#define GPRIO_CLI_CMD_H

int gprio_cmd_sim(int argc, char **argv);
int gprio_cmd_profiles(int argc, char **argv);
int gprio_cmd_run(int argc, char **argv);
int gprio_cmd_status(int argc, char **argv);
int gprio_cmd_set(int argc, char **argv);
int gprio_cmd_doctor(int argc, char **argv);
int gprio_cmd_top(int argc, char **argv);
/* A shim's path: $VAR, else next to the gprio binary, else BIN/../lib/gprio. 0 or -ENOENT. */
int gprio_find_shim(const char *var, const char *file, char *out, size_t len);

#endif
