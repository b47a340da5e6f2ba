#!/bin/sh
# Per-launch overhead of the shim, side by side in one run, against the stand-in driver
# (tests/nvidia): the launch path's own cost without GPU noise. Writes JSON lines to
# bench/results/shim-overhead.json. Usage: bench/bench_shim.sh [BUILD_DIR]
set -eu
B=${1:-build}
cd "$(dirname "$0")/.."
cmake -S . -B "$B" -DGPRIO_TESTS=ON >/dev/null && cmake --build "$B" -j"$(nproc)" >/dev/null
export LD_LIBRARY_PATH=$B/fakecuda GPRIO_SHM=/tmp/gprio-bench-shim
N=20000000
run() { taskset -c 0 "$@" "$B/tests/fake_app" $N legacy | sed -n 's/.*"ns_per_launch": \([0-9.]*\).*/\1/p'; }
base=$(run env)
pass=$(run env LD_PRELOAD="$B/libgprio-cuda.so" GPRIO_CLASS=offline)
"$B/gpriod" --shm "$GPRIO_SHM" 2>/dev/null &
D=$!
sleep 0.3
off=$(run env LD_PRELOAD="$B/libgprio-cuda.so" GPRIO_CLASS=offline)
on=$(run env LD_PRELOAD="$B/libgprio-cuda.so" GPRIO_CLASS=online)
kill $D; wait $D 2>/dev/null || true
rm -f "$GPRIO_SHM" "$GPRIO_SHM.hot"
printf '{"bench": "shim_overhead", "command": "bench/bench_shim.sh", "machine": "%s %s", "date": "%s", "launches": %s, "ns_per_launch": {"no_shim": %s, "shim_no_daemon": %s, "shim_offline_daemon": %s, "shim_online_daemon": %s}, "target_ns": 1000}\n' \
	"$(uname -n)" "$(uname -m)" "$(date -u +%FT%TZ)" $N "$base" "$pass" "$off" "$on" | tee bench/results/shim-overhead.json
