#!/bin/sh
# Copy gprio's core (src/core and include/gprio) into a kernel tree that carries the
# kernel/amdkfd series, where patch 0005's Makefile builds it into amdgpu with the in-kernel
# monitor: drivers/gpu/drm/amd/amdkfd/gprio/*.c and .../gprio/include/gprio/*.h.
#   kernel/install-core.sh LINUX_TREE
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tree=${1:?usage: kernel/install-core.sh LINUX_TREE}
dst=$tree/drivers/gpu/drm/amd/amdkfd/gprio
[ -d "$tree/drivers/gpu/drm/amd/amdkfd" ] || { echo "install-core: no amdkfd in $tree" >&2; exit 1; }
rm -rf "$dst"
mkdir -p "$dst/include/gprio"
cp "$root"/src/core/*.c "$dst/"
cp "$root"/include/gprio/*.h "$dst/include/gprio/"
echo "install-core: $(ls "$dst"/*.c | wc -l) core sources into $dst"
