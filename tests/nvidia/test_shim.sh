#!/bin/sh
# The nvidia shim without a GPU: the real libgprio-cuda.so preloaded into a program that finds
# the driver the way the CUDA runtime does (dlopen + dlsym + cuGetProcAddress_v2), against a
# stand-in libcuda.so.1; the real gpriod. (TSG timeslices need the real driver: bench/gpu/smoke.sh.)
set -u
GPRIO=$1 GPRIOD=$2 SHIM=$3 APP=$4 FAKE=$5
TMP=$(mktemp -d)
DPID=
cleanup() { [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
export LD_LIBRARY_PATH="$FAKE" GPRIO_SHM="$TMP/shm" GPRIO_SHIM="$SHIM"
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
field() { sed -n "s/.*\"$1\": \([-0-9.a-z]*\).*/\1/p"; }

# 1. no daemon: everything passes through to the right real variant
out=$("$GPRIO" run --offline -- "$APP" 1000 legacy)
[ "$(echo "$out" | field legacy)" = 1000 ] && ok "no daemon: legacy launches reach the driver" || bad "pass-through: $out"
out=$("$GPRIO" run --offline -- "$APP" 1000 ptsz)
[ "$(echo "$out" | field ptsz)" = 1000 ] && [ "$(echo "$out" | field legacy)" = 0 ] &&
	ok "per-thread default-stream variant preserved" || bad "ptsz: $out"
out=$("$GPRIO" run --offline -- "$APP" 10 graph)
[ "$(echo "$out" | field graph)" = 10 ] && ok "graph launches pass" || bad "graph: $out"

# 2. with the daemon: launches are counted in the segment (so the shim's wrappers were called)
# 20 ms hysteresis: a paced "online" process descheduled for a few ms on a loaded 2-core CI
# machine must not count as idle (that would open the gate, correctly, and flake the test)
"$GPRIOD" --shm "$TMP/shm" --hysteresis-us 20000 2>"$TMP/gpriod.log" &
DPID=$!
sleep 0.3
out=$("$GPRIO" run --offline -- "$APP" 500 legacy)
[ "$(echo "$out" | field shm_launches)" = 500 ] && [ "$(echo "$out" | field legacy)" = 500 ] &&
	ok "daemon: the shim sees every launch obtained through cuGetProcAddress_v2" || bad "counting: $out"
out=$("$GPRIO" run --offline -- "$APP" 500 ptsz)
[ "$(echo "$out" | field shm_launches)" = 500 ] && ok "daemon: ptsz launches counted too" || bad "ptsz counting: $out"

# wait_online PID: until gprio status shows that online process launching (at most 3 s)
launching() {
	"$GPRIO" status --shm "$TMP/shm" 2>/dev/null |
		awk -v p="$1" '$1 == p && $2 == "online" && $(NF - 3) > 0 { f = 1 } END { exit !f }'
}
wait_online() {
	i=0
	while [ $i -lt 150 ] && ! launching "$1"; do
		sleep 0.02
		i=$((i + 1))
	done
}

# 3. gating: an online service launching every 100 us for ~0.6 s holds offline launches back
"$GPRIO" run --online -- "$APP" 5000 paced >"$TMP/online.json" &
OPID=$!
wait_online $OPID
out=$("$GPRIO" run --offline -- "$APP" 20 legacy)
wait $OPID
el=$(echo "$out" | field elapsed_ms)
gated=$(echo "$out" | field shm_gated)
if [ "${gated:-0}" -ge 1 ] && awk -v e="$el" 'BEGIN { exit !(e > 100) }'; then
	ok "offline launches wait while online is hot (waited ${el} ms, $gated gated)"
else bad "gating: $out"; fi
sleep 0.1 # past the hysteresis
out=$("$GPRIO" run --offline -- "$APP" 20 legacy)
[ "$(echo "$out" | field shm_gated)" = 0 ] && ok "online idle: offline not gated" || bad "idle gating: $out"
out=$("$GPRIO" run --online -- "$APP" 20 legacy)
[ "$(echo "$out" | field shm_gated)" = 0 ] && ok "online is never gated" || bad "online gated: $out"

# status shows the daemon and a running process with its class and counters
"$GPRIO" run --online -- "$APP" 3000 paced >/dev/null &
OPID=$!
wait_online $OPID
st=$("$GPRIO" status --shm "$TMP/shm")
kill $OPID 2>/dev/null
wait $OPID 2>/dev/null
if echo "$st" | grep -q "gpriod: running (heartbeat fresh), policy priority, gating on" &&
	echo "$st" | grep -Eq "^ +$OPID online +11 gating"; then
	ok "gprio status shows the daemon and the online process"
else bad "status: $st"; fi

# 4. fail open: the daemon dies while offline is held -> released once the heartbeat is 100 ms
#    stale (not before: the online service is still hot)
"$GPRIO" run --online -- "$APP" 30000 paced >/dev/null &
OPID=$!
wait_online $OPID
T0=$(date +%s%N)
GPRIO_DEBUG=1 "$GPRIO" run --offline -- "$APP" 5 legacy >"$TMP/held.json" 2>"$TMP/held.err" &
HPID=$!
sleep 0.3
if ! kill -0 $HPID 2>/dev/null; then
	bad "fail-open: the offline process was not held before the daemon died: $(cat "$TMP/held.json" "$TMP/held.err")"
fi
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
TK=$(date +%s%N)
wait $HPID
T1=$(date +%s%N)
kill $OPID 2>/dev/null
wait $OPID 2>/dev/null
after=$(( (T1 - TK) / 1000000 ))
if [ "$(field legacy <"$TMP/held.json")" = 5 ] && [ "$after" -ge 50 ] && [ "$after" -lt 400 ]; then
	ok "daemon killed (SIGKILL): held launches released ${after} ms later"
else bad "fail-open: released ${after} ms after the kill: $(cat "$TMP/held.json")"; fi

# status after the daemon died says so (checked below)
"$GPRIO" status --shm "$TMP/shm" | grep -q "NOT RUNNING: shims pass through" && ok "status: dead daemon reported" || bad "status after death"
"$GPRIO" status --shm "$TMP/none" >/dev/null 2>"$TMP/err"; rc=$?
[ $rc = 1 ] && grep -q "none: No such file or directory (is gpriod running?)" "$TMP/err" && ok "status without a segment" || bad "status missing ($rc)"

# 5. the in-flight bound: each stand-in submission "runs" 2 ms; with at most 1 in flight, 20
#    launches take >= 19 x 2 ms; unbounded they return at once
"$GPRIOD" --shm "$TMP/shm3" --offline-inflight 1 2>/dev/null &
DPID=$!
sleep 0.3
out=$(GPRIO_SHM="$TMP/shm3" "$GPRIO" run --offline -- "$APP" 20 legacy)
el=$(echo "$out" | field elapsed_ms)
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
if awk -v e="$el" 'BEGIN { exit !(e >= 36) }'; then ok "offline in-flight bound 1: 20 launches took ${el} ms"
else bad "in-flight bound: $out"; fi
out=$("$GPRIO" run --offline -- "$APP" 20 legacy)
el=$(echo "$out" | field elapsed_ms)
awk -v e="$el" 'BEGIN { exit !(e < 20) }' && ok "no daemon: no bound (${el} ms)" || bad "unbounded: $out"

# 6. bad invocations
"$GPRIO" run -- "$APP" 1 >/dev/null 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && grep -q "usage: gprio run" "$TMP/err" && ok "run without a class" || bad "run usage ($rc)"
"$GPRIO" run --online --priority 99 -- "$APP" 1 >/dev/null 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && grep -q "expected 0..15, got '99'" "$TMP/err" && ok "run with a bad priority" || bad "priority ($rc)"
"$GPRIOD" --shm "$TMP/shm2" --policy fifo 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && grep -q "policy: bad value 'fifo'" "$TMP/err" && ok "gpriod rejects a bad policy" || bad "gpriod usage ($rc)"

[ "$fails" -eq 0 ] || { echo "$fails shim test(s) failed"; exit 1; }
echo "all shim tests passed"
