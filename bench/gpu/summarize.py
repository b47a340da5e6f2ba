#!/usr/bin/env python3
"""Summarize a bench/gpu/run.sh output directory: one results JSON (command, GPU, driver, date,
per case and setup: online p50/p90/p99/max and requests, offline throughput, ratios), a printed
table, and, where matplotlib exists, a PNG of the online latency CDFs.

usage: summarize.py OUTDIR RESULTS.json [--gpu NAME] [--driver VER] [--command CMD]
"""
import glob
import json
import os
import sys
from datetime import datetime, timezone

SETUPS = ["online_alone", "offline_alone", "together", "mps", "tsg", "gprio"]
LABEL = {"online_alone": "online alone", "offline_alone": "offline alone", "together": "together",
         "mps": "MPS priority", "tsg": "static TSG", "gprio": "gprio"}


def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, dest = sys.argv[1], sys.argv[2]
    opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    files = glob.glob(os.path.join(out, "*.*.online.json")) + glob.glob(os.path.join(out, "*.*.offline.json"))
    cases = sorted({os.path.basename(p).split(".")[0] for p in files} - {"correct"})
    res = {"command": opts.get("--command", "bench/gpu/run.sh"), "gpu": opts.get("--gpu", "?"),
           "driver": opts.get("--driver", "?"), "date": opts.get("--date", datetime.now(timezone.utc).isoformat()),
           "cases": {}}
    for c in cases:
        rows = {}
        for s in SETUPS:
            on = load(os.path.join(out, f"{c}.{s}.online.json"))
            off = load(os.path.join(out, f"{c}.{s}.offline.json"))
            if on is None and off is None:
                continue
            r = {}
            if on:
                r.update({k: on[k] for k in ("requests", "p50_ms", "p90_ms", "p99_ms", "max_ms") if k in on})
                if "busy_share" in on:
                    r["online_busy_share"] = on["busy_share"]
            if off:
                r["offline_kernels_per_s"] = off["window_kernels_per_s"]
                r["offline_checksum"] = off["checksum"]
            rows[s] = r
        alone_on = rows.get("online_alone", {})
        alone_off = rows.get("offline_alone", {})
        for s, r in rows.items():
            if "p99_ms" in r and alone_on.get("p99_ms"):
                r["p99_vs_alone"] = round(r["p99_ms"] / alone_on["p99_ms"], 3)
                r["p50_vs_alone"] = round(r["p50_ms"] / alone_on["p50_ms"], 3)
            if "offline_kernels_per_s" in r and alone_off.get("offline_kernels_per_s"):
                a = alone_off["offline_kernels_per_s"]
                r["offline_vs_alone"] = round(r["offline_kernels_per_s"] / a, 3)
                share = alone_on.get("online_busy_share")
                if share is not None and share < 1:
                    r["offline_vs_left_by_online"] = round(r["offline_kernels_per_s"] / (a * (1 - share)), 3)
        res["cases"][c] = rows
    for name in ("alone", "gprio", "online"):
        d = load(os.path.join(out, f"correct.{name}.json"))
        if d:
            res.setdefault("offline_correctness", {})[name] = d
    cor = res.get("offline_correctness", {})
    if "alone" in cor and "gprio" in cor:
        cor["bit_identical"] = cor["alone"]["checksum"] == cor["gprio"]["checksum"]
    with open(dest, "w") as f:
        json.dump(res, f, indent=1)

    for c, rows in res["cases"].items():
        print(f"\n{c}")
        print(f"  {'setup':15s} {'p50':>8s} {'p90':>8s} {'p99':>8s} {'max':>8s} {'p99/alone':>10s} "
              f"{'offline/s':>10s} {'off/alone':>9s} {'off/left':>9s}")
        for s in SETUPS:
            if s not in rows:
                continue
            r = rows[s]
            f = lambda k, fmt: (fmt % r[k]) if k in r else "-"
            print(f"  {LABEL[s]:15s} {f('p50_ms', '%8.3f'):>8s} {f('p90_ms', '%8.3f'):>8s} "
                  f"{f('p99_ms', '%8.3f'):>8s} {f('max_ms', '%8.3f'):>8s} {f('p99_vs_alone', '%10.3f'):>10s} "
                  f"{f('offline_kernels_per_s', '%10.1f'):>10s} {f('offline_vs_alone', '%9.3f'):>9s} "
                  f"{f('offline_vs_left_by_online', '%9.3f'):>9s}")
    if cor:
        print(f"\noffline correctness: checksum alone {cor.get('alone', {}).get('checksum')}, under gprio "
              f"{cor.get('gprio', {}).get('checksum')}: {'bit-identical' if cor.get('bit_identical') else 'DIFFERENT'}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not available: no CDF plot)")
        return 0
    fig, axes = plt.subplots(1, len(res["cases"]), figsize=(6 * len(res["cases"]), 4), squeeze=False)
    for ax, c in zip(axes[0], res["cases"]):
        for s in SETUPS:
            p = os.path.join(out, f"{c}.{s}.lat")
            if not os.path.exists(p):
                continue
            v = sorted(float(x) for x in open(p) if x.strip())
            if v:
                ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], label=LABEL[s])
        ax.set_xscale("log")
        ax.set_xlabel("online latency (ms)")
        ax.set_ylabel("CDF")
        ax.set_title(c)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    png = os.path.splitext(dest)[0] + ".png"
    fig.savefig(png, dpi=110)
    print(f"\nCDF plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
