#!/bin/sh
# Compile-check gprio's amdkfd patch series (kernel/amdkfd/*.patch) against Debian's Linux 6.12:
# unpack drivers/gpu/drm/amd from linux-source-6.12, apply the series, and build every changed
# amdkfd object against the matching linux-headers. Installs both packages with apt-get when they
# are missing (root). Needs ~1 GB of disk; about a minute once the packages are there.
#   kernel/check.sh            check the series
#   KEEP=1 kernel/check.sh     keep the work tree (printed) for inspection
set -eu
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "kernel/check: $*"; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
apt_install() {
	say "installing $*"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
src=/usr/src/linux-source-6.12.tar.xz
[ -f "$src" ] || apt_install linux-source-6.12
# headers of the same upstream version as the source package
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 | sed 's/-.*//')
hdr=/usr/src/linux-headers-$ver+deb12-amd64
[ -d "$hdr" ] || apt_install "linux-headers-$ver+deb12-amd64" bc
command -v patch >/dev/null 2>&1 || apt_install patch
perl -MTerm::ANSIColor -e1 >/dev/null 2>&1 || apt_install perl
[ -d "$hdr" ] || { say "no $hdr after install"; exit 1; }

work=$(mktemp -d /tmp/gprio-kcheck.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
say "unpacking drivers/gpu/drm/amd and kfd_ioctl.h from $src into $work"
tar -xJf "$src" -C "$work" --strip-components=1 --wildcards \
	'linux-source-6.12/drivers/gpu/drm/amd/*' 'linux-source-6.12/include/uapi/linux/kfd_ioctl.h' \
	'linux-source-6.12/scripts/checkpatch.pl' 'linux-source-6.12/scripts/spelling.txt' \
	'linux-source-6.12/scripts/const_structs.checkpatch'

# the kernel's own style checker: errors and warnings fail; --strict checks are only shown
fail=0
for p in "$here"/amdkfd/*.patch; do
	# (FILE_PATH_CHANGES: a new file asks for a MAINTAINERS entry, which an out-of-tree series
	# cannot give)
	if perl "$work/scripts/checkpatch.pl" --no-tree --terse --quiet --ignore FILE_PATH_CHANGES \
		"$p" >"$work/cp.log" 2>&1; then
		say "checkpatch clean: $(basename "$p") ($(perl "$work/scripts/checkpatch.pl" --no-tree --strict --terse "$p" 2>/dev/null | tail -1 | grep . || echo "no --strict checks either"))"
	else
		say "checkpatch FAIL: $(basename "$p")"
		sed 's/^/    /' "$work/cp.log" | head -20
		fail=1
	fi
done

cd "$work"
files=""
for p in "$here"/amdkfd/*.patch; do
	say "applying $(basename "$p")"
	patch -p1 --quiet --no-backup-if-mismatch < "$p"
	files="$files $(sed -n 's|^+++ b/drivers/gpu/drm/amd/amdkfd/\(.*\.c\)$|\1|p' "$p")"
done
files=$(echo $files | tr ' ' '\n' | sort -u)
# stage 3 (0005) builds gprio's core into amdgpu: copy it in and build each of its objects too,
# with amdgpu's flags
"$here/install-core.sh" "$work" | sed 's/^/kernel\/check: /'
files="$files $(cd "$work/drivers/gpu/drm/amd/amdkfd" && ls gprio/*.c)"

# gpriod's stage-2 and stage-3 definitions against the patched uapi header
mkdir -p "$work/uapi-check/linux" "$work/uapi-check/drm"
cp "$work/include/uapi/linux/kfd_ioctl.h" "$work/uapi-check/linux/"
printf '#include <linux/types.h>\n#include <linux/ioctl.h>\n' >"$work/uapi-check/drm/drm.h"
if ${CC:-cc} -std=gnu11 -Wall -Werror -I"$work/uapi-check" -I"$here/../src/backends/amdkfd" \
	-o "$work/uapi-check/patched" "$here/../tests/amdkfd/kfd_uapi_patched.c" 2>"$work/uapi-check/log"; then
	say "ok    gpriod's stage-2/3 definitions match the patched kfd_ioctl.h"
else
	say "FAIL  gpriod's stage-2/3 definitions differ from the patched kfd_ioctl.h"
	sed 's/^/    /' "$work/uapi-check/log" | head -20
	fail=1
fi

# The patched uapi header must win over the installed one: force-include it (its guard keeps
# the stock copy out).
kc="-include $work/include/uapi/linux/kfd_ioctl.h -I$work/drivers/gpu/drm/amd/include"
cd "$work/drivers/gpu/drm/amd/amdgpu"
for f in $files; do
	o=../amdkfd/${f%.c}.o
	log=$work/$(echo "$f" | tr / _).log
	if make -s -C "$hdr" M="$PWD" KCFLAGS="$kc" W=0 "$o" > "$log" 2>&1 && [ -f "$o" ]; then
		say "ok    amdkfd/$f"
	else
		say "FAIL  amdkfd/$f"
		sed 's/^/    /' "$log" | head -40
		fail=1
	fi
done
[ "$fail" = 0 ] && say "the series compiles against Linux $ver (Debian linux-headers-$ver+deb12-amd64)"
exit $fail
