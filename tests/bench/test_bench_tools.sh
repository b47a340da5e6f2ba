#!/bin/bash
# The GPU matrix's reporting tools on made-up output of known values: bench/gpu/summarize.py
# (ratios within a call; a second service and a second offline job, as cells two and twooff
# write them), bench/gpu/merge.py (CELL@N listed under CELL) and bench/gpu/pool.py (repeats
# pooled, gprio's mechanism seconds from its log); bench/sim/compare_sweeps.py (two simulator
# sweeps cell by cell). The published numbers come out of these.
#   tests/bench/test_bench_tools.sh SOURCE_DIR
set -u
SRC=${1:?usage: test_bench_tools.sh SOURCE_DIR}
command -v python3 >/dev/null || { echo "SKIP - no python3"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
D=$TMP/out
mkdir -p "$D"
on() { # FILE P50 P99 BUSY: an online result line, as torch_bench.py prints it
	printf '{"requests": 400, "p50_ms": %s, "p90_ms": %s, "p99_ms": %s, "max_ms": %s, "busy_share": %s}\n' \
		"$2" "$2" "$3" "$3" "$4" >"$D/$1"
}
off() { printf '{"window_kernels_per_s": %s, "checksum": "c%s"}\n' "$2" "$2" >"$D/$1"; }
# cell two: a graph service (busy 10 %), a second service (busy 20 %), two offline jobs
on two.online_alone.online.json 2.0 4.0 0.1
on two.online_alone.online2.json 7.0 10.0 0.2
off two.offline_alone.offline.json 20
off two.offline_alone.offline2.json 20
on two.gprio.online.json 3.0 8.0 0.1
on two.gprio.online2.json 9.0 15.0 0.2
off two.gprio.offline.json 14
off two.gprio.offline2.json 13
# cell eager, repeated: 100 requests per run, latencies 1..100 ms (run 1) and 101..200 (run 2)
seq 1 100 >"$D/eager.online_alone.lat"
seq 101 200 >"$D/eager@2.online_alone.lat"
seq 1 100 >"$D/eager.gprio.lat"
seq 101 200 >"$D/eager@2.gprio.lat"
on eager.online_alone.online.json 50 99 0.1
on eager@2.online_alone.online.json 150 199 0.1
on eager.gprio.online.json 50 99 0.1
on eager@2.gprio.online.json 150 199 0.1
off eager.gprio.offline.json 10
off eager@2.gprio.offline.json 30
cat >"$D/eager.gpriod.log" <<'EOF'
gpriod: GPU 0000:00:06: tsg (was idle): online work appeared [t 10.000 s; restarts/s 0]
gpriod: GPU 0000:00:06: leave (was tsg): online restarts the GPU too often [t 11.500 s; restarts/s 600]
gpriod: GPU 0000:00:06: idle (was leave): no online work on this GPU [t 31.500 s; restarts/s 0]
EOF
python3 "$SRC/bench/gpu/summarize.py" "$D" "$TMP/part.json" --gpu G --driver 1 --command c \
	>"$TMP/sum.txt" 2>&1 || bad "summarize.py failed: $(tail -3 "$TMP/sum.txt")"
python3 - "$TMP/part.json" <<'EOF' 2>"$TMP/err" &&
import json, sys
d = json.load(open(sys.argv[1]))["cases"]["two"]
g = d["gprio"]
assert g["offline_total_per_s"] == 27, g
assert g["offline_vs_alone"] == round(27 / 40, 3), g
# both services leave 70 % of the GPU: 27 of 28 it/s
assert g["offline_vs_left_by_online"] == round(27 / (40 * 0.7), 3), g
assert g["online2_p99_vs_alone"] == 1.5 and g["p99_vs_alone"] == 2.0, g
EOF
	ok "summarize.py: both offline jobs together, ratios on both and on what both services leave, the second service's p99" ||
	bad "summarize.py two: $(cat "$TMP/err")"
grep -q "second service p99 ms (/ alone): online alone 10.000 (1.000), gprio 15.000 (1.500)" "$TMP/sum.txt" &&
	ok "summarize.py prints the second service's p99" || bad "summarize.py table: $(cat "$TMP/sum.txt")"
python3 "$SRC/bench/gpu/merge.py" "$TMP/m.json" "$TMP/m.txt" "$TMP/part.json" >/dev/null 2>"$TMP/err" &&
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cells"]
assert set(c) == {"two", "eager"}, list(c)
assert [r.get("repeat") for r in c["eager"]] == [None, 2], c["eager"]' "$TMP/m.json" 2>>"$TMP/err" &&
	grep -Eq "gprio \(defaults\) +0@2 " "$TMP/m.txt" &&
	grep -Eq "^  gprio \(defaults\) +0 +400 .* 27\.0 " "$TMP/m.txt" &&
	ok "merge.py: eager@2 listed under eager as 0@2; the offline column is both jobs" ||
	bad "merge.py: $(cat "$TMP/err") $(cat "$TMP/m.txt")"
python3 "$SRC/bench/gpu/pool.py" "$TMP/pool.json" eager "$D" >"$TMP/pool.txt" 2>"$TMP/err" &&
	python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["setups"]; g=s["gprio"]
assert g["requests"] == 200 and g["p99_ms"] == 199 and g["p50_ms"] == 101, g
assert g["p99_per_run_ms"] == [100, 200], g
assert g["offline_per_run"] == [10, 30] and g["offline_mean"] == 20, g
assert g["mechanism_seconds_per_run"][0] == {"tsg": 1.5, "leave": 20.0}, g
assert g["mechanism_seconds_per_run"][1] is None, g
assert g["p99_vs_alone"] == 1.0, g' "$TMP/pool.json" 2>>"$TMP/err" &&
	ok "pool.py: two runs pooled (200 requests, p50 101, p99 199), each run's p99 and offline, gprio's seconds per mechanism" ||
	bad "pool.py: $(cat "$TMP/err") $(cat "$TMP/pool.txt")"
# bench/sim/compare_sweeps.py: two made-up sweeps of three cells. A wait after every kernel:
# B better on both axes; a wait every 10: B worse online (p99 over 1.03x); one every setup of A
# overloads and B's gprio serves (p99 2.2 against 2.0 alone, 6.0 it/s against together's 7.5)
python3 - "$TMP" <<'PY'
import json, sys
def cell(seed, sync, p99, off, over=False, all_over=False, tog_off=7.0):
    s = lambda p, o, ov: {"p99_ms": p, "offline": o, "overloaded": ov, "requests": 200}
    return {"seed": seed, "kernel_time": "5us", "gap": "15us", "kernels": 300,
            "sync_every": sync, "blocks": 16, "rate": 20, "alone_p99_ms": 2.0,
            "all_over": all_over,
            "setups": {"together": s(9.0, tog_off, all_over), "tsg": s(9.0, 1.0, all_over),
                       "gprio": s(p99, off, over)}}
a = {"command": "sweep A", "cells": [cell(1, 1, 20.0, 2.0), cell(1, 10, 4.0, 5.0),
                                     cell(2, 1, 900.0, 0.0, True, True, 7.5)]}
b = {"command": "sweep B", "cells": [cell(1, 1, 3.0, 6.0), cell(1, 10, 4.4, 5.0),
                                     cell(2, 1, 2.2, 6.0, False, False, 7.5)]}
for n, d in (("a", a), ("b", b)):
    json.dump(d, open(f"{sys.argv[1]}/sweep-{n}.json", "w"))
PY
python3 "$SRC/bench/sim/compare_sweeps.py" "$TMP/sweep-a.json" "$TMP/sweep-b.json" >"$TMP/cmp.txt" 2>"$TMP/err" &&
	grep -q "^a wait after every kernel: 2 cells, B against A$" "$TMP/cmp.txt" &&
	grep -q "^ *2  online better, offline better$" "$TMP/cmp.txt" &&
	grep -q "^ *1  online worse, offline same$" "$TMP/cmp.txt" &&
	grep -q "online worse, by kernel time / CPU gap between launches: 5us/15us 1$" "$TMP/cmp.txt" &&
	grep -q "online better, by kernel time / CPU gap between launches: 5us/15us 2$" "$TMP/cmp.txt" &&
	grep -q "neither overloaded (1): B's p99 / A's median 0.15; p99 / alone median A 10.00, B 1.50$" "$TMP/cmp.txt" &&
	grep -q "overloads the service in 1 cells; B's gprio does not in 1 (p99 / alone median 1.10, offline median 6.00 it/s against together's 7.50)$" "$TMP/cmp.txt" &&
	ok "compare_sweeps.py: cell by cell, grouped by where the service waits; overloaded cells served" ||
	bad "compare_sweeps.py: $(cat "$TMP/err") $(cat "$TMP/cmp.txt")"
[ "$fails" = 0 ] && echo "all bench tool checks passed"
exit $((fails > 0))
