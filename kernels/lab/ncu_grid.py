#!/usr/bin/env python3
"""Lab: one call of FlashMLA and one of ours on each configuration of sidebyside.py's grid, in order, for
Nsight Compute to profile in a single process (session-ncu.sh TABLE=1). Writes the order of the decode
launches to --order (a JSON list of [configuration, implementation]) so that ncu_table.py can name each
profiled kernel: every call launches exactly one decode kernel.

  ncu --metrics ... -k regex:'flash_fwd_splitkv_mla_kernel|decode_' python3 kernels/lab/ncu_grid.py --order order.json
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidebyside import FlashMLA, Ours, grid_only, load_lib, make_problem, seqlens  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default="kernels/build/libmla.so")
    ap.add_argument("--version", type=int, default=0, help="our kernel_version (0: the automatic choice)")
    ap.add_argument("--only", default="", help="comma-separated names of the grid (default: all of it)")
    ap.add_argument("--order", required=True, help="where to write the launch order (JSON)")
    ap.add_argument("--calls", type=int, default=1,
                    help="back-to-back calls of each implementation (ncu_table.py keeps the last: with ncu's "
                         "--cache-control none, a kernel in the state a stream of calls leaves it)")
    a = ap.parse_args()
    grid = grid_only(a.only, ap.error)
    import torch
    import flash_mla as fm
    lib = load_lib(a.lib)
    order = []
    for (name, b, s_q, h_q, dist, mean) in grid:
        P = make_problem(torch, b, s_q, h_q, seqlens(torch, b, s_q, dist, mean, 1234), s_q > 1, 42)
        for label, fn in (("flashmla", FlashMLA(torch, fm, P)), (f"v{a.version}", Ours(torch, lib, P, a.version))):
            for _ in range(a.calls):
                fn()
                order.append([name, label])
            torch.cuda.synchronize()
        del P
        torch.cuda.empty_cache()
    with open(a.order, "w") as f:
        json.dump(order, f)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
