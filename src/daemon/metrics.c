#define _GNU_SOURCE /* accept4 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void gprio_metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void gprio_metrics_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void drop(struct gprio_metrics *m, int i)
{
	gprio_evloop_del_fd(m->loop, m->c[i].fd);
	close(m->c[i].fd);
	m->c[i].fd = -1;
}

static void answer(struct gprio_metrics *m, int i)
{
	bool ok = strncmp(m->c[i].buf, "GET /metrics ", 13) == 0 ||
		  strncmp(m->c[i].buf, "GET /metrics?", 13) == 0;
	char *body = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&body, &blen);
	if (f && ok)
		m->write(f, m->ctx);
	else if (f)
		fputs("gpriod serves GET /metrics only\n", f);
	if (f)
		fclose(f);
	char head[200];
	int hl =
		snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 ok ? "200 OK" : "404 Not Found", body ? blen : 0);
	/* small answers: a blocking-free best effort (the socket buffer takes them whole) */
	if (send(m->c[i].fd, head, (size_t)hl, MSG_NOSIGNAL) == hl && body)
		(void)!send(m->c[i].fd, body, blen, MSG_NOSIGNAL);
	free(body);
	m->requests++;
	drop(m, i);
}

static void on_conn(struct gprio_evloop *l, int fd, short revents, void *ctx)
{
	struct gprio_metrics *m = ctx;
	(void)l, (void)revents;
	for (int i = 0; i < GPRIO_METRICS_MAX_CONNS; i++) {
		if (m->c[i].fd != fd)
			continue;
		ssize_t r = recv(fd, m->c[i].buf + m->c[i].len,
				 sizeof(m->c[i].buf) - 1 - m->c[i].len, MSG_DONTWAIT);
		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			drop(m, i);
			return;
		}
		m->c[i].len += (size_t)r;
		m->c[i].buf[m->c[i].len] = '\0';
		if (strstr(m->c[i].buf, "\r\n\r\n") || strstr(m->c[i].buf, "\n\n") ||
		    m->c[i].len == sizeof(m->c[i].buf) - 1)
			answer(m, i);
		return;
	}
}

static void on_listen(struct gprio_evloop *l, int fd, short revents, void *ctx)
{
	struct gprio_metrics *m = ctx;
	(void)revents;
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		int slot = -1, oldest = 0;
		for (int i = 0; i < GPRIO_METRICS_MAX_CONNS && slot < 0; i++) {
			if (m->c[i].fd < 0)
				slot = i;
			else if (m->c[i].since < m->c[oldest].since)
				oldest = i;
		}
		/* every slot taken: the longest-connected client goes (a scrape asks at once and
		 * is answered at once; clients that connect and stay silent must not keep it out
		 * until the reaper's 2 s) */
		if (slot < 0) {
			drop(m, oldest);
			slot = oldest;
		}
		if (gprio_evloop_add_fd(l, c, POLLIN, on_conn, m) < 0) {
			close(c);
			continue;
		}
		m->c[slot].fd = c;
		m->c[slot].len = 0;
		m->c[slot].since = l->clock->now(l->clock->ctx);
	}
}

/* a client that never finishes its request does not keep a slot */
static gprio_ns reaper(struct gprio_evloop *l, gprio_ns now, void *ctx)
{
	struct gprio_metrics *m = ctx;
	(void)l;
	for (int i = 0; i < GPRIO_METRICS_MAX_CONNS; i++)
		if (m->c[i].fd >= 0 && m->c[i].since + 2 * GPRIO_NS_PER_S < now)
			drop(m, i);
	return now + GPRIO_NS_PER_S;
}

int gprio_metrics_listen(struct gprio_metrics *m, struct gprio_evloop *loop, const char *addr,
			 void (*write)(FILE *f, void *ctx), void *ctx, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->listen_fd = -1;
	m->timer = -1;
	for (int i = 0; i < GPRIO_METRICS_MAX_CONNS; i++)
		m->c[i].fd = -1;
	m->loop = loop;
	m->write = write;
	m->ctx = ctx;
	char host[64];
	const char *colon = strrchr(addr, ':');
	char *end;
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!colon || (size_t)(colon - addr) >= sizeof(host) || *end || port == 0 || port > 65535) {
		snprintf(err, errlen,
			 "--metrics: expected HOST:PORT such as 127.0.0.1:9464, got '%s'", addr);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "--metrics: '%s' is not an IPv4 address", host);
		return -EINVAL;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		snprintf(err, errlen, "--metrics %s: %s", addr, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	int rc = gprio_evloop_add_fd(loop, fd, POLLIN, on_listen, m);
	if (rc == 0)
		m->timer =
			gprio_evloop_add_timer(loop, gprio_mono_now() + GPRIO_NS_PER_S, reaper, m);
	if (rc < 0 || m->timer < 0) {
		snprintf(err, errlen, "--metrics: no room on gpriod's loop");
		gprio_evloop_del_fd(loop, fd);
		close(fd);
		return -ENOSPC;
	}
	m->listen_fd = fd;
	return 0;
}

void gprio_metrics_close(struct gprio_metrics *m)
{
	if (m->listen_fd < 0)
		return;
	for (int i = 0; i < GPRIO_METRICS_MAX_CONNS; i++)
		if (m->c[i].fd >= 0)
			drop(m, i);
	gprio_evloop_del_timer(m->loop, m->timer);
	gprio_evloop_del_fd(m->loop, m->listen_fd);
	close(m->listen_fd);
	m->listen_fd = -1;
}
