/* gpriod's control socket (SOCK_SEQPACKET, PATH.sock next to the control segment, mode 0666).
 * The kernel tells gpriod who is calling (SO_PEERCRED); gprio_auth decides what they may do.
 *   REGISTER  a shim, once: the class/priority it asks for (GPRIO_CLASS / GPRIO_PRIORITY), its
 *             wfq weight and latency objective (GPRIO_WEIGHT / GPRIO_SLO_US, from gprio run),
 *             and in `text` its group (GPRIO_GROUP: letters, digits, . _ : -, up to 31).
 *             Reply: what was granted (+ why, if demoted), its row, and three descriptors
 *             (SCM_RIGHTS): control segment (read-only), hot segment (writable only when the
 *             granted priority > 0), its own stats page. The connection stays open: its closing
 *             tells gpriod the process is gone, and tells the shim gpriod is gone (fail open).
 *   UPDATE    gpriod -> shim, when `gprio set` changed it (with a writable hot descriptor if it
 *             may now publish).
 *   SET       `gprio set PID [--online|--offline] [--priority N]`: reply rc 0 or -EPERM/-ESRCH
 *             with the reason in text. */
#ifndef GPRIO_CTL_H
#define GPRIO_CTL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#define GPRIO_CTL_MAGIC 0x6763746cu /* "gctl" */
enum gprio_ctl_type { GPRIO_CTL_REGISTER = 1, GPRIO_CTL_UPDATE = 2, GPRIO_CTL_SET = 3 };

struct gprio_ctl_msg {
	uint32_t magic;
	uint32_t type;
	int32_t rc;
	uint32_t pid;     /* SET: the target */
	int32_t klass;    /* enum gprio_class; SET: -1 = unchanged */
	int32_t priority; /* SET: -1 = unchanged */
	uint32_t row;
	uint32_t flags;  /* reply to REGISTER/UPDATE: 1 = hot descriptor is writable */
	uint32_t weight; /* REGISTER: wfq weight asked for (0: 1) */
	uint32_t slo_us; /* REGISTER: latency objective in us (0: none) */
	char text[232];  /* why (demotion, refusal) */
};

/* The control socket next to the control segment `shm` (PATH.sock) as an address; 0, or
 * -ENAMETOOLONG when it does not fit. One definition for gpriod, the shims and the CLI. */
static inline int gprio_ctl_addr(const char *shm, struct sockaddr_un *a)
{
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path, sizeof(a->sun_path), "%s.sock", shm);
	return n < 0 || (size_t)n >= sizeof(a->sun_path) ? -ENAMETOOLONG : 0;
}

#endif
