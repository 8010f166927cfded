#!/usr/bin/env python3
"""Reduces an Nsight Compute source-page CSV (ncu -i X.ncu-rep --page source --csv
--print-source sass) to the warp-stall samples by reason and the top SASS
instructions by samples (with the three instructions before each, for context).
Usage: ncu_stalls.py SOURCE.csv [top_n] > stall-top.txt
Columns are found by name: the SASS text ("Source"), the total samples
("Warp Stall Sampling (All Samples)" or similar) and every per-reason column
whose name starts with "stall_"."""
import csv
import sys


def num(x):
    try:
        return float(str(x).replace(",", ""))
    except ValueError:
        return 0.0


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: ncu_stalls.py SOURCE.csv [top_n]")
    top_n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with open(sys.argv[1], newline="") as f:
        lines = [l for l in f if l.strip()]
    # skip any preamble before the header row (the first row with a "Source" column)
    start = next((i for i, l in enumerate(lines) if '"Source"' in l or l.startswith("Source")), None)
    if start is None:
        sys.exit(f"{sys.argv[1]}: no header row with a 'Source' column")
    rows = list(csv.DictReader(lines[start:]))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no data rows")
    cols = list(rows[0].keys())
    reasons = [c for c in cols if c.startswith("stall_")]
    total_col = next((c for c in cols if "Warp Stall Sampling (All" in c), None)
    if not reasons:
        sys.exit(f"{sys.argv[1]}: no stall_* columns among {cols[:12]}...")
    sums = {r: sum(num(row[r]) for row in rows) for r in reasons}
    total = sum(num(row[total_col]) for row in rows) if total_col else sum(sums.values())
    print(f"# warp-stall samples, total {total:.0f}")
    print("# by reason")
    for r, v in sorted(sums.items(), key=lambda kv: -kv[1]):
        if v > 0:
            print(f"{r:28s} {v:8.0f} {100 * v / max(total, 1):5.1f}%")
    key = (lambda row: num(row[total_col])) if total_col else (lambda row: sum(num(row[r]) for r in reasons))
    order = sorted(range(len(rows)), key=lambda i: -key(rows[i]))[:top_n]
    print(f"# top {top_n} SASS instructions (row, samples, main reason, instruction; the 3 before it)")
    for i in order:
        row = rows[i]
        main_reason = max(reasons, key=lambda r: num(row[r]))
        print(f"{i:6d} {key(row):7.0f} {main_reason:22s} {row.get('Source', '').strip()}")
        for j in range(max(0, i - 3), i):
            print(f"{'':38s}{rows[j].get('Source', '').strip()}")


if __name__ == "__main__":
    main()
