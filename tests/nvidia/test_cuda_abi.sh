#!/bin/sh
# The driver API values the shim uses without cuda.h (src/backends/nvidia/shim/cuda_abi.h)
# against a real cuda.h: CUDA_HOME, else /usr/local/cuda. Skipped (77), saying so, without one.
CC=$1 SRC=$2
INC=${CUDA_HOME:-/usr/local/cuda}/include
if [ ! -f "$INC/cuda.h" ]; then
	echo "skip - no cuda.h in $INC (set CUDA_HOME): the shim's driver values are not checked"
	exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat >"$TMP/abi.c" <<'C'
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>

#include "cuda_abi.h"

#define SAME(ours, theirs) _Static_assert((ours) == (theirs), #ours " != " #theirs)
SAME(SHIM_CUDA_ERROR_UNKNOWN, CUDA_ERROR_UNKNOWN);
SAME(SHIM_HOSTALLOC_PORTABLE, CU_MEMHOSTALLOC_PORTABLE);
SAME(SHIM_HOSTALLOC_DEVICEMAP, CU_MEMHOSTALLOC_DEVICEMAP);
SAME(SHIM_ATTR_PCI_BUS_ID, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID);
SAME(SHIM_ATTR_PCI_DEVICE_ID, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID);
SAME(SHIM_ATTR_PCI_DOMAIN_ID, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID);
SAME(SHIM_EVENT_BLOCKING_SYNC, CU_EVENT_BLOCKING_SYNC);
SAME(SHIM_EVENT_DISABLE_TIMING, CU_EVENT_DISABLE_TIMING);
SAME(SHIM_CTX_SCHED_BLOCKING_SYNC, CU_CTX_SCHED_BLOCKING_SYNC);
SAME(SHIM_STREAM_WRITE_VALUE_DEFAULT, CU_STREAM_WRITE_VALUE_DEFAULT);

int main(void)
{
	/* pointer constants: not integer constant expressions */
	int bad = (uintptr_t)CU_STREAM_LEGACY != SHIM_STREAM_LEGACY_ID ||
		  (uintptr_t)CU_STREAM_PER_THREAD != SHIM_STREAM_PER_THREAD_ID;
	printf("%s - CU_STREAM_LEGACY and CU_STREAM_PER_THREAD\n", bad ? "FAIL" : "ok  ");
	return bad;
}
C
if ! "$CC" -std=c11 -Wall -Wextra -Werror -I"$INC" -I"$SRC/src/backends/nvidia/shim" \
	"$TMP/abi.c" -o "$TMP/abi" 2>"$TMP/cc.err"; then
	echo "FAIL - the shim's driver values differ from $INC/cuda.h:"
	cat "$TMP/cc.err"
	exit 1
fi
echo "ok   - 10 driver values of cuda_abi.h equal $INC/cuda.h's (CUDA $(sed -n 's/^#define CUDA_VERSION \([0-9]*\).*/\1/p' "$INC/cuda.h"))"
"$TMP/abi"
