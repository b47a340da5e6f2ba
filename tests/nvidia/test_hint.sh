#!/bin/sh
# The request hint (include/gprio/hint.h) without a GPU: the real shim preloaded by gprio run into
# hint_app, against the stand-in libcuda.so.1 (its hold kernel runs until its flag or its bound,
# as the PTX does). On the GPU: bench/gpu/matrix.sh cell probehint (what the hint buys).
set -u
GPRIO=$1 SHIM=$2 APP=$3 FAKE=$4 SRC=$5 CC=$6 GPRIOD=$7
TMP=$(mktemp -d)
chmod 755 "$TMP" # a check runs the program as nobody
DPID=
trap '[ -n "$DPID" ] && kill $DPID 2>/dev/null; rm -rf "$TMP"' EXIT
export LD_LIBRARY_PATH="$FAKE" GPRIO_SHM="$TMP/shm" GPRIO_SHIM="$SHIM"
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
field() { sed -n "s/.*\"$1\": \([-0-9.a-z]*\).*/\1/p"; }
run() { "$GPRIO" run "$@" 2>>"$TMP/err"; }

# off unless asked for: no gprio, online without --hint, offline
out=$(GPRIO_HINT= "$APP" launch)
[ "$(echo "$out" | field rc)" = 1 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
	ok "without gprio the hint is off (1) and places nothing" || bad "no shim: $out"
out=$(GPRIO_HINT=1 run --online -- "$APP" launch)
[ "$(echo "$out" | field rc)" = 1 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
	ok "online without --hint: off, even with GPRIO_HINT=1 in the environment" || bad "no --hint: $out"
out=$(GPRIO_HINT=1 run --offline -- "$APP" launch)
[ "$(echo "$out" | field rc)" = 1 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
	ok "offline: off" || bad "offline: $out"
run --offline --hint -- "$APP" launch >/dev/null
[ $? = 2 ] && grep -q "only online programs may hint" "$TMP/err" && ok "gprio run --offline --hint is refused" ||
	bad "offline --hint: $(cat "$TMP/err")"

# placed on the request's stream, released by the next submission, after it is queued (a 100 ms
# bound, so that a slow machine, a sanitizer build under parallel tests, does not outlast it)
out=$(GPRIO_HINT_HOLD_US=100000 run --online --hint -- "$APP" launch)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field held)" = 1 ] &&
	[ "$(echo "$out" | field on_stream)" = 1 ] && [ "$(echo "$out" | field after)" = 2 ] &&
	[ "$(echo "$out" | field queued_behind)" = 1 ] && [ "$(echo "$out" | field marked)" = 1 ] &&
	ok "hint: a hold on the request's stream with a memory operation behind it, released by the next launch once that is queued" ||
	bad "launch: $out"
# the memory operation behind the hold refused: the hint fails (-1) and the hold already
# launched is released at once, not left running to its bound
out=$(FAKE_WRITE32_FAIL=1 GPRIO_HINT_HOLD_US=100000 run --online --hint -- "$APP" launch)
[ "$(echo "$out" | field rc)" = -1 ] && [ "$(echo "$out" | field held)" = 2 ] &&
	ok "a refused memory operation: hint fails (-1), its hold released at once" || bad "write32 refused: $out"
# the driver refuses the hold kernel: the hint fails, says so once, and never loads again
out=$(FAKE_MODULE_REFUSE=1 run --online --hint -- "$APP" twice)
[ "$(echo "$out" | field rc)" = -1 ] && [ "$(echo "$out" | field rc2)" = -1 ] &&
	[ "$(echo "$out" | field loads_refused)" = 1 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
	grep -q "hold: cannot load the hold kernel (CUDA error 200): hints and lingering off" "$TMP/err" &&
	ok "a refused hold kernel: hints fail (-1), said once, not loaded again" || bad "module refused: $out"
# a host wait never waits for the hold (a 2 s bound: a wait for it would take 2 s)
out=$(GPRIO_HINT_HOLD_US=2000000 run --online --hint -- "$APP" bound)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field after)" = 3 ] &&
	grep -q "GPRIO_HINT_HOLD_US='2000000' is not 100..100000: using 2000" "$TMP/err" &&
	ok "an out-of-range hold bound is named, and the default (2 ms) used" || bad "bad bound: $out"
out=$(GPRIO_HINT_HOLD_US=100000 run --online --hint -- "$APP" sync)
w=$(echo "$out" | field wait_ms)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field on_stream)" = 1 ] &&
	[ "$(echo "$out" | field after)" = 2 ] && awk -v w="$w" 'BEGIN { exit !(w < 50) }' &&
	ok "cuCtxSynchronize releases the hold first (waited $w ms of a 100 ms bound)" || bad "sync: $out"
# nothing follows: it ends by its bound
out=$(GPRIO_HINT_HOLD_US=5000 run --online --hint -- "$APP" bound)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field after)" = 3 ] &&
	ok "a hold nothing releases ends by its bound" || bad "bound: $out"
out=$(GPRIO_HINT_HOLD_US=100000 run --online --hint -- "$APP" repeat)
[ "$(echo "$out" | field rc)" = 0 ] && [ "$(echo "$out" | field rc2)" = 0 ] &&
	[ "$(echo "$out" | field holds)" = 1 ] && ok "a second hint while one is held places nothing" ||
	bad "repeat: $out"
out=$(run --online --hint -- "$APP" capture)
[ "$(echo "$out" | field rc)" = 2 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
	ok "refused (2) while a graph capture runs; nothing placed" || bad "capture: $out"

# the class gpriod granted decides: a user not allowed online work is demoted to offline, and
# the hint is off for it even though it asked for online and --hint
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	"$GPRIOD" --shm "$TMP/shm" 2>"$TMP/gpriod.log" &
	DPID=$!
	sleep 0.3
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$GPRIO" run --online --hint -- "$APP" launch 2>>"$TMP/err")
	[ "$(echo "$out" | field rc)" = 1 ] && [ "$(echo "$out" | field holds)" = 0 ] &&
		grep -q "uid 65534.*offline\|offline.*uid 65534\|not allowed" "$TMP/gpriod.log" "$TMP/err" &&
		ok "a user gpriod demotes to offline gets no hint (off)" || bad "demoted: $out $(cat "$TMP/gpriod.log")"
	out=$("$GPRIO" run --online --hint -- "$APP" launch)
	[ "$(echo "$out" | field rc)" = 0 ] && ok "root, granted online by gpriod: placed" || bad "granted: $out"
	kill $DPID; wait $DPID 2>/dev/null; DPID=
else
	echo "skip - demotion check (needs root and setpriv)"
fi

# the public header in a user's strict build (C11 and C++17, -Wpedantic -Werror), and its call
# without gprio: off (1)
printf '#include <gprio/hint.h>\nint main(void) { return gprio_request_hint((void *)0); }\n' >"$TMP/user.c"
if "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$SRC/include" "$TMP/user.c" -o "$TMP/user" -ldl 2>"$TMP/cc.err"; then
	env -u LD_PRELOAD "$TMP/user"
	[ $? = 1 ] && ok "include/gprio/hint.h builds with -std=c11 -Wpedantic -Werror; without gprio it returns off" ||
		bad "user program: not off"
else
	bad "hint.h in a strict C11 build: $(cat "$TMP/cc.err")"
fi
if command -v c++ >/dev/null; then
	c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$SRC/include" -x c++ "$TMP/user.c" -o "$TMP/userpp" -ldl 2>"$TMP/cxx.err" &&
		ok "include/gprio/hint.h builds as C++17 with -Wpedantic -Werror" || bad "hint.h in C++: $(cat "$TMP/cxx.err")"
else
	echo "skip - no C++ compiler: hint.h not built as C++"
fi

# the hold kernel's PTX compiles for the GPUs it may meet (the driver JITs the same text)
PTXAS=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
if [ -x "$PTXAS" ]; then
	printf '#include <stdio.h>\n#include "hold_ptx.h"\nint main(void) { return fputs(gprio_hold_ptx, stdout) < 0; }\n' >"$TMP/dump.c"
	"$CC" -I"$SRC/src/backends/nvidia/shim" -o "$TMP/dump" "$TMP/dump.c" && "$TMP/dump" >"$TMP/hold.ptx"
	for a in sm_75 sm_80 sm_90; do
		"$PTXAS" -arch=$a "$TMP/hold.ptx" -o "$TMP/hold.$a.cubin" 2>"$TMP/ptxas.err" &&
			ok "ptxas compiles the hold kernel for $a" || bad "ptxas $a: $(cat "$TMP/ptxas.err")"
	done
else
	echo "skip - ptxas not found: the hold kernel's PTX is not compiled here"
fi
[ $fails = 0 ] || { cat "$TMP/err"; exit 1; }
