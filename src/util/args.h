/* Long options written `--name=value`, as getopt_long accepts them, for the command parsers that
 * read `--name value`. */
#ifndef GPRIO_UTIL_ARGS_H
#define GPRIO_UTIL_ARGS_H

#include <stdbool.h>

/* argv with every `--name=value` before a "--" split into `--name` and `value`. With
 * `stop_at_word` (gprio run), splitting also stops at the first argument that is not an option
 * and not the value of one of `value_flags` (NULL-terminated): the program to run and its
 * arguments are never touched. Returns argv itself when nothing is split, else a new array
 * (NULL on out of memory) that lives as long as the process; *out_argc gets its length. */
char **gprio_args_split(int argc, char **argv, const char *const *value_flags, bool stop_at_word,
			int *out_argc);

#endif
