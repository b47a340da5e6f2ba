/* gpriod's backend registry. A row says how gpriod configures, opens, reports and closes one
 * mechanism; the rows live in the backends' own folders (src/backends/<name>/<name>_gpriod.c)
 * and registry.c lists them. Adding a backend: one folder, one row. */
#ifndef GPRIO_REGISTRY_H
#define GPRIO_REGISTRY_H

#include <signal.h>
#include <stdio.h>

#include "gprio/backend.h"
#include "gprio/monitor.h"

#include "auth.h"
#include "evloop.h"

/* What gpriod gives every backend when it opens it. */
struct gpriod_env {
	struct gprio_evloop *loop;           /* register sockets and timers here */
	const struct gprio_auth *auth;       /* who may be online / change others */
	const struct gprio_monitor_cfg *mon; /* the scheduler's configuration */
	FILE *log;                           /* stderr (journald under systemd) */
};

struct gpriod_backend {
	const char *name;
	const char *help;  /* one line */
	const char *usage; /* its flags, one per line: "  --flag VALUE   meaning (default)" */
	/* Defaults of its own configuration and of the monitor where it differs (a mechanism
	 * without new-work events polls; a launch gate wants a short hysteresis). */
	void (*defaults)(struct gprio_monitor_cfg *mon);
	/* One of its flags: 0 taken, -ENOENT not its flag, -EINVAL bad value. */
	int (*option)(const char *flag, const char *val);
	/* Open on env: its ops and state for the monitor, or a negative errno with err set. */
	int (*open)(const struct gpriod_env *env, const struct gprio_backend_ops **ops, void **be,
		    char *err, size_t errlen);
	/* A one-line description for the start-up log. */
	void (*describe)(void *be, FILE *f);
	void (*status)(void *be, FILE *f);
	/* The scheduling settings changed (SIGHUP): publish what the mechanism's in-process half
	 * reads (policy, hysteresis). May be NULL. */
	void (*reconfigure)(void *be, const struct gprio_monitor_cfg *mon);
	/* Its own Prometheus metrics (per process, per queue), after gpriod's. May be NULL. */
	void (*metrics)(void *be, FILE *f);
	/* Fail open (after the monitor released what it held) and free. 0, or -errno when some
	 * release failed (the mechanism's own fail-open takes over). */
	int (*close)(void *be);
};

extern const struct gpriod_backend *const gpriod_backends[];
const struct gpriod_backend *gpriod_backend_find(const char *name);

#endif
