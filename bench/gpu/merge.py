#!/usr/bin/env python3
"""Merge summarize.py results of several GPU calls (the matrix runs in parts) into one table.

usage: merge.py OUT.json OUT.txt PART.json...
Each part is one call's results (command, gpu, driver, date, cases). A cell measured in several
calls keeps every run (ratios are only ever taken within one call, against that call's alone
runs); the table lists them one per line, so the spread between repeats is the noise. Repeats
within one call (CELL@N) are listed under CELL as part@N. Where a call's summary has both offline
jobs of cells two and twooff together (offline_total_per_s), the offline column shows that."""
import json
import sys

ORDER = ["online_alone", "offline_alone", "together", "mps", "tsg", "tsg_linger", "gprio", "gprio_nolinger", "gprio_linger", "gprio_hint", "gprio_mps"]
LABEL = {"online_alone": "online alone", "offline_alone": "offline alone", "together": "together",
         "mps": "MPS priority", "tsg": "static TSG", "tsg_linger": "static TSG + linger", "gprio": "gprio (defaults)",
         "gprio_hint": "gprio + request hint", "gprio_nolinger": "gprio, --linger-us 0", "gprio_linger": "gprio, --linger-us 500", "gprio_mps": "gpriod --mps on"}


def main():
    out_json, out_txt, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
    merged = {"parts": [], "cells": {}}
    for p in parts:
        with open(p) as f:
            d = json.load(f)
        merged["parts"].append({k: d.get(k) for k in ("command", "gpu", "driver", "date")} | {"file": p})
        for cell, setups in d["cases"].items():
            # CELL@N (matrix.sh's repeats in one call) is listed under CELL, as part@N
            base, _, rep = cell.partition("@")
            entry = {"part": len(merged["parts"]) - 1, "setups": setups}
            if rep:
                entry["repeat"] = int(rep)
            merged["cells"].setdefault(base, []).append(entry)
    with open(out_json, "w") as f:
        json.dump(merged, f, indent=1)
    lines = []
    for cell, runs in merged["cells"].items():
        lines.append(f"\n{cell}")
        lines.append(f"  {'setup':18} {'part':>6} {'requests':>8} {'p50 ms':>9} {'p99 ms':>9} {'p99/alone':>9} "
                     f"{'offline/s':>9} {'off/alone':>9} {'off/left':>8}")
        extra = sorted({s for r in runs for s in r["setups"] if s not in ORDER}, reverse=True,
                       key=lambda s: (s.rstrip("0123456789"), int("0" + s.lstrip("abcdefghijklmnopqrstuvwxyz_"))))
        for s in ORDER + extra:  # extra: gprio_mpsN (gpriod --mps-offline-sm N), tsgN
            for r in runs:
                v = r["setups"].get(s)
                if not v:
                    continue
                f = lambda k, fmt: (fmt % v[k]) if v.get(k) is not None else "-"
                label = LABEL.get(s, f"TSG, off {s[3:]} us" if s[3:].isdigit() else s)  # tsgN
                off = "killed" if "offline_killed" in v else \
                    f('offline_total_per_s' if 'offline_total_per_s' in v else 'offline_kernels_per_s', '%.1f')
                part = f"{r['part']}" + (f"@{r['repeat']}" if "repeat" in r else "")
                lines.append(f"  {label:18} {part:>6} {f('requests', '%d'):>8} {f('p50_ms', '%.3f'):>9} "
                             f"{f('p99_ms', '%.3f'):>9} {f('p99_vs_alone', '%.3f'):>9} "
                             f"{off:>9} {f('offline_vs_alone', '%.3f'):>9} "
                             f"{f('offline_vs_left_by_online', '%.3f'):>8}")
    lines.append("\nparts:")
    for i, p in enumerate(merged["parts"]):
        lines.append(f"  {i}: {p['date']} {p['gpu']} driver {p['driver']}: {p['command']}")
    text = "\n".join(lines) + "\n"
    with open(out_txt, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
