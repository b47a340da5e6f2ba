/* libgprio-hsa.so: gprio's in-process KFD agent for ROCm programs (LD_PRELOAD, or `gprio run`
 * on an AMD machine). It lets gpriod suspend and resume this process's queues without ptrace:
 * KFD accepts DBG_TRAP from a process on itself (pid = getpid()).
 *
 *   hsa_queue_create   the real one; once the process has a queue, open our own /dev/kfd and
 *                      start the agent thread (connect to gpriod's socket, allow gpriod to read
 *                      our rptr/wptr with PR_SET_PTRACER, serve its requests, kfd_agent.h)
 *   hsa_queue_destroy  KFD blocks the destroy of a suspended queue until it is resumed: resume
 *                      it first (and keep gpriod from suspending it again until it is gone)
 *   gpriod goes away   its socket closes: resume everything we hold, disable debugging on
 *                      ourselves, reconnect every second (fail-open)
 *
 *   hsa_signal_store_relaxed / _screlease / _release
 *                      in an online program (GPRIO_CLASS=online, as gprio run sets it), a
 *                      store to one of its queues' doorbell signals is a submission: after the
 *                      real store, at most once a millisecond, a work note goes to gpriod
 *                      (kfd_agent.h), which then looks at the queues at once instead of at its
 *                      next poll (event-driven stages 1 and 2). Other stores: a table lookup.
 *
 * AQL packets go to the hardware queue untouched; the doorbell store itself is the runtime's.
 * Declarations of the HSA types are our own (HSA runtime specification 1.x, hsa.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kfd.h"
#include "kfd_agent.h"
#include "kfd_sys_linux.h"

#define EXPORT __attribute__((visibility("default")))

/* Layout mirrors of hsa.h (ABI): only base_address is read; the rest keeps the offsets. */
typedef int hsa_status_t; /* HSA_STATUS_SUCCESS = 0 */
typedef struct {
	uint64_t handle; /* cppcheck-suppress unusedStructMember */
} hsa_agent_t;
typedef struct {
	uint32_t type;            /* cppcheck-suppress unusedStructMember */
	uint32_t features;        /* cppcheck-suppress unusedStructMember */
	void *base_address;       /* the ring: KFD's ring_base_address for this queue */
	uint64_t doorbell_signal; /* cppcheck-suppress unusedStructMember */
	uint32_t size;            /* cppcheck-suppress unusedStructMember */
	uint32_t reserved1;       /* cppcheck-suppress unusedStructMember */
	uint64_t id;              /* cppcheck-suppress unusedStructMember */
} hsa_queue_t;
typedef void (*hsa_queue_cb)(hsa_status_t, hsa_queue_t *, void *);
typedef hsa_status_t (*create_fn)(hsa_agent_t, uint32_t, uint32_t, hsa_queue_cb, void *, uint32_t,
				  uint32_t, hsa_queue_t **);
typedef hsa_status_t (*destroy_fn)(hsa_queue_t *);

#define MAXHELD GPRIO_KFD_AGENT_MAXQ

typedef struct {
	uint64_t handle;
} hsa_signal_t;
typedef int64_t hsa_signal_value_t; /* 64-bit runtimes */
typedef void (*store_fn)(hsa_signal_t, hsa_signal_value_t);

/* Work notes (event-driven stages): this program's doorbell signals, and the connection the
 * notes go to. The hot path (every signal store) reads `online`, the doorbell table and the
 * clock; the lock is taken only to send, at most once a millisecond, and never waited for. */
#define MAXBELLS    64
#define NOTE_GAP_NS 1000000LL
static struct {
	_Atomic bool online;
	_Atomic uint32_t nbells;
	_Atomic uint64_t bells[MAXBELLS];
	_Atomic long long last_ns;
	pthread_mutex_t lock; /* guards fd against the agent thread closing it */
	int fd;               /* the connection to gpriod, -1 when none */
	_Atomic uint64_t sent;
} N = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static struct {
	pthread_mutex_t lock; /* one KFD call at a time: the agent thread or a destroy */
	pthread_once_t once;
	bool started, quiet;
	int first_fd; /* start()'s connection, handed to the agent thread */
	struct gprio_kfd_linux kl;
	struct gprio_kfd_sys sys;
	bool enabled;                  /* debugging enabled on ourselves (by gpriod's request) */
	uint32_t held[MAXHELD], nheld; /* queue ids suspended for gpriod */
	char path[108];
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT};

static void say(const char *fmt, const char *a, int e)
{
	if (S.quiet)
		return;
	fprintf(stderr, "gprio-hsa: ");
	fprintf(stderr, fmt, a, strerror(e));
	fputc('\n', stderr);
}

static bool in(const uint32_t *set, uint32_t n, uint32_t v)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

static void set_del(uint32_t *set, uint32_t *n, uint32_t v)
{
	for (uint32_t i = 0; i < *n; i++)
		if (set[i] == v) {
			set[i] = set[--*n];
			return;
		}
}

/* Bookkeeping after each served request: what we hold is what we must give back. */
static void served(void *arg, const struct gprio_kfd_agent_msg *req,
		   const struct gprio_kfd_agent_msg *rep)
{
	(void)arg;
	if (rep->rc < 0)
		return;
	switch (req->op) {
	case GPRIO_KFD_DBG_ENABLE: S.enabled = true; break;
	case GPRIO_KFD_DBG_DISABLE:
		S.enabled = false;
		S.nheld = 0; /* DISABLE resumes everything */
		break;
	case GPRIO_KFD_DBG_SUSPEND_QUEUES:
		for (uint32_t i = 0; i < req->n; i++)
			if (!(rep->qids[i] & (GPRIO_KFD_QUEUE_ERROR | GPRIO_KFD_QUEUE_INVALID)) &&
			    !in(S.held, S.nheld, req->qids[i]) && S.nheld < MAXHELD)
				S.held[S.nheld++] = req->qids[i];
		break;
	case GPRIO_KFD_DBG_RESUME_QUEUES:
		for (uint32_t i = 0; i < req->n; i++)
			if (!(rep->qids[i] & GPRIO_KFD_QUEUE_ERROR))
				set_del(S.held, &S.nheld, req->qids[i]);
		break;
	default: break;
	}
}

/* gpriod is gone: give back everything (lock held). */
static void fail_open(void)
{
	if (S.nheld) {
		enum gprio_kfd_qresult res[MAXHELD];
		gprio_kfd_resume(&S.sys, (uint32_t)getpid(), S.held, S.nheld, res);
		S.nheld = 0;
	}
	if (S.enabled) {
		gprio_kfd_dbg_disable(&S.sys, (uint32_t)getpid());
		S.enabled = false;
	}
}

static int connect_daemon(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", S.path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid > 0)
		prctl(PR_SET_PTRACER, (unsigned long)cr.pid, 0, 0,
		      0); /* Yama: let gpriod read rptr/wptr */
	return fd;
}

static void *agent_main(void *unused)
{
	(void)unused;
	bool warned = S.first_fd < 0; /* start() made the first attempt and said so */
	int fd = S.first_fd;
	for (;; fd = connect_daemon()) {
		if (fd < 0) {
			if (!warned)
				say("no gpriod at %s (%s): running unmanaged, retrying every "
				    "second",
				    S.path, -fd);
			warned = true;
			sleep(1);
			continue;
		}
		warned = false;
		pthread_mutex_lock(&N.lock);
		N.fd = fd;
		pthread_mutex_unlock(&N.lock);
		/* until gpriod exits or is killed; one KFD call at a time with hsa_queue_destroy */
		while (gprio_kfd_agent_serve_one(fd, &S.sys, S.kl.dbg_fd, &S.lock, served, NULL) ==
		       0)
			;
		pthread_mutex_lock(&N.lock);
		N.fd = -1;
		pthread_mutex_unlock(&N.lock);
		close(fd);
		pthread_mutex_lock(&S.lock);
		fail_open();
		pthread_mutex_unlock(&S.lock);
	}
	return NULL;
}

static void start(void)
{
	const char *e = getenv("GPRIO_HSA_AGENT");
	S.quiet = getenv("GPRIO_QUIET") != NULL;
	const char *c = getenv("GPRIO_CLASS");
	const char *nn = getenv("GPRIO_HSA_NOTES"); /* 0: no work notes */
	N.online = c && strcmp(c, "online") == 0 && !(nn && strcmp(nn, "0") == 0);
	if (e && strcmp(e, "0") == 0)
		return;
	const char *p = getenv("GPRIO_AMDKFD_SOCKET");
	snprintf(S.path, sizeof(S.path), "%s", p && *p ? p : GPRIO_KFD_AGENT_DEFAULT_SOCKET);
	const char *dev = getenv("GPRIO_KFD_DEV"); /* tests point it elsewhere */
	dev = dev && *dev ? dev : GPRIO_KFD_DEV;
	int rc = gprio_kfd_linux_init(&S.kl, dev);
	if (rc < 0) {
		say("cannot open %s (%s): passing through", dev, -rc);
		return;
	}
	gprio_kfd_linux_sys(&S.kl, &S.sys);
	/* the first attempt here, so that the program learns at once whether it is managed */
	S.first_fd = connect_daemon();
	if (S.first_fd < 0)
		say("no gpriod at %s (%s): running unmanaged, retrying every second", S.path,
		    -S.first_fd);
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, agent_main, NULL) == 0)
		S.started = true;
	pthread_attr_destroy(&at);
}

EXPORT hsa_status_t hsa_queue_create(hsa_agent_t agent, uint32_t size, uint32_t type,
				     hsa_queue_cb cb, void *data, uint32_t private_size,
				     uint32_t group_size, hsa_queue_t **queue);
EXPORT hsa_status_t hsa_queue_destroy(hsa_queue_t *queue);

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

EXPORT hsa_status_t hsa_queue_create(hsa_agent_t agent, uint32_t size, uint32_t type,
				     hsa_queue_cb cb, void *data, uint32_t private_size,
				     uint32_t group_size, hsa_queue_t **queue)
{
	create_fn real = (create_fn)next("hsa_queue_create");
	if (!real)
		return 0x1000; /* HSA_STATUS_ERROR: no HSA runtime below us */
	hsa_status_t st = real(agent, size, type, cb, data, private_size, group_size, queue);
	if (st == 0) {
		pthread_once(&S.once, start);
		uint32_t i = atomic_load(&N.nbells);
		if (N.online && queue && *queue && i < MAXBELLS) {
			atomic_store(&N.bells[i], (*queue)->doorbell_signal);
			atomic_store(&N.nbells, i + 1);
		}
	}
	return st;
}

/* After a signal store: if it rang one of our doorbells, tell gpriod (rate-limited, never
 * blocking the program). */
static void rang(uint64_t handle)
{
	if (!N.online)
		return;
	uint32_t n = atomic_load(&N.nbells);
	bool bell = false;
	for (uint32_t i = 0; i < n && !bell; i++)
		bell = atomic_load_explicit(&N.bells[i], memory_order_relaxed) == handle;
	if (!bell)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	long long last = atomic_load_explicit(&N.last_ns, memory_order_relaxed);
	if (now - last < NOTE_GAP_NS || !atomic_compare_exchange_strong(&N.last_ns, &last, now))
		return;
	if (pthread_mutex_trylock(&N.lock) != 0)
		return;
	if (N.fd >= 0) {
		struct gprio_kfd_agent_note note = {GPRIO_KFD_AGENT_MAGIC,
						    GPRIO_KFD_AGENT_NOTE_WORK};
		if (send(N.fd, &note, sizeof(note), MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(note))
			atomic_fetch_add(&N.sent, 1);
	}
	pthread_mutex_unlock(&N.lock);
}

static store_fn real_store(_Atomic(store_fn) *cache, const char *name)
{
	store_fn f = atomic_load_explicit(cache, memory_order_acquire);
	if (!f) {
		f = (store_fn)dlsym(RTLD_NEXT, name);
		atomic_store_explicit(cache, f, memory_order_release);
	}
	return f;
}

#define STORE_WRAPPER(name)                                              \
	EXPORT void name(hsa_signal_t signal, hsa_signal_value_t value); \
	EXPORT void name(hsa_signal_t signal, hsa_signal_value_t value)  \
	{                                                                \
		static _Atomic(store_fn) cache;                          \
		store_fn f = real_store(&cache, #name);                  \
		if (f)                                                   \
			f(signal, value);                                \
		rang(signal.handle);                                     \
	}
STORE_WRAPPER(hsa_signal_store_relaxed)
STORE_WRAPPER(hsa_signal_store_screlease)
STORE_WRAPPER(hsa_signal_store_release)

/* For tests and the cost bench: notes sent so far. */
EXPORT uint64_t gprio_hsa_notes_sent(void);
EXPORT uint64_t gprio_hsa_notes_sent(void)
{
	return atomic_load(&N.sent);
}

/* Our KFD queue id for an HSA queue: the snapshot entry with its ring (lock held). */
static int qid_of(const hsa_queue_t *q, uint32_t *qid)
{
	struct gprio_kfd_queue_snapshot s[GPRIO_KFD_AGENT_MAXSNAP];
	uint32_t n = 0;
	int rc = gprio_kfd_snapshot(&S.sys, (uint32_t)getpid(), false, s, GPRIO_KFD_AGENT_MAXSNAP,
				    &n);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n && i < GPRIO_KFD_AGENT_MAXSNAP; i++)
		if (s[i].ring_base_address == (uint64_t)(uintptr_t)q->base_address) {
			*qid = s[i].queue_id;
			return 0;
		}
	return -ENOENT;
}

EXPORT hsa_status_t hsa_queue_destroy(hsa_queue_t *queue)
{
	destroy_fn real = (destroy_fn)next("hsa_queue_destroy");
	if (!real)
		return 0x1000;
	if (!S.started || !queue)
		return real(queue);
	pthread_mutex_lock(&S.lock);
	uint32_t qid = 0;
	bool known = S.enabled && S.nheld && qid_of(queue, &qid) == 0;
	if (known && in(S.held, S.nheld, qid)) {
		enum gprio_kfd_qresult res;
		gprio_kfd_resume(&S.sys, (uint32_t)getpid(), &qid, 1,
				 &res); /* or the destroy blocks */
		set_del(S.held, &S.nheld, qid);
	}
	/* the lock stays held through the destroy: gpriod cannot suspend this queue meanwhile, and
	 * a later request for its id finds no queue (KFD marks the entry invalid) */
	hsa_status_t st = real(queue);
	pthread_mutex_unlock(&S.lock);
	return st;
}
