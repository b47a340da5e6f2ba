#!/bin/sh
# Install what building and testing gprio needs on Debian 12, if missing. Idempotent.
set -eu
cd "$(dirname "$0")/.."
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
[ -f /usr/include/cmocka.h ] || [ -f .deps/cmocka/include/cmocka.h ] || need="$need libcmocka-dev"
[ -n "$need" ] || exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$need" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
