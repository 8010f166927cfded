#!/usr/bin/env python3
"""Lab: our decode (libmla through ctypes) and FlashMLA side by side, in one process.

Same tensors, same launch loop, same timing for every implementation:
  - eager: CUDA events around `iters` back-to-back calls after `warmup`, median of `trials`;
  - graph: the same `iters` calls captured once in a CUDA graph, its replay timed the same way
    (removes host launch overhead from both).
Planning (mla_plan / get_mla_metadata) runs once per configuration, outside the timed loop.
Every implementation's output is checked against the first one's (max |diff| / max |ref|).

This is the lab's harness for kernel work (a fixed bench grid, lengths drawn here); the shipped
comparison reads the TS-expanded plan instead (baselines/).

  python3 kernels/lab/sidebyside.py --lib kernels/build/libmla.so --versions 9,10 [--only 0,3] [--out results.jsonl]
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "baselines"))
from libmla import Params  # noqa: E402  (mla_decode_params: the same 184 bytes in ABI 1 and 2)

D_K, D_V, PAGE = 576, 512, 64


def bench_grid():
    """The bench grid of the FlashMLA comparison: (name, b, s_q, h_q, dist, mean_sk)."""
    g = []
    for s_q in (1, 2):
        for m in (4096, 8192, 16384, 32768):
            g.append((f"fm-sq{s_q}-{m // 1024}k", 128, s_q, 128, "normal", m))
    for h in (16, 32, 64):
        g.append((f"mem-hq{h}", 128, 1, h, "fixed", 8192))
    for sk in (512, 1024, 2048):
        g.append((f"short-{sk}", 128, 1, 128, "fixed", sk))
    for s_q in (3, 4):
        for h in (32, 64, 128):
            g.append((f"mtp-sq{s_q}-hq{h}", 128, s_q, h, "fixed", 4096))
    for b in (32, 64):
        for h in (64, 128):
            g.append((f"mixed-b{b}-hq{h}", b, 1, h, "lognormal", 2048))
    for b in (1, 2, 8):
        g.append((f"long-b{b}", b, 1, 128, "fixed", 32768))
    g.append(("b256-hq16", 256, 1, 16, "fixed", 4096))
    return g


def grid_only(only, error):
    """The bench grid, or its entries that `only` names (comma-separated names or indices); error(message)
    for a name that is not in it."""
    grid = bench_grid()
    if not only:
        return grid
    keys = only.split(",")
    unknown = [k for k in keys if k not in [g[0] for g in grid] and not (k.isdigit() and int(k) < len(grid))]
    if unknown:
        error(f"--only: not in the grid: {', '.join(unknown)} (sidebyside.py --list)")
    return [g for i, g in enumerate(grid) if str(i) in keys or g[0] in keys]


def load_lib(path):
    """libmla through ctypes, its error text readable."""
    lib = ctypes.CDLL(os.path.abspath(path))
    lib.mla_last_error.restype = ctypes.c_char_p
    return lib


def seqlens(torch, b, s_q, dist, mean, seed):
    g = torch.Generator().manual_seed(seed)
    if dist == "fixed":
        v = torch.full((b,), float(mean))
    elif dist == "normal":  # FlashMLA's test: normal around the mean, sd = mean/2
        v = torch.normal(float(mean), mean / 2.0, (b,), generator=g)
    else:  # lognormal with median mean/2 and a long tail
        v = torch.exp(torch.normal(math.log(mean / 2.0), 1.0, (b,), generator=g))
    return [int(max(s_q, min(65536, x))) for x in v.tolist()]


def make_problem(torch, b, s_q, h_q, lens, causal, seed):
    g = torch.Generator().manual_seed(seed)
    pages = [(l + PAGE - 1) // PAGE for l in lens]
    nblk, maxb = max(1, sum(pages)), max(1, max(pages))
    perm = torch.randperm(nblk, generator=g).to(torch.int32)
    table = torch.zeros((b, maxb), dtype=torch.int32)
    k = 0
    for i, p in enumerate(pages):
        table[i, :p] = perm[k:k + p]
        k += p
    dev = "cuda"
    torch.manual_seed(seed)
    return dict(q=torch.randn((b, s_q, h_q, D_K), dtype=torch.bfloat16, device=dev),
                kv=torch.randn((nblk, PAGE, 1, D_K), dtype=torch.bfloat16, device=dev),
                table=table.to(dev), lens=torch.tensor(lens, dtype=torch.int32, device=dev),
                b=b, s_q=s_q, h_q=h_q, causal=causal, nblk=nblk, maxb=maxb)


class Ours:
    def __init__(self, torch, lib, P, version):
        self.torch, self.lib = torch, lib
        b, s_q, h_q = P["b"], P["s_q"], P["h_q"]
        parts = ctypes.c_int()
        self.ck(lib.mla_get_num_sm_parts(s_q, h_q, 1, ctypes.byref(parts)), "mla_get_num_sm_parts")
        self.parts = parts.value
        self.sched = torch.empty(self.parts * 8, dtype=torch.int32, device="cuda")
        self.nsplits = torch.empty(b + 1, dtype=torch.int32, device="cuda")
        ws = ctypes.c_size_t()
        self.ck(lib.mla_workspace_bytes(b, s_q, h_q, 1, self.parts, ctypes.byref(ws)), "mla_workspace_bytes")
        self.ws_bytes = ws.value
        self.ws = torch.empty(max(16, ws.value), dtype=torch.uint8, device="cuda")
        self.out = torch.empty((b, s_q, h_q, D_V), dtype=torch.bfloat16, device="cuda")
        self.lse = torch.empty((b, h_q, s_q), dtype=torch.float32, device="cuda")
        q, kv = P["q"], P["kv"]
        self.p = Params(q=q.data_ptr(), kvcache=kv.data_ptr(), block_table=P["table"].data_ptr(),
                        cache_seqlens=P["lens"].data_ptr(), out=self.out.data_ptr(), lse=self.lse.data_ptr(),
                        q_batch_stride=q.stride(0), q_seq_stride=q.stride(1), q_head_stride=q.stride(2),
                        kv_block_stride=kv.stride(0), kv_token_stride=kv.stride(1), kv_head_stride=kv.stride(2),
                        block_table_batch_stride=P["table"].stride(0), out_batch_stride=self.out.stride(0),
                        out_seq_stride=self.out.stride(1), out_head_stride=self.out.stride(2), dtype=0, b=b, s_q=s_q,
                        h_q=h_q, h_kv=1, d_k=D_K, d_v=D_V, num_blocks=P["nblk"], block_size=PAGE,
                        max_blocks_per_seq=P["maxb"], causal=int(P["causal"]), kernel_version=version,
                        softmax_scale=1.0 / math.sqrt(D_K), reserved=0)
        st = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
        self.ck(lib.mla_plan(ctypes.c_void_p(P["lens"].data_ptr()), b, s_q, h_q, 1, P["maxb"], self.parts,
                             ctypes.c_void_p(self.sched.data_ptr()), ctypes.c_void_p(self.nsplits.data_ptr()), st),
                "mla_plan")

    def ck(self, r, what):
        if r != 0:
            raise RuntimeError(f"{what}: status {r}: {self.lib.mla_last_error().decode()}")

    def __call__(self):
        st = ctypes.c_void_p(self.torch.cuda.current_stream().cuda_stream)
        opts = () if self.lib.mla_abi_version() == 1 else (None,)  # ABI 2: options pointer, NULL = defaults
        self.ck(self.lib.mla_decode(ctypes.byref(self.p), *opts, ctypes.c_void_p(self.sched.data_ptr()),
                                    ctypes.c_void_p(self.nsplits.data_ptr()), self.parts,
                                    ctypes.c_void_p(self.ws.data_ptr()), ctypes.c_size_t(self.ws_bytes), st),
                "mla_decode")
        return self.out, self.lse


class FlashMLA:
    def __init__(self, torch, fm, P):
        self.fm, self.P = fm, P
        self.meta, self.splits = fm.get_mla_metadata(P["lens"], P["s_q"] * P["h_q"], 1)

    def __call__(self):
        P = self.P
        return self.fm.flash_mla_with_kvcache(P["q"], P["kv"], P["table"], P["lens"], D_V, self.meta, self.splits,
                                              causal=P["causal"])


def time_eager(torch, fn, warmup, iters, trials):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    res = []
    for _ in range(trials):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        for _ in range(iters):
            fn()
        e1.record()
        e1.synchronize()
        res.append(e0.elapsed_time(e1) * 1000.0 / iters)
    return res


def time_graph(torch, fn, iters, trials):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(iters):
            fn()
    g.replay()
    torch.cuda.synchronize()
    res = []
    for _ in range(trials):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        g.replay()
        e1.record()
        e1.synchronize()
        res.append(e0.elapsed_time(e1) * 1000.0 / iters)
    del g
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default="kernels/build/libmla.so")
    ap.add_argument("--lib2", default="", help="a second libmla (e.g. the previous commit's): its versions run as b<v>")
    ap.add_argument("--versions2", default="", help="versions of --lib2")
    ap.add_argument("--versions", default="9,10")
    ap.add_argument("--only", default="", help="comma-separated indices or names of the grid")
    ap.add_argument("--out", default="")
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-graph", action="store_true")
    ap.add_argument("--no-flashmla", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for i, g in enumerate(bench_grid()):
            print(i, *g)
        return 0
    grid = grid_only(a.only, ap.error)
    import torch
    lib = load_lib(a.lib)
    lib2 = load_lib(a.lib2) if a.lib2 else None
    fm = None
    if not a.no_flashmla:
        try:
            import flash_mla as fm
        except Exception as e:  # noqa: BLE001
            print(f"flash_mla not importable: {type(e).__name__}: {e}", file=sys.stderr)
    versions = [int(v) for v in a.versions.split(",") if v]
    out = open(a.out, "a") if a.out else None
    print(f"{'config':>16} {'impl':>8} {'eager us':>9} {'graph us':>9} {'TFLOP/s':>8} {'GB/s':>7} {'vs ref':>8} {'ratio':>6}")
    for (name, b, s_q, h_q, dist, mean) in grid:
        causal = s_q > 1
        lens = seqlens(torch, b, s_q, dist, mean, 1234)
        P = make_problem(torch, b, s_q, h_q, lens, causal, 42)
        sk = sum(lens)
        flops = 2.0 * h_q * s_q * (D_K + D_V) * sk
        byts = 2.0 * (b * s_q * h_q * D_K + sk * D_K + b * s_q * h_q * D_V)
        impls = []
        if fm is not None:
            impls.append(("flashmla", FlashMLA(torch, fm, P)))
        for v in versions:
            impls.append((f"v{v}", Ours(torch, lib, P, v)))
        if lib2 is not None:
            for v in [int(x) for x in a.versions2.split(",") if x]:
                impls.append((f"b{v}", Ours(torch, lib2, P, v)))
        ref = None
        fm_us = None
        for label, fn in impls:
            try:
                o, l = fn()
                torch.cuda.synchronize()
                o = o.float()
                if ref is None:
                    ref, err = o, 0.0
                else:
                    err = ((o - ref).abs().max() / ref.abs().max().clamp_min(1e-6)).item()
                eager = time_eager(torch, fn, a.warmup, a.iters, a.trials)
                graph = [] if a.no_graph else time_graph(torch, fn, a.iters, a.trials)
                me, mg = statistics.median(eager), (statistics.median(graph) if graph else float("nan"))
                best = min(me, mg) if graph else me
                if label == "flashmla":
                    fm_us = best
                ratio = (fm_us / best) if (fm_us and label != "flashmla") else float("nan")
                print(f"{name:>16} {label:>8} {me:9.1f} {mg:9.1f} {flops / best / 1e6:8.1f} {byts / best / 1e3:7.0f} "
                      f"{err:8.1e} {ratio:6.3f}", flush=True)
                if out:
                    out.write(json.dumps(dict(config=name, b=b, s_q=s_q, h_q=h_q, dist=dist, mean=mean, sum_sk=sk,
                                              impl=label, eager_us=eager, graph_us=graph, err_vs_first=err)) + "\n")
                    out.flush()
            except Exception as e:  # noqa: BLE001
                print(f"{name:>16} {label:>8} ERROR {type(e).__name__}: {e}", flush=True)
        del P, impls, ref
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
