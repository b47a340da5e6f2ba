#!/bin/bash
# What gprio costs an offline job with nothing else on the GPU: the matrix's PyTorch training job
# alone, plain and under plain gpriod (`gprio run --offline`) with each shim given, REPS rounds
# interleaved (plain, shim 1, shim 2, ..., plain, ...), iterations a second over a DUR-second
# window after its model loading:
#   bench/gpu/offline_cost.sh OUT.json [LABEL=SHIM.so ...]    (default: gprio=this tree's shim)
# DUR (default 15), REPS (default 2). Writes OUT.json (command, GPU, driver, date, every run and
# each setup's mean, and its ratio to plain) and prints the runs.
set -u
OUTJ=${1:?usage: offline_cost.sh OUT.json [LABEL=SHIM.so ...]}
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/bench/lib.sh"
gpu_build "$ROOT" || exit 1
DUR=${DUR:-15}
REPS=${REPS:-2}
T=$ROOT/bench/gpu/torch_bench.py
SHIMS=("$@")
[ ${#SHIMS[@]} -eq 0 ] && SHIMS=("gprio=$B/libgprio-cuda.so")
export GPRIO_SHM=/dev/shm/gprio-offcost
TMP=$(mktemp -d)
DPID=
trap '[ -n "$DPID" ] && kill -INT "$DPID" 2>/dev/null; wait; rm -rf "$TMP"' EXIT
offline() { "$@" python3 "$T" offline --seconds $((DUR + 8)) --window-start 6 --window-end $((DUR + 6)); }
runs=()
for r in $(seq "$REPS"); do
	echo "== $(date +%T) round $r: plain" >&2
	offline env >"$TMP/plain.$r.json" && runs+=("plain=$TMP/plain.$r.json")
	for s in "${SHIMS[@]}"; do
		label=${s%%=*}
		echo "== $(date +%T) round $r: $label" >&2
		"$B/gpriod" --shm "$GPRIO_SHM" 2>>"$TMP/gpriod.log" &
		DPID=$!
		sleep 0.3
		offline env GPRIO_SHIM="${s#*=}" "$B/gprio" run --offline -- >"$TMP/$label.$r.json" &&
			runs+=("$label=$TMP/$label.$r.json")
		kill -INT "$DPID"
		wait "$DPID"
		DPID=
	done
done
python3 - "$OUTJ" "bench/gpu/offline_cost.sh $* (DUR=$DUR REPS=$REPS)" "${runs[@]}" <<'EOF'
import json, subprocess, sys
from datetime import datetime, timezone
out, cmd, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip().splitlines()
gpu, driver = (smi[0].split(", ") + ["?"])[:2] if smi else ("?", "?")
res = {"bench": "offline_cost", "command": cmd, "gpu": gpu, "driver": driver,
       "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "runs": [], "mean": {}}
for r in runs:
    label, path = r.split("=", 1)
    d = json.load(open(path))
    it = d["window_kernels_per_s"]
    res["runs"].append({"setup": label, "iter_per_s": it, "checksum": d["checksum"]})
    print(f"{label:10s} {it:7.2f} it/s")
for label in dict.fromkeys(x["setup"] for x in res["runs"]):
    v = [x["iter_per_s"] for x in res["runs"] if x["setup"] == label]
    res["mean"][label] = sum(v) / len(v)
base = res["mean"].get("plain")
if base:
    res["vs_plain"] = {k: v / base for k, v in res["mean"].items()}
print(json.dumps({"mean": res["mean"], "vs_plain": res.get("vs_plain")}))
json.dump(res, open(out, "w"), indent=1)
EOF
