/* Per-GPU mechanisms: which GPUs the registered processes use (their shims report PCI ids),
 * what online work on each needs (mechanism.h decides), and what the shims are told to do
 * there: timeslices for online and offline processes, and whether launches are gated. */
#include "nvidia_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether a PCI id a shim reported is an NVIDIA device of this machine (vendor 0x10de in
 * sysfs; GPRIO_SYSFS_PCI points elsewhere for tests). A process writes its own stats page:
 * without this check any local user could fill the GPU table with made-up ids. Where there is
 * no PCI tree to look in (a container without /sys) every id is taken, and gpriod says so. */
static bool real_gpu(struct gprio_nv *nv, uint32_t pci)
{
	const char *root = getenv("GPRIO_SYSFS_PCI");
	if (!root || !*root)
		root = "/sys/bus/pci/devices";
	if (access(root, F_OK) != 0) {
		if (!nv->pci_unverified && nv->cfg.log)
			fprintf(nv->cfg.log,
				"gpriod: %s is missing: the GPUs processes report cannot be "
				"checked "
				"against this machine's\n",
				root);
		nv->pci_unverified = true;
		return true;
	}
	char path[512], buf[16] = "";
	snprintf(path, sizeof(path), "%s/" GPRIO_PCI_FMT ".0/vendor", root, GPRIO_PCI_ARGS(pci));
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && strtoul(buf, NULL, 16) == 0x10de;
	fclose(f);
	return ok;
}

/* The control-segment row of a GPU, added when first seen if it is one of this machine's;
 * -1 when it is not, or the table is full. */
static int gpu_row(struct gprio_nv *nv, uint32_t pci)
{
	struct gprio_shm *s = nv->shm;
	int free_row = -1;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		uint32_t v = atomic_load(&s->gpus[g].pci);
		if (v == pci)
			return g;
		if (!v && free_row < 0)
			free_row = g;
	}
	if (free_row < 0)
		return -1;
	/* an id found not to be a GPU here is not looked up in sysfs again at every tick */
	for (unsigned k = 0; k < GPRIO_NV_REJECTED; k++)
		if (nv->rejected[k] == pci)
			return -1;
	if (!real_gpu(nv, pci)) {
		nv->rejected[nv->nrejected++ % GPRIO_NV_REJECTED] = pci;
		if (!nv->pci_warned && nv->cfg.log)
			fprintf(nv->cfg.log,
				"gpriod: a process reported GPU " GPRIO_PCI_FMT ", which is not an "
				"NVIDIA device of this machine: ignored\n",
				GPRIO_PCI_ARGS(pci));
		nv->pci_warned = true;
		return -1;
	}
	atomic_store(&s->gpus[free_row].pci, pci);
	return free_row;
}

static void publish(struct gprio_nv *nv, int g, const struct gprio_mech_state *st)
{
	struct gprio_shm_gpu *r = &nv->shm->gpus[g];
	enum gprio_mech m = st->mech;
	snprintf(r->why, sizeof(r->why), "%s", st->why ? st->why : "");
	uint32_t floor_us = (uint32_t)(nv->cfg.mech.offline_floor / GPRIO_NS_PER_US);
	atomic_store(&r->online_timeslice_us,
		     gprio_mech_online_long(m) ? nv->cfg.tsg_online_us : 0);
	/* turns: the floor until the first turn, and while older work drains beside the holder's
	 * (two offline contexts with work at 1 us would switch between themselves) */
	const uint32_t slice_us[] = {[GPRIO_SLICE_DRIVER] = 0,
				     [GPRIO_SLICE_SHORT] = nv->cfg.tsg_offline_us,
				     [GPRIO_SLICE_FLOOR] = floor_us};
	atomic_store(&r->offline_timeslice_us,
		     slice_us[gprio_mech_offline_slice(m, gprio_turns_single(&nv->turns[g]))]);
	atomic_store(&r->gating, gprio_mech_gates(m) ? 1u : 0u);
	atomic_store(&r->since_ns, st->since);
	atomic_store(&r->mech, (uint32_t)m);
}

void gprio_nv_mechanisms(struct gprio_nv *nv, gprio_ns now)
{
	struct gprio_shm *s = nv->shm;
	if (!nv->cfg.mech_auto)
		return;
	struct gprio_mech_obs obs[GPRIO_SHM_GPUS];
	memset(obs, 0, sizeof(obs));
	/* this tick's length: the deciding work's active time is counted in ticks */
	gprio_ns tick = nv->mech_tick && now > nv->mech_tick ? now - nv->mech_tick : 0;
	if (tick > 100 * GPRIO_NS_PER_MS)
		tick = 100 * GPRIO_NS_PER_MS; /* a stalled daemon does not count a long gap */
	nv->mech_tick = now;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		obs[g].timeslices_ok = true;
		obs[g].mps = true; /* until a process here is not an MPS client */
		obs[g].completions = true;
	}
	uint32_t used = 0, online_rows[GPRIO_SHM_PROCS] = {0};
	/* what each row did since the previous tick; the GPU's mechanism is chosen for its
	 * highest-priority online work (a CPU-bound service at a lower priority must not leave a
	 * GPU-bound one above it unprotected; the lower one is protected with it) */
	struct seen {
		uint32_t rows, mech;
		bool online, side, active, pending, waiting;
		unsigned prio;
		uint64_t d[6];
		gprio_ns cur, last;
	} seen[GPRIO_SHM_PROCS];
	int top[GPRIO_SHM_GPUS];
	for (int g = 0; g < GPRIO_SHM_GPUS; g++)
		top[g] = -1;
	for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++) {
		const struct gprio_shm_proc *r = &s->procs[i];
		uint32_t pid = atomic_load(&r->pid);
		const struct gprio_shm_stats *st = pid ? gprio_nv_stats_of(nv, i) : NULL;
		struct seen *e = &seen[i];
		e->rows = 0;
		if (!st) {
			nv->prev[i].pid = 0;
			nv->prev[i].rows = 0;
			continue;
		}
		/* the GPUs it reports; none yet: it counts on every GPU listed */
		uint32_t rows = 0, n = atomic_load(&st->ngpus);
		for (uint32_t k = 0; k < n && k < GPRIO_SHM_PROC_GPUS; k++) {
			uint32_t pci = atomic_load(&st->gpus[k]);
			int g = pci ? gpu_row(nv, pci) : -1;
			if (g >= 0)
				rows |= 1u << g;
		}
		nv->prev[i].rows = rows; /* gprio_nv_groups reads it */
		if (!rows)
			for (int g = 0; g < GPRIO_SHM_GPUS; g++)
				if (atomic_load(&s->gpus[g].pci))
					rows |= 1u << g;
		used |= rows;
		/* counters since the previous tick (a new process in the row starts from its own) */
		const uint64_t now_c[6] = {
			atomic_load(&st->waits),   atomic_load(&st->wait_ns),
			atomic_load(&st->starts),  atomic_load(&st->launches),
			atomic_load(&st->sampled), atomic_load(&st->sampled_starts)};
		uint64_t *was[6] = {&nv->prev[i].waits,   &nv->prev[i].wait_ns,
				    &nv->prev[i].starts,  &nv->prev[i].launches,
				    &nv->prev[i].sampled, &nv->prev[i].sampled_starts};
		bool fresh = nv->prev[i].pid != pid;
		for (int k = 0; k < 6; k++)
			fresh = fresh || now_c[k] < *was[k];
		for (int k = 0; k < 6; k++) {
			e->d[k] = fresh ? 0 : now_c[k] - *was[k];
			*was[k] = now_c[k];
		}
		nv->prev[i].pid = pid;
		e->rows = rows;
		e->mech = atomic_load(&st->mechanisms);
		e->online = atomic_load(&r->klass) == GPRIO_CLASS_ONLINE;
		e->prio = atomic_load(&r->priority);
		/* how long online work has been pending: a host wait in progress, or the oldest
		 * submission the GPU has not finished (its completion counters; a program that
		 * polls mapped memory or queries events instead of synchronising waits too) */
		gprio_ns since = atomic_load(&st->wait_since),
			 oldest = atomic_load(&st->pending_since);
		if (oldest && (!since || oldest < since))
			since = oldest;
		e->cur = since && since < now ? now - since : 0;
		e->last = atomic_load(&st->last_launch_ns);
		uint32_t pending = atomic_load(&st->pending);
		if (pending)
			e->last = now; /* unfinished work is work */
		/* for turns: without completion counters, work is taken as pending (a handover
		 * waits out `drain`) */
		e->pending = pending || !(e->mech & GPRIO_MECH_COMPLETION);
		e->waiting = atomic_load(&st->waiting) != 0;
		e->side = atomic_load(&st->stuck) && atomic_load(&st->streams) >= 2;
		/* an online process idle for `idle_after` does not decide (a registered but quiet
		 * service at a higher priority must not leave a busy one unobserved) */
		e->active = e->last && e->last + nv->cfg.mech.idle_after > now;
		for (int g = 0; g < GPRIO_SHM_GPUS; g++)
			if (e->online && e->active && (rows & 1u << g) && (int)e->prio > top[g])
				top[g] = (int)e->prio;
	}
	for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++) {
		const struct seen *e = &seen[i];
		for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
			if (!(e->rows & 1u << g))
				continue;
			struct gprio_mech_obs *o = &obs[g];
			if (e->mech & (GPRIO_MECH_TSG_FAILED | GPRIO_MECH_MPS))
				o->timeslices_ok = false;
			if (!(e->mech & GPRIO_MECH_MPS))
				o->mps = false;
			if (!e->online) {
				o->offline = true;
				if (e->active) /* each offline context switched with the others */
					o->offline_procs++;
				continue;
			}
			o->online = true;
			online_rows[i] |= 1u << g;
			if (e->last > o->last_work)
				o->last_work = e->last > now ? now : e->last;
			o->all_starts += e->d[2];
			o->all_launches += e->d[3];
			o->all_sampled += e->d[4];
			o->all_sampled_starts += e->d[5];
			if ((int)e->prio < top[g])
				continue; /* measured, but the work above it decides */
			/* only a refusal counts: a process sets its counters up at its first launch
			 * (and gpriod may look in between) */
			if (e->mech & GPRIO_MECH_COMPLETION_OFF)
				o->completions = false;
			o->waits += e->d[0];
			o->waited += e->d[1];
			o->starts += e->d[2];
			o->launches += e->d[3];
			o->sampled += e->d[4];
			o->sampled_starts += e->d[5];
			if (e->cur > o->current)
				o->current = e->cur;
			if (e->d[0] || e->d[3] || e->cur)
				o->active = tick; /* it launched, waited or had work pending */
			if (e->side)
				o->side_stream_busy = true;
		}
	}
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		if (!atomic_load(&s->gpus[g].pci))
			continue;
		struct gprio_mech_state *st = &nv->mst[g];
		enum gprio_mech was = st->mech;
		bool first = !st->why;
		uint64_t kept = st->lt_kept, trials = st->trials_judged;
		if (!(used & 1u << g))
			obs[g].online = obs[g].offline = false;
		bool changed = gprio_mech_choose(&nv->cfg.mech, &obs[g], st, now);
		/* a leave trial that kept the GPU left: what it saw (a change is logged below);
		 * one follows another every 200 ms while the verdict stands, so the first and
		 * then every 25th */
		if (st->lt_kept > kept && !changed && st->mech == GPRIO_USE_LEAVE &&
		    (st->lt_kept == 1 || st->lt_kept % 25 == 0) && nv->cfg.log)
			fprintf(nv->cfg.log,
				"gpriod: GPU " GPRIO_PCI_FMT
				": leave kept after a %.0f ms trial (%llu since the verdict) [t "
				"%.3f s; mean wait %.0f us, %u %% of active time]\n",
				GPRIO_PCI_ARGS(atomic_load(&s->gpus[g].pci)),
				(double)nv->cfg.mech.leave_trial / 1e6,
				(unsigned long long)st->lt_kept, (double)now / 1e9,
				(double)st->judged_mean / 1e3, st->judged_share);
		/* a trial of protection that kept it: what it saw */
		if (st->trials_judged != trials && !changed && gprio_mech_protects(st->mech) &&
		    nv->cfg.log)
			fprintf(nv->cfg.log,
				"gpriod: GPU " GPRIO_PCI_FMT
				": %s kept after a %.0f ms trial [t %.3f s; restarts/s %llu; %llu "
				"waits, mean %.0f us, %u %% of active time]\n",
				GPRIO_PCI_ARGS(atomic_load(&s->gpus[g].pci)),
				gprio_mech_name(st->mech), (double)nv->cfg.mech.trial / 1e6,
				(double)now / 1e9, (unsigned long long)st->trial_rate,
				(unsigned long long)st->trial_waits_seen,
				(double)st->judged_mean / 1e3, st->judged_share);
		if (changed || first) {
			publish(nv, g, st);
			uint32_t pci = atomic_load(&s->gpus[g].pci);
			/* with what decided it: the monotonic time, and the rates of the last
			 * window or trial (restarts a second of the deciding work and of all
			 * online work, launches a second of all online work) */
			if (nv->cfg.log)
				fprintf(nv->cfg.log,
					"gpriod: GPU " GPRIO_PCI_FMT
					": %s (was %s): %s [t %.3f s; restarts/s %llu, all online "
					"%llu; launches/s %llu; mean wait %.0f us, %u %% of active "
					"time]\n",
					GPRIO_PCI_ARGS(pci), gprio_mech_name(st->mech),
					gprio_mech_name(was), st->why ? st->why : "",
					(double)now / 1e9, (unsigned long long)st->last_rate,
					(unsigned long long)st->all_rate,
					(unsigned long long)st->all_launch_rate,
					(double)st->judged_mean / 1e3, st->judged_share);
		} else if (strncmp(s->gpus[g].why, st->why ? st->why : "",
				   sizeof(s->gpus[g].why) - 1))
			publish(nv, g, st); /* same mechanism, new reason */
	}
	/* TSG turns: which offline process may launch on each GPU (gprio/turns.h), where online
	 * work is known to run (one that has not reported its GPU yet counts on every GPU for
	 * the mechanism, but holds no offline launch on a GPU it may not use) */
	uint32_t known_online = 0;
	for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++)
		if (seen[i].rows && seen[i].online && seen[i].active)
			known_online |= nv->prev[i].rows;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		if (!atomic_load(&s->gpus[g].pci))
			continue;
		struct gprio_turn_cand c[GPRIO_SHM_PROCS];
		size_t n = 0;
		for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++) {
			const struct seen *e = &seen[i];
			if ((nv->prev[i].rows & 1u << g) && !e->online && (e->active || e->waiting))
				c[n++] = (struct gprio_turn_cand){
					.key = i, .pending = e->pending, .waiting = e->waiting};
		}
		bool on = nv->mst[g].mech == GPRIO_USE_TSG_TURNS && (known_online & 1u << g);
		struct gprio_turns *t = &nv->turns[g];
		bool single = gprio_turns_single(t);
		uint32_t was = t->turn;
		uint32_t turn = gprio_turns_step(t, on, c, n, nv->cfg.mech.offline_turn,
						 nv->cfg.mech.turn_drain, now);
		if (turn != was)
			atomic_store(&s->gpus[g].turn, turn);
		if (single != gprio_turns_single(t))
			publish(nv, g, &nv->mst[g]); /* offline at 1 us, or at its floor again */
	}
	/* a trial of protection on a GPU: its online processes sample every launch */
	for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++) {
		gprio_ns until = 0;
		for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
			gprio_ns u = gprio_mech_sample_until(&nv->mst[g], now);
			if ((online_rows[i] & 1u << g) && u > until)
				until = u;
		}
		if (atomic_load(&s->procs[i].sample_until) != until)
			atomic_store(&s->procs[i].sample_until, until);
	}
}

void gprio_nv_print_gpus(FILE *f, const struct gprio_shm *s, gprio_ns now)
{
	if (!atomic_load(&s->mech_auto)) {
		fprintf(f,
			"mechanism: fixed (node-wide): TSG timeslice online %u us / offline %u us, "
			"gating %s\n",
			atomic_load(&s->online_timeslice_us), atomic_load(&s->offline_timeslice_us),
			atomic_load(&s->gating) ? "on" : "off");
		return;
	}
	int n = 0;
	for (int g = 0; g < GPRIO_SHM_GPUS; g++) {
		uint32_t pci = atomic_load(&s->gpus[g].pci);
		if (!pci)
			continue;
		if (!n++)
			fprintf(f, "%-12s %-12s %9s %13s %6s  %s\n", "GPU", "MECHANISM", "FOR(s)",
				"TIMESLICES", "GATING", "WHY");
		char id[16], ts[32];
		snprintf(id, sizeof(id), GPRIO_PCI_FMT, GPRIO_PCI_ARGS(pci));
		snprintf(ts, sizeof(ts), "%u/%u us", atomic_load(&s->gpus[g].online_timeslice_us),
			 atomic_load(&s->gpus[g].offline_timeslice_us));
		gprio_ns since = atomic_load(&s->gpus[g].since_ns);
		char why[sizeof(s->gpus[g].why)];
		memcpy(why, s->gpus[g].why, sizeof(why));
		why[sizeof(why) - 1] = '\0';
		fprintf(f, "%-12s %-12s %9.1f %13s %6s  %s\n", id,
			gprio_mech_name((enum gprio_mech)atomic_load(&s->gpus[g].mech)),
			since && since <= now ? (double)(now - since) / 1e9 : 0.0, ts,
			atomic_load(&s->gpus[g].gating) ? "on" : "off", why);
	}
	if (!n)
		fprintf(f, "mechanism: per GPU, chosen as online work appears (no GPU reported "
			   "yet)\n");
}

/* Groups (a job of several processes: DDP ranks, a launcher's workers): the processes of one
 * user with the same group name are held as one. Each member's group_rows is the union of the
 * members' GPU rows (every row while a member has not reported its GPU, or with the mechanism
 * fixed node-wide), so the gate holds all of them while any of their GPUs is hot: a rank is
 * not left spinning in a collective on a GPU other work could use while its peer is held. */
void gprio_nv_groups(struct gprio_nv *nv)
{
	struct gprio_shm *s = nv->shm;
	const uint32_t all = (uint32_t)((1ull << GPRIO_SHM_GPUS) - 1);
	uint32_t rows[GPRIO_SHM_PROCS] = {0};
	bool any = false, per_gpu = atomic_load(&s->mech_auto) != 0;
	for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++) {
		const struct gprio_shm_proc *r = &s->procs[i];
		if (!atomic_load(&r->pid) || !r->group[0])
			continue;
		any = true;
		/* as gprio_nv_mechanisms listed them this tick (per-GPU mechanisms only) */
		uint32_t mine = per_gpu ? nv->prev[i].rows : 0;
		rows[i] = mine ? mine : all;
	}
	for (uint32_t i = 0; i < GPRIO_SHM_PROCS; i++) {
		struct gprio_shm_proc *r = &s->procs[i];
		uint32_t want = 0, members = 0;
		for (uint32_t j = 0; any && rows[i] && j < GPRIO_SHM_PROCS; j++)
			if (rows[j] && atomic_load(&s->procs[j].uid) == atomic_load(&r->uid) &&
			    !strncmp(s->procs[j].group, r->group, GPRIO_GROUP_MAX)) {
				want |= rows[j];
				members++;
			}
		if (members < 2)
			want = 0;
		if (atomic_load(&r->group_rows) != want)
			atomic_store(&r->group_rows, want);
	}
}
