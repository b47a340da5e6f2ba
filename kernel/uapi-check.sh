#!/bin/sh
# gprio's KFD definitions against the real include/uapi/linux/kfd_ioctl.h of Debian's Linux 6.12
# (the newest kernel tree Debian 12 offers): tests/amdkfd/kfd_uapi_layout.c asserts every ioctl
# number, struct size, field offset and constant gprio uses, and is compiled with the kernel's
# header. Exit 0: they agree; 1: a mismatch (the compiler names it); 77: the kernel source is
# not installed (kernel/check.sh installs it; `--install` does here).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
src=/usr/src/linux-source-6.12.tar.xz
if [ ! -f "$src" ]; then
	if [ "${1:-}" = "--install" ]; then
		SUDO=""
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
			linux-source-6.12 >/dev/null
	else
		echo "SKIP - $src not installed (kernel/uapi-check.sh --install, or kernel/check.sh)"
		exit 77
	fi
fi
work=$(mktemp -d /tmp/gprio-uapi.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/linux" "$work/drm"
tar -xJf "$src" -O 'linux-source-6.12/include/uapi/linux/kfd_ioctl.h' >"$work/linux/kfd_ioctl.h"
# kfd_ioctl.h includes drm/drm.h only for the kernel's integer types and ioctl macros (it uses
# nothing of DRM's own); the unprocessed uapi drm.h needs the kernel build's annotations, so
# the two headers it stands for are included instead
printf '#include <linux/types.h>\n#include <linux/ioctl.h>\n' >"$work/drm/drm.h"
ver=$(sed -n 's/^#define KFD_IOCTL_MINOR_VERSION \([0-9]*\).*/1.\1/p' "$work/linux/kfd_ioctl.h")
if ${CC:-cc} -std=gnu11 -Wall -Werror -I"$work" -I"$here/src/backends/amdkfd" \
	-o "$work/layout" "$here/tests/amdkfd/kfd_uapi_layout.c"; then
	echo "ok   - gprio's KFD definitions match Linux 6.12's kfd_ioctl.h (KFD ioctl API $ver)"
else
	echo "FAIL - gprio's KFD definitions differ from Linux 6.12's kfd_ioctl.h (above)"
	exit 1
fi
