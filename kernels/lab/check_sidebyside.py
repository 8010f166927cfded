#!/usr/bin/env python3
"""Lab, on a GPU: one small configuration through the shipped side-by-side path of
baselines/torch_mla_decode.py (side_by_side_builder, CallTimer eager and graph), to check
on a real GPU what the CPU tests can only fake: libmla.py's calls captured in a CUDA graph,
FlashMLA's output and log-sum-exp layouts against ours.
  PYTHONPATH=<flash_mla dir> python3 kernels/lab/check_sidebyside.py
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "baselines"))
import torch  # noqa: E402
import torch_mla_decode as tmd  # noqa: E402
from libmla import Libmla  # noqa: E402

try:
    import flash_mla as fm
except Exception as e:  # noqa: BLE001
    sys.exit(f"flash_mla not importable: {e}")
mla = Libmla()
for (b, s_q, h_q, lens) in [(4, 1, 128, [1000, 3000, 64, 2500]), (3, 2, 64, [700, 65, 2000])]:
    c = {"sweep": "check", "configId": f"b{b}-sq{s_q}-hq{h_q}", "dtype": "bf16", "b": b, "sQ": s_q, "hQ": h_q, "hKv": 1,
         "pageBlock": 64, "seed": 1, "seqlens": lens, "causal": s_q > 1}
    sides = tmd.side_by_side_builder(torch, fm, "9edee0c", mla, torch.device("cuda:0"), print)(c)
    for impl, side in sides.items():
        if side.get("fn") is None:
            print(f"{c['configId']} {impl}: NOT SET UP: {side.get('error')}")
            continue
        for graph in (False, True):
            t = tmd.CallTimer(torch, side["fn"], 2, 10, graph=graph)
            print(f"{c['configId']} {impl} rung={side.get('rung', '')} {'graph' if graph else 'events'}: "
                  f"{t.trial():.1f} us; check {side.get('check')}")
            t.close()
