#!/bin/sh
# src/core must build the way a kernel module is built: freestanding, no floating point or
# vector registers (-mgeneral-regs-only), and no header but the compiler's own freestanding
# ones (-nostdinc); the only outside symbols its objects may need are memset/memcpy, which
# the kernel provides. Usage: test_freestanding.sh CC SOURCE_DIR
set -u
CC=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
flags="-std=c11 -O2 -ffreestanding -nostdinc -isystem $($CC -print-file-name=include)
       -DGPRIO_FREESTANDING -Wall -Wextra -Werror -I$SRC/include"
case "$(uname -m)" in x86_64 | aarch64) flags="$flags -mgeneral-regs-only" ;; esac
for c in "$SRC"/src/core/*.c; do
	o="$TMP/$(basename "$c" .c).o"
	# shellcheck disable=SC2086
	if ! $CC $flags -c "$c" -o "$o" 2>"$TMP/err"; then
		echo "FAIL - $c does not build freestanding:"
		cat "$TMP/err"
		fail=1
	fi
done
[ $fail = 0 ] || exit 1
# every undefined symbol is defined by another core object, or is memset/memcpy
nm -u "$TMP"/*.o | awk 'NF == 2 { print $2 }' | sort -u >"$TMP/undef"
nm --defined-only "$TMP"/*.o | awk 'NF == 3 { print $3 }' | sort -u >"$TMP/def"
outside=$(comm -23 "$TMP/undef" "$TMP/def" | grep -v -x -e memset -e memcpy)
if [ -n "$outside" ]; then
	echo "FAIL - src/core needs symbols from outside it: $outside"
	exit 1
fi
echo "ok   - src/core builds freestanding ($(ls "$TMP"/*.o | wc -l) files, $flags)"
