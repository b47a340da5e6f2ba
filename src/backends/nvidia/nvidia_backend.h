/* The `nvidia` backend: gprio_backend_ops over the shared segment the shims attach to. A queue is
 * a process (a CUDA context: suspending single streams can deadlock on cross-stream
 * dependencies). suspend closes the process's gate; resume returns it to the in-process fast
 * path. wptr = launches; completions are not observed (done = wptr), so a process is hot for
 * the hysteresis after its last launch and TSG timeslices cover work already queued. */
#ifndef GPRIO_NVIDIA_BACKEND_H
#define GPRIO_NVIDIA_BACKEND_H

#include <stdio.h>
#include <sys/un.h>

#include "gprio/backend.h"
#include "gprio/mechanism.h"
#include "gprio/turns.h"
#include "shm.h"

#include "../../daemon/auth.h"
#include "../../daemon/evloop.h"
#include "../../daemon/server.h"
#include "../../util/loglimit.h"

/* What gpriod knows about one connection of the control socket (by server slot). */
struct gprio_nv_client {
	int row;                       /* -1: a `gprio set` connection, not a shim (yet) */
	bool hot_rw;                   /* was handed a writable hot descriptor */
	struct gprio_shm_stats *stats; /* its memfd, mapped */
};

/* Configuration, filled by gprio_nv_cfg_defaults and then by flags (gpriod). */
struct gprio_nv_cfg {
	const char *path;       /* control segment; PATH.hot and PATH.sock beside it */
	struct gprio_auth auth; /* who may be online */
	uint32_t policy;        /* position in gprio_policies[] (published for the shims' gate) */
	gprio_ns hysteresis;
	bool mech_auto;                /* per GPU, chosen from what online work needs (the default);
				  * else the three fields below, node-wide */
	uint32_t online_ts_us;         /* TSG timeslice of online processes (0: driver default) */
	uint32_t offline_ts_us;        /* of offline processes */
	bool gating;                   /* launch gating (else timeslices only) */
	struct gprio_mech_params mech; /* the chooser's thresholds */
	uint32_t tsg_online_us;        /* what `tsg` gives online (1 s) */
	uint32_t tsg_offline_us;       /* and offline (1 us), `tsg-guarded` offline too */
	uint32_t inflight_bound;       /* offline submissions not yet finished (0: no bound) */
	uint32_t max_per_user;         /* connections of one untrusted user */
	gprio_ns group_hold;           /* longest hold of a group member at once (0: none) */
	bool mps;                      /* run an MPS control daemon (pipes in PATH's dir/mps) */
	uint32_t mps_offline_sm;       /* under it, offline clients' share of SMs in % (100: all) */
	uint32_t linger_us; /* an online stream's sync leaves a hold this long (0: off) */
	FILE *log;          /* registrations and refusals; may be NULL */
};

#define GPRIO_NV_REJECTED 16
/* gpriod --linger-us default: off. Measured on an H200 (bench/results/nvidia-h200x2-2026-11-28,
 * parts 17-21, cell gdecode): with a fixed long online timeslice, 500 us helped on both axes
 * (p50 15.4 vs 19.6 ms, offline 25.3 vs 24.6 it/s); under the per-GPU law it made the same
 * service far worse (offline 0.3 it/s, the GPU flapping between tsg and tsg-guarded) */
#define GPRIO_NV_LINGER_US_DEFAULT 0
#define GPRIO_NV_STR_(x)           #x
#define GPRIO_NV_STR(x)            GPRIO_NV_STR_(x)

struct gprio_nv {
	struct gprio_nv_cfg cfg;
	struct gprio_shm *shm; /* control segment (we write; shims read) */
	struct gprio_shm_hot *hot;
	char hot_path[300];
	int ctl_ro_fd, hot_rw_fd, hot_ro_fd;
	struct gprio_evloop *loop;
	struct gprio_server srv; /* the control socket PATH.sock */
	struct gprio_nv_client cl[GPRIO_SERVER_MAX_PEERS];
	int heartbeat_timer, reap_timer;
	char mps_dir[160]; /* the MPS control daemon gpriod started ("" when none) */
	bool hot_warned;   /* a far-future hot level was reported */
	/* lines untrusted users' connections make gpriod print (ctl_server.c) */
	struct gprio_loglimit peer_log;
	uint32_t table_row[GPRIO_SHM_PROCS];  /* each slot's monitor row at the last refresh */
	bool pci_warned;                      /* a made-up GPU was reported */
	uint32_t rejected[GPRIO_NV_REJECTED]; /* the latest ids sysfs did not show as GPUs */
	unsigned nrejected;
	bool pci_unverified; /* no PCI tree in sysfs to check GPUs against (said once) */
	/* per-GPU mechanisms (nvidia_mech.c) */
	struct gprio_mech_state mst[GPRIO_SHM_GPUS];
	struct gprio_turns turns[GPRIO_SHM_GPUS]; /* offline turns per GPU (TSG turns) */
	gprio_ns mech_tick; /* the previous mechanism tick (active time is counted per tick) */
	struct {
		uint32_t pid;
		uint64_t waits, wait_ns, starts, launches, sampled, sampled_starts;
		uint32_t rows;   /* the GPU rows it reported, as of this tick (0: none yet) */
	} prev[GPRIO_SHM_PROCS]; /* each row's wait counters at the previous tick */
};

extern const struct gprio_backend_ops gprio_nvidia_ops;

void gprio_nv_cfg_defaults(struct gprio_nv_cfg *c);
/* Create the control segment at cfg->path (0644), PATH.hot (0600) and the control socket
 * PATH.sock (0666) served on `loop`, with cfg->auth deciding who may be online. The files are
 * created afresh (an earlier gpriod's are replaced, anyone else's refused), in a directory
 * others cannot write in (or a sticky one); the default directory is created; a gpriod already
 * serving the path is not taken over. 0, or -errno with err naming the file and the reason. */
int gprio_nv_open(struct gprio_nv *nv, const struct gprio_nv_cfg *cfg, struct gprio_evloop *loop,
		  char *err, size_t errlen);
/* Heartbeat 0 and every connection closed: shims fail open at once. */
void gprio_nv_close(struct gprio_nv *nv, bool unlink_files);
/* The per-process table `gprio status` and gpriod print. */
void gprio_nv_print_procs(FILE *f, const struct gprio_shm *s);
/* Drop processes that no longer exist but whose connection is still open (a forked child
 * inherited it), and connections that said nothing for 2 s (they would hold a slot). Returns
 * how many. (gpriod runs it every 500 ms on its loop.) */
int gprio_nv_reap(struct gprio_nv *nv);

/* nvidia_mech.c: list the GPUs the processes report, choose each one's mechanism from its
 * processes' counters (mechanism.h), publish it for the shims, log changes (every tick). */
void gprio_nv_mechanisms(struct gprio_nv *nv, gprio_ns now);
/* Each grouped process's group_rows: its group's GPU rows, with two members or more (every
 * tick). */
void gprio_nv_groups(struct gprio_nv *nv);
/* The GPU rows and their mechanisms, for gpriod's status and gprio status. */
void gprio_nv_print_gpus(FILE *f, const struct gprio_shm *s, gprio_ns now);

/* ctl_server.c: the control protocol (ctl.h) on nv->srv */
int gprio_nv_listen(struct gprio_nv *nv);
/* Report the lines about untrusted users' connections dropped in a period that has ended (the
 * reaper's timer). */
void gprio_nv_peer_log_flush(struct gprio_nv *nv, gprio_ns now);
/* the stats page of the process in control-segment row `row`, or NULL */
const struct gprio_shm_stats *gprio_nv_stats_of(const struct gprio_nv *nv, uint32_t row);

#endif
