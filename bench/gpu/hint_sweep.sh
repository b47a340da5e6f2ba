#!/bin/bash
# What the request hint does to the probe's latency as request preparation grows, on one GPU:
#   bench/gpu/hint_sweep.sh OUTDIR
# Plain gpriod; the probe (gpubench probe --hint --prep-us P) started with and without
# gprio run --online --hint, for P in PREPS (default 0 100 300 1000 us), next to nothing and next
# to an offline job of 1 ms kernels (gpubench offline, 2 blocks per SM, 2 in flight). SECS per
# run (default 4). One JSON per run: OUTDIR/NEXT.MODE.P.json (NEXT none|offline, MODE hint|plain).
# NEXT, MODES: subsets (MODES also self: gpubench's own hold, with GPU timestamps of the hold's
# start and end and of the probe's start; the shim's hold is timed the same way through
# gprio_hint_last).
set -u
OUT=${1:?usage: hint_sweep.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
. "$ROOT/bench/lib.sh"
gpu_build "$ROOT" || exit 1
export GPRIO_SHM=${GPRIO_SHM:-/dev/shm/gprio-hint}
SECS=${SECS:-4}
"$B/gpriod" --shm "$GPRIO_SHM" 2>"$OUT/gpriod.log" &
DPID=$!
OPID=
trap 'kill $OPID 2>/dev/null; kill -INT $DPID; wait' EXIT
sleep 0.3
for next in ${NEXT:-none offline}; do
	if [ $next = offline ]; then
		"$B/gprio" run --offline -- "$GB" offline --block-us 1000 --blocks-per-sm 2 --inflight 2 \
			--seconds 1000 >"$OUT/offline.json" 2>/dev/null &
		OPID=$!
		sleep 2
	fi
	for p in ${PREPS:-0 100 300 1000}; do
		for mode in ${MODES:-plain hint}; do
			h=--hint x=
			case $mode in
			plain) h= ;;
			self) h= x=--selfhold ;; # gpubench's own hold, with GPU timestamps
			esac
			"$B/gprio" run --online $h -- "$GB" probe --pause-ms 3,8 --prep-us "$p" --hint $x \
				--seconds "$SECS" --split "$OUT/$next.$mode.$p.split" \
				>"$OUT/$next.$mode.$p.json" 2>>"$OUT/probe.err"
			echo "$next $mode $p $(cat "$OUT/$next.$mode.$p.json")" >&2
		done
	done
done
