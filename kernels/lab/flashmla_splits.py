#!/usr/bin/env python3
"""Lab: which configurations of the bench grid FlashMLA splits a request on, beside how much faster
each decode kernel runs in a back-to-back stream than alone.

FlashMLA (9edee0c) plans a call with get_mla_metadata: the SMs are divided into
  parts = SMs / h_kv / ceil(s_q * h_q / h_kv / 64)
partitions, each request costs ceil(s_k / 64) pages plus a fixed overhead of 5 pages, and the
partitions are filled in request order up to an equal payload (total / parts, rounded up, plus the
overhead); a request that does not fit is split at the payload. Its combine kernel returns at once in
the blocks of a request that was not split, before its griddepcontrol.wait; ours waits first in every
block. This script re-derives the split count from that rule (our own code, written from reading
the source) and, given the lab's committed timings, sets beside it

  FM d, ours d   back-to-back period (kernel_times.py) - the decode kernel alone (ncu_table.py), us

so that whether FlashMLA's back-to-back advantage follows its splits can be read off one table.
The grid's fixed-length configurations need only python3; the normal and lognormal ones draw their
lengths with torch (sidebyside.py's generator and seed) and show "-" without it.

  python3 kernels/lab/flashmla_splits.py [--sms 132] [--kernel-times K.jsonl --ncu-table T.txt]
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sidebyside  # noqa: E402  (the bench grid and its lengths)

PAGE = 64
FIXED_OVERHEAD_PAGES = 5
ROWS_PER_TILE = 64


def flashmla_partition(lens, s_q, h_q, h_kv=1, sms=132):
    """(parts, parts used, requests split) under FlashMLA's planning rule (module docstring)."""
    parts = sms // h_kv // math.ceil(s_q * (h_q // h_kv) / ROWS_PER_TILE)
    if parts < 1:
        raise ValueError(f"{sms} SMs give no partition for s_q={s_q} h_q={h_q} h_kv={h_kv}")
    pages = [math.ceil(n / PAGE) for n in lens]
    total = sum(p + FIXED_OVERHEAD_PAGES for p in pages)
    payload = max(math.ceil(total / parts) + FIXED_OVERHEAD_PAGES, 2 * FIXED_OVERHEAD_PAGES)
    pieces = [0] * len(lens)
    req, done, used = 0, 0, 0  # the request being placed, its pages already placed
    for _ in range(parts):
        if req >= len(lens):
            break
        used += 1
        room = payload
        while req < len(lens):
            left = pages[req] - done
            if room >= left + FIXED_OVERHEAD_PAGES:
                pieces[req] += 1
                room -= left + FIXED_OVERHEAD_PAGES
                req, done = req + 1, 0
            else:
                if room > FIXED_OVERHEAD_PAGES:
                    done += room - FIXED_OVERHEAD_PAGES
                    pieces[req] += 1
                break
    if req < len(lens):
        raise ValueError("the requests did not fit the partitions (a bug in this model)")
    return parts, used, sum(1 for p in pieces if p > 1)


def load_timings(kernel_times, ncu_table):
    """{(config, impl): back-to-back period - alone} from kernel_times.py's JSON lines and ncu_table.py's text."""
    period = {}
    with open(kernel_times) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                if not r.get("separate"):
                    period[(r["config"], r["impl"])] = r["period"]
    alone = {}
    with open(ncu_table) as f:
        next(f)  # header
        for line in f:
            cols = line.split()
            if len(cols) >= 3:
                alone[(cols[0], cols[1])] = float(cols[2])
    return {k: period[k] - alone[k] for k in period if k in alone}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sms", type=int, default=132, help="SM count (H100 SXM: 132)")
    ap.add_argument("--kernel-times", help="kernel_times.py's JSON lines (back-to-back periods)")
    ap.add_argument("--ncu-table", help="ncu_table.py's table (each decode kernel alone)")
    ap.add_argument("--seed", type=int, default=0, help="sidebyside.py's --seed, for the drawn lengths")
    a = ap.parse_args()
    if a.sms < 1:
        ap.error("--sms must be positive")
    if bool(a.kernel_times) != bool(a.ncu_table):
        ap.error("--kernel-times and --ncu-table go together")
    for p in (a.kernel_times, a.ncu_table):
        if p and not os.path.isfile(p):
            ap.error(f"{p}: no such file")
    d = load_timings(a.kernel_times, a.ncu_table) if a.kernel_times else {}
    try:
        import torch
    except ImportError:
        torch = None
    print(f"{'config':>16} {'parts':>5} {'used':>4} {'split':>5} {'of':>4} {'FM d':>7} {'ours d':>7}  (d: back-to-back period - alone, us)")
    for name, b, s_q, h_q, dist, mean in sidebyside.bench_grid():
        if dist == "fixed":
            lens = [mean] * b
        elif torch is not None:
            lens = sidebyside.seqlens(torch, b, s_q, dist, mean, a.seed)
        else:
            lens = None
        parts, used, split = flashmla_partition(lens, s_q, h_q, sms=a.sms) if lens else ("-", "-", "-")
        fm, ours = d.get((name, "flashmla")), d.get((name, "v0"))
        cell = lambda x: f"{x:7.1f}" if x is not None else f"{'-':>7}"
        print(f"{name:>16} {parts:>5} {used:>4} {split:>5} {b:>4} {cell(fm)} {cell(ours)}")


if __name__ == "__main__":
    main()
