/* gprio run --online|--offline [--priority N] -- CMD...: run an unmodified program under the shim.
 * Sets GPRIO_CLASS / GPRIO_PRIORITY and preloads libgprio-cuda.so (found next to the gprio
 * binary, or in GPRIO_SHIM). Without gpriod running, the shim passes everything through. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "gprio/priority.h"

static int find_shim(char *out, size_t len)
{
	const char *env = getenv("GPRIO_SHIM");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) == 0 ? 0 : -ENOENT;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	static const char name[] = "/libgprio-cuda.so";
	size_t dir = (size_t)(slash - self);
	if (dir + sizeof(name) > len)
		return -ENAMETOOLONG;
	memcpy(out, self, dir);
	memcpy(out + dir, name, sizeof(name));
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}

int gprio_cmd_run(int argc, char **argv)
{
	const char *klass = NULL, *prio = NULL;
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--online") == 0 || strcmp(argv[i], "--offline") == 0) {
			if (klass) {
				fprintf(stderr, "gprio run: give --online or --offline once\n");
				return 2;
			}
			klass = argv[i] + 2;
		} else if (strcmp(argv[i], "--priority") == 0 && i + 1 < argc) {
			prio = argv[++i];
			char *end;
			long v = strtol(prio, &end, 10);
			if (*end || !*prio || !gprio_priority_valid(v)) {
				fprintf(stderr, "gprio run: --priority: expected 0..15, got '%s'\n", prio);
				return 2;
			}
		} else {
			break;
		}
	}
	if (!klass || i >= argc) {
		fprintf(stderr, "usage: gprio run --online|--offline [--priority N] -- CMD [ARGS...]\n");
		return 2;
	}
	char shim[PATH_MAX];
	if (find_shim(shim, sizeof(shim))) {
		fprintf(stderr, "gprio run: libgprio-cuda.so not found next to gprio (set GPRIO_SHIM)\n");
		return 1;
	}
	const char *pre = getenv("LD_PRELOAD");
	char buf[2 * PATH_MAX];
	if (pre && *pre)
		snprintf(buf, sizeof(buf), "%s:%s", shim, pre);
	else
		snprintf(buf, sizeof(buf), "%s", shim);
	setenv("LD_PRELOAD", buf, 1);
	setenv("GPRIO_CLASS", klass, 1);
	if (prio)
		setenv("GPRIO_PRIORITY", prio, 1);
	execvp(argv[i], argv + i);
	fprintf(stderr, "gprio run: %s: %s\n", argv[i], strerror(errno));
	return 127;
}
