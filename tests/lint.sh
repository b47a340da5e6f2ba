#!/bin/sh
# The tree is formatted (.clang-format, clang-format 14) and cppcheck finds nothing (warning,
# style, performance, portability) in the sources of this build; every suppression in the code
# says why. Skipped, and says so, where a tool is missing (exit 77).
# Usage: lint.sh SOURCE_DIR BUILD_DIR
set -u
SRC=$1
BUILD=$2
if ! command -v cppcheck >/dev/null 2>&1 ||
	! { command -v clang-format-14 >/dev/null 2>&1 || command -v clang-format >/dev/null 2>&1; }; then
	echo "SKIP - lint: cppcheck or clang-format not installed (scripts/deps.sh installs them)"
	exit 77
fi
fail=0
if "$SRC/scripts/format.sh" --check; then
	echo "ok   - formatted"
else
	fail=1
fi
out=$(cppcheck --project="$BUILD/compile_commands.json" --enable=warning,style,performance,portability \
	--inline-suppr --suppressions-list="$SRC/tests/cppcheck.supp" --quiet --error-exitcode=3 -j"$(nproc)" 2>&1)
rc=$?
# findings only (cppcheck also notes what it could not check, e.g. missing system headers)
found=$(echo "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning|style|performance|portability):')
if [ $rc -ne 0 ] || [ -n "$found" ]; then
	echo "FAIL - cppcheck:"
	echo "$out"
	fail=1
else
	echo "ok   - cppcheck: no findings in $(grep -c '"file"' "$BUILD/compile_commands.json") files"
fi
exit $fail
