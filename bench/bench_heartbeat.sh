#!/bin/sh
# gpriod's heartbeat with every core busy: LOOPS_PER_CORE (default 2) busy loops per core at
# normal priority, gpriod with --realtime off and on (the default), the heartbeat's largest age
# over SECONDS each (the shims fail open at 100 ms). Writes bench/results/heartbeat-load.json.
# Needs root for the real-time class (without it gpriod falls back to nice, or to nothing, and
# says so). About 2 x SECONDS + 2 s.
#   [LOOPS_PER_CORE=N] bench/bench_heartbeat.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10}
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DGPRIO_TESTS=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target gpriod heartbeat_probe >/dev/null
tmp=$(mktemp -d)
hogs=""
cleanup() { for h in $hogs; do kill "$h" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
n=$(( $(nproc) * ${LOOPS_PER_CORE:-2} ))
for i in $(seq "$n"); do
	sh -c 'while :; do :; done' &
	hogs="$hogs $!"
done
out=bench/results/heartbeat-load.json
: >"$out.tmp"
for rt in off on; do
	./build-rel/gpriod --shm "$tmp/g-$rt" --realtime "$rt" 2>"$tmp/log-$rt" &
	d=$!
	sleep 0.5
	r=$(./build-rel/heartbeat_probe "$tmp/g-$rt" "$secs")
	kill "$d"
	wait "$d" 2>/dev/null || true
	note=$(grep -m1 "scheduling\|nice" "$tmp/log-$rt" | sed 's/"/\\"/g' || true)
	printf '{"bench": "heartbeat_under_load", "command": "bench/bench_heartbeat.sh %s", "machine": "%s", "cpu": "%s", "cores": %s, "busy_loops": %s, "date": "%s", "realtime": "%s", "gpriod_said": "%s", "result": %s}\n' \
		"$secs" "$(uname -n) $(uname -m)" "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" \
		"$(nproc)" "$n" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$rt" "$note" "$r" | tee -a "$out.tmp"
done
mv "$out.tmp" "$out"
