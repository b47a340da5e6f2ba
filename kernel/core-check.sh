#!/bin/sh
# Build src/core (the detector, policies, monitor and mechanism law) as a kernel module
# against Debian's Linux 6.12 headers, with the kernel's own flags (-nostdinc, no floating
# point, its warnings, -Werror), and let modpost check that it needs no symbol the kernel does
# not export. This is what an in-kernel monitor (stage 3) links. Installs the headers with
# apt-get when they are missing (root), as kernel/check.sh does.
#   kernel/core-check.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
say() { echo "kernel/core-check: $*"; }
hdr=$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$hdr" ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	say "installing linux-headers-amd64 (6.12)"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		"linux-headers-6.12.*-amd64" bc >/dev/null 2>&1 ||
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			linux-headers-amd64 bc >/dev/null
	hdr=$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V | tail -1)
fi
[ -d "$hdr" ] || { say "no Linux 6.12 headers"; exit 1; }
work=$(mktemp -d /tmp/gprio-kcore.XXXXXX)
trap 'rm -rf "$work"' EXIT
objs=""
for c in "$root"/src/core/*.c; do
	cp "$c" "$work/"
	objs="$objs $(basename "$c" .c).o"
done
cp "$here/core/gprio_core_mod.c" "$work/"
cat >"$work/Kbuild" <<EOK
obj-m := gprio_core.o
gprio_core-y := gprio_core_mod.o $objs
ccflags-y := -I$root/include -Werror
EOK
if make -s -C "$hdr" M="$work" modules >"$work/build.log" 2>&1 && [ -f "$work/gprio_core.ko" ]; then
	say "src/core builds as a kernel module against $(basename "$hdr") ($(echo $objs | wc -w) objects; modpost: no unresolved symbols)"
else
	say "FAIL: src/core does not build as a kernel module"
	sed 's/^/    /' "$work/build.log" | head -40
	exit 1
fi
