/* gprio set PID [--online|--offline] [--priority N] [--shm PATH]: change a running process's
 * class or priority through gpriod's control socket. gpriod checks who asks (peer credentials):
 * anyone may lower their own processes; making a process online, raising it, or touching
 * another user's process needs root, gpriod's user, or gpriod's --allow list. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "../backends/nvidia/ctl.h"
#include "gprio/priority.h"
#include "../backends/nvidia/shm.h"

static int usage(void)
{
	fprintf(stderr, "usage: gprio set PID [--online|--offline] [--priority N] [--shm PATH]\n");
	return 2;
}

int gprio_cmd_set(int argc, char **argv)
{
	const char *path = getenv("GPRIO_SHM");
	if (!path || !*path)
		path = GPRIO_SHM_DEFAULT_PATH;
	struct gprio_ctl_msg m = {
		.magic = GPRIO_CTL_MAGIC, .type = GPRIO_CTL_SET, .klass = -1, .priority = -1};
	bool have_pid = false;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--online") || !strcmp(argv[i], "--offline")) {
			if (m.klass >= 0)
				return usage();
			m.klass = !strcmp(argv[i], "--online") ? GPRIO_CLASS_ONLINE
							       : GPRIO_CLASS_OFFLINE;
		} else if (!strcmp(argv[i], "--priority") && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || !*argv[i] || !gprio_priority_valid(v)) {
				fprintf(stderr, "gprio set: --priority: expected 0..15, got '%s'\n",
					argv[i]);
				return 2;
			}
			m.priority = (int32_t)v;
		} else if (!strcmp(argv[i], "--shm") && i + 1 < argc) {
			path = argv[++i];
		} else if (!have_pid) {
			long v = strtol(argv[i], &end, 10);
			if (*end || !*argv[i] || v <= 0 || v > 0x7fffffffL) {
				fprintf(stderr, "gprio set: PID: expected a process id, got '%s'\n",
					argv[i]);
				return 2;
			}
			m.pid = (uint32_t)v;
			have_pid = true;
		} else {
			return usage();
		}
	}
	if (!have_pid || (m.klass < 0 && m.priority < 0))
		return usage();
	struct sockaddr_un a;
	if (gprio_ctl_addr(path, &a) < 0) {
		fprintf(stderr, "gprio set: %s.sock: path too long\n", path);
		return 1;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "gprio set: %s: %s (is gpriod running?)\n", a.sun_path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m) || poll(&p, 1, 2000) != 1 ||
	    recv(fd, &m, sizeof(m), 0) != (ssize_t)sizeof(m) || m.magic != GPRIO_CTL_MAGIC) {
		fprintf(stderr, "gprio set: no answer from gpriod at %s\n", a.sun_path);
		close(fd);
		return 1;
	}
	close(fd);
	m.text[sizeof(m.text) - 1] = '\0';
	if (m.rc != 0) {
		fprintf(stderr, "gprio set: refused: %s\n", m.text);
		return 1;
	}
	printf("%s\n", m.text);
	return 0;
}
