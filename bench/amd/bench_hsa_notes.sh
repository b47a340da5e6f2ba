#!/bin/sh
# Cost of the HSA shim's work notes (event-driven stages 1 and 2) on the program's side, side by
# side in one run, under the stand-in HSA runtime (tests/amdkfd/fake_libhsa.c): ns per signal
# store to a doorbell and to another signal, without the shim, with it in an offline program
# (no notes), and in an online program with nothing listening and with a listener that takes
# the notes (at most one a millisecond is sent). No GPU, no ROCm: the shim's own cost only.
# Writes bench/results/hsa-notes-cost.json. Usage: bench/amd/bench_hsa_notes.sh [BUILD_DIR]
set -eu
B=${1:-build-bench}
cd "$(dirname "$0")/../.."
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=ON >/dev/null
cmake --build "$B" -j"$(nproc)" --target gprio-hsa hsa_app >/dev/null
N=${N:-5000000}
SOCK=/tmp/gprio-bench-notes-$$.sock
APP=$B/tests/hsa_app
[ -x "$APP" ] || APP=$(find "$B" -name hsa_app -type f | head -1)
run() { env HSA_APP_BENCH=$N GPRIO_KFD_DEV=/dev/null GPRIO_AMDKFD_SOCKET=$SOCK GPRIO_QUIET=1 "$@" taskset -c 0 "$APP"; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
base=$(run)
off=$(run LD_PRELOAD="$B/libgprio-hsa.so" GPRIO_CLASS=offline)
on=$(run LD_PRELOAD="$B/libgprio-hsa.so" GPRIO_CLASS=online)
# a listener in gpriod's place: accepts the shim and reads what it sends
python3 - "$SOCK" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(4)
c, _ = s.accept()
n = 0
while True:
    m = c.recv(4096)
    if not m:
        break
    n += 1
print(n, file=open(sys.argv[1] + ".count", "w"))
PY
L=$!
i=0
until [ -S "$SOCK" ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
t0=$(date +%s.%N)
listened=$(run LD_PRELOAD="$B/libgprio-hsa.so" GPRIO_CLASS=online)
t1=$(date +%s.%N)
wait $L || true
notes=$(cat "$SOCK.count" 2>/dev/null || echo 0)
rm -f "$SOCK" "$SOCK.count"
printf '{"bench": "hsa_notes_cost", "command": "bench/amd/bench_hsa_notes.sh", "machine": "%s %s", "date": "%s", "stores": %s, "ns_per_store": {"doorbell": {"no_shim": %s, "shim_offline": %s, "shim_online_no_daemon": %s, "shim_online_listened": %s}, "other_signal": {"no_shim": %s, "shim_offline": %s, "shim_online_no_daemon": %s, "shim_online_listened": %s}}, "notes_received": %s, "listened_run_s": %s}\n' \
	"$(uname -n)" "$(uname -m)" "$(date -u +%FT%TZ)" "$N" \
	"$(echo "$base" | field doorbell_ns)" "$(echo "$off" | field doorbell_ns)" \
	"$(echo "$on" | field doorbell_ns)" "$(echo "$listened" | field doorbell_ns)" \
	"$(echo "$base" | field other_signal_ns)" "$(echo "$off" | field other_signal_ns)" \
	"$(echo "$on" | field other_signal_ns)" "$(echo "$listened" | field other_signal_ns)" \
	"$notes" "$(echo "$t1 - $t0" | bc)" | tee bench/results/hsa-notes-cost.json
