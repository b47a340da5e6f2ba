#!/bin/sh
# Install what building and testing gprio needs on Debian 12, if missing. Idempotent.
set -eu
cd "$(dirname "$0")/.."
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
[ -f /usr/include/cmocka.h ] || [ -f .deps/cmocka/include/cmocka.h ] || need="$need libcmocka-dev"
# wanted, not required (their tests are skipped, and say so, where they cannot be installed:
# a machine without a package registry): the lint test (formatting, static analysis)
want=""
command -v clang-format-14 >/dev/null 2>&1 || want="$want clang-format-14"
command -v cppcheck >/dev/null 2>&1 || want="$want cppcheck"
# the metrics test: promtool checks the exposition and a real Prometheus scrapes gpriod
command -v promtool >/dev/null 2>&1 || want="$want prometheus"
# the Kubernetes manifest check (tests/deploy): node and npm, which fetch its schemas
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs npm"
[ -n "$need$want" ] || exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$need$want" >&2
if ! $SUDO apt-get update -qq; then
	[ -z "$need" ] && { echo "no package registry: the lint test will be skipped" >&2; exit 0; }
	exit 1
fi
# shellcheck disable=SC2086
[ -z "$need" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
# shellcheck disable=SC2086
[ -z "$want" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $want ||
	echo "could not install$want: the lint test will be skipped" >&2
