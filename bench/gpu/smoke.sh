#!/bin/bash
# Quick check on the GPU machine that the shim intercepts launches, sees TSGs and sets timeslices.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib.sh" # gpu_build
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=/dev/shm/gprio-smoke
nvidia-smi --query-gpu=name,driver_version,compute_mode --format=csv,noheader
"$B/gpriod" --shm $GPRIO_SHM --status-ms 2000 --online-timeslice-us 1000000 --offline-timeslice-us 1 &
D=$!
sleep 0.3
GPRIO_DEBUG=1 "$B/gprio" run --offline -- "$B/gpubench" offline --block-us 1000 --seconds 4 2>&1 | grep -v "timeslice -> 1 us$" &
sleep 1
GPRIO_DEBUG=1 "$B/gprio" run --online -- "$B/gpubench" online --kernels 8 --kernel-us 20 --blocks 16 --gap-us 50 --rate 40 --seconds 2 --warmup 0.2
wait %2 2>/dev/null
sleep 0.1
kill -INT $D; wait $D
echo "--- no daemon: pass-through"
"$B/gprio" run --online -- "$B/gpubench" online --kernels 8 --kernel-us 20 --blocks 16 --gap-us 50 --rate 40 --seconds 1 --warmup 0.2
