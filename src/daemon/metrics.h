/* Prometheus metrics served by gpriod over HTTP (text exposition format 0.0.4), on its event
 * loop: GET /metrics answers with what the writer callback prints, anything else 404. One
 * request per connection, answered at once; a client that says nothing for 2 s is dropped, and
 * with every slot taken a new connection replaces the oldest. */
#ifndef GPRIO_METRICS_H
#define GPRIO_METRICS_H

#include <stdio.h>

#include "evloop.h"

#define GPRIO_METRICS_MAX_CONNS 16

struct gprio_metrics {
	struct gprio_evloop *loop;
	int listen_fd;
	void (*write)(FILE *f, void *ctx);
	void *ctx;
	struct {
		int fd; /* -1: free */
		gprio_ns since;
		size_t len;
		char buf[2048];
	} c[GPRIO_METRICS_MAX_CONNS];
	int timer;
	unsigned long requests;
};

/* Listen on "HOST:PORT" (IPv4, e.g. 127.0.0.1:9464). 0, or -errno with err set. */
int gprio_metrics_listen(struct gprio_metrics *m, struct gprio_evloop *loop, const char *addr,
			 void (*write)(FILE *f, void *ctx), void *ctx, char *err, size_t errlen);
void gprio_metrics_close(struct gprio_metrics *m);

/* Helpers for writers: one metric family header, and a label value escaped as the format asks. */
void gprio_metrics_family(FILE *f, const char *name, const char *type, const char *help);
void gprio_metrics_label(FILE *f, const char *value);

#endif
