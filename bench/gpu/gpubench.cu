// gpubench: the workloads of gprio's NVIDIA benchmark, in CUDA C++ so that CPU noise does not
// hide microsecond effects.
//   gpubench offline --block-us B [--blocks-per-sm N] [--seconds S] [--inflight D]
//       saturating job: kernels of (SMs x N) blocks, each spinning B us on clock64 and doing a
//       deterministic update of its own slice of a buffer; prints throughput and a checksum that
//       must not depend on how often it was preempted.
//   gpubench online --kernels K --kernel-us k --blocks NB --gap-us g --rate R [--graph] [--seconds S]
//       service: Poisson arrivals at R/s, served one at a time; a request is K kernels of NB
//       blocks x k us, launched g us apart (busy-waited CPU gap: launch-bound when g > k) or as
//       one CUDA graph (--graph). Latency = arrival -> last kernel done.
//   gpubench probe [--seconds S] [--pause-ms LO,HI] [--split FILE] [--prep-us P] [--hint]
//       closed loop: launch one 10 us kernel, wait, pause LO-HI ms (default 10-30); latency =
//       launch -> done. --prep-us: P us of busy CPU "request preparation" before each launch
//       (not in the latency); --hint: gprio's request hint (include/gprio/hint.h) at the start
//       of each preparation (a no-op unless run with gprio run --online --hint). --split: the kernel also writes a flag to mapped host memory when it
//       starts and the host spins on it, so each sample splits into launch call, launch -> start
//       seen, start seen -> done (FILE: one "total launch start rest" line per sample, in ms).
// Every mode prints one JSON object on stdout.
#include <cuda_runtime.h>

#include "../../include/gprio/hint.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#define CK(x)                                                                                   \
	do {                                                                                    \
		cudaError_t e_ = (x);                                                           \
		if (e_ != cudaSuccess) {                                                        \
			fprintf(stderr, "gpubench: %s:%d: %s: %s\n", __FILE__, __LINE__, #x,    \
				cudaGetErrorString(e_));                                        \
			exit(1);                                                                \
		}                                                                               \
	} while (0)


/* GPRIO_STREAM_PRIORITY=high|low: create the stream with the device's highest / lowest stream
 * priority (the AMD kit's "HIP stream priority" setup; plain streams otherwise). */
static cudaError_t make_stream(cudaStream_t *s)
{
	const char *p = getenv("GPRIO_STREAM_PRIORITY");
	if (!p || !*p)
		return cudaStreamCreateWithFlags(s, cudaStreamNonBlocking);
	int lo = 0, hi = 0;
	cudaError_t e = cudaDeviceGetStreamPriorityRange(&lo, &hi);
	if (e != cudaSuccess)
		return e;
	return cudaStreamCreateWithPriority(s, cudaStreamNonBlocking, strcmp(p, "high") == 0 ? hi : lo);
}

static double now_s()
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

__global__ void spin(long long cycles, unsigned *buf, unsigned salt)
{
	long long t0 = clock64();
	while (clock64() - t0 < cycles) {
	}
	if (buf && threadIdx.x == 0) {
		// deterministic: depends only on the block index and the launch number
		unsigned v = buf[blockIdx.x];
		buf[blockIdx.x] = v * 1664525u + 1013904223u + salt;
	}
}

static long long cycles_for_us(double us)
{
	int khz = 0;
	CK(cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0));
	return (long long)(us * khz / 1000.0);
}

static int sms()
{
	int n = 0;
	CK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, 0));
	return n;
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

// nearest-rank percentile p (0-100) of sorted samples; 0 when there are none
static double percentile(const std::vector<double> &sorted, double p)
{
	if (sorted.empty())
		return 0.0;
	size_t r = (size_t)std::ceil(p / 100.0 * sorted.size());
	return sorted[std::min(sorted.size() - 1, r ? r - 1 : 0)];
}

static void print_lat(const char *mode, std::vector<double> &lat, const char *extra, const char *dump)
{
	if (dump) { // raw samples for the CDF plot
		FILE *f = fopen(dump, "w");
		if (f) {
			for (double v : lat)
				fprintf(f, "%.5f\n", v);
			fclose(f);
		}
	}
	std::sort(lat.begin(), lat.end());
	auto pct = [&](double p) { return percentile(lat, p); };
	printf("{\"mode\": \"%s\", \"requests\": %zu, \"p50_ms\": %.4f, \"p90_ms\": %.4f, "
	       "\"p99_ms\": %.4f, \"max_ms\": %.4f%s}\n",
	       mode, lat.size(), pct(50), pct(90), pct(99), lat.empty() ? 0 : lat.back(), extra);
	fflush(stdout);
}

static int offline(int argc, char **argv)
{
	double block_us = atof(arg(argc, argv, "--block-us", "1000"));
	int per_sm = atoi(arg(argc, argv, "--blocks-per-sm", "2"));
	double seconds = atof(arg(argc, argv, "--seconds", "10"));
	long long iters_max = atoll(arg(argc, argv, "--iterations", "0"));
	int inflight = atoi(arg(argc, argv, "--inflight", "4"));
	int threads = atoi(arg(argc, argv, "--threads", "1024"));
	// throughput is counted over [w0, w1] seconds after the start (the window the online
	// service is measured in); default: the whole run
	double w0 = atof(arg(argc, argv, "--window-start", "0"));
	double w1 = atof(arg(argc, argv, "--window-end", "1e9"));
	long long in_window = 0;
	int blocks = sms() * per_sm;
	unsigned *buf;
	CK(cudaMalloc(&buf, blocks * sizeof(unsigned)));
	CK(cudaMemset(buf, 0, blocks * sizeof(unsigned)));
	cudaStream_t s;
	CK(make_stream(&s));
	std::vector<cudaEvent_t> ev(inflight);
	for (auto &e : ev)
		CK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
	long long cyc = cycles_for_us(block_us);
	double t0 = now_s();
	long long n = 0;
	while (iters_max ? n < iters_max : now_s() - t0 < seconds) {
		if (n >= inflight) {
			CK(cudaEventSynchronize(ev[n % inflight]));
			double t = now_s() - t0; // kernel n - inflight has completed by now
			in_window += t >= w0 && t <= w1;
		}
		spin<<<blocks, threads, 0, s>>>(cyc, buf, (unsigned)n);
		CK(cudaGetLastError());
		CK(cudaEventRecord(ev[n % inflight], s));
		n++;
	}
	CK(cudaStreamSynchronize(s));
	double el = now_s() - t0;
	std::vector<unsigned> h(blocks);
	CK(cudaMemcpy(h.data(), buf, blocks * sizeof(unsigned), cudaMemcpyDeviceToHost));
	unsigned long long sum = 1469598103934665603ull;
	for (unsigned v : h)
		sum = (sum ^ v) * 1099511628211ull;
	double wl = std::min(w1, el) - w0;
	printf("{\"mode\": \"offline\", \"block_us\": %.1f, \"blocks\": %d, \"kernels\": %lld, "
	       "\"seconds\": %.3f, \"kernels_per_s\": %.3f, \"window_s\": %.3f, "
	       "\"window_kernels_per_s\": %.3f, \"checksum\": \"%016llx\"}\n",
	       block_us, blocks, n, el, n / el, wl, wl > 0 ? in_window / wl : 0.0, sum);
	return 0;
}

static void busy_wait_us(double us)
{
	double until = now_s() + us * 1e-6;
	while (now_s() < until) {
	}
}

static int online(int argc, char **argv)
{
	int k = atoi(arg(argc, argv, "--kernels", "32"));
	double kus = atof(arg(argc, argv, "--kernel-us", "20"));
	int nb = atoi(arg(argc, argv, "--blocks", "16"));
	double gap = atof(arg(argc, argv, "--gap-us", "50"));
	double rate = atof(arg(argc, argv, "--rate", "50"));
	double seconds = atof(arg(argc, argv, "--seconds", "20"));
	double warm = atof(arg(argc, argv, "--warmup", "2"));
	bool graph = flag(argc, argv, "--graph");
	cudaStream_t s;
	CK(make_stream(&s));
	long long cyc = cycles_for_us(kus);
	cudaGraphExec_t exec = nullptr;
	if (graph) {
		cudaGraph_t g;
		CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
		for (int i = 0; i < k; i++)
			spin<<<nb, 64, 0, s>>>(cyc, nullptr, 0);
		CK(cudaStreamEndCapture(s, &g));
		CK(cudaGraphInstantiate(&exec, g, 0));
	}
	std::mt19937_64 rng(12345);
	std::exponential_distribution<double> ia(rate);
	std::vector<double> lat;
	double t0 = now_s(), next = t0 + warm, busy = 0;
	while (next < t0 + warm + seconds) {
		double now = now_s();
		if (now < next) {
			double d = next - now;
			if (d > 200e-6)
				std::this_thread::sleep_for(std::chrono::duration<double>(d - 150e-6));
			while (now_s() < next) {
			}
		}
		double start = now_s();
		if (graph) {
			CK(cudaGraphLaunch(exec, s));
		} else {
			for (int i = 0; i < k; i++) {
				spin<<<nb, 64, 0, s>>>(cyc, nullptr, 0);
				if (gap > 0 && i + 1 < k)
					busy_wait_us(gap);
			}
		}
		CK(cudaStreamSynchronize(s));
		double end = now_s();
		busy += end - start;
		lat.push_back((end - next) * 1e3); // from the scheduled arrival: includes queueing
		next += ia(rng);
	}
	char extra[160];
	snprintf(extra, sizeof(extra), ", \"kernels\": %d, \"kernel_us\": %.1f, \"gap_us\": %.1f, "
		 "\"rate\": %.1f, \"graph\": %s, \"busy_share\": %.4f", k, kus, gap, rate,
		 graph ? "true" : "false", busy / seconds);
	print_lat(graph ? "online-graph" : "online-launch-bound", lat, extra,
		  arg(argc, argv, "--dump", nullptr));
	return 0;
}

__global__ void spin_flag(long long cycles, volatile unsigned *flag, unsigned seq)
{
	if (threadIdx.x == 0) {
		*flag = seq; // zero-copy host memory: the host sees the start within a PCIe round trip
		__threadfence_system();
	}
	long long t0 = clock64();
	while (clock64() - t0 < cycles) {
	}
}

// --selfhold: the request hint's hold done here (as the shim's PTX does it: one thread spinning on
// a mapped flag, bounded, on the probe's stream), with GPU timestamps (%globaltimer) of the hold's
// start and end and the probe's start, to see where a hinted request's time goes.
__device__ __forceinline__ unsigned long long gtimer()
{
	unsigned long long t;
	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
}

__global__ void self_hold(volatile unsigned *flag, unsigned gen, unsigned long long bound,
			  unsigned long long *ts)
{
	unsigned long long t0 = gtimer();
	ts[0] = t0;
	while ((int)(*flag - gen) < 0 && gtimer() - t0 < bound)
		__nanosleep(500);
	ts[1] = gtimer();
	__threadfence_system();
}

__global__ void spin_flag_ts(long long cycles, volatile unsigned *flag, unsigned seq,
			     unsigned long long *ts)
{
	if (threadIdx.x == 0) {
		ts[2] = gtimer();
		*flag = seq;
		__threadfence_system();
	}
	long long t0 = clock64();
	while (clock64() - t0 < cycles) {
	}
}

static double wall_ns()
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int probe(int argc, char **argv)
{
	double seconds = atof(arg(argc, argv, "--seconds", "10"));
	double lo = 10, hi = 30;
	if (sscanf(arg(argc, argv, "--pause-ms", "10,30"), "%lf,%lf", &lo, &hi) != 2 || lo < 0 || hi < lo) {
		fprintf(stderr, "gpubench: --pause-ms wants LO,HI in ms\n");
		return 2;
	}
	const char *split = arg(argc, argv, "--split", nullptr);
	double prep_us = atof(arg(argc, argv, "--prep-us", "0"));
	bool hint = flag(argc, argv, "--hint");
	bool selfhold = flag(argc, argv, "--selfhold");
	volatile unsigned *hold_flag = nullptr;
	unsigned *hold_flag_d = nullptr;
	unsigned long long *ts = nullptr, *ts_d = nullptr;
	unsigned hold_gen = 0;
	std::vector<double> t_start, t_gap, t_exit;
	typedef int (*hint_last_fn)(unsigned long long *);
	hint_last_fn hint_last = hint ? (hint_last_fn)dlsym(RTLD_DEFAULT, "gprio_hint_last") : nullptr;
	if (selfhold || hint_last) {
		CK(cudaHostAlloc((void **)&hold_flag, sizeof(unsigned), cudaHostAllocMapped));
		CK(cudaHostGetDevicePointer((void **)&hold_flag_d, (void *)hold_flag, 0));
		*hold_flag = 0;
		CK(cudaHostAlloc((void **)&ts, 4 * sizeof(*ts), cudaHostAllocMapped));
		CK(cudaHostGetDevicePointer((void **)&ts_d, (void *)ts, 0));
		*hold_flag = 0;
	}
	cudaStream_t s;
	CK(make_stream(&s));
	long long cyc = cycles_for_us(10);
	std::mt19937_64 rng(7);
	std::uniform_real_distribution<double> pause(lo * 1e-3, hi * 1e-3);
	volatile unsigned *hflag = nullptr;
	unsigned *dflag = nullptr;
	if (split) {
		CK(cudaHostAlloc((void **)&hflag, sizeof(unsigned), cudaHostAllocMapped));
		CK(cudaHostGetDevicePointer((void **)&dflag, (void *)hflag, 0));
		*hflag = 0;
	}
	spin<<<1, 32, 0, s>>>(cyc, nullptr, 0);
	CK(cudaStreamSynchronize(s));
	std::vector<double> lat, l_call, l_start, l_rest;
	double t_end = now_s() + seconds;
	unsigned seq = 0;
	long hints = 0, placed = 0;
	int hint_rc = -9;
	while (now_s() < t_end) {
		if (hint) {
			hint_rc = gprio_request_hint((void *)s);
			hints++;
			placed += hint_rc == GPRIO_HINT_PLACED;
		}
		double hint_wall = wall_ns(), rel_wall = 0;
		if (selfhold)
			self_hold<<<1, 1, 0, s>>>(hold_flag_d, ++hold_gen, 2000000ull, ts_d);
		if (prep_us > 0)
			busy_wait_us(prep_us);
		double a = now_s(), b = a, c = a;
		if (split && (selfhold || (hint_last && hint_rc == GPRIO_HINT_PLACED))) {
			// a hold before the request: ours (--selfhold, released here) or the shim's
			// (released by the shim at this launch), timed on the GPU clock
			spin_flag_ts<<<1, 32, 0, s>>>(cyc, dflag, ++seq, ts_d);
			rel_wall = wall_ns();
			if (selfhold)
				*hold_flag = hold_gen;
			b = now_s();
			while (*hflag != seq) {
			}
			double seen = wall_ns();
			c = now_s();
			CK(cudaStreamSynchronize(s));
			unsigned long long ht[2] = {ts[0], ts[1]};
			if ((selfhold || hint_last(ht) == 0) && ht[0] && ht[1]) {
				// GPU clock -> host wall clock: the probe's start was seen `seen` (one
				// PCIe trip late)
				double off = seen - (double)ts[2];
				t_start.push_back(((double)ht[0] + off - hint_wall) / 1e6); // hint -> hold running
				t_exit.push_back(((double)ht[1] + off - rel_wall) / 1e6);   // release -> hold ended
				t_gap.push_back(((double)ts[2] - (double)ht[1]) / 1e6);    // hold ended -> probe
			}
		} else if (split) {
			spin_flag<<<1, 32, 0, s>>>(cyc, dflag, ++seq);
			b = now_s();
			while (*hflag != seq) {
			}
			c = now_s();
		} else {
			spin<<<1, 32, 0, s>>>(cyc, nullptr, 0);
		}
		CK(cudaStreamSynchronize(s));
		double d = now_s();
		lat.push_back((d - a) * 1e3);
		if (split) {
			l_call.push_back((b - a) * 1e3);
			l_start.push_back((c - a) * 1e3);
			l_rest.push_back((d - c) * 1e3);
		}
		std::this_thread::sleep_for(std::chrono::duration<double>(pause(rng)));
	}
	char hb[160];
	snprintf(hb, sizeof(hb), ", \"prep_us\": %.0f, \"hints\": %ld, \"hints_placed\": %ld, \"hint_rc\": %d",
		 prep_us, hints, placed, hint_rc);
	std::string extra = hb;
	if (!t_start.empty()) {
		for (auto *v : {&t_start, &t_exit, &t_gap})
			std::sort(v->begin(), v->end());
		char tb[256];
		snprintf(tb, sizeof(tb), ", \"hold_start_p50_ms\": %.4f, \"release_to_hold_end_p50_ms\": %.4f, "
			 "\"hold_end_to_probe_p50_ms\": %.4f, \"hold_end_to_probe_p99_ms\": %.4f",
			 percentile(t_start, 50), percentile(t_exit, 50), percentile(t_gap, 50), percentile(t_gap, 99));
		extra += tb;
	}
	if (split) {
		FILE *f = fopen(split, "w");
		for (size_t i = 0; f && i < lat.size(); i++)
			fprintf(f, "%.5f %.5f %.5f %.5f\n", lat[i], l_call[i], l_start[i], l_rest[i]);
		if (f)
			fclose(f);
		for (auto *v : {&l_call, &l_start, &l_rest})
			std::sort(v->begin(), v->end());
		char buf[256];
		snprintf(buf, sizeof(buf), ", \"call_p50_ms\": %.4f, \"call_p99_ms\": %.4f, \"start_p50_ms\": %.4f, "
			 "\"start_p99_ms\": %.4f, \"rest_p50_ms\": %.4f, \"rest_p99_ms\": %.4f",
			 percentile(l_call, 50), percentile(l_call, 99), percentile(l_start, 50),
			 percentile(l_start, 99), percentile(l_rest, 50), percentile(l_rest, 99));
		extra += buf;
	}
	print_lat("probe", lat, extra.c_str(), arg(argc, argv, "--dump", nullptr));
	return 0;
}

/* launchcost: the host time of one launch call (what the shim adds per launch), over --n
 * launches of a tiny kernel in groups of --batch separated by --gap-us of host "work" (as a
 * CPU-bound service launches), with a stream sync after each group; --stream legacy|own. Only
 * the launch calls are timed. Prints the mean and p50/p99 ns per call. */
__global__ void tiny(unsigned *buf)
{
	if (threadIdx.x == 0)
		buf[blockIdx.x]++;
}

static int launchcost(int argc, char **argv)
{
	long n = atol(arg(argc, argv, "--n", "200000"));
	int batch = atoi(arg(argc, argv, "--batch", "16"));
	double gap = atof(arg(argc, argv, "--gap-us", "5"));
	bool own = strcmp(arg(argc, argv, "--stream", "legacy"), "own") == 0;
	cudaStream_t s = 0;
	if (own)
		make_stream(&s);
	unsigned *buf;
	cudaMalloc(&buf, 4096);
	std::vector<double> per;
	per.reserve((size_t)n);
	for (int w = 0; w < 1000; w++)
		tiny<<<1, 32, 0, s>>>(buf);
	cudaStreamSynchronize(s);
	double total = 0;
	for (long i = 0; i < n; i++) {
		double t0 = now_s();
		tiny<<<1, 32, 0, s>>>(buf);
		double t1 = now_s();
		per.push_back((t1 - t0) * 1e9);
		total += t1 - t0;
		if (gap > 0)
			busy_wait_us(gap);
		if ((i + 1) % batch == 0)
			cudaStreamSynchronize(s);
	}
	cudaStreamSynchronize(s);
	std::sort(per.begin(), per.end());
	printf("{\"mode\": \"launchcost\", \"launches\": %ld, \"batch\": %d, \"gap_us\": %.1f, "
	       "\"stream\": \"%s\", \"mean_ns\": %.1f, \"p50_ns\": %.1f, \"p99_ns\": %.1f, "
	       "\"error\": \"%s\"}\n",
	       n, batch, gap, own ? "own" : "legacy", total * 1e9 / (double)n, per[per.size() / 2],
	       per[per.size() * 99 / 100], cudaGetErrorString(cudaGetLastError()));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: gpubench offline|online|probe|launchcost [options]\n");
		return 2;
	}
	std::string m = argv[1];
	if (m == "offline")
		return offline(argc, argv);
	if (m == "online")
		return online(argc, argv);
	if (m == "probe")
		return probe(argc, argv);
	if (m == "launchcost")
		return launchcost(argc, argv);
	fprintf(stderr, "gpubench: unknown mode '%s'\n", argv[1]);
	return 2;
}
