#!/bin/sh
# Every test: a build with warnings as errors under AddressSanitizer + UndefinedBehaviorSanitizer,
# then CTest (unit, scenario, CLI integration). GPU tests live in bench/ and tests/gpu and are
# skipped here when no GPU is present.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DGPRIO_SANITIZE=ON >/dev/null
cmake --build build-test -j"$(nproc)"
ctest --test-dir build-test --output-on-failure -j"$(nproc)"
