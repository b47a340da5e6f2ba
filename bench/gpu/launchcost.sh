#!/bin/bash
# Host time per launch call on the real driver, side by side in one run: no shim, the shim with
# no gpriod, and the shim under plain gpriod (completion counters on) as an online and as an
# offline process; on the legacy default stream and on a stream of its own. A CPU-bound pattern:
# groups of 16 launches, 5 us of host work after each, a sync per group.
#   bench/gpu/launchcost.sh OUTDIR      -> OUTDIR/launchcost.json (one JSON object)
set -u
OUT=${1:?usage: launchcost.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh"
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=/dev/shm/gprio-launchcost
N=${N:-200000}
res=()
for st in legacy own; do
	J="$GB launchcost --n $N --stream $st"
	base=$($J)
	noday=$("$B/gprio" run --online -- $J 2>/dev/null)
	"$B/gpriod" --shm "$GPRIO_SHM" 2>/dev/null &
	D=$!
	sleep 0.3
	on=$("$B/gprio" run --online -- $J)
	off=$("$B/gprio" run --offline -- $J)
	kill -INT $D; wait $D
	res+=("\"$st\": {\"no_shim\": $base, \"shim_no_daemon\": $noday, \"shim_online\": $on, \"shim_offline\": $off}")
done
IFS=,
printf '{"bench": "launchcost", "command": "bench/gpu/launchcost.sh", "gpu": "%s", "driver": "%s", "date": "%s", "target_extra_ns": 1000, %s}\n' \
	"$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" \
	"$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)" \
	"$(date -u +%FT%TZ)" "${res[*]}" | tee "$OUT/launchcost.json"
