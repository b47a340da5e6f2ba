#!/usr/bin/env python3
"""Summarize a bench/gpu/run.sh output directory: one results JSON (command, GPU, driver, date,
per case and setup: online p50/p90/p99/max and requests, offline throughput, ratios), a printed
table, and, where matplotlib exists, a PNG of the online latency CDFs.

usage: summarize.py OUTDIR RESULTS.json [--gpu NAME] [--driver VER] [--command CMD]
                    [--machine machine.json] [--refused refused.json]
--machine merges what the results depend on (kernel, firmware, scheduler mode); --refused lists
the runs a kit refused to report (and why), which appear in the results as such.
"""
import glob
import re
import json
import math
import os
import sys
from datetime import datetime, timezone

# NVIDIA setups, then the AMD kit's (bench/amd/run.sh); missing ones are skipped
SETUPS = ["online_alone", "offline_alone", "together", "mps", "tsg", "tsg_linger", "gprio", "gprio_nolinger", "gprio_linger", "gprio_hint", "gprio_mps", "prio", "stage1", "stage1shim", "stage2"]
LABEL = {"online_alone": "online alone", "offline_alone": "offline alone", "together": "together",
         "mps": "MPS priority", "tsg": "static TSG", "tsg_linger": "static TSG + linger", "gprio": "gprio", "gprio_hint": "gprio + hint", "gprio_nolinger": "gprio no linger", "gprio_linger": "gprio + linger 500 us",
         "gprio_mps": "gprio under MPS",
         "prio": "HIP stream priority", "stage1": "gprio stage 1 (ptrace)",
         "stage1shim": "gprio stage 1 (HSA shim)", "stage2": "gprio stage 2"}


def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


COLORS = {"online_alone": (0, 0, 0), "together": (220, 40, 40), "mps": (150, 80, 200),
          "tsg": (240, 160, 0), "gprio": (0, 150, 60), "gprio_hint": (0, 200, 200), "gprio_nolinger": (120, 120, 120), "gprio_linger": (0, 90, 30), "tsg_linger": (160, 100, 0),
          "gprio_mps": (0, 120, 220)}


def plain_png(out, res, path):
    """CDF panels without matplotlib: one panel per case, x = log10 latency from 0.1 ms to 10 s
    (grey lines at each decade), y = 0..1 (grey lines at 0.5, 0.9, 0.99). Colours: black online
    alone, red together, purple MPS, orange static TSG, green gprio, blue gprio under MPS."""
    import struct
    import zlib
    cases = [c for c in res["cases"] if any(os.path.exists(os.path.join(out, f"{c}.{s}.lat")) for s in COLORS)]
    if not cases:
        return
    pw, ph, m = 420, 300, 20
    cols = min(3, len(cases))
    rows = (len(cases) + cols - 1) // cols
    W, H = cols * (pw + m) + m, rows * (ph + m) + m
    img = bytearray([255] * (W * H * 3))

    def put(x, y, c):
        if 0 <= x < W and 0 <= y < H:
            i = (y * W + x) * 3
            img[i:i + 3] = bytes(c)

    lo, hi = math.log10(0.1), math.log10(10000.0)
    for k, c in enumerate(cases):
        ox, oy = m + (k % cols) * (pw + m), m + (k // cols) * (ph + m)
        X = lambda v: ox + int((min(max(math.log10(max(v, 1e-9)), lo), hi) - lo) / (hi - lo) * (pw - 1))
        Y = lambda q: oy + ph - 1 - int(q * (ph - 1))
        for d in range(int(lo), int(hi) + 1):
            for y in range(oy, oy + ph):
                put(X(10.0 ** d), y, (210, 210, 210))
        for q in (0.5, 0.9, 0.99):
            for x in range(ox, ox + pw):
                put(x, Y(q), (210, 210, 210))
        for x in range(ox, ox + pw):
            put(x, oy, (0, 0, 0)), put(x, oy + ph - 1, (0, 0, 0))
        for y in range(oy, oy + ph):
            put(ox, y, (0, 0, 0)), put(ox + pw - 1, y, (0, 0, 0))
        for s, col in COLORS.items():
            p = os.path.join(out, f"{c}.{s}.lat")
            if not os.path.exists(p):
                continue
            v = sorted(float(x) for x in open(p) if x.strip())
            prev = None
            for i, val in enumerate(v):
                pt = (X(val), Y((i + 1) / len(v)))
                if prev:
                    n = max(abs(pt[0] - prev[0]), abs(pt[1] - prev[1]), 1)
                    for t in range(n + 1):
                        put(prev[0] + (pt[0] - prev[0]) * t // n, prev[1] + (pt[1] - prev[1]) * t // n, col)
                prev = pt
    raw = b"".join(b"\x00" + bytes(img[y * W * 3:(y + 1) * W * 3]) for y in range(H))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, dest = sys.argv[1], sys.argv[2]
    opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    files = glob.glob(os.path.join(out, "*.*.online.json")) + glob.glob(os.path.join(out, "*.*.offline.json"))
    cases = sorted({os.path.basename(p).split(".")[0] for p in files} - {"correct"})
    # numbered setups of matrix.sh, placed after their base setup: gprio_mpsN (gpriod --mps on
    # --mps-offline-sm N) and tsgN (static TSG with the offline timeslice at N us, shortest
    # first)
    for base, label, color in (("gprio_mps", "gprio MPS, offline {}% SMs", lambda n: (0, 120, max(0, 220 - 2 * (100 - n)))),
                               ("tsg", "TSG, off {} us", lambda n: (240, 160, min(200, n // 5)))):
        for n in sorted({int(os.path.basename(p).split(".")[1][len(base):]) for p in files
                         if re.fullmatch(base + r"\d+", os.path.basename(p).split(".")[1])}, reverse=True):
            s = f"{base}{n}"
            if s not in SETUPS:
                SETUPS.insert(SETUPS.index(base) + 1, s)
                LABEL[s] = label.format(n)
                COLORS[s] = color(n)
    res = {"command": opts.get("--command", "bench/gpu/run.sh"), "gpu": opts.get("--gpu", "?"),
           "driver": opts.get("--driver", "?"), "date": opts.get("--date", datetime.now(timezone.utc).isoformat()),
           "cases": {}}
    for key in ("machine", "refused"):
        path = opts.get("--" + key)
        if path:
            try:
                with open(path) as f:
                    res[key] = json.load(f)
            except (OSError, ValueError) as e:
                res[key] = {"error": f"{path}: {e}"}
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
            # a second service and a second offline job (matrix.sh cells two, twooff): their
            # own figures, and the offline ratios below taken on both jobs together
            on2 = load(os.path.join(out, f"{c}.{s}.online2.json"))
            off2 = load(os.path.join(out, f"{c}.{s}.offline2.json"))
            # an offline job killed after starving (bench/lib.sh pair): no figure, said so
            killed = [f for f, d in (("offline", off), ("offline2", off2)) if d and d.get("mode") == "killed"]
            if killed:
                r["offline_killed"] = killed
                r["offline_killed_note"] = (off or {}).get("note")
                off = None
            if off:
                r["offline_kernels_per_s"] = off["window_kernels_per_s"]
                r["offline_checksum"] = off["checksum"]
            if on2:
                r.update({"online2_" + k: on2[k] for k in ("requests", "p50_ms", "p99_ms", "busy_share") if k in on2})
            if off and off2:  # (neither killed: off is None where one was)
                r["offline2_kernels_per_s"] = off2["window_kernels_per_s"]
                r["offline_total_per_s"] = round(off["window_kernels_per_s"] + off2["window_kernels_per_s"], 2)
            rows[s] = r
        alone_on = rows.get("online_alone", {})
        alone_off = rows.get("offline_alone", {})
        for s, r in rows.items():
            if "p99_ms" in r and alone_on.get("p99_ms"):
                r["p99_vs_alone"] = round(r["p99_ms"] / alone_on["p99_ms"], 3)
                r["p50_vs_alone"] = round(r["p50_ms"] / alone_on["p50_ms"], 3)
            if "online2_p99_ms" in r and alone_on.get("online2_p99_ms"):
                r["online2_p99_vs_alone"] = round(r["online2_p99_ms"] / alone_on["online2_p99_ms"], 3)
            both = "offline_total_per_s" in r and "offline_total_per_s" in alone_off
            k = "offline_total_per_s" if both else "offline_kernels_per_s"
            if k in r and alone_off.get(k):
                a = alone_off[k]
                r["offline_vs_alone"] = round(r[k] / a, 3)
                share = alone_on.get("online_busy_share")
                if share is not None and both:
                    share += alone_on.get("online2_busy_share", 0)  # what both services leave
                if share is not None and share < 1:
                    r["offline_vs_left_by_online"] = round(r[k] / (a * (1 - share)), 3)
        res["cases"][c] = rows
    for job in ("correct", "correct_torch"):
        for name in ("alone", "gprio", "online"):
            d = load(os.path.join(out, f"{job}.{name}.json"))
            if d:
                res.setdefault("offline_correctness", {}).setdefault(job, {})[name] = d
    for run, why in (res.get("refused") or {}).items():
        print(f"NOT REPORTED: {run}: {why}")
    for job, cor in res.get("offline_correctness", {}).items():
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
                  f"{'killed' if 'offline_killed' in r else f('offline_total_per_s' if 'offline_total_per_s' in r else 'offline_kernels_per_s', '%10.1f'):>10s} {f('offline_vs_alone', '%9.3f'):>9s} "
                  f"{f('offline_vs_left_by_online', '%9.3f'):>9s}")
        two = [s for s in SETUPS if "online2_p99_ms" in rows.get(s, {})]
        if two:
            print("  second service p99 ms (/ alone): " + ", ".join(
                f"{LABEL[s]} {rows[s]['online2_p99_ms']:.3f}" + (f" ({rows[s]['online2_p99_vs_alone']:.3f})"
                                                                if "online2_p99_vs_alone" in rows[s] else "")
                for s in two))
        if any("offline_killed" in rows.get(s, {}) for s in SETUPS):
            print("  killed: an offline job still running well after its end (starved through its warm-up, or see its result file): no figure")
        if any("offline_total_per_s" in rows.get(s, {}) for s in SETUPS):
            print("  offline/s: both offline jobs together; off/left: of what both services leave")
    for run, why in (res.get("refused") or {}).items():
        print(f"NOT REPORTED: {run}: {why}")
    for job, cor in res.get("offline_correctness", {}).items():
        print(f"\noffline correctness ({job}): checksum alone {cor.get('alone', {}).get('checksum')}, "
              f"under gprio {cor.get('gprio', {}).get('checksum')}: "
              f"{'not compared (a run is missing or was not reported)' if 'bit_identical' not in cor else 'bit-identical' if cor['bit_identical'] else 'DIFFERENT'}")
    png = os.path.splitext(dest)[0] + ".png"
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plain_png(out, res, png)
        print(f"\nCDF plot (built-in renderer, no matplotlib here): {png}")
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
    fig.savefig(png, dpi=110)
    print(f"\nCDF plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
