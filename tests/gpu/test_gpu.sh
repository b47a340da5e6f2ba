#!/bin/sh
# The nvidia backend on a real GPU: the real shim and gpriod over the real driver (libcuda, its RM
# ioctls and TSGs, the CUDA runtime's cuGetProcAddress). Functional checks only: timings are
# measured in bench/gpu, not asserted here. Without an NVIDIA GPU and nvcc it exits 77, which
# CTest reports as skipped, and says why.
#   test_gpu.sh GPRIO GPRIOD SHIM SOURCE_DIR
set -u
GPRIO=$1 GPRIOD=$2 SHIM=$3 SRC=$4
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
	echo "SKIP: no NVIDIA GPU here (nvidia-smi -L fails); this test runs on the GPU machine"
	exit 77
fi
NVCC=$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
if [ ! -x "$NVCC" ]; then
	echo "SKIP: an NVIDIA GPU but no nvcc to build the test program"
	exit 77
fi
TMP=$(mktemp -d)
DPID=
cleanup() { [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
export GPRIO_SHM="$TMP/shm" GPRIO_SHIM="$SHIM"
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
field() { sed -n "s/.*\"$1\": \"*\([-0-9.a-z]*\).*/\1/p"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed 's/^/# /'
GB=$TMP/gpubench
"$NVCC" -O2 -arch=native -o "$GB" "$SRC/bench/gpu/gpubench.cu" || { echo "FAIL - nvcc"; exit 1; }

OFFJOB="offline --iterations 12000 --block-us 300 --inflight 4" # ~3.6 s alone
ONJOB="online --kernels 8 --kernel-us 20 --blocks 16 --gap-us 50 --rate 200 --warmup 0"
daemon() {
	"$GPRIOD" --shm "$TMP/shm" --online-timeslice-us 1000000 --offline-timeslice-us 1 \
		--hysteresis-us 500 2>>"$TMP/gpriod.log" &
	DPID=$!
	sleep 0.3
}
# row PID: that process's line in gprio status (empty if not registered)
row() { "$GPRIO" status --shm "$TMP/shm" 2>/dev/null | awk -v p="$1" '$1 == p'; }

# 1. no daemon: the real program under the shim runs as without it, to the same result
ref=$("$GB" $OFFJOB | field checksum)
out=$("$GPRIO" run --offline -- "$GB" $OFFJOB 2>"$TMP/nodaemon.err")
[ -n "$ref" ] && [ "$(echo "$out" | field checksum)" = "$ref" ] &&
	ok "no daemon: pass-through on the real driver, same checksum ($ref)" ||
	bad "pass-through: $out / ref $ref / $(cat "$TMP/nodaemon.err")"

# 2. gpriod: offline preempted by an online service; mechanisms seen on the real driver
daemon
GPRIO_DEBUG=1 "$GPRIO" run --offline -- "$GB" $OFFJOB >"$TMP/off.json" 2>"$TMP/off.err" &
FPID=$!
sleep 0.5
GPRIO_DEBUG=1 "$GPRIO" run --online -- "$GB" $ONJOB --seconds 2 >"$TMP/on.json" 2>"$TMP/on.err" &
NPID=$!
sleep 0.8
onrow=$(row $NPID)
offrow=$(row $FPID)
wait $NPID
wait $FPID
echo "# online:  $onrow"
echo "# offline: $offrow"
echo "$onrow" | grep -q " online .*tsg-timeslice" && echo "$onrow" | awk '{ f = $(NF - 8) > 0 } END { exit !f }' &&
	ok "online: registered, TSG timeslices set, launches counted through the CUDA runtime" ||
	bad "online row: '$onrow'"
echo "$offrow" | grep -q " offline .*gating .*tsg-timeslice" && echo "$offrow" | awk '{ f = $(NF - 7) > 0 } END { exit !f }' &&
	ok "offline: registered, TSG timeslices set, launches gated while online ran" ||
	bad "offline row: '$offrow'"
grep -q "timeslice -> 1 us" "$TMP/off.err" && grep -q "timeslice -> 1000000 us" "$TMP/on.err" &&
	ok "SET_TIMESLICE accepted on libcuda's own RM client (offline 1 us, online 1 s)" ||
	bad "timeslices: $(grep -h TSG "$TMP/off.err" "$TMP/on.err" | head -5)"
[ "$(field checksum <"$TMP/off.json")" = "$ref" ] &&
	ok "offline result bit-identical under preemption ($(field kernels <"$TMP/off.json") kernels)" ||
	bad "checksum under gprio: $(cat "$TMP/off.json") vs $ref"
field p99_ms <"$TMP/on.json" | grep -q . && ok "online service completed ($(field requests <"$TMP/on.json") requests)" ||
	bad "online: $(cat "$TMP/on.json") $(tail -3 "$TMP/on.err")"

# 3. fail open: gpriod killed while offline is being held -> the offline job runs on, its
#    timeslices go back to the driver's, its result is unchanged
GPRIO_DEBUG=1 "$GPRIO" run --offline -- "$GB" $OFFJOB >"$TMP/off2.json" 2>"$TMP/off2.err" &
FPID=$!
"$GPRIO" run --online -- "$GB" $ONJOB --seconds 1.5 >/dev/null 2>&1 &
NPID=$!
sleep 0.8
kill -9 $DPID
wait $DPID 2>/dev/null
DPID=
wait $NPID
wait $FPID
rc=$?
restored=$(sed -n '/failing open/,$p' "$TMP/off2.err" | grep -c "timeslice -> [0-9][0-9]* us" || true)
[ $rc = 0 ] && [ "$(field checksum <"$TMP/off2.json")" = "$ref" ] &&
	ok "gpriod killed mid-preemption: offline finishes with the same checksum" ||
	bad "fail-open run: rc $rc $(cat "$TMP/off2.json") $(tail -3 "$TMP/off2.err")"
grep -q "failing open" "$TMP/off2.err" && [ "$restored" -ge 1 ] &&
	ok "fail-open seen by the shim; $restored TSG timeslices put back" ||
	bad "fail-open log: $(grep -E 'daemon|timeslice' "$TMP/off2.err" | tail -5)"

# 4. PyTorch (CUDA runtime statically linked, every entry point via cuGetProcAddress)
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
	daemon
	"$GPRIO" run --offline -- python3 -c "
import torch, time
x = torch.randn(512, 512, device='cuda')
t = time.time()
while time.time() - t < 4:
    x = (x @ x).tanh()
    torch.cuda.synchronize()
" 2>"$TMP/torch.err" &
	TPID=$!
	i=0
	while [ $i -lt 600 ] && ! row $TPID | awk '{ f = $(NF - 8) > 100 } END { exit !f }'; do
		sleep 0.1
		i=$((i + 1))
	done
	trow=$(row $TPID)
	wait $TPID
	echo "# torch: $trow"
	echo "$trow" | grep -q "tsg-timeslice" && echo "$trow" | awk '{ f = $(NF - 8) > 100 } END { exit !f }' &&
		ok "PyTorch: launches intercepted through cuGetProcAddress, TSGs found" ||
		bad "torch row: '$trow' $(tail -3 "$TMP/torch.err")"
	kill -INT $DPID
	wait $DPID
	DPID=
else
	echo "skip - PyTorch with CUDA not importable"
fi

# 5. plain gpriod (per-GPU mechanisms): completion counters on the real driver, a GPU-bound
#    online service gets tsg on its GPU, the offline result is unchanged; a PyTorch CUDA graph
#    captured and replayed under the shim (markers must never enter a capture)
"$GPRIOD" --shm "$TMP/shm" 2>>"$TMP/auto.log" &
DPID=$!
sleep 0.3
"$GPRIO" run --offline -- "$GB" $OFFJOB >"$TMP/off5.json" 2>"$TMP/off5.err" &
FPID=$!
sleep 0.5
"$GPRIO" run --online -- "$GB" online --graph --kernels 60 --kernel-us 40 --blocks 132 --rate 40 \
	--warmup 0 --seconds 4 >"$TMP/on5.json" 2>"$TMP/on5.err" &
NPID=$!
i=0
until "$GPRIO" status --shm "$TMP/shm" --json >"$TMP/st5.json" 2>/dev/null &&
	grep -q '"mechanism": "tsg"' "$TMP/st5.json" && grep -q '"class": "online"' "$TMP/st5.json" ||
	[ $i -ge 60 ]; do
	sleep 0.05
	i=$((i + 1))
done
"$GPRIO" status --shm "$TMP/shm" | sed 's/^/# /'
wait $NPID
wait $FPID
grep "GPU " "$TMP/auto.log" | sed 's/^/# gpriod: /'
python3 -c 'import json,sys; d=json.load(sys.stdin); g=d["gpus"]; on=[p for p in d["processes"] if p["class"]=="online"][0]
assert len(g) >= 1 and g[0]["mechanism"] == "tsg", g
assert "completion" in on["mechanisms"] and on["gpus"] == [g[0]["pci"]] and on["completed"] > 0 and on["host_waits"] > 0, on' \
	<"$TMP/st5.json" 2>"$TMP/err" && ok "plain gpriod: GPU-bound online service -> tsg on its GPU; completion counters advance on the real GPU" ||
	bad "auto mechanism: $(cat "$TMP/err")"
[ "$(field checksum <"$TMP/off5.json")" = "$ref" ] && ok "offline result bit-identical under the per-GPU mechanism" ||
	bad "checksum (auto): $(cat "$TMP/off5.json")"
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
	out=$("$GPRIO" run --online -- python3 -c "
import torch
x = torch.randn(256, 256, device='cuda')
w = torch.randn(256, 256, device='cuda')
ref = (x @ w).relu().sum().item()
s = torch.cuda.Stream()
s.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(s):
    for _ in range(3):
        y = (x @ w).relu()
torch.cuda.current_stream().wait_stream(s)
g = torch.cuda.CUDAGraph()
with torch.cuda.graph(g):
    y = (x @ w).relu()
for _ in range(50):
    g.replay()
torch.cuda.synchronize()
print('graph-ok' if abs(y.sum().item() - ref) < 1e-3 * abs(ref) + 1e-3 else 'graph-mismatch')
" 2>"$TMP/cap.err")
	[ "$out" = graph-ok ] && ok "PyTorch CUDA graph capture and replay under the shim (completion markers on)" ||
		bad "graph capture: $out $(tail -5 "$TMP/cap.err")"
fi
kill -INT $DPID
wait $DPID
DPID=
[ -s "$TMP/gpriod.log" ] && grep -i -E "error|fail" "$TMP/gpriod.log" | head -5 | sed 's/^/# gpriod: /'
[ $fails = 0 ] && echo "all GPU checks passed" || echo "$fails GPU check(s) failed"
[ $fails = 0 ]
