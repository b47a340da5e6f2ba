/* Workloads: online processes serve requests one at a time (Poisson or trace arrivals; a request
 * is K kernels launched `gap` apart on the CPU, so gap > kernel time makes it launch-bound; with
 * sync_every N the host waits for every Nth kernel before going on, a token read back; a
 * `startup` first launches kernels without waiting, and requests arrive after it);
 * offline processes launch continuously, keeping at most `inflight` kernels outstanding per
 * queue, and count iterations of K kernels. */
#include <errno.h>
#include <stdlib.h>

#include "world.h"

static gprio_ns sample_ns(struct sim_p *p, const struct sim_dist *d)
{
	return (gprio_ns)sim_dist_sample(d, &p->rng);
}

static uint32_t sample_blocks(struct sim_p *p)
{
	double b = sim_dist_sample(&p->spec->blocks, &p->rng);
	return b < 1 ? 1 : b > 1e7 ? 10000000u : (uint32_t)(b + 0.5);
}

static void next_arrival(struct sim_world *w, uint32_t pi)
{
	struct sim_p *p = &w->p[pi];
	const struct sim_proc_spec *ps = p->spec;
	gprio_ns t;
	if (ps->arrival == SIM_ARRIVE_POISSON) {
		struct sim_dist d = {SIM_DIST_EXP, 1e9 / ps->rate, 0};
		t = w->now + sample_ns(p, &d);
	} else if (ps->arrival == SIM_ARRIVE_CLOSED) {
		t = w->now + sample_ns(p, &ps->think);
	} else if (ps->arrival == SIM_ARRIVE_TRACE) {
		if (p->trace_i >= ps->ntrace)
			return;
		t = ps->start + ps->trace[p->trace_i++];
		if (t < w->now)
			t = w->now;
	} else {
		return;
	}
	if (t < w->end)
		sim_push(w, t, EV_ARRIVAL, pi, 0);
}

static void launch_one(struct sim_world *w, uint32_t pi, struct sim_q *q, bool last)
{
	struct sim_p *p = &w->p[pi];
	gprio_ns bt = sample_ns(p, &p->spec->kernel_time);
	sim_submit(w, q, bt, sample_blocks(p), last);
}

/* Online, its startup: one kernel on its first queue, the next `gap` later (at least 1 us),
 * nothing waited for; requests arrive once it is over. */
static void startup_launch(struct sim_world *w, uint32_t pi)
{
	struct sim_p *p = &w->p[pi];
	if (w->stopping || w->now >= p->spec->start + p->spec->startup)
		return;
	launch_one(w, pi, &w->q[p->q0], false);
	gprio_ns g = p->spec->startup_gap ? p->spec->startup_gap : sample_ns(p, &p->spec->gap);
	sim_push(w, w->now + (g > GPRIO_NS_PER_US ? g : GPRIO_NS_PER_US), EV_LAUNCH, pi,
		 SIM_STARTUP);
}

/* Online: launch the request's kernels, `gap` of CPU time apart. */
static void online_launch(struct sim_world *w, uint32_t pi)
{
	struct sim_p *p = &w->p[pi];
	while (p->cur_left) {
		p->cur_left--;
		struct sim_q *q = &w->q[p->cur_q];
		launch_one(w, pi, q, p->cur_left == 0);
		if (!p->cur_left) {
			p->wait_from = w->now; /* the host now waits for the request's result */
			break;
		}
		uint32_t n = p->spec->sync_every, done = p->spec->kernels - p->cur_left;
		if (n && done % n == 0 && !w->err) {
			/* the host waits for this one; kernel_done goes on after `gap` */
			q->ring[(q->wptr - 1) & (q->cap - 1)].sync = 1;
			p->wait_from = w->now;
			p->syncing = true;
			return;
		}
		gprio_ns g = sample_ns(p, &p->spec->gap);
		if (g) {
			sim_push(w, w->now + g, EV_LAUNCH, pi, p->cur_q);
			return;
		}
	}
}

static void start_request(struct sim_world *w, uint32_t pi)
{
	struct sim_p *p = &w->p[pi];
	if (p->serving || p->ph == p->pt)
		return;
	p->cur_arrival = p->pending[p->ph++ % p->pcap];
	p->serving = true;
	p->cur_lost = false;
	p->cur_q = p->q0 + p->next_q++ % p->nq;
	p->cur_left = p->spec->kernels;
	online_launch(w, pi);
}

static void offline_launch(struct sim_world *w, uint32_t pi, uint32_t k)
{
	struct sim_p *p = &w->p[pi];
	struct sim_q *q = &w->q[p->q0 + k];
	p->launch_pending[k] = false;
	if (w->stopping)
		return;
	if (q->wptr - q->done >= p->spec->inflight)
		return; /* resumes when a kernel completes */
	bool last = ++p->iter_pos[k] == p->spec->kernels;
	if (last)
		p->iter_pos[k] = 0;
	launch_one(w, pi, q, last);
	p->last_launch[k] = w->now;
	gprio_ns g = sample_ns(p, &p->spec->gap);
	p->launch_pending[k] = true;
	sim_push(w, w->now + g, EV_LAUNCH, pi, k);
}

void sim_workload_start(struct sim_world *w)
{
	for (uint32_t i = 0; i < w->np; i++) {
		struct sim_p *p = &w->p[i];
		if (p->spec->arrival == SIM_ARRIVE_CONTINUOUS) {
			for (uint32_t k = 0; k < p->nq; k++) {
				p->launch_pending[k] = true;
				sim_push(w, p->spec->start, EV_LAUNCH, i, k);
			}
		} else {
			gprio_ns serve = p->spec->start + p->spec->startup;
			if (p->spec->startup)
				sim_push(w, p->spec->start, EV_LAUNCH, i, SIM_STARTUP);
			if (p->spec->arrival == SIM_ARRIVE_CLOSED) {
				sim_push(w, serve, EV_ARRIVAL, i, 0);
				continue;
			}
			gprio_ns save = w->now;
			w->now = serve;
			next_arrival(w, i);
			w->now = save;
		}
	}
}

static void workload_event(struct sim_world *w, const struct sim_event *e)
{
	uint32_t pi = e->a;
	struct sim_p *p = &w->p[pi];
	if (e->type == EV_ARRIVAL) {
		if (w->stopping)
			return;
		if (p->pt - p->ph == p->pcap) {
			size_t cap = p->pcap ? p->pcap * 2 : 64;
			gprio_ns *n = malloc(cap * sizeof(*n));
			if (!n) {
				w->err = -ENOMEM;
				return;
			}
			for (size_t i = 0; i < p->pt - p->ph; i++)
				n[i] = p->pending[(p->ph + i) % (p->pcap ? p->pcap : 1)];
			p->pt -= p->ph;
			p->ph = 0;
			free(p->pending);
			p->pending = n;
			p->pcap = cap;
		}
		p->pending[p->pt++ % p->pcap] = w->now;
		if (p->spec->arrival != SIM_ARRIVE_CLOSED)
			next_arrival(w, pi);
		start_request(w, pi);
	} else if (p->spec->arrival == SIM_ARRIVE_CONTINUOUS) {
		offline_launch(w, pi, (uint32_t)e->b);
	} else if (e->b == SIM_STARTUP) {
		startup_launch(w, pi);
	} else {
		online_launch(w, pi);
	}
}

static void kernel_done(struct sim_world *w, struct sim_q *q, const struct sim_cmd *c, bool lost)
{
	uint32_t pi = q->proc;
	struct sim_p *p = &w->p[pi];
	bool counted = sim_in_window(w, w->now);
	if (counted && !lost)
		p->kernels++;
	if (p->spec->arrival == SIM_ARRIVE_CONTINUOUS) {
		if (c->last && counted && !lost)
			p->iterations++;
		uint32_t k = q->id - p->q0;
		if (!p->launch_pending[k] && !w->stopping) {
			gprio_ns g = sample_ns(p, &p->spec->gap);
			gprio_ns at = p->last_launch[k] + g;
			p->launch_pending[k] = true;
			sim_push(w, at > w->now ? at : w->now, EV_LAUNCH, pi, k);
		}
		return;
	}
	if (lost)
		p->cur_lost = true;
	if (c->sync) {
		/* a wait in the middle of the request ends: the host goes on after its gap */
		p->mo_waits++;
		p->mo_waited += w->now - p->wait_from;
		p->syncing = false;
		if (w->arch->host_synced)
			w->arch->host_synced(w, pi);
		if (!w->stopping)
			sim_push(w, w->now + sample_ns(p, &p->spec->gap), EV_LAUNCH, pi, p->cur_q);
		return;
	}
	if (!c->last)
		return;
	/* the request ends with its last kernel: the host's wait for it ends */
	p->mo_waits++;
	p->mo_waited += w->now - p->wait_from;
	if (!p->cur_lost && p->cur_arrival >= w->sc->warmup && w->now <= w->end) {
		gprio_hist_add(&p->lat, w->now - p->cur_arrival);
		p->requests++;
	}
	p->serving = false;
	if (w->stopping)
		return;
	if (p->spec->arrival == SIM_ARRIVE_CLOSED)
		next_arrival(w, pi);
	else
		start_request(w, pi);
}

const struct sim_workload_ops sim_workload_ops = {
	.event = workload_event,
	.kernel_done = kernel_done,
};
