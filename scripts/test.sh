#!/bin/sh
# Every test, twice: a build with warnings as errors under AddressSanitizer +
# UndefinedBehaviorSanitizer, then a build under ThreadSanitizer (the shims, gpriod's loop and
# servers, the agents run threads); each runs CTest (unit, scenario, CLI and daemon integration,
# the shims over stand-in drivers). Any ThreadSanitizer report fails the run, also from a
# background process whose exit status no test looks at. GPU tests (tests/gpu) are skipped, and
# say so, where no GPU is present.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
# the main job's build (scripts/run-sim.sh): Release, where -O2 turns on warnings a Debug build
# never sees (-Wformat-truncation), and warnings are errors
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DGPRIO_SANITIZE=ON >/dev/null
cmake --build build-test -j"$(nproc)"
ctest --test-dir build-test --output-on-failure -j"$(nproc)"

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DGPRIO_TSAN=ON >/dev/null
cmake --build build-tsan -j"$(nproc)"
logs=$(mktemp -d)
# atexit_sleep_ms=0: TSan's default 1 s pause at exit would fail the fail-open timing checks
TSAN_OPTIONS="atexit_sleep_ms=0 log_path=$logs/tsan" \
	ctest --test-dir build-tsan --output-on-failure -j"$(nproc)" -E "test_gpu|test_lint"
if [ -n "$(ls "$logs")" ]; then
	cat "$logs"/*
	echo "ThreadSanitizer reported the races above" >&2
	exit 1
fi
rm -rf "$logs"
echo "all tests passed under ASan+UBSan and under TSan"
