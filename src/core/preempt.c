#include "gprio/preempt.h"

#include "gprio/errno.h"

const char *gprio_qstate_name(enum gprio_qstate s)
{
	static const char *const n[] = {"active", "suspending", "suspended", "resuming", "gone"};
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

const char *gprio_qevent_name(enum gprio_qevent e)
{
	static const char *const n[] = {"suspend-req", "suspended", "resume-req", "resumed",
					"timeout",     "failed",    "vanished"};
	return (unsigned)e < sizeof(n) / sizeof(n[0]) ? n[e] : "?";
}

int gprio_preempt_next(enum gprio_qstate s, enum gprio_qevent e, enum gprio_qstate *next)
{
	enum gprio_qstate n = s;

	if (e == GPRIO_EV_VANISHED) {
		*next = GPRIO_Q_GONE;
		return 0;
	}
	switch (s) {
	case GPRIO_Q_ACTIVE:
		if (e == GPRIO_EV_SUSPEND_REQ)
			n = GPRIO_Q_SUSPENDING;
		else
			return -EINVAL;
		break;
	case GPRIO_Q_SUSPENDING:
		if (e == GPRIO_EV_SUSPENDED)
			n = GPRIO_Q_SUSPENDED;
		else if (e == GPRIO_EV_TIMEOUT || e == GPRIO_EV_RESUME_REQ)
			n = GPRIO_Q_RESUMING; /* give up / change of mind: make sure it runs again */
		else if (e == GPRIO_EV_FAILED)
			n = GPRIO_Q_ACTIVE;
		else
			return -EINVAL;
		break;
	case GPRIO_Q_SUSPENDED:
		if (e == GPRIO_EV_RESUME_REQ)
			n = GPRIO_Q_RESUMING;
		else
			return -EINVAL;
		break;
	case GPRIO_Q_RESUMING:
		if (e == GPRIO_EV_RESUMED)
			n = GPRIO_Q_ACTIVE;
		else if (e == GPRIO_EV_FAILED || e == GPRIO_EV_TIMEOUT)
			n = GPRIO_Q_RESUMING; /* keep trying: a held queue must never be forgotten */
		else
			return -EINVAL;
		break;
	case GPRIO_Q_GONE: return -EINVAL;
	}
	*next = n;
	return 0;
}
