#!/bin/sh
# Fuzz what users hand gprio (libFuzzer, clang, under ASan+UBSan): the scenario parser and the
# simulator behind it (tests/fuzz). Seeds: examples/*.scn. Any crash, leak or undefined
# behaviour stops the run and leaves the input as crash-* in the current directory.
# Usage: scripts/fuzz.sh [SECONDS]   (default 300)
set -eu
cd "$(dirname "$0")/.."
secs=${1:-300}
command -v clang >/dev/null || { echo "scripts/fuzz.sh: needs clang (apt-get install clang)" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DGPRIO_SANITIZE=ON -DGPRIO_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_scenario >/dev/null
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp examples/*.scn "$corpus"/
./build-fuzz/tests/fuzz_scenario -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-rss_limit_mb=4096 -print_final_stats=1 "$corpus"
