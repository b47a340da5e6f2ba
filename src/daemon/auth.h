/* Who may make a process online or raise its priority (pure decisions, used by gpriod's control
 * socket with the peer credentials the kernel gives it).
 *   trusted: root, gpriod's own user, and the users of its allowlist (gpriod --allow USER,...).
 *   A trusted user may register a process with any class and priority, and change any process.
 *   Anyone else gets offline at priority 0 (a request for more is demoted, with the reason), and
 *   may only lower its own processes: a smaller priority, or online -> offline. */
#ifndef GPRIO_AUTH_H
#define GPRIO_AUTH_H

#include <stddef.h>

#include "gprio/priority.h"

#define GPRIO_AUTH_MAX_USERS      32
#define GPRIO_AUTH_UNTRUSTED_PRIO 0

struct gprio_auth {
	uint32_t daemon_uid;
	uint32_t n;
	uint32_t uids[GPRIO_AUTH_MAX_USERS];
};

bool gprio_auth_trusted(const struct gprio_auth *a, uint32_t uid);
/* What a process of `uid` asking for (klass, prio) gets in klass and prio: 0 as asked, 1 demoted
 * (why says why). */
int gprio_auth_register(const struct gprio_auth *a, uint32_t uid, enum gprio_class *klass,
			int *prio, char *why, size_t len);
/* May `requester` change a process of `owner` from (cur_class, cur_prio) to (klass, prio)?
 * 0, or -EPERM with why. */
int gprio_auth_set(const struct gprio_auth *a, uint32_t requester, uint32_t owner,
		   enum gprio_class cur_class, int cur_prio, enum gprio_class klass, int prio,
		   char *why, size_t len);
/* Parse "alice,1001,bob" with a name resolver (getpwnam in gpriod, a table in tests).
 * 0, or -EINVAL with why naming the bad entry. */
int gprio_auth_parse(struct gprio_auth *a, const char *list,
		     int (*uid_of)(const char *name, uint32_t *uid), char *why, size_t len);

#endif
