#!/bin/bash
# Offline results under preemption, data-parallel: the same fixed DDP training job (torchrun,
# 2 GPUs, NCCL, N iterations) alone, then under plain gpriod with an online CUDA graph service
# on GPU 0 the whole time; the weights' checksums must be equal (preemption lost or corrupted
# nothing, and no collective hung or timed out).
#   bench/gpu/ddp_identical.sh OUTDIR [ITERATIONS]   (needs 2 GPUs; writes OUTDIR/ident.json)
set -u
OUT=${1:?usage: ddp_identical.sh OUTDIR [ITERATIONS]}
N=${2:-200}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh"
gpu_build "$ROOT" || exit 1
export NCCL_NVLS_ENABLE=0 GPRIO_SHM=/dev/shm/gprio-ident
T=$ROOT/bench/gpu/torch_bench.py
if [ "$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')" -lt 2 ]; then
	echo "needs 2 GPUs: not run" >&2
	exit 77
fi
ddp() { torchrun --standalone --nproc_per_node 2 "$T" offline-ddp --iterations "$N"; }
ddp >"$OUT/ddp.alone.json" 2>"$OUT/ddp.alone.log"
"$B/gpriod" --shm "$GPRIO_SHM" 2>"$OUT/gpriod.log" &
D=$!
sleep 0.3
CUDA_VISIBLE_DEVICES=0 "$B/gprio" run --online -- python3 "$T" online-graph --rate 40 \
	--seconds 60 >"$OUT/online.json" 2>"$OUT/online.log" &
S=$!
sleep 8 # the service's model loaded and serving
t0=$(date +%s.%N)
"$B/gprio" run --offline -- torchrun --standalone --nproc_per_node 2 "$T" offline-ddp \
	--iterations "$N" >"$OUT/ddp.gprio.json" 2>"$OUT/ddp.gprio.log"
rc=$?
t1=$(date +%s.%N)
"$B/gprio" status --json >"$OUT/status.json" 2>&1
kill "$S" 2>/dev/null
wait "$S" 2>/dev/null
kill -INT "$D"
wait "$D"
python3 - "$OUT" "$rc" "$t0" "$t1" <<'PY'
import json, sys, datetime, subprocess
out, rc, t0, t1 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def load(p):
    try:
        return json.loads(open(p).read().strip().splitlines()[-1])
    except Exception as e:
        return {"error": str(e)}
a, g = load(out + "/ddp.alone.json"), load(out + "/ddp.gprio.json")
drv = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip().splitlines()
r = {"command": "bench/gpu/ddp_identical.sh", "date": datetime.datetime.utcnow().isoformat() + "Z",
     "gpus": drv, "alone": a, "gprio": g, "gprio_exit": rc, "gprio_wall_s": t1 - t0,
     "identical": a.get("checksum") is not None and a.get("checksum") == g.get("checksum")}
json.dump(r, open(out + "/ident.json", "w"), indent=1)
print(json.dumps(r))
PY
