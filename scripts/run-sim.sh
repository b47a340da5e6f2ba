#!/bin/sh
# The main job: build gprio and simulate the embedded MI308X scenario under no scheduler and
# gprio's policies, side by side. Extra arguments go to `gprio sim`.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
if [ "$#" -eq 0 ]; then
	set -- --compare none,priority,priority:poll,share
fi
exec ./build/gprio sim "$@"
