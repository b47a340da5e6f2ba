#!/bin/sh
# Simulator and decision-loop speed on this machine (one core each). Writes JSON lines to
# bench/results/sim-speed.json. Usage: bench/run-sim-bench.sh
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" >/dev/null
out=bench/results/sim-speed.json
{
	taskset -c 0 ./build-rel/bench_sim examples/mi308x-oversubscribed.scn 3600s
	taskset -c 0 ./build-rel/bench_sim examples/mi308x-online-offline.scn 3600s
	taskset -c 0 ./build-rel/bench_tick 100 200000
	taskset -c 0 ./build-rel/bench_tick 1000 20000
} | tee "$out"
