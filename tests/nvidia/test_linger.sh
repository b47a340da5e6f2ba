#!/bin/sh
# Lingering (src/backends/nvidia/shim/linger.c) without a GPU: the real shim preloaded by gprio run
# into linger_app, against the stand-in libcuda.so.1 (its hold runs until its flag or its bound;
# its event synchronisation waits for the work recorded before the event, its stream
# synchronisation for everything, a running hold included). On the GPU: bench/gpu/matrix.sh cell
# gdecode (what lingering buys).
set -u
GPRIO=$1 GPRIOD=$2 SHIM=$3 APP=$4 FAKE=$5
TMP=$(mktemp -d)
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null; rm -rf "$TMP"' EXIT
export LD_LIBRARY_PATH="$FAKE" GPRIO_SHM="$TMP/shm" GPRIO_SHIM="$SHIM" FAKE_KERNEL_US=2000
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
field() { sed -n "s/.*\"$1\": \([-0-9.a-z]*\).*/\1/p"; }
run() { "$GPRIO" run "$@" 2>>"$TMP/err"; }
daemon() {
	"$GPRIOD" --shm "$TMP/shm" "$@" 2>>"$TMP/gpriod.log" &
	DPID=$!
	i=0
	while [ ! -S "$TMP/shm.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
stop() { kill $DPID; wait $DPID 2>/dev/null; DPID=; }
# the restarts gpriod's law counts (a launch that finds its stream drained): run MODE, read
# the process's "starts" from gprio status while it sleeps at the end
starts() {
	LINGER_APP_SLEEP_MS=800 "$GPRIO" run --online -- "$APP" "$1" >/dev/null 2>>"$TMP/err" &
	sleep 0.5
	"$GPRIO" status --json | tr ',' '\n' | sed -n 's/.*"starts": \([0-9]*\).*/\1/p' | head -1
	wait
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# without gpriod: a plain synchronisation, nothing placed
out=$(run --online -- "$APP" gap)
[ "$(echo "$out" | field holds)" = 0 ] && [ "$(echo "$out" | field event_syncs)" = 0 ] &&
	ok "without gpriod: plain stream synchronisation, no hold" || bad "no gpriod: $out"

# online TSGs at a long timeslice (fixed here; `tsg` per GPU does the same); the longest bound,
# 10 ms, so that a late wake-up of a loaded machine (sanitizer builds, parallel tests) does not
# outlast it
daemon --online-timeslice 1s --offline-timeslice 1us --linger-us 10000
out=$(run --online -- "$APP" gap)
w=$(echo "$out" | field wait_ms)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field held)" = 1 ] &&
	[ "$(echo "$out" | field on_stream)" = 1 ] && [ "$(echo "$out" | field holds)" = 2 ] &&
	[ "$(echo "$out" | field after)" = 1 ] &&
	[ "$(echo "$out" | field queued_behind)" = 1 ] && [ "$(echo "$out" | field event_syncs)" = 1 ] &&
	lt "$w" 50 &&
	ok "a stream synchronisation waits for the work only ($w ms), leaves a hold on that stream running through the gap; the next launch is queued behind it and gets a fresh hold behind itself" ||
	bad "gap: $out"
out=$(run --online -- "$APP" rearm)
w=$(echo "$out" | field wait_ms)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field rearmed)" = 9 ] &&
	[ "$(echo "$out" | field after)" = 2 ] && lt "$w" 30 &&
	ok "re-armed for the next 8 submissions only (9 holds for 12 launches); a context synchronisation releases the last first (waited $w ms, the work only)" ||
	bad "rearm: $out"
n=$(starts gap)
[ "$n" = 1 ] && ok "the launch after the gap is not a restart (the hold kept the group resident): 1 start" ||
	bad "restarts with a hold: $n"
out=$(run --online -- "$APP" copy)
w=$(echo "$out" | field wait_ms)
[ "$(echo "$out" | field rc)" = 0 ] && lt "$w" 8 && [ "$(echo "$out" | field after)" = 2 ] &&
	ok "a copy behind a hold releases it first (a copy to pageable memory waits for the work ahead of it: $w ms for a 2 ms kernel, not the 10 ms bound)" ||
	bad "copy: $out"
out=$(run --online -- "$APP" gap legacy)
[ "$(echo "$out" | field held)" = 1 ] && [ "$(echo "$out" | field on_stream)" = 1 ] &&
	[ "$(echo "$out" | field holds)" = 2 ] && [ "$(echo "$out" | field after)" = 1 ] &&
	ok "the same on the legacy default stream" || bad "legacy: $out"
out=$(FAKE_CTX_FLAGS=4 run --online -- "$APP" gap)
[ "$(echo "$out" | field event_flags)" = 3 ] &&
	ok "a context that blocks on synchronisation gets a blocking event (the host sleeps as before)" ||
	bad "blocking sync: $out"
out=$(LINGER_APP_SLEEP_MS=1500 run --online -- "$APP" idle &
	sleep 0.9
	"$GPRIO" status --json >"$TMP/status.json" 2>&1
	wait)
[ "$(echo "$out" | field held)" = 1 ] && [ "$(echo "$out" | field after)" = 3 ] &&
	ok "nothing follows: the hold ends by its bound" || bad "idle: $out"
l=$(tr ',' '\n' <"$TMP/status.json" | sed -n 's/.*"lingers": \([0-9]*\).*/\1/p' | head -1)
e=$(tr ',' '\n' <"$TMP/status.json" | sed -n 's/.*"lingers_expired": \([0-9]*\).*/\1/p' | head -1)
ms=$(tr ',' '\n' <"$TMP/status.json" | sed -n 's/.*"linger_ms": \([0-9.]*\).*/\1/p' | head -1)
lu=$(tr ',' '\n' <"$TMP/status.json" | sed -n 's/.*"linger_us": \([0-9]*\).*/\1/p' | head -1)
"$GPRIO" status | grep -q "^lingering: an online stream synchronisation keeps the GPU up to 10000 us" &&
	grep -q "lingering 10000 us" "$TMP/gpriod.log" &&
	[ "$l" = 1 ] && [ "$e" = 1 ] && [ "$lu" = 10000 ] && [ "$ms" = 10.000 ] &&
	ok "gprio status: 1 linger, ran to its bound, $ms ms held (linger_us 10000)" ||
	bad "status: lingers=$l expired=$e ms=$ms linger_us=$lu: $(cat "$TMP/status.json")"
out=$(run --online -- "$APP" ctx)
[ "$(echo "$out" | field holds)" = 0 ] && ok "context synchronisation: unchanged, no hold" || bad "ctx: $out"
out=$(run --offline -- "$APP" gap)
[ "$(echo "$out" | field holds)" = 0 ] && [ "$(echo "$out" | field event_syncs)" = 0 ] &&
	ok "offline: no hold" || bad "offline: $out"
out=$(FAKE_EVENT_RECORD_FAIL=1 run --online -- "$APP" gap)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
	[ "$(echo "$out" | field event_syncs)" = 0 ] &&
	ok "an event record the driver refuses: the program's own synchronisation, no hold" ||
	bad "record refused: $out"
stop

# off by default; the budget (500 us holds)
daemon --online-timeslice 1s --offline-timeslice 1us
"$GPRIO" status --json | grep -q '"linger_us": 0}' && ok "off by default (linger_us 0)" ||
	bad "default: $("$GPRIO" status --json)"
out=$(run --online -- "$APP" gap)
[ "$(echo "$out" | field holds)" = 0 ] && ok "plain gpriod with a long online timeslice: no hold" || bad "default off: $out"
stop
daemon --online-timeslice 1s --offline-timeslice 1us --linger-us 500
out=$(FAKE_KERNEL_US=100 run --online -- "$APP" budget)
n=$(echo "$out" | field holds) s=$(echo "$out" | field steps)
# (at least 60 synchronisations, half again the 40 holds the budget allows, so the budget and
# not the loop is what bounds them; under TSan on two cores the loop managed 98 in 0.5 s)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$n" -ge 25 ] && [ "$n" -le 40 ] && [ "$s" -ge 60 ] &&
	ok "$s synchronisations, each followed by 2 ms of host work, in 0.5 s: $n holds (each runs 0.5 ms to its bound; the budget for holds that run to it is 20 ms a second: at most 40, fewer where a late stand-in GPU thread makes a re-armed hold look expired)" ||
	bad "budget: $out"
stop

# the per-GPU mechanism with no offline work on the GPU (idle): nothing to protect
daemon --linger-us 500
out=$(run --online -- "$APP" gap)
[ "$(echo "$out" | field holds)" = 0 ] && ok "plain gpriod, no offline work (idle): no hold" || bad "idle GPU: $out"
stop
daemon --online-timeslice 1s --offline-timeslice 1us --linger-us 0
out=$(run --online -- "$APP" gap)
[ "$(echo "$out" | field holds)" = 0 ] && ok "gpriod --linger-us 0: off" || bad "off: $out"
n=$(starts gap)
[ "$n" = 2 ] && ok "without it the launch after the gap restarts the drained stream: 2 starts" ||
	bad "restarts without a hold: $n"
stop
daemon --online-timeslice 1s --linger-us 10001
grep -q "linger-us" "$TMP/gpriod.log" && [ -z "$DPID" -o ! -e /proc/"$DPID" ] &&
	ok "gpriod --linger-us 10001 is refused, naming the option" || bad "range: $(cat "$TMP/gpriod.log")"
DPID=
# the driver's default timeslice for online work (`leave`, `tsg-guarded`): no hold
daemon --online-timeslice 0 --offline-timeslice 1us --linger-us 500
out=$(run --online -- "$APP" gap)
[ "$(echo "$out" | field holds)" = 0 ] && ok "online at the driver's timeslice: no hold" || bad "short slice: $out"
stop
[ $fails = 0 ] || { cat "$TMP/err" "$TMP/gpriod.log"; exit 1; }
