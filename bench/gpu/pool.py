#!/usr/bin/env python3
"""Pool a cell's repeats (CELL, CELL@2, CELL@3 ... from matrix.sh) over one or more calls' output
directories: per setup, every request's latency in one p50/p99 (the issue's 800 requests per p99
where one run at 20 requests a second gives 400), each run's own p99 beside it (the spread between
repeats is the noise), and the offline job's throughput per run and on average.

usage: pool.py OUT.json CELL DIR... [--gpu NAME] [--driver VER] [--command CMD]
Ratios are the pooled values over the pooled online-alone runs (all of them: none is dropped).
gprio's mechanism per run is read from DIR/CELL[@N].gpriod.log: the seconds it spent in each
mechanism while online work ran (from its change lines' timestamps)."""
import json
import os
import re
import sys
from datetime import datetime, timezone

from summarize import load  # a result file's last JSON line (this directory's summarize.py)

SETUPS = ["online_alone", "offline_alone", "together", "mps", "tsg", "gprio"]
LABEL = {"online_alone": "online alone", "offline_alone": "offline alone", "together": "together",
         "mps": "MPS priority", "tsg": "static TSG", "gprio": "gprio (defaults)"}


def pct(v, q):
    return v[min(len(v) - 1, int(q * len(v)))] if v else None


def mechanisms(log):
    """Seconds spent in each mechanism between the first change away from idle and the last
    change back to idle, from gpriod's 'GPU X: MECH (was Y): ... [t T s;' lines."""
    try:
        text = open(log).read()
    except OSError:
        return None
    ch = [(float(t), m) for m, t in re.findall(r"GPU \S+: (\S+) \(was \S+\):.*?\[t ([0-9.]+) s;", text)]
    out = {}
    for (t0, m), (t1, _) in zip(ch, ch[1:]):
        if m != "idle":
            out[m] = round(out.get(m, 0) + t1 - t0, 1)
    return out


def main():
    args, opts = [], {}
    it = iter(sys.argv[1:])
    for a in it:
        if a.startswith("--"):
            opts[a[2:]] = next(it, "")
        else:
            args.append(a)
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    dest, cell, dirs = args[0], args[1], args[2:]
    runs = []  # (dir, case)
    for d in dirs:
        names = sorted({f.split(".")[0] for f in os.listdir(d)})
        runs += [(d, n) for n in names if n == cell or re.fullmatch(re.escape(cell) + r"@\d+", n)]
    res = {"command": opts.get("command", ""), "gpu": opts.get("gpu", ""), "driver": opts.get("driver", ""),
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "cell": cell,
           "runs": [f"{os.path.basename(os.path.normpath(d))}/{n}" for d, n in runs], "setups": {}}
    for s in SETUPS:
        lat, per, off = [], [], []
        for d, n in runs:
            p = os.path.join(d, f"{n}.{s}.lat")
            if os.path.exists(p):
                v = sorted(float(x) for x in open(p) if x.strip())
                lat += v
                per.append(round(pct(v, 0.99), 3))
            o = load(os.path.join(d, f"{n}.{s}.offline.json"))
            if o and "window_kernels_per_s" in o:
                off.append(o["window_kernels_per_s"])
        if not lat and not off:
            continue
        r = {}
        if lat:
            lat.sort()
            r.update({"requests": len(lat), "p50_ms": round(pct(lat, 0.5), 3),
                      "p99_ms": round(pct(lat, 0.99), 3), "p99_per_run_ms": per})
        if off:
            r.update({"offline_per_run": off, "offline_mean": round(sum(off) / len(off), 2)})
        if s == "gprio":
            r["mechanism_seconds_per_run"] = [mechanisms(os.path.join(d, f"{n}.gpriod.log")) for d, n in runs]
        res["setups"][s] = r
    alone = res["setups"].get("online_alone", {})
    for s, r in res["setups"].items():
        if "p99_ms" in r and alone.get("p99_ms"):
            r["p99_vs_alone"] = round(r["p99_ms"] / alone["p99_ms"], 3)
            r["p50_vs_alone"] = round(r["p50_ms"] / alone["p50_ms"], 3)
    with open(dest, "w") as f:
        json.dump(res, f, indent=1)
    print(f"{cell}: {len(runs)} runs pooled ({', '.join(res['runs'])})")
    print(f"  {'setup':17s} {'requests':>8s} {'p50':>7s} {'p99':>7s} {'p99/alone':>9s}  {'p99 per run':24s} offline it/s per run (mean)")
    for s in SETUPS:
        r = res["setups"].get(s)
        if not r:
            continue
        f = lambda k, fmt: (fmt % r[k]) if k in r else "-"
        per = " ".join(f"{x:.1f}" for x in r.get("p99_per_run_ms", []))
        off = " ".join(f"{x:.1f}" for x in r.get("offline_per_run", []))
        print(f"  {LABEL[s]:17s} {f('requests', '%8d'):>8s} {f('p50_ms', '%7.2f'):>7s} {f('p99_ms', '%7.2f'):>7s} "
              f"{f('p99_vs_alone', '%9.3f'):>9s}  {per:24s} {off}{' (%.1f)' % r['offline_mean'] if off else ''}")
        for i, m in enumerate(r.get("mechanism_seconds_per_run", [])):
            print(f"  {'':17s} run {i + 1}: " + (", ".join(f"{k} {v} s" for k, v in m.items()) if m else "no log"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
