#!/bin/bash
# Stop 8 on the GPU machine, part B: does the preemption tail depend on how long online stays
# idle? The split probe (see gpubench probe --split) with pauses of 3-8 ms and 10-30 ms (the
# benchmark's), plain and split, alone and next to 1 ms offline blocks under static TSG and gprio,
# interleaved twice; then the RM trace and the real-GPU test again with the shim that rewrites
# libcuda's own SET_TIMESLICE. Usage: bench/gpu/session8b.sh OUTDIR
set -u
OUT=${1:?usage: session8b.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh" # gpu_build
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=/dev/shm/gprio-s8b
DPID=
dstart() { "$B/gpriod" --shm "$GPRIO_SHM" --online-timeslice-us 1000000 --offline-timeslice-us 1 "$@" 2>>"$OUT/gpriod.log" & DPID=$!; sleep 0.3; }
dstop() { [ -n "$DPID" ] && kill -INT "$DPID" && wait "$DPID"; DPID=; }
trap dstop EXIT

# probe NAME SETUP PAUSE SPLIT(0|1) SECONDS
probe() {
	local name=$1 s=$2 pause=$3 split=$4 sec=$5 P= pre=()
	echo "== $(date +%T) $name" >&2
	case $s in
	tsg) dstart --gating off; pre=("$B/gprio" run --online --) ;;
	gprio) dstart --gating on; pre=("$B/gprio" run --online --) ;;
	esac
	if [ "$s" != alone ]; then
		"$B/gprio" run --offline -- "$GB" offline --block-us 1000 --blocks-per-sm 2 --inflight 2 \
			--seconds $((sec + 3)) >"$OUT/$name.offline.json" &
		P=$!
		sleep 1.5
	fi
	local sp=()
	[ "$split" = 1 ] && sp=(--split "$OUT/$name.split")
	"${pre[@]}" "$GB" probe --seconds "$sec" --pause-ms "$pause" "${sp[@]}" >"$OUT/$name.json"
	[ -n "$P" ] && wait $P
	dstop
}
for rep in 1 2; do
	probe "alone.p10.split.r$rep" alone 10,30 1 12
	probe "tsg.p10.split.r$rep" tsg 10,30 1 20
	probe "gprio.p10.split.r$rep" gprio 10,30 1 20
	probe "gprio.p10.plain.r$rep" gprio 10,30 0 20
	probe "gprio.p3.plain.r$rep" gprio 3,8 0 10
	probe "gprio.p3.split.r$rep" gprio 3,8 1 10
done
for f in "$OUT"/*.json; do
	case $f in *offline.json) continue ;; esac
	echo "$(basename "$f" .json) $(cat "$f")"
done >"$OUT/probe_summary.txt"
dstart --gating on
GPRIO_DEBUG=1 GPRIO_TRACE_RM=1 "$B/gprio" run --online -- "$GB" probe --seconds 1 --pause-ms 3,8 \
	>/dev/null 2>"$OUT/rmtrace.online.txt"
dstop
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$OUT/gpu.txt"
tar czf "$OUT/splits.tgz" -C "$OUT" $(cd "$OUT" && ls *.split) && rm -f "$OUT"/*.split
echo done
