#!/usr/bin/env python3
"""Lab: one line per (configuration, kernel) from session-ncu.sh TABLE=1's CSV (Nsight Compute --csv rows of
kernels/lab/ncu_grid.py's process), FlashMLA's decode kernel and ours side by side. The k-th profiled kernel
(by ncu's ID) is the k-th entry of ncu_grid.py's --order file; of several calls of one implementation on one
configuration (ncu_grid.py --calls), the last one's.

  python3 kernels/lab/ncu_table.py ncu-table.csv --order ncu-order.json
"""
import argparse
import csv
import json
import sys

COLS = [  # (heading, metric, scale, format)
    ("us", "gpu__time_duration.sum", None, "%8.1f"),
    ("GHz", "sm__cycles_elapsed.avg.per_second", None, "%5.2f"),
    ("DRAM GB", "dram__bytes_read.sum", None, "%7.3f"),
    ("tensor %", "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_elapsed", None, "%8.1f"),
    ("hmma %", "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed", None, "%6.1f"),
    ("gmma M", "sm__inst_executed_pipe_tensor_op_gmma.sum", 1e-6, "%6.2f"),
    ("instr M", "smsp__inst_executed.sum", 1e-6, "%7.2f"),
    ("issue %", "smsp__issue_active.avg.pct_of_peak_sustained_elapsed", None, "%7.1f"),
]
UNIT = {"ns": 1e-3, "us": 1.0, "usecond": 1.0, "nsecond": 1e-3, "msecond": 1e3, "ms": 1e3,
        "hz": 1e-9, "khz": 1e-6, "mhz": 1e-3, "ghz": 1.0, "cycle/nsecond": 1.0, "cycle/usecond": 1e-3,
        "byte": 1e-9, "kbyte": 1e-6, "mbyte": 1e-3, "gbyte": 1.0}


def value(metric, unit, text):
    v = float(text.replace(",", ""))
    if metric in ("gpu__time_duration.sum", "sm__cycles_elapsed.avg.per_second", "dram__bytes_read.sum"):
        u = unit.strip().lower()
        if u not in UNIT:
            raise ValueError(f"{metric}: unit {unit!r} not understood")
        v *= UNIT[u]
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--order", required=True)
    a = ap.parse_args()
    with open(a.order) as f:
        order = json.load(f)
    by_id = {}
    with open(a.csv, newline="") as f:
        for r in csv.reader(f):
            if len(r) < 15 or r[0] == "ID" or not r[0].isdigit():
                continue
            by_id.setdefault(int(r[0]), []).append(r)
    ids = sorted(by_id)
    if len(ids) != len(order):
        print(f"{a.csv}: {len(ids)} profiled kernels, but {a.order} lists {len(order)} launches", file=sys.stderr)
        return 1
    rows = {}
    for k, (cfg, who) in zip(ids, order):
        kernel = by_id[k][0][4]
        if ("flash" in kernel) != (who == "flashmla"):
            print(f"kernel {k} is {kernel[:60]}, but the order says {cfg} {who}", file=sys.stderr)
            return 1
        m = rows[(cfg, who)] = {}  # the last call of several
        for r in by_id[k]:
            metric, unit, text = r[-3], r[-2], r[-1]
            try:
                m[metric] = value(metric, unit, text)
            except ValueError as e:
                m[metric] = float("nan")
                print(f"{cfg} {who}: {e}", file=sys.stderr)
    if not rows:
        print(f"{a.csv}: no Nsight Compute rows", file=sys.stderr)
        return 1
    print(f"{'config':>16} {'kernel':>9} " + " ".join(f"{h:>{len(fmt % 0)}}" for h, _, _, fmt in COLS) + "  FlashMLA/ours")
    fm_us = {}
    for (cfg, who), m in rows.items():
        cells = []
        for h, metric, scale, fmt in COLS:
            v = m.get(metric, float("nan"))
            cells.append(fmt % (v * scale if scale else v))
        us = m.get("gpu__time_duration.sum", float("nan"))
        if who == "flashmla":
            fm_us[cfg] = us
        ratio = f"{fm_us[cfg] / us:6.3f}" if who != "flashmla" and cfg in fm_us else ""
        print(f"{cfg:>16} {who:>9} " + " ".join(cells) + "  " + ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
