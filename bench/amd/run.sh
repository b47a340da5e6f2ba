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
# It cannot hang and does not report what did not happen: every step runs under a timeout
# (STEP_TIMEOUT, default DUR + 120 s per run; builds 900 s), gpriod is stopped within 10 s, and
# a gprio stage whose gpriod counted no suspends is not reported: its results are renamed
# *.refused and OUTDIR/refused.json says why (the results JSON lists them too). The kernel,
# firmware, sched_policy, CWSR and partition mode go into OUTDIR/machine.json and the results.
# GPRIO_BIN=DIR uses gprio, gpriod and the shims built there (no build).
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
B=${GPRIO_BIN:-$ROOT/build-amd}
STEP_TIMEOUT=${STEP_TIMEOUT:-$((DUR + 120))}
mkdir -p "$OUT"
[ "$(id -u)" -eq 0 ] || { echo "run.sh: gpriod needs root (ptrace, DBG_TRAP, PREEMPT_QUEUES)" >&2; exit 1; }
if [ -z "${GPRIO_BIN:-}" ]; then
	timeout -k 10 900 cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null || exit 1
	timeout -k 10 900 cmake --build "$B" -j"$(nproc)" --target gprio gpriod gprio-cuda gprio-hsa >/dev/null || exit 1
fi
timeout -k 5 60 "$B/gprio" doctor | tee "$OUT/doctor.txt"
# what the results depend on: kernel, firmware, scheduler mode, CWSR, partitions
sysval() { cat "$1" 2>/dev/null | head -1 | tr -d '"\\' || true; }
card=$(ls -d /sys/class/drm/card*/device 2>/dev/null | head -1)
printf '{"kernel": "%s", "amdgpu": "%s", "vbios": "%s", "sched_policy": "%s", "cwsr_enable": "%s", "hws_max_conc_proc": "%s", "compute_partition": "%s", "memory_partition": "%s"}\n' \
	"$(uname -r)" "$(sysval /sys/module/amdgpu/version)" "$(sysval "$card/vbios_version")" \
	"$(sysval /sys/module/amdgpu/parameters/sched_policy)" "$(sysval /sys/module/amdgpu/parameters/cwsr_enable)" \
	"$(sysval /sys/module/amdgpu/parameters/hws_max_conc_proc)" "$(sysval "$card/current_compute_partition")" \
	"$(sysval "$card/current_memory_partition")" >"$OUT/machine.json"
STAGE2=0
grep -q "stage 2 yes" "$OUT/doctor.txt" && STAGE2=1

# the CUDA benchmark, translated to HIP (hipify-perl ships with ROCm)
command -v hipify-perl >/dev/null && command -v hipcc >/dev/null ||
	{ echo "run.sh: needs ROCm's hipify-perl and hipcc" >&2; exit 1; }
GB=$OUT/gpubench
timeout -k 5 300 hipify-perl "$ROOT/bench/gpu/gpubench.cu" >"$OUT/gpubench.hip" || exit 1
timeout -k 5 900 hipcc -O2 --offload-arch="$ARCH" -o "$GB" "$OUT/gpubench.hip" || exit 1
DPID= RUN=
# one gpriod log per run: its exit line counts the run's suspends
daemon_start() { "$B/gpriod" --backend amdkfd --hysteresis-us "${HYST_US:-500}" --poll-ms "${POLL_MS:-1}" "$@" 2>>"$OUT/$RUN.gpriod.log" & DPID=$!; sleep 0.5; }
daemon_stop() {
	[ -n "$DPID" ] || return 0
	kill -INT "$DPID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}
trap daemon_stop EXIT
# refuse RUN: a gprio stage that suspended nothing is not a measurement of that stage
refused=()
check_stage() {
	local n
	n=$(sed -n 's/.*suspends \([0-9]*\),.*/\1/p' "$OUT/$RUN.gpriod.log" 2>/dev/null | tail -1)
	[ "${n:-0}" -gt 0 ] && return 0
	for f in "$OUT/$RUN".online.json "$OUT/$RUN".offline.json "$OUT/$RUN".lat; do
		[ -e "$f" ] && mv "$f" "$f.refused"
	done
	refused+=("\"$RUN\": \"gpriod counted ${n:-no} suspends (log: $RUN.gpriod.log)\"")
	echo "run.sh: $RUN NOT REPORTED: gpriod counted ${n:-no} suspends" >&2
}

setup_begin() {
	ON=(); OFF=()
	RUN=$CELL.$1
	case $1 in
	prio) ON=(env GPRIO_STREAM_PRIORITY=high); OFF=(env GPRIO_STREAM_PRIORITY=low) ;;
	stage1 | stage1shim | stage2)
		st=${1#stage}; daemon_start --stage "${st%shim}"
		# gprio run preloads libgprio-hsa.so on AMD; stage1 measures the ptrace mode without it
		NOSHIM=(); [ "$1" = stage1shim ] || NOSHIM=(env GPRIO_HSA_AGENT=0)
		ON=("${NOSHIM[@]}" "$B/gprio" run --online --); OFF=("${NOSHIM[@]}" "$B/gprio" run --offline --) ;;
	esac
	# no run outlives its budget
	ON=(timeout -k 5 "$STEP_TIMEOUT" "${ON[@]}")
	OFF=(timeout -k 5 "$STEP_TIMEOUT" "${OFF[@]}")
}
setup_end() { case $1 in stage1 | stage1shim | stage2) daemon_stop; check_stage ;; esac; }

. "$ROOT/bench/lib.sh" # pair, correctness

SETUPS=${SETUPS:-online_alone offline_alone together prio stage1 stage1shim}
[ "$STAGE2" = 1 ] && SETUPS="$SETUPS stage2"
CUS=$(rocminfo 2>/dev/null | awk '/Compute Unit:/ {print $3; exit}')
CUS=${CUS:-304}
for c in $CASES; do
	CELL=$c
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
				CELL=probe$L DUR=8 pair "probe$L" "$s" "$GB probe" "$GB offline --block-us $L --blocks-per-sm 2 --inflight 2"
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
RUN=correct.stage1
timeout -k 10 $((STEP_TIMEOUT * 2)) bash -c "$(declare -f correctness daemon_start daemon_stop); OUT='$OUT' B='$B' GB='$GB' RUN='$RUN' correctness --stage 1"
check_stage
[ -e "$OUT/correct.gprio.json" ] && [ -e "$OUT/$RUN.gpriod.log" ] && ! grep -q "suspends [1-9]" "$OUT/$RUN.gpriod.log" &&
	mv "$OUT/correct.gprio.json" "$OUT/correct.gprio.json.refused"
(IFS=,; printf '{%s}\n' "${refused[*]}") >"$OUT/refused.json"
GPU=$(timeout 30 rocm-smi --showproductname 2>/dev/null | awk -F: '/Card series/ {gsub(/^ +/, "", $3); print $3; exit}')
DRV=$(cat /sys/module/amdgpu/version 2>/dev/null || uname -r)
timeout -k 5 300 python3 "$ROOT/bench/gpu/summarize.py" "$OUT" "$OUT/results.json" --gpu "${GPU:-AMD}" \
	--driver "amdgpu $DRV" --command "bench/amd/run.sh $OUT $CASES" --machine "$OUT/machine.json" \
	--refused "$OUT/refused.json" | tee "$OUT/summary.txt"
echo "done: $OUT" >&2
