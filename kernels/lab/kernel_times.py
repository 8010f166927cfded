#!/usr/bin/env python3
"""Lab: where a decode call's time goes, kernel by kernel, for FlashMLA and ours side by side.

sidebyside.py times whole calls; Nsight Compute times one kernel alone, serialised, caches flushed.
Neither shows what lies between the decode kernel's end and the next call's decode: the combine of
the split rows and the gaps around it. This runs `iters` back-to-back calls of each implementation
(same tensors, the same problems as sidebyside.py's grid) under the PyTorch profiler (CUPTI kernel
records) and reports per call, medians over the calls:

  decode   the decode kernel's duration
  combine  the combine kernel's duration (with a dependent launch it starts before the decode ends
           and waits, so its duration includes that wait)
  tail     combine end - decode end: what the call costs after its decode kernel
  period   decode start to the next call's decode start (the call's share of a back-to-back stream)

--separate launches a one-element PyTorch kernel (a plain launch, which waits for everything before it)
between the calls: a call's decode can then no longer overlap the previous call, whatever the previous
call's last kernel allowed its programmatic dependents (FlashMLA's combine returns before its
griddepcontrol.wait where a request was not split; ours waits first). The period then includes that kernel.

"MHz" is the SM clock NVML reports right after the calls (torch.cuda.clock_rate; "-" without pynvml): a
rough sign of the clock the stream ran at, which Nsight Compute's single kernels do not show.

  python3 kernels/lab/kernel_times.py --lib kernels/build/libmla.so --versions 9 --only mem-hq64,long-b8
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidebyside import FlashMLA, Ours, grid_only, load_lib, make_problem, seqlens  # noqa: E402


def kind(name):
    n = name.lower()
    if "combine" in n:
        return "combine"
    if "decode" in n or "splitkv_mla" in n:
        return "decode"
    return "other"


def kernel_records(torch, fn, iters, separate=False):
    """[(kind, name, start_us, end_us)] of the GPU kernels of `iters` back-to-back calls of fn (with
    `separate`, a one-element kernel between calls)."""
    from torch.profiler import ProfilerActivity, profile
    fence = torch.zeros(1, device="cuda")
    def call():
        fn()
        if separate:
            fence.add_(1.0)
    for _ in range(3):
        call()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            call()
        torch.cuda.synchronize()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    prof.export_chrome_trace(path)
    with open(path) as f:
        trace = json.load(f)
    os.unlink(path)
    recs = [(kind(e["name"]), e["name"], float(e["ts"]), float(e["ts"]) + float(e["dur"]))
            for e in trace.get("traceEvents", []) if e.get("cat") == "kernel" and e.get("ph") == "X"]
    return sorted(recs, key=lambda r: r[2])


def sm_clock_mhz(torch):
    """The SM clock NVML reports now, or None (no pynvml)."""
    try:
        return int(torch.cuda.clock_rate())
    except Exception:  # noqa: BLE001
        return None


def per_call(recs):
    """Medians over the calls (each call starts at a decode kernel) of decode, combine, tail, period (us)."""
    starts = [i for i, r in enumerate(recs) if r[0] == "decode"]
    rows = {"decode": [], "combine": [], "tail": [], "period": [], "other": []}
    for j, i in enumerate(starts):
        nxt = starts[j + 1] if j + 1 < len(starts) else len(recs)
        call = recs[i:nxt]
        d = call[0]
        rows["decode"].append(d[3] - d[2])
        comb = [r for r in call if r[0] == "combine"]
        rows["combine"].append(sum(r[3] - r[2] for r in comb))
        end = max(r[3] for r in call if r[0] != "other")  # not --separate's kernel
        rows["tail"].append(end - d[3])
        rows["other"].append(sum(r[3] - r[2] for r in call if r[0] == "other"))
        if j + 1 < len(starts):
            rows["period"].append(recs[nxt][2] - d[2])
    return {k: (statistics.median(v) if v else float("nan")) for k, v in rows.items()}, len(starts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default="kernels/build/libmla.so")
    ap.add_argument("--versions", default="9")
    ap.add_argument("--only", default="", help="comma-separated names of sidebyside.py's grid")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--no-flashmla", action="store_true")
    ap.add_argument("--separate", action="store_true", help="a plain one-element kernel between calls (see above)")
    ap.add_argument("--out", default="", help="append one JSON line per (configuration, implementation)")
    a = ap.parse_args()
    grid = grid_only(a.only, ap.error)
    import torch
    lib = load_lib(a.lib)
    fm = None
    if not a.no_flashmla:
        try:
            import flash_mla as fm
        except Exception as e:  # noqa: BLE001
            print(f"flash_mla not importable: {type(e).__name__}: {e}", file=sys.stderr)
    out = open(a.out, "a") if a.out else None
    print(f"{'config':>16} {'impl':>8} {'calls':>5} {'decode':>8} {'combine':>8} {'tail':>7} {'period':>8} {'MHz':>5}  (us, medians)")
    for (name, b, s_q, h_q, dist, mean) in grid:
        P = make_problem(torch, b, s_q, h_q, seqlens(torch, b, s_q, dist, mean, 1234), s_q > 1, 42)
        impls = [("flashmla", FlashMLA(torch, fm, P))] if fm is not None else []
        impls += [(f"v{v}", Ours(torch, lib, P, int(v))) for v in a.versions.split(",") if v]
        for label, fn in impls:
            try:
                recs = kernel_records(torch, fn, a.iters, a.separate)
                mhz = sm_clock_mhz(torch)
                med, calls = per_call(recs)
                names = sorted({r[1][:60] for r in recs})
                print(f"{name:>16} {label:>8} {calls:5d} {med['decode']:8.1f} {med['combine']:8.1f} {med['tail']:7.1f} "
                      f"{med['period']:8.1f} {mhz if mhz is not None else '-':>5}", flush=True)
                if out:
                    out.write(json.dumps(dict(config=name, impl=label, separate=a.separate, sm_clock_mhz=mhz, calls=calls, kernels=names, **med)) + "\n")
                    out.flush()
            except Exception as e:  # noqa: BLE001
                print(f"{name:>16} {label:>8} ERROR {type(e).__name__}: {e}", flush=True)
        del P, impls
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
