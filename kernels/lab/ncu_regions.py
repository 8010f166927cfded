#!/usr/bin/env python3
"""Lab: where a kernel's instructions and warp-stall samples go, from Nsight Compute source-page CSVs
(ncu -i X.ncu-rep --page source --csv --print-source sass; kernels/lab/session-ncu.sh SOURCE=1 writes them).

For each CSV: the warp-level instructions executed and the stall samples of the whole kernel, the share
of both in the store epilogue (the SASS from the first to the last global store, STG), and the opcodes
that executed most. Given two CSVs of the same kernel binary at two configurations and the number of
(row tile, page) units each configuration holds (--units), also splits every 200-line block's
instructions into a part per unit and a fixed part (a straight line through the two counts).

  ncu_regions.py A.csv [B.csv --units UA UB]
"""
import argparse
import collections
import csv
import re


def load(path):
    with open(path, newline="") as f:
        lines = f.read().split("\n")
    start = next((i for i, l in enumerate(lines) if l.startswith('"Address"')), None)
    if start is None:
        raise SystemExit(f"{path}: no header row starting with \"Address\" (not a source-page CSV)")
    return list(csv.DictReader(lines[start:]))


def num(x):
    try:
        return float(str(x).replace(",", ""))
    except ValueError:
        return 0.0


def opcode(sass):
    return re.sub(r"^@!?U?P\w+\s+", "", sass.strip()).split(" ")[0]


def summary(path, rows):
    ins = [num(r["Instructions Executed"]) for r in rows]
    smp = [num(r["Warp Stall Sampling (All Samples)"]) for r in rows]
    stg = [i for i, r in enumerate(rows) if opcode(r["Source"]).startswith("STG")]
    print(f"== {path}: {sum(ins):,.0f} warp instructions executed, {sum(smp):,.0f} stall samples, {len(rows)} SASS lines")
    if stg:
        a, b = stg[0], stg[-1] + 1
        print(f"  store epilogue (SASS lines {a}-{b - 1}, {len(stg)} STG): {sum(ins[a:b]):,.0f} instructions "
              f"({100 * sum(ins[a:b]) / sum(ins):.1f}%), {sum(smp[a:b]):,.0f} stall samples ({100 * sum(smp[a:b]) / max(1, sum(smp)):.1f}%)")
    ops = collections.Counter()
    for r, n in zip(rows, ins):
        ops[opcode(r["Source"])] += n
    print("  most executed: " + ", ".join(f"{o} {100 * n / sum(ins):.1f}%" for o, n in ops.most_common(10)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--units", nargs=2, type=float, help="(row tile, page) units of the two configurations")
    ap.add_argument("--block", type=int, default=200)
    a = ap.parse_args()
    tables = [load(p) for p in a.csv]
    for p, t in zip(a.csv, tables):
        summary(p, t)
    if len(tables) == 2 and a.units:
        (ta, tb), (ua, ub) = tables, a.units
        if len(ta) != len(tb):
            raise SystemExit("the two CSVs are not the same kernel binary (different SASS line counts)")
        print(f"== per 200-line block: instructions at {ua:.0f} and {ub:.0f} units, and the fixed part (at {ua:.0f} units)")
        total_fixed = 0.0
        for s in range(0, len(ta), a.block):
            ca = sum(num(r["Instructions Executed"]) for r in ta[s:s + a.block])
            cb = sum(num(r["Instructions Executed"]) for r in tb[s:s + a.block])
            fixed = ca - (cb - ca) / (ub - ua) * ua
            total_fixed += fixed
            if ca < 1e5 and cb < 1e5:
                continue
            marks = collections.Counter(o for o in (opcode(r["Source"]) for r in ta[s:s + a.block])
                                        if re.match(r"(HGMMA|LDGSTS|STG|SYNCS|BAR|MUFU.EX2|UTMALDG)", o))
            print(f"  {s:5d}-{s + a.block - 1:5d}  {ca / 1e6:7.2f}M  {cb / 1e6:8.2f}M  fixed {fixed / 1e6:6.2f}M  {dict(marks)}")
        print(f"  fixed part of the whole kernel: {total_fixed / 1e6:.2f}M of {sum(num(r['Instructions Executed']) for r in ta) / 1e6:.2f}M")


if __name__ == "__main__":
    main()
