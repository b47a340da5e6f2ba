#include "args.h"

#include <stdlib.h>
#include <string.h>

/* the split argv lives as long as the process (a command keeps pointers into it) */
static char **kept;

static bool is_value_flag(const char *a, const char *const *flags)
{
	for (; flags && *flags; flags++)
		if (strcmp(a, *flags) == 0)
			return true;
	return false;
}

/* Where splitting ends: the index of "--", or of the program's first word. */
static int split_end(int argc, char **argv, const char *const *value_flags, bool stop_at_word)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i;
		if (stop_at_word && argv[i][0] != '-' &&
		    !(i > 1 && is_value_flag(argv[i - 1], value_flags)))
			return i;
	}
	return argc;
}

static bool splits(const char *a)
{
	return a[0] == '-' && a[1] == '-' && a[2] && a[2] != '=' && strchr(a + 2, '=');
}

char **gprio_args_split(int argc, char **argv, const char *const *value_flags, bool stop_at_word,
			int *out_argc)
{
	int end = split_end(argc, argv, value_flags, stop_at_word), n = 0;
	for (int i = 1; i < end; i++)
		n += splits(argv[i]);
	*out_argc = argc + n;
	if (!n)
		return argv;
	char **out = calloc((size_t)argc + (size_t)n + 1, sizeof(*out));
	if (!out)
		return NULL;
	int k = 0;
	out[k++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (i >= end || !splits(argv[i])) {
			out[k++] = argv[i];
			continue;
		}
		char *eq = strchr(argv[i] + 2, '=');
		size_t len = (size_t)(eq - argv[i]);
		char *name = malloc(len + 1);
		if (!name) {
			free(out);
			return NULL;
		}
		memcpy(name, argv[i], len);
		name[len] = '\0';
		out[k++] = name;
		out[k++] = eq + 1;
	}
	out[k] = NULL;
	kept = out;
	return out;
}
