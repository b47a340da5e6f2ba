#!/bin/sh
# The main job: build gprio and simulate the embedded MI308X scenario under no scheduler and
# gprio: the ideal sim backend, the amdkfd backend on the simulated stock KFD (stage 1) and on the
# patched KFD (stage 2), each polled and event-driven (the HSA shim's work notes: stage1ev,
# stage2ev), and the in-kernel monitor (stage 3), side by side. Extra arguments go to `gprio sim`.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
if [ "$#" -eq 0 ]; then
	set -- --compare none,priority:stage1,priority:stage1ev,priority:stage2,priority:stage2ev,priority:stage3
fi
exec ./build/gprio sim "$@"
