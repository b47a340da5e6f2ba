#!/bin/bash
# The workload matrix, one command on the GPU machine:
#   bench/gpu/matrix.sh OUTDIR [CELL...]     CELL: graph eager decode side (default: all)
#   DUR=20 (seconds of online requests per run), SETUPS="online_alone offline_alone together
#   tsg mps gprio" (default: all six, gprio second so that a run cut short still compares it;
#   SETUPS_<cell> overrides it for one cell)
# Online (torch_bench.py): graph = ResNet-50 bs16 CUDA graph at 40/s (GPU-bound); eager =
# ResNet-50 bs1 eager at 20/s (launch-bound); decode = 12-layer transformer, 16 tokens per
# request, bs1, 4/s (CPU-bound: a request takes about 160 ms alone on the H200 machine's CPU,
# so 10/s overloads it; its runs last 2 x DUR); side = the graph service with a side stream
# that never drains.
# Offline: PyTorch transformer training (8 layers, d=1024, bf16), counted over the online window.
# Setups: online alone, offline alone, together (nothing), static TSG (gpriod --mechanism fixed
# --gating off --online-timeslice 1s --offline-timeslice 1us), MPS with the offline client at
# priority 1, and gprio = plain `gpriod` with its defaults (no flag but --shm). In the gprio
# setup gprio status --json is saved mid-window and gpriod's log is kept.
# Then bench/gpu/summarize.py OUTDIR RESULTS.json gives the table, JSON and plot.
set -u
OUT=${1:?usage: matrix.sh OUTDIR [graph|eager|decode|side]...}
shift
CELLS=${*:-graph eager decode side}
DUR=${DUR:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh" # gpu_build, pair
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=${GPRIO_SHM:-/dev/shm/gprio-matrix}
T=$ROOT/bench/gpu/torch_bench.py
DPID= CELL=

daemon_start() { "$B/gpriod" --shm "$GPRIO_SHM" "$@" 2>>"$OUT/$CELL.gpriod.log" & DPID=$!; sleep 0.3; }
daemon_stop() { if [ -n "$DPID" ]; then kill -INT "$DPID"; wait "$DPID"; DPID=; fi; }
trap 'daemon_stop; [ -n "${CUDA_MPS_PIPE_DIRECTORY:-}" ] && mps_stop' EXIT
# stopped from outside (parallel.sh's time bound): end the runs in progress, then the EXIT trap
trap 'pkill -P $$; exit 143' TERM INT
snap_pid=
setup_begin() {
	ON=(); OFF=()
	case $1 in
	mps) mps_start # (an MPS server started with CUDA_VISIBLE_DEVICES=N shows its clients device 0)
	     local v=${CUDA_VISIBLE_DEVICES:+CUDA_VISIBLE_DEVICES=0}
	     ON=(env $v CUDA_MPS_CLIENT_PRIORITY=0); OFF=(env $v CUDA_MPS_CLIENT_PRIORITY=1) ;;
	tsg) daemon_start --mechanism fixed --gating off --online-timeslice 1s --offline-timeslice 1us
	     ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --) ;;
	gprio) daemon_start # plain gpriod: what a user gets
	       ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --)
	       # what gpriod chose, mid-window
	       (sleep $((START + 8 + DUR / 2)); "$B/gprio" status --json >"$OUT/$CELL.gprio.status.json" 2>&1) &
	       snap_pid=$! ;;
	esac
}
setup_end() {
	case $1 in
	mps) mps_stop ;;
	tsg) daemon_stop ;;
	gprio) wait "$snap_pid" 2>/dev/null; daemon_stop ;;
	esac
}

SETUPS=${SETUPS:-online_alone gprio together tsg mps offline_alone}

for c in $CELLS; do
	CELL=$c
	case $c in
	graph) on="python3 $T online-graph --rate 40" ;;
	eager) on="python3 $T online-eager --rate 20" ;;
	decode) on="python3 $T online-decode --rate 4" ;;
	side) on="python3 $T online-side --rate 40" ;;
	*) echo "unknown cell $c" >&2; exit 2 ;;
	esac
	d=$DUR
	[ "$c" = decode ] && d=$((2 * DUR))
	ss=SETUPS_$c # SETUPS_graph=... : this cell's own list
	for s in ${!ss:-$SETUPS}; do
		# online alone needs no head start for an offline job
		START=$([ "$s" = online_alone ] && echo 1 || echo 12) DUR=$d pair "$c" "$s" "$on" "python3 $T offline"
	done
done
# everything in one file (the GPU machine returns a few files per call)
tar czf "$OUT.tgz" -C "$(dirname "$OUT")" "$(basename "$OUT")"
echo "done: $OUT ($OUT.tgz)" >&2
