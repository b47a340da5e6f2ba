#!/bin/bash
# gprio's NVIDIA benchmark, one command on the GPU machine:
#   bench/gpu/run.sh OUTDIR [CASE...]     CASE: launchbound graph probe torchgraph torcheager
#                                         (default: all)
#   DUR=30 (seconds per measured run; PROBE_DUR=20 for the probe: ~900 samples at 10-30 ms pauses)
# Every case runs as: online alone, offline alone, together (nothing), together under MPS client
# priority, together with static TSG timeslices only (gpriod --gating off), together under gprio
# (SETUPS="... gprio_mps" adds gprio under MPS: gating + the shim's MPS client priority).
# Writes OUTDIR/<case>.<setup>.{online,offline}.json and raw latencies; bench/gpu/summarize.py
# turns them into results JSON, a table and a CDF plot.
set -u
OUT=${1:?usage: run.sh OUTDIR [launchbound|graph|probe]...}
shift
CASES=${*:-launchbound graph probe torchgraph torcheager}
DUR=${DUR:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh" # gpu_build, pair, correctness
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=/dev/shm/gprio-bench
HYST_US=${HYST_US:-500}
DPID=

daemon_start() { "$B/gpriod" --shm "$GPRIO_SHM" --hysteresis-us "$HYST_US" "$@" 2>>"$OUT/gpriod.log" & DPID=$!; sleep 0.3; }
daemon_stop() { if [ -n "$DPID" ]; then kill -INT "$DPID"; wait "$DPID"; DPID=; fi; }
trap 'daemon_stop; [ -n "${CUDA_MPS_PIPE_DIRECTORY:-}" ] && mps_stop' EXIT

# setup_env SETUP: prefixes for the online and the offline command
setup_begin() {
	ON=(); OFF=()
	case $1 in
	mps) mps_start; ON=(env CUDA_MPS_CLIENT_PRIORITY=0); OFF=(env CUDA_MPS_CLIENT_PRIORITY=1) ;;
	tsg) daemon_start --gating off --online-timeslice-us 1000000 --offline-timeslice-us 1
	     ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --) ;;
	gprio) daemon_start --gating on --online-timeslice-us 1000000 --offline-timeslice-us 1 \
		--offline-inflight "${INFLIGHT:-0}"
	       ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --) ;;
	gprio_mps) # gprio under MPS: the shim gives offline clients CUDA_MPS_CLIENT_PRIORITY=1
		mps_start; daemon_start --gating on
		ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --) ;;
	esac
}
setup_end() {
	case $1 in
	mps) mps_stop ;;
	tsg | gprio) daemon_stop ;;
	gprio_mps) daemon_stop; mps_stop ;;
	esac
}


SETUPS=${SETUPS:-online_alone offline_alone together mps tsg gprio}
for c in $CASES; do
	case $c in
	launchbound)
		# 32 kernels of 16 blocks x 20 us, 50 us of CPU between launches, 40 requests/s;
		# offline: every SM full of 1 ms blocks
		for s in $SETUPS; do
			pair launchbound "$s" "$GB online --kernels 32 --kernel-us 20 --blocks 16 --gap-us 50 --rate 40" \
				"$GB offline --block-us 1000 --blocks-per-sm 2"
		done ;;
	graph)
		# GPU-bound: one CUDA graph of 60 kernels x 132 blocks x 40 us per request, 40/s
		for s in $SETUPS; do
			pair graph "$s" "$GB online --graph --kernels 60 --kernel-us 40 --blocks 132 --rate 40" \
				"$GB offline --block-us 1000 --blocks-per-sm 2"
		done ;;
	probe)
		# preemption latency of a tiny kernel against offline blocks of 0.1 ms ... 1.5 s
		for L in 100 1000 10000 100000 1500000; do
			for s in together tsg gprio; do
				DUR=${PROBE_DUR:-20} pair "probe$L" "$s" "$GB probe" "$GB offline --block-us $L --blocks-per-sm 2 --inflight 2"
			done
		done ;;
	torchgraph | torcheager)
		# facts/nvidia.md's pairing: ResNet-50 serving (CUDA graph bs16 at 40/s, or eager bs1
		# at 20/s) next to transformer training; the models load before the window opens
		T=$ROOT/bench/gpu/torch_bench.py
		mode=online-graph rate=40
		[ "$c" = torcheager ] && mode=online-eager rate=20
		for s in $SETUPS; do
			START=12 pair "$c" "$s" "python3 $T $mode --rate $rate" "python3 $T offline"
		done ;;
	esac
done
# offline correctness: the same fixed job (20000 kernels, ~6 s) alone and under gprio with an
# online service preempting it the whole time; the checksums must be equal
if [ -n "${CORRECT:-1}" ] && [ "${CORRECT:-1}" != 0 ]; then
	correctness --gating on --online-timeslice-us 1000000 --offline-timeslice-us 1
	if [ -n "${TORCH_CORRECT:-}" ]; then
		T=$ROOT/bench/gpu/torch_bench.py
		python3 "$T" offline --iterations 150 >"$OUT/correct_torch.alone.json"
		daemon_start --gating on --online-timeslice-us 1000000 --offline-timeslice-us 1
		"$B/gprio" run --online -- "$GB" online --kernels 32 --kernel-us 20 --blocks 16 --gap-us 50 \
			--rate 100 --seconds 25 --warmup 0 >/dev/null &
		opid=$!
		"$B/gprio" run --offline -- python3 "$T" offline --iterations 150 >"$OUT/correct_torch.gprio.json"
		kill "$opid" 2>/dev/null; wait "$opid" 2>/dev/null
		daemon_stop
	fi
fi
echo "done: $OUT" >&2
