#!/bin/bash
# Validation run of the control-socket shim on the GPU machine (stop 7): the smoke check on the
# real driver, then launch-bound and GPU-bound cases, 15 s each, including gprio under MPS.
# Usage: bench/gpu/session7.sh OUTDIR
set -u
OUT=${1:?usage: session7.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
"$ROOT/bench/gpu/smoke.sh" >"$OUT/smoke.txt" 2>&1
echo "smoke rc $?" >>"$OUT/smoke.txt"
DUR=15 SETUPS="online_alone offline_alone together tsg gprio mps gprio_mps" \
	"$ROOT/bench/gpu/run.sh" "$OUT" launchbound 2>"$OUT/run.log"
DUR=15 SETUPS="online_alone offline_alone tsg gprio" "$ROOT/bench/gpu/run.sh" "$OUT" graph 2>>"$OUT/run.log"
DRV=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
python3 "$ROOT/bench/gpu/summarize.py" "$OUT" "$OUT/results.json" --gpu "$GPU" --driver "$DRV" \
	--command "bench/gpu/session7.sh OUTDIR" >"$OUT/summary.txt" 2>&1
