#!/bin/bash
# Two single-GPU matrices side by side on a 2-GPU machine, one per GPU, each with its own gpriod,
# control path and MPS daemon (nothing is shared but the host's CPUs, memory and PCIe):
#   bench/gpu/parallel.sh OUTDIR "CELLS ON GPU 0" "CELLS ON GPU 1"
# LIMIT (seconds, default 540): both are stopped then, and what they finished is kept.
# Writes OUTDIR/gpu0, OUTDIR/gpu1 and OUTDIR.tgz.
set -u
OUT=${1:?usage: parallel.sh OUTDIR CELLS0 CELLS1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib.sh"
mkdir -p "$OUT"
gpu_build "$ROOT" || exit 1
export GPRIO_BUILT=1
pids=()
for g in 0 1; do
	cells=${2:-}
	[ "$g" = 1 ] && cells=${3:-}
	[ -z "$cells" ] && continue
	CUDA_VISIBLE_DEVICES=$g GPRIO_SHM=/dev/shm/gprio-matrix$g MPS_DIR=/tmp/gprio-mps$g \
		timeout -s TERM "${LIMIT:-540}" "$ROOT/bench/gpu/matrix.sh" "$OUT/gpu$g" $cells \
		2>"$OUT/gpu$g.log" &
	pids+=($!)
done
wait "${pids[@]}"
for g in 0 1; do # an MPS daemon left by a stopped run
	[ -d /tmp/gprio-mps$g-pipe ] && CUDA_MPS_PIPE_DIRECTORY=/tmp/gprio-mps$g-pipe \
		timeout 5 nvidia-cuda-mps-control <<<quit >/dev/null 2>&1
done
tar czf "$OUT.tgz" -C "$(dirname "$OUT")" "$(basename "$OUT")"
echo "done: $OUT.tgz" >&2
