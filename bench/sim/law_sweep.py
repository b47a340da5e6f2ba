#!/usr/bin/env python3
"""The per-GPU law against static baselines over a grid of synthetic online services, in the
simulator (profile h100): each cell runs the online service next to GPU-filling training as
together (no scheduler), static TSG (online 1 s, offline 1 us) and gprio (policy priority,
mechanism auto, every other setting its default), and flags the cells where a baseline beats
gprio on both online p99 and offline throughput by more than the margin.

Usage: bench/sim/law_sweep.py [--gprio BUILD/gprio] [--out JSON] [--seeds 1,2] [--margin 0.03]
                             [--offline-jobs N] (N training jobs beside each service; default 1)
                             [--linger T] (gprio with lingering, gpriod --linger-us: 500us)
Writes JSON (command, machine, date, every cell's numbers) and prints a table of the flagged
cells and a summary line; exit 0 whatever it finds (it is a measurement, not a test).
Flagged: a baseline ahead of gprio on both axes, gprio's online p99 over 1.05x both alone and
the best baseline, gprio's offline under 0.95 of together's where together meets the online
bar, and ("all-over") cells where every setup overloads the service although alone it uses
under 70 % of the GPU, with what gprio leaves offline there."""
import argparse, itertools, json, os, platform, subprocess, sys, tempfile, time

OFFLINE = """[process {name}]
class = offline
{slice}arrival = continuous
kernels = 100
kernel_time = normal 500us 100us
blocks = 264
inflight = 16
"""

def scenario(cell, setup, seed, duration, offline_jobs=1, linger=None):
    sched = {"together": "policy = none\n", "tsg": "policy = none\n",
             "gprio": "policy = priority\nmechanism = auto\n"}[setup]
    if setup == "gprio" and linger:
        sched += f"linger = {linger}\n"
    on_slice = "timeslice = 1s\n" if setup == "tsg" else ""
    off_slice = "timeslice = 1us\n" if setup == "tsg" else ""
    k, kt, gap, n, sync, blocks, rate = cell
    return (f"[sim]\nprofile = h100\nduration = {duration}s\nwarmup = 2s\nseed = {seed}\n"
            f"[scheduler]\n{sched}"
            f"[process serve]\nclass = online\n{on_slice}arrival = poisson {rate}/s\n"
            f"kernels = {n}\nkernel_time = {kt}\nblocks = {blocks}\ngap = {gap}\n"
            f"sync_every = {sync}\n" +
            "".join(OFFLINE.format(slice=off_slice, name=f"train{i or ''}") for i in range(offline_jobs)))

def run(gprio, text):
    with tempfile.NamedTemporaryFile("w", suffix=".scn", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run([gprio, "sim", f.name, "--json"], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(f.name)
    d = json.loads(out)
    r = d["runs"][0]
    return {"p99_ms": r["online_latency"]["p99_ms"], "offline": r["offline_iter_per_s"],
            "alone_p99_ms": d["online_alone"]["online_latency"]["p99_ms"],
            "busy": d["online_alone"]["online_busy_share"],
            "requests": r["online_latency"]["count"]}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gprio", default="build/gprio")
    ap.add_argument("--out", default="bench/results/sim-law-sweep.json")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--margin", type=float, default=0.03)
    ap.add_argument("--duration", type=int, default=12)
    ap.add_argument("--offline-jobs", type=int, default=1,
                    help="training jobs beside each service (offline throughput: all of them)")
    ap.add_argument("--linger", default=None,
                    help="gprio with lingering (as gpriod --linger-us), e.g. 500us")
    a = ap.parse_args()
    grid = list(itertools.product(["5us", "30us", "200us"], ["0", "15us", "60us"], [20, 300],
                                  [0, 1, 10], [16, 132], [20, 50]))
    cells, flagged = [], []
    for seed in [int(s) for s in a.seeds.split(",")]:
        for kt, gap, n, sync, blocks, rate in grid:
            cell = (None, kt, gap, n, sync, blocks, rate)
            res = {s: run(a.gprio, scenario(cell, s, seed, a.duration, a.offline_jobs,
                                            a.linger))
                   for s in ("together", "tsg", "gprio")}
            if res["together"]["busy"] > 0.7:
                continue  # online alone fills the GPU: nothing to share
            row = {"seed": seed, "kernel_time": kt, "gap": gap, "kernels": n,
                   "sync_every": sync, "blocks": blocks, "rate": rate,
                   "online_busy_alone": res["together"]["busy"],
                   "alone_p99_ms": res["together"]["alone_p99_ms"], "setups": res}
            # a setup that completes fewer than 90 % of the requests that arrived in the
            # measured window is overloaded: its p99 is that of the few that finished, so it
            # counts as unbounded
            want = rate * (a.duration - 2)
            for x in res.values():
                x["overloaded"] = x["requests"] < 0.9 * want
                x["p99_eff"] = float("inf") if x["overloaded"] else x["p99_ms"]
            g = res["gprio"]
            beaten_by = [s for s in ("together", "tsg")
                         if res[s]["p99_eff"] < g["p99_eff"] * (1 - a.margin)
                         and res[s]["offline"] > g["offline"] * (1 + a.margin)]
            if g["overloaded"] and all(res[s]["overloaded"] for s in ("together", "tsg")):
                # overloaded everywhere: online throughput decides, then offline
                beaten_by = [s for s in ("together", "tsg")
                             if res[s]["requests"] >= g["requests"]
                             and res[s]["offline"] > g["offline"] * (1 + a.margin)]
            row["beaten_by"] = beaten_by
            # the issue's targets: online p99 within 5 % of alone or of the best baseline;
            # offline at least 0.95 of together's where together already meets the online bar
            best = min(res["together"]["p99_eff"], res["tsg"]["p99_eff"])
            alone = res["together"]["alone_p99_ms"]
            row["online_miss"] = g["p99_eff"] > 1.05 * alone and g["p99_eff"] > 1.05 * best
            row["offline_miss"] = (res["together"]["p99_eff"] <= 1.05 * alone and
                                   g["offline"] < 0.95 * res["together"]["offline"])
            # every setup overloads the service (its p99s are unbounded, so neither miss above
            # can say it): listed, with what each leaves offline
            row["all_over"] = all(x["overloaded"] for x in res.values())
            cells.append(row)
            if beaten_by or row["online_miss"] or row["offline_miss"] or row["all_over"]:
                flagged.append(row)
    doc = {"bench": "sim_law_sweep", "command": " ".join(sys.argv),
           "machine": f"{platform.node()} {platform.machine()}",
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "margin": a.margin, "cells": cells, "flagged": len(flagged)}
    for r in cells:  # JSON has no infinity
        for x in r["setups"].values():
            x.pop("p99_eff")
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"{'seed':>4} {'rate':>4} {'kernel':>7} {'gap':>5} {'n':>4} {'sync':>4} {'blk':>4} "
          f"{'busy':>5} | "
          f"{'together p99/off':>18} {'TSG p99/off':>18} {'gprio p99/off':>18} beaten by")
    for r in flagged:
        s = r["setups"]
        f = lambda x: (f"{x['p99_ms']:8.2f}/{x['offline']:5.2f}" if not x["overloaded"]
                       else f"over {x['requests']:3d}/{x['offline']:5.2f}")
        print(f"{r['seed']:>4} {r['rate']:>4} {r['kernel_time']:>7} {r['gap']:>5} {r['kernels']:>4} {r['sync_every']:>4} "
              f"{r['blocks']:>4} {r['online_busy_alone']:5.2f} | {f(s['together']):>18} "
              f"{f(s['tsg']):>18} {f(s['gprio']):>18} {','.join(r['beaten_by'])}"
              f"{' online-miss' if r['online_miss'] else ''}"
              f"{' offline-miss' if r['offline_miss'] else ''}"
              f"{' all-over' if r['all_over'] else ''}")
    n = lambda k: sum(1 for r in cells if r[k])
    print(f"{len(cells)} cells: a baseline beats gprio on both axes by more than "
          f"{100 * a.margin:.0f} % in {sum(1 for r in cells if r['beaten_by'])}; online p99 "
          f"over 1.05x both alone and the best baseline in {n('online_miss')}; offline under "
          f"0.95 of together's where together meets the online bar in {n('offline_miss')}")
    over = [r for r in cells if r["all_over"]]
    if over:
        starved = sum(1 for r in over if r["setups"]["gprio"]["offline"] < 0.1)
        print(f"every setup overloads the service in {len(over)} cells (alone it is busy "
              f"{100 * max(r['online_busy_alone'] for r in over):.1f} % of the time at most): "
              f"gprio leaves offline under 0.1 it/s in {starved} of them, together in "
              f"{sum(1 for r in over if r['setups']['together']['offline'] < 0.1)}")

if __name__ == "__main__":
    main()
