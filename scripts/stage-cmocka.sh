#!/bin/sh
# Copy this machine's cmocka (headers and shared library) under .deps/cmocka, so that the test
# suite can be built where no package registry is reachable (the GPU machine: carry .deps).
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
mkdir -p .deps/cmocka/include .deps/cmocka/lib
cp /usr/include/cmocka.h /usr/include/cmocka_pbc.h .deps/cmocka/include/
cp -P /usr/lib/x86_64-linux-gnu/libcmocka.so* .deps/cmocka/lib/
echo "staged: $(ls .deps/cmocka/lib | tr '\n' ' ')"
