#!/usr/bin/env python3
"""gprio in two law sweeps (bench/sim/law_sweep.py) of the same grid, cell by cell: how often
the second is better, the same or worse on online p99 and on offline throughput (by more than
3 %, and for offline by more than 0.05 iterations a second), grouped by where the service
synchronises, then what became of the cells every setup of the first overloads.

Usage: bench/sim/compare_sweeps.py A.json B.json
Example: bench/sim/compare_sweeps.py bench/results/sim-law-sweep.json \\
             bench/results/sim-law-sweep-linger.json"""
import collections
import json
import statistics
import sys

KEY = ("seed", "kernel_time", "gap", "kernels", "sync_every", "blocks", "rate")


def p99(x):
    return float("inf") if x["overloaded"] else x["p99_ms"]


def verdict(a, b):
    """(online, offline) of b against a: better, same or worse"""
    on = ("better" if p99(b) < 0.97 * p99(a) else
          "worse" if p99(b) > 1.03 * p99(a) else "same")
    off = ("better" if b["offline"] > 1.03 * a["offline"] + 0.05 else
           "worse" if b["offline"] < 0.97 * a["offline"] - 0.05 else "same")
    return on, off


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = (json.load(open(p)) for p in sys.argv[1:])
    other = {tuple(r[k] for k in KEY): r for r in b["cells"]}
    print(f"A: {a['command']}\nB: {b['command']}")
    groups = collections.defaultdict(collections.Counter)
    by_shape = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    bounded = collections.defaultdict(list)
    rescued, still = [], 0
    for r in a["cells"]:
        s = other.get(tuple(r[k] for k in KEY))
        if s is None:
            sys.exit(f"cell {[r[k] for k in KEY]} of A is not in B")
        ga, gb = r["setups"]["gprio"], s["setups"]["gprio"]
        on, off = verdict(ga, gb)
        groups[r["sync_every"]][f"online {on}, offline {off}"] += 1
        by_shape[r["sync_every"]][on][f"{r['kernel_time']}/{r['gap']}"] += 1
        if not ga["overloaded"] and not gb["overloaded"]:
            bounded[r["sync_every"]].append((ga, gb, r["alone_p99_ms"]))
        if r.get("all_over"):
            if gb["overloaded"]:
                still += 1
            else:
                rescued.append((gb, r))
    for se in sorted(groups):
        what = {0: "one wait at the end of a request", 1: "a wait after every kernel"}.get(
            se, f"a wait every {se} kernels")
        print(f"\n{what}: {sum(groups[se].values())} cells, B against A")
        for k, n in groups[se].most_common():
            print(f"  {n:4d}  {k}")
        for on in ("better", "worse"):
            if by_shape[se][on]:
                print(f"  online {on}, by kernel time / CPU gap between launches: " +
                      ", ".join(f"{k} {n}" for k, n in sorted(by_shape[se][on].items())))
        rows = bounded[se]
        if rows:
            med = statistics.median
            print(f"  neither overloaded ({len(rows)}): B's p99 / A's median "
                  f"{med(gb['p99_ms'] / ga['p99_ms'] for ga, gb, _ in rows):.2f}; p99 / alone "
                  f"median A {med(ga['p99_ms'] / al for ga, _, al in rows):.2f}, "
                  f"B {med(gb['p99_ms'] / al for _, gb, al in rows):.2f}")
    over = len(rescued) + still
    if over:
        print(f"\nevery setup of A overloads the service in {over} cells; B's gprio does not "
              f"in {len(rescued)}", end="")
        if rescued:
            med = statistics.median
            print(f" (p99 / alone median {med(g['p99_ms'] / r['alone_p99_ms'] for g, r in rescued):.2f}"
                  f", offline median {med(g['offline'] for g, _ in rescued):.2f} it/s against "
                  f"together's {med(r['setups']['together']['offline'] for _, r in rescued):.2f})")
        else:
            print()


if __name__ == "__main__":
    main()
