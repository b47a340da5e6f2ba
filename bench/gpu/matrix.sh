#!/bin/bash
# The workload matrix, one command on the GPU machine:
#   bench/gpu/matrix.sh OUTDIR [CELL...]     CELL: graph eager decode side (default: all one-GPU
#                                            cells), gdecode, twooff, two, or on a 2-GPU machine
#                                            ddp other, or
#                                            probeL (preemption latency next to offline kernels
#                                            of L us: probe1000, probe100000), hintL (the same
#                                            with PREP_US=300 us of request preparation before
#                                            each probe, and the request hint at its start)
#                                            CELL@N runs CELL again in the same call, its files
#                                            named CELL@N (repeats: eager eager@2 eager@3)
#   DUR=20 (seconds of online requests per run), SETUPS="online_alone offline_alone together
#   tsg mps gprio" (default: all six, gprio second so that a run cut short still compares it;
#   gprio_nolinger = plain gpriod with --linger-us 0, tsgN = static TSG with the offline timeslice
#   at N us, tsg_linger = static TSG with --linger-us
#   500, gprio_linger = plain gpriod with --linger-us 500 and the shims' debug logs, none in the
#   default;
#   SETUPS_<cell> overrides it for one cell; gprio_mps = gpriod --mps on, not in the default;
#   gprio_mpsN = the same with --mps-offline-sm N; gprio_hint = plain gpriod, the online program
#   started with gprio run --online --hint: the default for hintL cells is online_alone gprio
#   gprio_hint tsg together)
# Online (torch_bench.py): graph = ResNet-50 bs16 CUDA graph at 40/s (GPU-bound); eager =
# ResNet-50 bs1 eager at 20/s (launch-bound); decode = 12-layer transformer, 16 tokens per
# request, bs1, 2/s (CPU-bound: a request takes about 160 ms alone on the H200 machine's CPU;
# gdecode = the same transformer with each token step a CUDA graph, 16 steps read back one by
# one, 20/s (GPU-bound steps, short CPU gaps: what lingering is for);
# at 4/s the alone run already queued, p99 445-2142 ms between calls; its runs last 3 x DUR); side = the graph service with a side stream
# that never drains. 2-GPU cells (the online service on GPU 0): ddp = the offline job data-parallel
# over both GPUs (torchrun, NCCL: one group under gprio run); other = the offline job on GPU 1
# only; two = a second online service (eager, priority 8) and a second offline job next to them,
# all on GPU 0 (the second pair's results in *.online2.json / *.offline2.json). One-GPU cell
# twooff = the graph service next to two training jobs (*.offline2.json): two offline contexts
# switched with each other as well as with online work.
# Offline: PyTorch transformer training (8 layers, d=1024, bf16), counted over the online window.
# Setups: online alone, offline alone, together (nothing), static TSG (gpriod --mechanism fixed
# --gating off --online-timeslice 1s --offline-timeslice 1us --linger-us 0), MPS with the offline client at
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
# shim_logged on|off CLASS-FLAG CMD...: gprio run with the shim's debug log in a file
shim_logged() {
	local tag=$1 cls=$2
	shift 2
	GPRIO_DEBUG=1 "$B/gprio" run "$cls" -- "$@" 2>>"$OUT/$CELL.gprio_linger.$tag.log"
}
setup_begin() {
	ON=(); OFF=()
	case $1 in
	mps) mps_start # (an MPS server started with CUDA_VISIBLE_DEVICES=N shows its clients device 0)
	     local v=${CUDA_VISIBLE_DEVICES:+CUDA_VISIBLE_DEVICES=0}
	     ON=(env $v CUDA_MPS_CLIENT_PRIORITY=0); OFF=(env $v CUDA_MPS_CLIENT_PRIORITY=1) ;;
	tsg) daemon_start --mechanism fixed --gating off --online-timeslice 1s --offline-timeslice 1us --linger-us 0
	     ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --) ;;
	tsg[0-9]*) # static TSG with the offline timeslice at N us (tsg250: 250 us), a sweep of the
	     # offline floor (two offline jobs at 1 us spend their time switching between themselves)
	     daemon_start --mechanism fixed --gating off --online-timeslice 1s --offline-timeslice "${1#tsg}us" --linger-us 0
	     ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --) ;;
	tsg_linger) # static TSG with lingering (gpriod --linger-us 500): the hold apart from the law
	     daemon_start --mechanism fixed --gating off --online-timeslice 1s --offline-timeslice 1us --linger-us 500
	     ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --)
	     (sleep $((START + 8 + DUR / 2)); "$B/gprio" status --json >"$OUT/$CELL.$1.status.json" 2>&1) &
	     snap_pid=$! ;;
	gprio_mps | gprio_mps[0-9]*) # gpriod --mps on: gpriod runs the MPS control daemon, in its
		# segment's directory (gprio_mpsN: offline clients at N % of the SMs)
		SHM_SAVED=$GPRIO_SHM
		export GPRIO_SHM=${MPS_DIR:-/tmp/gprio-mps}-gpriod/seg
		mkdir -p -m 755 "${GPRIO_SHM%/*}"
		local sm=${1#gprio_mps}
		daemon_start --mps on ${sm:+--mps-offline-sm $sm}
		# its MPS server sees gpriod's CUDA_VISIBLE_DEVICES and shows its clients device 0
		local w=${CUDA_VISIBLE_DEVICES:+CUDA_VISIBLE_DEVICES=0}
		ON=("$B/gprio" run --online -- env $w); OFF=("$B/gprio" run --offline -- env $w)
		(sleep $((START + 8 + DUR / 2)); "$B/gprio" status --json >"$OUT/$CELL.$1.status.json" 2>&1) &
		snap_pid=$! ;;
	gprio_linger) daemon_start --linger-us 500 # plain gpriod with lingering, the shims' debug
	       # logs (TSG timeslice changes, holds refused) kept in CELL.gprio_linger.{on,off}.log
	       ON=(shim_logged on --online); OFF=(shim_logged off --offline)
	       (sleep $((START + 8 + DUR / 2)); "$B/gprio" status --json >"$OUT/$CELL.$1.status.json" 2>&1) &
	       snap_pid=$! ;;
	gprio_nolinger) daemon_start --linger-us 0 # plain gpriod without lingering
	       ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --)
	       (sleep $((START + 8 + DUR / 2)); "$B/gprio" status --json >"$OUT/$CELL.$1.status.json" 2>&1) &
	       snap_pid=$! ;;
	gprio | gprio_hint) daemon_start # plain gpriod: what a user gets
	       ON=("$B/gprio" run --online --); OFF=("$B/gprio" run --offline --)
	       [ "$1" = gprio_hint ] && ON=("$B/gprio" run --online --hint --)
	       # what gpriod chose, mid-window
	       (sleep $((START + 8 + DUR / 2)); "$B/gprio" status --json >"$OUT/$CELL.$1.status.json" 2>&1) &
	       snap_pid=$! ;;
	esac
}
setup_end() {
	case $1 in
	mps) mps_stop ;;
	tsg | tsg[0-9]*) daemon_stop ;;
	tsg_linger) wait "$snap_pid" 2>/dev/null; daemon_stop ;;
	gprio | gprio_hint | gprio_nolinger | gprio_linger) wait "$snap_pid" 2>/dev/null; daemon_stop ;;
	gprio_mps | gprio_mps[0-9]*) wait "$snap_pid" 2>/dev/null; daemon_stop; GPRIO_SHM=$SHM_SAVED ;;
	esac
}

SETUPS=${SETUPS:-online_alone gprio together tsg mps offline_alone}

for c in $CELLS; do
	CELL=$c
	k=${c%@*} # CELL@N: the same cell again, its files named CELL@N (repeats in one call)
	case $k in
	graph) on="python3 $T online-graph --rate 40" ;;
	eager) on="python3 $T online-eager --rate 20" ;;
	decode) on="python3 $T online-decode --rate 2" ;;
	gdecode) on="python3 $T online-gdecode --rate 20" ;;
	side) on="python3 $T online-side --rate 40" ;;
	ddp | other | two) on="env CUDA_VISIBLE_DEVICES=0 python3 $T online-graph --rate 40" ;;
	twooff) on="python3 $T online-graph --rate 40" ;;
	probe*) # preemption latency: a 10 us kernel every 3-8 ms (launch -> start seen -> done,
		# split per sample into OUT/CELL.SETUP.split) next to offline kernels of L us
		on="$GB probe --pause-ms 3,8 --split $OUT/$c.@SETUP@.split" ;;
	hint*) # the same, with request preparation before each probe and the hint at its start (a
	       # no-op in every setup but gprio_hint)
		on="$GB probe --pause-ms 3,8 --prep-us ${PREP_US:-300} --hint --split $OUT/$c.@SETUP@.split" ;;
	*) echo "unknown cell $c" >&2; exit 2 ;;
	esac
	off="python3 $T offline" ON2= OFF2=
	case $k in probe* | hint*)
		L=${k#probe}
		L=${L#hint}
		case $L in '' | *[!0-9]*) echo "cell $c: probeL or hintL, L the offline kernel length in us" >&2; exit 2 ;; esac
		off="$GB offline --block-us $L --blocks-per-sm 2 --inflight 2" ;;
	esac
	case $k in
	ddp | other)
		if [ "$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')" -lt 2 ]; then
			echo "cell $c needs 2 GPUs: skipped" >&2
			continue
		fi ;;
	esac
	case $k in
	ddp) off="torchrun --standalone --nproc_per_node 2 $T offline-ddp" ;;
	other) off="env CUDA_VISIBLE_DEVICES=1 python3 $T offline" ;;
	twooff) OFF2="python3 $T offline" ;; # a second training job, no second service
	two) off="env CUDA_VISIBLE_DEVICES=0 python3 $T offline"
	     ON2="env CUDA_VISIBLE_DEVICES=0 GPRIO_PRIORITY=8 python3 $T online-eager --rate 20"
	     OFF2="env CUDA_VISIBLE_DEVICES=0 python3 $T offline" ;;
	esac
	d=$DUR
	[ "$k" = decode ] && d=$((3 * DUR))
	ss=SETUPS_$k # SETUPS_graph=... : this cell's own list
	cs=$SETUPS
	case $k in hint*) cs=${SETUPS_HINT:-online_alone gprio gprio_hint tsg together} ;; esac
	for s in ${!ss:-$cs}; do
		# online alone needs no head start for an offline job
		st=12 # the offline job's head start (model loading)
		case $k in probe* | hint*) st=2 ;; esac
		[ "$s" = online_alone ] && st=1
		START=$st DUR=$d pair "$c" "$s" "${on//@SETUP@/$s}" "$off"
	done
done
# everything in one file (the GPU machine returns a few files per call)
tar czf "$OUT.tgz" -C "$(dirname "$OUT")" "$(basename "$OUT")"
echo "done: $OUT ($OUT.tgz)" >&2
