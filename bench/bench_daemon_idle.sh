#!/bin/sh
# gpriod's CPU use with nothing to schedule (target <= 1 % of a core): utime+stime from
# /proc/PID/stat over a fixed wall interval. Usage: bench/bench_daemon_idle.sh [BUILD_DIR] [SECONDS]
set -eu
B=${1:-build}
S=${2:-20}
cd "$(dirname "$0")/.."
SHM=/tmp/gprio-bench-idle
"$B/gpriod" --shm "$SHM" 2>/dev/null &
D=$!
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$D/stat"; }
t0=$(ticks)
sleep "$S"
t1=$(ticks)
kill $D
wait $D 2>/dev/null || true
rm -f "$SHM"
hz=$(getconf CLK_TCK)
pct=$(awk -v a="$t0" -v b="$t1" -v s="$S" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz / s * 100 }')
printf '{"bench": "gpriod_idle_cpu", "command": "bench/bench_daemon_idle.sh %s %s", "machine": "%s %s", "date": "%s", "seconds": %s, "cpu_percent_of_one_core": %s, "target_percent": 1}\n' \
	"$B" "$S" "$(uname -n)" "$(uname -m)" "$(date -u +%FT%TZ)" "$S" "$pct" | tee bench/results/gpriod-idle.json
