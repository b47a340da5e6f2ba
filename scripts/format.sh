#!/bin/sh
# Format every C file of the tree with the house style (.clang-format), or with --check list the
# files that differ from it and exit 1. clang-format 14 (Debian 12) is the reference version.
set -eu
cd "$(dirname "$0")/.."
CF=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$CF" ]; then
	echo "format.sh: clang-format not installed (apt-get install clang-format)" >&2
	exit 77
fi
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]')
if [ "${1:-}" = "--check" ]; then
	bad=0
	for f in $files; do
		if ! "$CF" --style=file "$f" | cmp -s - "$f"; then
			echo "not formatted: $f (scripts/format.sh)"
			bad=1
		fi
	done
	exit $bad
fi
# shellcheck disable=SC2086
"$CF" --style=file -i $files
