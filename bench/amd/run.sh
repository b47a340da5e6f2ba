#!/bin/bash
# gprio's AMD operator kit: the NVIDIA benchmark's workloads, setups and JSON on an MI300-class
# machine (ROCm, HWS mode, root), in one command:
#   sudo bench/amd/run.sh OUTDIR [CASE...]     CASE: launchbound graph probe torchgraph torcheager
#   DUR=30 (seconds per measured run), ARCH=gfx942 (MI300X/MI308X)
# Setups: online alone, offline alone, together (nothing), together with HIP stream priority only
# (online high, offline low: what ROCm offers today), gprio stage 1 (stock KFD: DBG_TRAP suspend/
# resume) and gprio stage 2 (only when the kernel/amdkfd patch series is loaded).
# Then bench/gpu/summarize.py writes OUTDIR/results.json (command, GPU, driver, date, per setup:
# online p50/p90/p99/max, offline throughput), a table and a CDF plot.
#
# NOT YET RUN ON HARDWARE: gprio has no AMD GPU to measure on. Every number the project reports for
# AMD comes from the simulator (gprio sim --compare none,priority:stage1,priority:stage2).
set -u
OUT=${1:?usage: run.sh OUTDIR [CASE...]}
shift
CASES=${*:-launchbound graph probe torchgraph torcheager}
DUR=${DUR:-30}
ARCH=${ARCH:-gfx942}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/build-amd
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "run.sh: gpriod needs root (ptrace, DBG_TRAP, PREEMPT_QUEUES)" >&2; exit 1; }
cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null || exit 1
cmake --build "$B" -j"$(nproc)" --target gprio gpriod gprio-cuda gprio-hsa >/dev/null || exit 1
"$B/gprio" doctor | tee "$OUT/doctor.txt"
STAGE2=0
grep -q "stage 2 yes" "$OUT/doctor.txt" && STAGE2=1

# the CUDA benchmark, translated to HIP (hipify-perl ships with ROCm)
command -v hipify-perl >/dev/null && command -v hipcc >/dev/null ||
	{ echo "run.sh: needs ROCm's hipify-perl and hipcc" >&2; exit 1; }
hipify-perl "$ROOT/bench/gpu/gpubench.cu" >"$B/gpubench.hip" || exit 1
hipcc -O2 --offload-arch="$ARCH" -o "$B/gpubench" "$B/gpubench.hip" || exit 1
GB=$B/gpubench
DPID=
daemon_start() { "$B/gpriod" --backend amdkfd --hysteresis-us "${HYST_US:-500}" --poll-ms "${POLL_MS:-1}" "$@" 2>>"$OUT/gpriod.log" & DPID=$!; sleep 0.5; }
daemon_stop() { if [ -n "$DPID" ]; then kill -INT "$DPID"; wait "$DPID"; DPID=; fi; }
trap daemon_stop EXIT

setup_begin() {
	ON=(); OFF=()
	case $1 in
	prio) ON=(env GPRIO_STREAM_PRIORITY=high); OFF=(env GPRIO_STREAM_PRIORITY=low) ;;
	stage1 | stage1shim | stage2)
		st=${1#stage}; daemon_start --stage "${st%shim}"
		# gprio run preloads libgprio-hsa.so on AMD; stage1 measures the ptrace mode without it
		NOSHIM=(); [ "$1" = stage1shim ] || NOSHIM=(env GPRIO_HSA_AGENT=0)
		ON=("${NOSHIM[@]}" "$B/gprio" run --online --); OFF=("${NOSHIM[@]}" "$B/gprio" run --offline --) ;;
	esac
}
setup_end() { case $1 in stage1 | stage1shim | stage2) daemon_stop ;; esac; }

. "$ROOT/bench/lib.sh" # pair, correctness

SETUPS=${SETUPS:-online_alone offline_alone together prio stage1 stage1shim}
[ "$STAGE2" = 1 ] && SETUPS="$SETUPS stage2"
CUS=$(rocminfo 2>/dev/null | awk '/Compute Unit:/ {print $3; exit}')
CUS=${CUS:-304}
for c in $CASES; do
	case $c in
	launchbound)
		for s in $SETUPS; do
			pair launchbound "$s" "$GB online --kernels 32 --kernel-us 20 --blocks 16 --gap-us 50 --rate 40" \
				"$GB offline --block-us 1000 --blocks-per-sm 2"
		done ;;
	graph)
		for s in $SETUPS; do
			pair graph "$s" "$GB online --graph --kernels 60 --kernel-us 40 --blocks $CUS --rate 40" \
				"$GB offline --block-us 1000 --blocks-per-sm 2"
		done ;;
	probe)
		for L in 100 1000 10000 100000 1500000; do
			for s in together $(echo "$SETUPS" | tr ' ' '\n' | grep stage); do
				DUR=8 pair "probe$L" "$s" "$GB probe" "$GB offline --block-us $L --blocks-per-sm 2 --inflight 2"
			done
		done ;;
	torchgraph | torcheager)
		# PyTorch-ROCm keeps the torch.cuda API, so the NVIDIA workload script runs as is
		T=$ROOT/bench/gpu/torch_bench.py
		mode=online-graph rate=40
		[ "$c" = torcheager ] && mode=online-eager rate=20
		for s in $SETUPS; do
			START=12 pair "$c" "$s" "python3 $T $mode --rate $rate" "python3 $T offline"
		done ;;
	esac
done
# offline correctness under stage 1: the same fixed job alone and preempted; checksums must match
correctness --stage 1
GPU=$(rocm-smi --showproductname 2>/dev/null | awk -F: '/Card series/ {gsub(/^ +/, "", $3); print $3; exit}')
DRV=$(cat /sys/module/amdgpu/version 2>/dev/null || uname -r)
python3 "$ROOT/bench/gpu/summarize.py" "$OUT" "$OUT/results.json" --gpu "${GPU:-AMD}" \
	--driver "amdgpu $DRV" --command "bench/amd/run.sh $OUT $CASES" | tee "$OUT/summary.txt"
echo "done: $OUT" >&2
