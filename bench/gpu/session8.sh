#!/bin/bash
# Stop 8 on the GPU machine, part A (one call): the whole test suite (CTest, with the real-GPU
# test), what libcuda does to our TSGs (GPRIO_TRACE_RM), and where the preemption tail comes
# from: the split probe (launch call / launch -> kernel start seen / start -> done) alone and
# next to offline blocks of 1 ms and 100 ms, under static TSG and gprio, with the shim's TSG
# read-back every 100 ms (the old behaviour: GPRIO_TSG_VERIFY_MAX_MS=100) and with the new
# event-driven read-back, interleaved twice.
# Usage: bench/gpu/session8.sh OUTDIR   (carry .deps for cmocka)
set -u
OUT=${1:?usage: session8.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
cd "$ROOT"
( time ./scripts/test.sh ) >"$OUT/tests.txt" 2>&1
echo "tests rc $?" >>"$OUT/tests.txt"
ctest --test-dir build-test -R test_gpu -V >"$OUT/test_gpu.txt" 2>&1

. "$ROOT/bench/lib.sh" # gpu_build
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=/dev/shm/gprio-s8
DPID=
dstart() { "$B/gpriod" --shm "$GPRIO_SHM" --online-timeslice-us 1000000 --offline-timeslice-us 1 "$@" 2>>"$OUT/gpriod.log" & DPID=$!; sleep 0.3; }
dstop() { [ -n "$DPID" ] && kill -INT "$DPID" && wait "$DPID"; DPID=; }
trap dstop EXIT

# what libcuda does to our TSGs after creating them
dstart --gating on
GPRIO_DEBUG=1 GPRIO_TRACE_RM=1 "$B/gprio" run --offline -- "$GB" offline --block-us 1000 --seconds 3 \
	>/dev/null 2>"$OUT/rmtrace.offline.txt" &
P=$!
sleep 0.5
GPRIO_DEBUG=1 GPRIO_TRACE_RM=1 "$B/gprio" run --online -- "$GB" probe --seconds 2 --pause-ms 3,8 \
	>/dev/null 2>"$OUT/rmtrace.online.txt"
wait $P
dstop

# probe NAME BLOCK_US SETUP VERIFY_MAX_MS
probe() {
	local name=$1 L=$2 s=$3 v=$4 P=
	echo "== $(date +%T) $name" >&2
	case $s in
	tsg) dstart --gating off ;;
	gprio) dstart --gating on ;;
	esac
	if [ "$L" != 0 ]; then
		if [ "$s" = together ]; then
			"$GB" offline --block-us "$L" --blocks-per-sm 2 --inflight 2 --seconds 13 >"$OUT/$name.offline.json" &
		else
			GPRIO_TSG_VERIFY_MAX_MS=$v "$B/gprio" run --offline -- "$GB" offline --block-us "$L" \
				--blocks-per-sm 2 --inflight 2 --seconds 13 >"$OUT/$name.offline.json" &
		fi
		P=$!
		sleep 1.5
	fi
	if [ "$s" = alone ] || [ "$s" = together ]; then
		"$GB" probe --seconds 10 --pause-ms 3,8 --split "$OUT/$name.split" >"$OUT/$name.json"
	else
		GPRIO_TSG_VERIFY_MAX_MS=$v "$B/gprio" run --online -- "$GB" probe --seconds 10 --pause-ms 3,8 \
			--split "$OUT/$name.split" >"$OUT/$name.json"
	fi
	[ -n "$P" ] && wait $P
	dstop
}
for rep in 1 2; do
	probe "probe0.alone.r$rep" 0 alone 100
	for L in 1000 100000; do
		probe "probe$L.tsg_v100.r$rep" $L tsg 100
		probe "probe$L.tsg_event.r$rep" $L tsg 10000
		probe "probe$L.gprio_v100.r$rep" $L gprio 100
		probe "probe$L.gprio_event.r$rep" $L gprio 10000
	done
done
for f in "$OUT"/probe*.json; do
	case $f in *offline.json) continue ;; esac
	echo "$(basename "$f" .json) $(cat "$f")"
done >"$OUT/probe_summary.txt"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$OUT/gpu.txt"
tar czf "$OUT/splits.tgz" -C "$OUT" $(cd "$OUT" && ls *.split) && rm -f "$OUT"/*.split
echo done
