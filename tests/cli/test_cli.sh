#!/bin/sh
# Integration tests for the gprio CLI: the main job runs, JSON is well formed, errors name the
# place and the value, exit non-zero and print nothing on stdout.
set -u
# one interpreter for the many status reads: a version manager's python3 on PATH (a shell
# script that looks the version up at each call) took 0.35 s a call on the CI machine and 2.5 s
# under load, and the bounded waits below poll through it
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=
if [ -n "$PY" ]; then python3() { "$PY" "$@"; }; fi
GPRIO=${1:?usage: test_cli.sh PATH/TO/gprio}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

# expect_fail NAME EXIT_CODE STDERR_PATTERN -- ARGS...
expect_fail() {
	name=$1 code=$2 pat=$3
	shift 4
	"$GPRIO" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne "$code" ]; then bad "$name: exit $rc, wanted $code"; return; fi
	if [ -s "$TMP/out" ]; then bad "$name: printed to stdout on error"; return; fi
	if ! grep -qF -- "$pat" "$TMP/err"; then bad "$name: stderr lacks '$pat': $(cat "$TMP/err")"; return; fi
	ok "$name"
}

# 1. the main job: the embedded MI308X scenario
if "$GPRIO" sim --duration 5s --compare none,priority >"$TMP/out" 2>"$TMP/err" &&
	grep -q "online p99 (ms)" "$TMP/out" && grep -q "work lost (kernels) .* 0 .* 0 .* 0" "$TMP/out"; then
	ok "gprio sim runs the embedded default"
else
	bad "gprio sim: $(cat "$TMP/err" "$TMP/out")"
fi

# 1a. --name=value reads as --name value (getopt_long's convention); the program gprio run
#     starts keeps its own arguments as given
"$GPRIO" sim --duration=2s --compare=none,priority --seed=3 --json >"$TMP/eq.json" 2>"$TMP/err" &&
	"$GPRIO" sim --duration 2s --compare none,priority --seed 3 --json >"$TMP/sp.json" 2>>"$TMP/err" &&
	[ "$(grep -v wall_s "$TMP/eq.json" | sed 's/"wall_s": [0-9.e+-]*//g')" = "$(grep -v wall_s "$TMP/sp.json" | sed 's/"wall_s": [0-9.e+-]*//g')" ] &&
	ok "--name=value gives the same run as --name value" || bad "--opt=value: $(cat "$TMP/err")"
expect_fail "--name=value errors name the flag" 2 "--policy: expected one of" -- sim --policy=fifo
out=$(GPRIO_SHM="$TMP/none" "$GPRIO" run --offline --priority=2 -- sh -c 'echo "$@"' sh --lr=0.1 -x=1 2>/dev/null)
[ "$out" = "--lr=0.1 -x=1" ] && ok "gprio run: the program's --name=value arguments stay as given" || bad "run args: '$out'"
out=$(GPRIO_SHM="$TMP/none" "$GPRIO" run --offline echo --lr=0.1 2>/dev/null)
[ "$out" = "--lr=0.1" ] && ok "gprio run without --: the program's arguments stay as given" || bad "run args (no --): '$out'"

# 1b. names and paths are escaped in JSON (a quote in a process name broke it)
printf '[sim]\nprofile = h100\nduration = 1s\n[process we"b]\nclass = online\narrival = poisson 10/s\n' >"$TMP/q\"uote.scn"
if "$GPRIO" sim "$TMP/q\"uote.scn" --json >"$TMP/q.json" 2>"$TMP/err"; then
	if ! command -v python3 >/dev/null 2>&1; then
		grep -qF '"name": "we\"b"' "$TMP/q.json" && ok "JSON escapes names (python3 absent: text check)" || bad "escape: $(cat "$TMP/q.json")"
	elif python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["runs"][0]["processes"][0]["name"] == "we\"b"; assert d["scenario"].endswith("q\"uote.scn")' "$TMP/q.json"; then
		ok "JSON escapes process names and the scenario path"
	else bad "escape: $(cat "$TMP/q.json")"; fi
else bad "quoted name: $(cat "$TMP/err")"; fi

# 1c. starvation is shown, not averaged away: two offline jobs at priorities 1 and 0 under
#     `priority`; the one at 0 gets nothing while the offline total looks fine
printf '[sim]\nprofile = h100\nduration = 4s\n[process web]\nclass = online\narrival = poisson 20/s\nkernels = 20\nkernel_time = 40us\nblocks = 132\n[process a]\nclass = offline\npriority = 1\narrival = continuous\nkernels = 50\nkernel_time = 200us\nblocks = 264\n[process b]\nclass = offline\npriority = 0\narrival = continuous\nkernels = 50\nkernel_time = 200us\nblocks = 264\n' >"$TMP/starve.scn"
"$GPRIO" sim "$TMP/starve.scn" --compare none,priority >"$TMP/st.txt" 2>&1
grep -qE '^starved processes +- +0 +1$' "$TMP/st.txt" && grep -qE '^b +offline .*STARVED$' "$TMP/st.txt" &&
	grep -qE '^preempt latency p50 \(us\) +- +- ' "$TMP/st.txt" &&
	ok "starvation flagged per process; '-' where there is nothing to show" || bad "starvation: $(cat "$TMP/st.txt")"
"$GPRIO" sim "$TMP/starve.scn" --compare priority --json | grep -q '"starved_processes": \["b"\]' &&
	ok "JSON lists the starved processes" || bad "starved JSON"

# 2. JSON: parseable where python3 exists, structurally checked otherwise
"$GPRIO" sim examples/h100-online-offline.scn --duration 3s --compare none,priority:poll,priority --json >"$TMP/j" 2>"$TMP/err" || bad "json run failed: $(cat "$TMP/err")"
if command -v python3 >/dev/null 2>&1; then
	if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["runs"]; assert [x["policy"] for x in r]==["none","priority:poll","priority"]; assert all(x["work_lost"]==0 for x in r); assert r[1]["monitor"]["event_wakeups"]==0 and r[2]["monitor"]["event_wakeups"]>0' "$TMP/j"; then
		ok "--json parses; poll-only and event runs side by side"
	else bad "--json content"; fi
else
	grep -q '"runs": \[' "$TMP/j" && ok "--json (python3 absent: structure only)" || bad "--json"
fi

# 3. same seed, same report (wall time aside)
"$GPRIO" sim --duration 3s --seed 5 --json | sed 's/"wall_s": [0-9.]*//g' >"$TMP/a"
"$GPRIO" sim --duration 3s --seed 5 --json | sed 's/"wall_s": [0-9.]*//g' >"$TMP/b"
"$GPRIO" sim --duration 3s --seed 6 --json | sed 's/"wall_s": [0-9.]*//g' >"$TMP/c"
if cmp -s "$TMP/a" "$TMP/b" && ! cmp -s "$TMP/a" "$TMP/c"; then ok "deterministic per seed"; else bad "determinism"; fi

# 3b. AMD: no scheduler, stage 1 and stage 2 (the amdkfd backend on the simulated KFD) side by side
if "$GPRIO" sim --duration 3s --compare none,priority:stage1,priority:stage2 --json >"$TMP/k" 2>"$TMP/err" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["runs"]; assert [x["policy"] for x in r]==["none","priority:stage1","priority:stage2"]; assert all(x["work_lost"]==0 and x["held_at_end"]==0 for x in r); assert r[1]["device_wide_unmaps"]>0 and r[2]["device_wide_unmaps"]==0; assert r[1]["kfd"]["stage"]==1 and r[2]["kfd"]["stage"]==2 and r[2]["monitor"]["suspends"]>0' "$TMP/k"; then
	ok "stage 1 vs stage 2 report"
else
	bad "stage report: $(cat "$TMP/err")"
fi
expect_fail "stage on nvidia" 1 "stage 1 needs an AMD profile, not 'h100'" -- sim examples/h100-online-offline.scn --duration 3s --policy priority:stage1

# 4. bad scenarios and options
printf '[sim]\nduration = 10s\n[process web]\nclass = online\narrival = poisson 40/s\nkernel_time = 5 ms\n' >"$TMP/bad.scn"
expect_fail "bad value names file:line:value" 1 "bad.scn:6: kernel_time: bad distribution '5 ms'" -- sim "$TMP/bad.scn"
printf '[sim]\nprofile = a100\n' >"$TMP/prof.scn"
expect_fail "unknown profile in scenario" 1 "prof.scn:2: profile: unknown profile 'a100'" -- sim "$TMP/prof.scn"
expect_fail "missing file" 1 "nope.scn: cannot open" -- sim "$TMP/nope.scn"
expect_fail "unknown policy" 2 "--policy: expected one of none, priority, share, wfq, slo, optionally with :poll, :events, :stage1, :stage2, :stage1ev, :stage2ev or :stage3, got fifo" -- sim --policy fifo
expect_fail "bad seed" 2 "--seed: expected a non-negative integer, got -1" -- sim --seed -1
expect_fail "bad poll" 2 "--poll-ms: expected milliseconds 0.001..10000, got 0" -- sim --poll-ms 0
expect_fail "poll without a unit" 2 "--poll: expected a duration 1us..10s, e.g. 5ms, got 5" -- sim --poll 5
expect_fail "unknown option" 2 "--frobnicate: unknown option" -- sim --frobnicate
expect_fail "option without value" 2 "--seed: needs a value" -- sim --seed
expect_fail "preempt on nvidia" 2 "only AMD profiles" -- sim examples/h100-online-offline.scn --preempt per-queue
expect_fail "unknown profile option" 2 "unknown profile 'tpu'" -- sim --profile tpu
expect_fail "policy and compare" 2 "not both" -- sim --policy none --compare none
helpfail=0
for c in sim profiles run status top set doctor; do
	out=$("$GPRIO" $c --help 2>&1); rc=$?
	[ $rc = 0 ] && echo "$out" | grep -q "^usage: gprio $c" || { bad "$c --help ($rc): $out"; helpfail=1; }
done
[ $helpfail = 0 ] && ok "every command answers --help with its usage (exit 0)"
out=$("$GPRIO" help run); [ "$(echo "$out" | head -c 16)" = "usage: gprio run" ] && ok "gprio help COMMAND" || bad "help run: $out"
"$GPRIO" --version | grep -qE "^gprio [0-9]+\.[0-9]+\.[0-9]+$" && ok "--version" || bad "--version"
GPRIO_SHIM=/dev/null "$GPRIO" run --offline --priority 12 -- true 2>"$TMP/w" ; grep -q "warning: offline at priority 12 holds back online work" "$TMP/w" &&
	ok "an offline priority above online is warned about" || bad "no warning: $(cat "$TMP/w")"
expect_fail "unknown command" 2 "unknown command 'frob'" -- frob
# groups: one per gprio run by default, named with --group, an inner gprio run joins the outer
out=$(GPRIO_SHIM=/dev/null GPRIO_SHM="$TMP/none" "$GPRIO" run --offline -- sh -c 'echo "$GPRIO_GROUP"' 2>/dev/null)
case "$out" in run-[0-9]*) ok "gprio run puts its processes in a group of their own ($out)" ;; *) bad "group: '$out'" ;; esac
out=$(GPRIO_SHIM=/dev/null GPRIO_SHM="$TMP/none" "$GPRIO" run --offline --group=ddp.1 -- \
	"$GPRIO" run --offline -- sh -c 'echo "$GPRIO_GROUP"' 2>/dev/null)
[ "$out" = ddp.1 ] && ok "--group names it; an inner gprio run stays in it" || bad "--group: '$out'"
expect_fail "bad group name" 2 "--group: expected 1-31 of letters, digits, . _ : -, got 'a b'" -- run --offline --group "a b" -- true

# 5. doctor gives a verdict on a machine without an AMD GPU too
if GPRIO_KFD_DEV=/nonexistent/kfd "$GPRIO" doctor | grep -q "verdict: no AMD GPU here"; then ok "doctor without AMD GPU"; else bad "doctor"; fi
# and on NVIDIA: without a driver it says so, and it loads the shim it would preload
if [ ! -e /proc/driver/nvidia/version ]; then
	out=$("$GPRIO" doctor)
	echo "$out" | grep -q "^verdict: no NVIDIA GPU driver here" && echo "$out" | grep -q "libgprio-cuda.so (loads)" &&
		ok "doctor: NVIDIA verdict without a driver; the shim loads" || bad "doctor nvidia: $out"
else
	echo "skip - doctor's no-driver verdict (an NVIDIA driver is loaded here)"
fi
expect_fail "doctor takes no arguments" 2 "usage: gprio doctor" -- doctor now
expect_fail "doctor --app without --selftest" 2 "--app goes with --selftest" -- doctor --app true
# the self-test says when it did not run, and never reports a step that did not happen
out=$(GPRIO_KFD_DEV=/nonexistent/kfd "$GPRIO" doctor --selftest 2>&1)
rc=$?
[ $rc -eq 77 ] && echo "$out" | grep -q "not run: /nonexistent/kfd" &&
	ok "doctor --selftest without /dev/kfd: not run (exit 77), says why" || bad "selftest no kfd: rc $rc $out"
out=$(PATH=/usr/bin:/bin GPRIO_KFD_DEV=/dev/null "$GPRIO" doctor --selftest 2>&1)
rc=$?
if command -v hipcc >/dev/null 2>&1; then
	echo "skip - doctor --selftest without hipcc (hipcc is installed here)"
else
	[ $rc -eq 77 ] && echo "$out" | grep -q "not run: no hipcc" &&
		ok "doctor --selftest without hipcc: not run (exit 77), says why" || bad "selftest no hipcc: rc $rc $out"
fi
# a program that starts but whose "KFD" (/dev/null) refuses DBG_TRAP: start ok, enable FAIL,
# the rest not run, the program ended, exit 1
out=$(GPRIO_KFD_DEV=/dev/null timeout 30 "$GPRIO" doctor --selftest --app "sh -c 'echo ready; exec cat'" 2>&1)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "start    ok" && echo "$out" | grep -q "enable   FAIL" &&
	echo "$out" | grep -q "exit     -     not run" && echo "$out" | grep -q "self-test: FAILED" &&
	! pgrep -f "exec cat" >/dev/null &&
	ok "doctor --selftest on a KFD that refuses: enable FAIL, later steps not run, the program ended" ||
	bad "selftest refused: rc $rc $out"

# 6. profiles list their parameters
if "$GPRIO" profiles h100 | grep -q "context switch 175.0 us"; then ok "profiles"; else bad "profiles"; fi

[ "$fails" -eq 0 ] || { echo "$fails CLI test(s) failed"; exit 1; }
echo "all CLI tests passed"
