#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gprio_auth_trusted(const struct gprio_auth *a, uint32_t uid)
{
	if (uid == 0 || uid == a->daemon_uid)
		return true;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->uids[i] == uid)
			return true;
	return false;
}

int gprio_auth_register(const struct gprio_auth *a, uint32_t uid, enum gprio_class *klass,
			int *prio, char *why, size_t len)
{
	if (why && len)
		why[0] = '\0';
	if (gprio_auth_trusted(a, uid) ||
	    (*klass == GPRIO_CLASS_OFFLINE && *prio <= GPRIO_AUTH_UNTRUSTED_PRIO))
		return 0;
	if (why)
		snprintf(why, len,
			 "uid %u may not run %s at priority %d (not in gpriod's --allow "
			 "list): running as offline, priority %d",
			 uid, gprio_class_name(*klass), *prio, GPRIO_AUTH_UNTRUSTED_PRIO);
	*klass = GPRIO_CLASS_OFFLINE;
	*prio = GPRIO_AUTH_UNTRUSTED_PRIO;
	return 1;
}

int gprio_auth_set(const struct gprio_auth *a, uint32_t requester, uint32_t owner,
		   enum gprio_class cur_class, int cur_prio, enum gprio_class klass, int prio,
		   char *why, size_t len)
{
	if (why && len)
		why[0] = '\0';
	if (gprio_auth_trusted(a, requester))
		return 0;
	if (requester != owner) {
		snprintf(why, len,
			 "uid %u may not change a process of uid %u (not in gpriod's "
			 "--allow list)",
			 requester, owner);
		return -EPERM;
	}
	bool raises = prio > cur_prio ||
		      (klass == GPRIO_CLASS_ONLINE && cur_class == GPRIO_CLASS_OFFLINE);
	if (raises) {
		snprintf(why, len,
			 "uid %u may only lower its own processes (%s %d -> %s %d; not in "
			 "gpriod's --allow list)",
			 requester, gprio_class_name(cur_class), cur_prio, gprio_class_name(klass),
			 prio);
		return -EPERM;
	}
	return 0;
}

int gprio_auth_parse(struct gprio_auth *a, const char *list,
		     int (*uid_of)(const char *name, uint32_t *uid), char *why, size_t len)
{
	char buf[1024];
	if (strlen(list) >= sizeof(buf)) {
		snprintf(why, len, "list too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint32_t uid;
		char *end;
		unsigned long v = strtoul(t, &end, 10);
		if (*t >= '0' && *t <= '9' && *end == '\0' && v <= UINT32_MAX)
			uid = (uint32_t)v;
		else if (uid_of(t, &uid) != 0) {
			snprintf(why, len, "no user '%s'", t);
			return -EINVAL;
		}
		if (a->n == GPRIO_AUTH_MAX_USERS) {
			snprintf(why, len, "more than %d users", GPRIO_AUTH_MAX_USERS);
			return -EINVAL;
		}
		a->uids[a->n++] = uid;
	}
	return 0;
}
