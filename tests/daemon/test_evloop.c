/* gpriod's event loop and socket server: timers fire in time order and re-arm, descriptors are
 * dispatched (and may be deleted from inside a callback), the stop flag ends a wait at once;
 * the server names peers by their credentials, refuses what ops->accept refuses, notices
 * hang-ups, and reuses slots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/daemon/evloop.h"
#include "../../src/daemon/server.h"

#define MS GPRIO_NS_PER_MS

static struct gprio_evloop L;
static int fired[4];
static gprio_ns order[8];
static int norder;

static gprio_ns tick(struct gprio_evloop *l, gprio_ns now, void *ctx)
{
	int *n = ctx;
	(void)l;
	order[norder++ % 8] = now;
	return ++*n < 3 ? now + 2 * MS : GPRIO_NS_NEVER;
}

static void timers_fire_and_rearm(void **s)
{
	(void)s;
	gprio_evloop_init(&L, &gprio_mono_clock, NULL);
	memset(fired, 0, sizeof(fired));
	norder = 0;
	gprio_ns t0 = gprio_mono_now();
	assert_true(gprio_evloop_add_timer(&L, t0 + 1 * MS, tick, &fired[0]) >= 0);
	assert_int_equal(gprio_evloop_run_until(&L, t0 + 20 * MS), 0);
	assert_int_equal(fired[0], 3); /* then it returned NEVER */
	assert_true(order[0] >= t0 + 1 * MS);
	assert_true(order[1] >= order[0] + 2 * MS);
	assert_true(gprio_mono_now() >= t0 + 20 * MS);
	for (int i = 0; i < GPRIO_EVLOOP_MAX_TIMERS; i++)
		assert_true(gprio_evloop_add_timer(&L, GPRIO_NS_NEVER - 1, tick, &fired[1]) >= 0);
	assert_int_equal(gprio_evloop_add_timer(&L, t0, tick, &fired[1]), -ENOSPC);
}

static int sp[2][2];
static int reads;

static void on_read(struct gprio_evloop *l, int fd, short revents, void *ctx)
{
	char c;
	(void)ctx;
	assert_true(revents & POLLIN);
	assert_int_equal(read(fd, &c, 1), 1);
	reads++;
	/* deleting both descriptors from inside a dispatch is safe */
	gprio_evloop_del_fd(l, sp[0][0]);
	gprio_evloop_del_fd(l, sp[1][0]);
}

static void descriptors_dispatch_and_delete(void **s)
{
	(void)s;
	gprio_evloop_init(&L, &gprio_mono_clock, NULL);
	reads = 0;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]), 0);
		assert_int_equal(gprio_evloop_add_fd(&L, sp[i][0], POLLIN, on_read, NULL), 0);
	}
	assert_int_equal(gprio_evloop_add_fd(&L, sp[0][0], POLLIN, on_read, NULL), -EEXIST);
	assert_int_equal(write(sp[0][1], "x", 1), 1);
	assert_int_equal(write(sp[1][1], "y", 1), 1);
	assert_int_equal(gprio_evloop_run_until(&L, gprio_mono_now() + 20 * MS), 0);
	assert_int_equal(reads, 1); /* the second was deleted by the first callback */
	assert_int_equal(L.n, 0);
	for (int i = 0; i < 2; i++) {
		close(sp[i][0]);
		close(sp[i][1]);
	}
}

static void stop_ends_the_wait(void **s)
{
	(void)s;
	static volatile sig_atomic_t stop = 1;
	gprio_evloop_init(&L, &gprio_mono_clock, &stop);
	gprio_ns t0 = gprio_mono_now();
	assert_int_equal(gprio_evloop_run_until(&L, t0 + 10 * GPRIO_NS_PER_S), -ECANCELED);
	assert_true(gprio_mono_now() - t0 < 100 * MS);
}

/* --- server --- */
static int accepted, closed, readable;
static bool refuse;

static int s_accept(struct gprio_server *srv, struct gprio_peer *p, void *ctx)
{
	(void)srv, (void)ctx;
	assert_int_equal(p->pid, (uint32_t)getpid());
	assert_int_equal(p->uid, (uint32_t)getuid());
	accepted++;
	return refuse ? -EDQUOT : 0;
}

static void s_readable(struct gprio_server *srv, struct gprio_peer *p, short revents, void *ctx)
{
	(void)ctx, (void)revents;
	readable++;
	gprio_server_drop(srv, p);
}

static void s_closed(struct gprio_server *srv, struct gprio_peer *p, void *ctx)
{
	(void)srv, (void)p, (void)ctx;
	closed++;
}

static const struct gprio_server_ops sops = {s_accept, s_readable, s_closed};

static int dial(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void server_credentials_refusal_hangup(void **s)
{
	(void)s;
	static struct gprio_server srv;
	char path[108];
	snprintf(path, sizeof(path), "/tmp/gprio-evloop-test-%d.sock", (int)getpid());
	gprio_evloop_init(&L, &gprio_mono_clock, NULL);
	assert_int_equal(gprio_server_listen(&srv, &L, path, 0600, &sops, NULL), 0);
	int a = dial(path);
	assert_int_equal(gprio_evloop_run_until(&L, gprio_mono_now() + 20 * MS), 0);
	assert_int_equal(accepted, 1);
	assert_int_equal(srv.npeers, 1);
	assert_int_equal(gprio_server_count_uid(&srv, (uint32_t)getuid()), 1);
	refuse = true;
	int b = dial(path);
	assert_int_equal(gprio_evloop_run_until(&L, gprio_mono_now() + 20 * MS), 0);
	assert_int_equal(srv.npeers, 1);
	assert_int_equal(srv.refused, 1);
	char c;
	assert_int_equal(recv(b, &c, 1, 0), 0); /* the refused one is closed */
	close(b);
	close(a); /* hang-up: readable, dropped, closed() called, slot free */
	assert_int_equal(gprio_evloop_run_until(&L, gprio_mono_now() + 20 * MS), 0);
	assert_int_equal(readable, 1);
	assert_int_equal(closed, 1);
	assert_int_equal(srv.npeers, 0);
	gprio_server_close(&srv);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(L.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_and_rearm),
		cmocka_unit_test(descriptors_dispatch_and_delete),
		cmocka_unit_test(stop_ends_the_wait),
		cmocka_unit_test(server_credentials_refusal_hangup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
