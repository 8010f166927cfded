#!/usr/bin/env python3
"""Baselines for the MLA decode sweeps: plain PyTorch, and FlashMLA when importable.

"Plain PyTorch" is what a user without a specialised kernel writes: gather the
pages of every request into a padded dense tensor, one bf16 matmul for the
logits, a mask, an fp32 softmax, one bf16 matmul for the output. It is timed
with CUDA events exactly like our kernels (warm-up, then `iters` back-to-back
calls per trial) and written in the same tidy CSV schema as src/sweep/csv.ts,
to <run>/results-torch.csv (and results-flashmla.csv).

It reads the same sweep files (data/sweeps/*.json) and draws the same per-request
lengths: the generator below is a bit-exact port of src/sweep/seqlens.ts
(mulberry32 + Irwin-Hall, integer ops and correctly rounded + and * only).
`--selftest` checks that against values pinned in test/sweep.test.ts, and
`--plan-only` prints the expanded plan (no torch needed) so a test can compare
it with the TypeScript expansion.

Usage:
  python3 baselines/torch_mla_decode.py --out data/runs/<run> [--sweeps data/sweeps] [--quick] [--only a,b]
  python3 baselines/torch_mla_decode.py --plan-only [--quick]
  python3 baselines/torch_mla_decode.py --selftest
  python3 baselines/torch_mla_decode.py --check      (GPU: the PyTorch decode against a float64 reference)
Exit status: 0 on success or when torch/CUDA is absent (it says so), 1 on bad input.
"""
import argparse
import csv
import datetime
import glob
import hashlib
import io
import json
import math
import os
import subprocess
import sys

RESULT_COLUMNS = [
    "sweep", "configId", "impl", "kernelVersion", "kernelName", "dtype", "b", "sQ", "hQ", "hKv",
    "meanSk", "skDist", "seed", "causal", "actualMeanSk", "maxSk", "pageBlock", "warmup", "iters",
    "trial", "us", "gbps", "tflops", "status", "error", "startedAt",
]
D_K = 576
D_V = 512
M32 = 0xFFFFFFFF


# ---------------------------------------------------------------- lengths (port of src/sweep/seqlens.ts)
def _imul(a, b):
    return (a * b) & M32


class Mulberry32:
    def __init__(self, seed):
        if not (isinstance(seed, int) and 0 <= seed <= M32):
            raise ValueError(f"Mulberry32: argument 'seed' must be an integer in [0, 2^32-1], got {seed!r}")
        self.state = seed

    def next_u32(self):
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return (t ^ (t >> 14)) & M32

    def uniform(self):
        return self.next_u32() / 4294967296.0

    def normal(self):
        s = 0.0
        for _ in range(12):
            s += self.uniform()
        return s - 6.0


def generate_seqlens(b, s_q, mean_sk, dist, seed):
    if dist == "fixed":
        return [mean_sk] * b
    if dist != "normal":
        raise ValueError(f"generate_seqlens: argument 'dist' must be fixed or normal, got {dist!r}")
    rng = Mulberry32(seed)
    sd = mean_sk / 2
    out = []
    for _ in range(b):
        x = mean_sk + sd * rng.normal()
        out.append(int(math.floor(max(x, s_q))))
    return out


def selftest():
    r = Mulberry32(0)
    got = [r.next_u32() for _ in range(3)]
    assert got == [1144304738, 1416247, 958946056], got
    assert generate_seqlens(8, 1, 4096, "normal", 0) == [602, 4676, 2793, 4833, 467, 4936, 3303, 2418]
    assert generate_seqlens(4, 2, 100, "normal", 12345) == [175, 200, 18, 135]
    print("selftest ok: lengths match src/sweep/seqlens.ts")


# ---------------------------------------------------------------- sweep files (the TS loader is the authority; these are the checks a baseline needs)
def load_sweeps(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not files:
        raise SystemExit(f"error: no sweep files (*.json) in {folder}")
    defs = []
    for f in files:
        try:
            with open(f, "rb") as fh:
                raw = fh.read()
            d = json.loads(raw)
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: {f}: {e}")
        if d.get("schema") != "mla-sweep/1":
            raise SystemExit(f"error: {f}: field 'schema' must be \"mla-sweep/1\", got {d.get('schema')!r}")
        for k in ("name", "dtype", "seed", "trials", "timing", "implementations", "grids"):
            if k not in d:
                raise SystemExit(f"error: {f}: field '{k}' is missing")
        d["file"] = f
        d["sha256"] = hashlib.sha256(raw).hexdigest()
        d.setdefault("pageBlock", 64)
        defs.append(d)
    return defs


def config_id(c):
    return (f"b{c['b']}-sq{c['sQ']}-hq{c['hQ']}-hkv{c['hKv']}-sk{c['meanSk']}-{c['skDist']}-seed{c['seed']}"
            + ("-causal" if c["causal"] else ""))


def expand_configs(d, quick):
    """Same order, ids and de-duplication as expandConfigs in src/sweep/definitions.ts."""
    out, seen = [], set()
    only = (d.get("quick") or {}).get("only") if quick else None
    for g in d["grids"]:
        for b in g["b"]:
            for s_q in g["sQ"]:
                for h_q in g["hQ"]:
                    for h_kv in g["hKv"]:
                        for sk in g["meanSk"]:
                            for dist in g["skDist"]:
                                causal = (s_q > 1) if g["causal"] == "auto" else (bool(g["causal"]) and s_q > 1)
                                c = {"b": b, "sQ": s_q, "hQ": h_q, "hKv": h_kv, "meanSk": sk, "skDist": dist,
                                     "seed": d["seed"], "causal": causal}
                                cid = config_id(c)
                                if cid in seen:
                                    continue
                                if only and not all(c.get(k) in v for k, v in only.items()):
                                    continue
                                seen.add(cid)
                                c.update(sweep=d["name"], configId=cid, dtype=d["dtype"], pageBlock=d["pageBlock"],
                                         warmup=d["timing"]["warmup"], iters=d["timing"]["iters"])
                                lens = generate_seqlens(b, s_q, sk, dist, d["seed"])
                                c["seqlens"] = lens
                                c["actualMeanSk"] = sum(lens) / len(lens)
                                c["maxSk"] = max(lens)
                                out.append(c)
    return out


def trials_for(d, quick):
    return (d.get("quick") or {}).get("trials", d["trials"]) if quick else d["trials"]


def decode_bytes(c):
    return 2 * c["b"] * (c["sQ"] * c["hQ"] * D_K + c["actualMeanSk"] * c["hKv"] * D_K + c["sQ"] * c["hQ"] * D_V)


def decode_flops(c):
    return 2 * c["b"] * c["hQ"] * c["sQ"] * c["actualMeanSk"] * (D_K + D_V)


def js_number(v):
    """Numbers formatted like JavaScript's String(): 4096 not 4096.0, so CSVs from both sides look alike."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    return v


def sig6(v):
    return float(f"{v:.6g}")


# ---------------------------------------------------------------- crash-safe CSV (same contract as src/sweep/csv.ts CsvAppender)
class CsvAppender:
    def __init__(self, path):
        self.path = path
        self.done = {}
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path, "rb") as fh:
                data = fh.read()
            cut = data.rfind(b"\n") + 1
            if cut < len(data):  # a torn last line from a crash: drop it
                with open(path, "r+b") as fh:
                    fh.truncate(cut)
                data = data[:cut]
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
            with open(path, encoding="utf-8", newline="") as fh:
                header = next(csv.reader(fh), [])
            if header != RESULT_COLUMNS:
                raise SystemExit(f"error: {path} has another header; move it away to start afresh")
            for r in rows:
                self.done[self.key(r)] = r["status"]
            self.fh = open(path, "a", encoding="utf-8", newline="")
        else:
            self.fh = open(path, "w", encoding="utf-8", newline="")
            self._write(RESULT_COLUMNS)

    @staticmethod
    def key(r):
        return "|".join(str(r[k]) for k in ("sweep", "configId", "impl", "kernelVersion", "trial"))

    def _write(self, values):
        w = csv.writer(self.fh, lineterminator="\n")
        w.writerow(values)
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def append(self, row):
        self._write([js_number(row.get(c, "")) for c in RESULT_COLUMNS])

    def close(self):
        self.fh.close()


# ---------------------------------------------------------------- the PyTorch decode
def make_problem(torch, c, device):
    """Random q and a paged cache with the pages of all requests shuffled over one pool (as in the GPU binding)."""
    g = torch.Generator(device="cpu").manual_seed(c["seed"])
    dtype = torch.bfloat16 if c["dtype"] == "bf16" else torch.float16
    page = c["pageBlock"]
    lens = c["seqlens"]
    pages = [(l + page - 1) // page for l in lens]
    num_blocks = max(1, sum(pages))
    max_blocks = max(1, max(pages))
    perm = torch.randperm(num_blocks, generator=g).to(torch.int32)
    table = torch.zeros((c["b"], max_blocks), dtype=torch.int32)
    nxt = 0
    for i, p in enumerate(pages):
        table[i, :p] = perm[nxt:nxt + p]
        nxt += p
    q = torch.randn((c["b"], c["sQ"], c["hQ"], D_K), dtype=dtype, device=device)
    kv = torch.randn((num_blocks, page, c["hKv"], D_K), dtype=dtype, device=device)
    return {
        "q": q, "kvcache": kv, "block_table": table.to(device), "seqlens": torch.tensor(lens, dtype=torch.int32, device=device),
        "max_len": max(lens), "causal": c["causal"], "scale": 1.0 / math.sqrt(D_K),
    }


def torch_decode(torch, q, kvcache, block_table, seqlens, max_len, causal, scale):
    b, s_q, h_q, d = q.shape
    page, h_kv = kvcache.shape[1], kvcache.shape[2]
    nblk = (max_len + page - 1) // page
    L = nblk * page
    k = kvcache[block_table[:, :nblk].long()]                      # gather pages: [b, nblk, page, h_kv, d]
    k = k.reshape(b, L, h_kv, d).transpose(1, 2)                   # [b, h_kv, L, d]
    v = k[..., :D_V]
    grp = h_q // h_kv
    qh = q.reshape(b, s_q, h_kv, grp, d).permute(0, 2, 1, 3, 4).reshape(b, h_kv, s_q * grp, d)
    logits = torch.matmul(qh, k.transpose(-1, -2)).float() * scale  # [b, h_kv, s_q*grp, L], fp32
    pos = torch.arange(L, device=q.device)
    mask = pos[None, :] < seqlens[:, None].long()                  # [b, L]
    mask = mask[:, None, None, :]
    if causal:
        row = torch.arange(s_q, device=q.device).repeat_interleave(grp)              # query row -> its token index
        limit = seqlens[:, None].long() - s_q + row[None, :]                         # [b, s_q*grp]
        mask = mask & (pos[None, None, None, :] <= limit[:, None, :, None])
    logits = logits.masked_fill(~mask, float("-inf"))
    p = torch.softmax(logits, dim=-1)
    out = torch.matmul(p.to(q.dtype), v)                           # [b, h_kv, s_q*grp, 512]
    return out.reshape(b, h_kv, s_q, grp, D_V).permute(0, 2, 1, 3, 4).reshape(b, s_q, h_q, D_V)


def check_decode(torch, device):
    """torch_decode against a per-request float64 loop, on small random problems (paged, varlen, causal, h_kv > 1)."""
    worst = 0.0
    for (b, s_q, h_q, h_kv, causal) in [(3, 1, 16, 1, False), (2, 2, 8, 2, True), (4, 4, 16, 1, True)]:
        c = {"b": b, "sQ": s_q, "hQ": h_q, "hKv": h_kv, "causal": causal, "dtype": "bf16", "pageBlock": 64, "seed": 5,
             "seqlens": generate_seqlens(b, s_q, 150, "normal", 9)}
        p = make_problem(torch, c, device)
        got = torch_decode(torch, p["q"], p["kvcache"], p["block_table"], p["seqlens"], p["max_len"], causal, p["scale"]).double()
        q, kv, tbl = p["q"].double(), p["kvcache"].double(), p["block_table"].long()
        grp = h_q // h_kv
        for i, L in enumerate(c["seqlens"]):
            toks = torch.arange(L, device=device)
            rows = kv[tbl[i, toks // 64], toks % 64]                       # [L, h_kv, 576]
            for s in range(s_q):
                vis = L - s_q + s + 1 if causal else L
                for h in range(h_q):
                    k = rows[:vis, h // grp]
                    w = torch.softmax((k @ q[i, s, h]) * p["scale"], dim=0)
                    ref = w @ k[:, :D_V]
                    err = (got[i, s, h] - ref).abs().max().item() / max(1e-6, ref.abs().max().item())
                    worst = max(worst, err)
    # bf16 logits and probabilities: about 2^-8 relative per element, far less after averaging over keys.
    if worst > 2e-2:
        raise SystemExit(f"check failed: torch_decode differs from the float64 reference by {worst:.3g} (relative)")
    print(f"check ok: torch_decode matches the float64 per-request reference (worst relative error {worst:.2e})")


def time_calls(torch, fn, warmup, iters):
    for _ in range(warmup):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) * 1000.0 / iters


def flashmla_runner(torch, fm, prob, c):
    """FlashMLA's own API, as its tests/test_flash_mla.py calls it."""
    meta, splits = fm.get_mla_metadata(prob["seqlens"], c["sQ"] * c["hQ"] // c["hKv"], c["hKv"])
    return lambda: fm.flash_mla_with_kvcache(prob["q"], prob["kvcache"], prob["block_table"], prob["seqlens"], D_V,
                                             meta, splits, causal=prob["causal"])


def git_commit(root):
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return out if len(out) == 40 and all(ch in "0123456789abcdef" for ch in out) else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweeps", default=os.path.join(root, "data", "sweeps"))
    ap.add_argument("--out", help="run folder (data/runs/<run>)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated sweep names")
    ap.add_argument("--plan-only", action="store_true")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--retry-errors", action="store_true")
    ap.add_argument("--check", action="store_true", help="compare the PyTorch decode with a float64 reference and exit")
    a = ap.parse_args()

    if a.selftest:
        selftest()
        return 0
    defs = load_sweeps(a.sweeps)
    only = [s for s in a.only.split(",") if s]
    if only:
        unknown = [s for s in only if s not in {d["name"] for d in defs}]
        if unknown:
            raise SystemExit(f"error: --only names unknown sweeps: {', '.join(unknown)}")
        defs = [d for d in defs if d["name"] in only]
    if a.plan_only:
        for d in defs:
            for c in expand_configs(d, a.quick):
                print(json.dumps({"sweep": c["sweep"], "configId": c["configId"], "trials": trials_for(d, a.quick),
                                  "impls": [i["impl"] for i in d["implementations"]], "sum": sum(c["seqlens"]), "max": c["maxSk"]}))
        return 0
    if a.check:
        import torch  # noqa: PLC0415
        if not torch.cuda.is_available():
            raise SystemExit("check needs a CUDA device")
        check_decode(torch, torch.device("cuda:0"))
        return 0
    if not a.out:
        ap.error("--out is required (or --plan-only / --selftest / --check)")
    os.makedirs(a.out, exist_ok=True)
    notes = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "command": sys.argv,
             "gitCommit": git_commit(root), "sweeps": [{"name": d["name"], "sha256": d["sha256"]} for d in defs]}

    try:
        import torch  # noqa: PLC0415 (optional dependency)
    except ImportError as e:
        notes["torch"] = {"available": False, "reason": f"import torch failed: {e}"}
        print(f"PyTorch baseline skipped: {notes['torch']['reason']}", file=sys.stderr)
        write_notes(a.out, notes)
        return 0
    if not torch.cuda.is_available():
        notes["torch"] = {"available": False, "reason": f"torch {torch.__version__} sees no CUDA device"}
        print(f"PyTorch baseline skipped: {notes['torch']['reason']}", file=sys.stderr)
        write_notes(a.out, notes)
        return 0
    dev = torch.device("cuda:0")
    notes["torch"] = {"available": True, "version": torch.__version__, "cuda": torch.version.cuda,
                      "device": torch.cuda.get_device_name(0), "cudnn": torch.backends.cudnn.version()}
    try:
        import flash_mla as fm  # noqa: PLC0415
        notes["flashmla"] = {"available": True, "version": getattr(fm, "__version__", "unknown")}
    except Exception as e:  # ImportError, or a CUDA/ABI error on import
        fm = None
        notes["flashmla"] = {"available": False, "reason": f"import flash_mla failed: {type(e).__name__}: {e}"}
        print(f"FlashMLA baseline skipped: {notes['flashmla']['reason']}", file=sys.stderr)
    write_notes(a.out, notes)

    impls = [("torch", f"torch {torch.__version__}", "results-torch.csv")]
    if fm is not None:
        impls.append(("flashmla", f"flash_mla {notes['flashmla']['version']}", "results-flashmla.csv"))
    for impl, kname, fname in impls:
        out = CsvAppender(os.path.join(a.out, fname))
        try:
            run_impl(torch, fm, dev, defs, a, impl, kname, out)
        finally:
            out.close()
    return 0


def write_notes(out_dir, notes):
    path = os.path.join(out_dir, "baselines.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(notes, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def run_impl(torch, fm, dev, defs, a, impl, kname, out):
    plan = [(d, c) for d in defs if any(i["impl"] == impl for i in d["implementations"]) for c in expand_configs(d, a.quick)]
    total = len(plan)
    for n, (d, c) in enumerate(plan, 1):
        trials = trials_for(d, a.quick)
        base = {"sweep": c["sweep"], "configId": c["configId"], "impl": impl, "kernelVersion": "", "kernelName": kname,
                "dtype": c["dtype"], "b": c["b"], "sQ": c["sQ"], "hQ": c["hQ"], "hKv": c["hKv"], "meanSk": c["meanSk"],
                "skDist": c["skDist"], "seed": c["seed"], "causal": c["causal"], "actualMeanSk": c["actualMeanSk"],
                "maxSk": c["maxSk"], "pageBlock": c["pageBlock"], "warmup": c["warmup"], "iters": c["iters"]}
        todo = [t for t in range(trials)
                if not (out.done.get(CsvAppender.key({**base, "trial": t})) == "ok"
                        or (CsvAppender.key({**base, "trial": t}) in out.done and not a.retry_errors))]
        print(f"{impl} {n}/{total} {c['sweep']}/{c['configId']}: {len(todo)} trials to run", file=sys.stderr, flush=True)
        if not todo:
            continue
        prob = None
        left = list(todo)
        try:
            prob = make_problem(torch, c, dev)
            if impl == "torch":
                fn = lambda: torch_decode(torch, prob["q"], prob["kvcache"], prob["block_table"], prob["seqlens"],  # noqa: E731
                                          prob["max_len"], prob["causal"], prob["scale"])
            else:
                fn = flashmla_runner(torch, fm, prob, c)
            while left:
                t = left[0]
                started = datetime.datetime.now(datetime.timezone.utc).isoformat()
                us = time_calls(torch, fn, c["warmup"], c["iters"])
                s = us * 1e-6
                out.append({**base, "trial": t, "us": sig6(us), "gbps": sig6(decode_bytes(c) / s / 1e9),
                            "tflops": sig6(decode_flops(c) / s / 1e12), "status": "ok", "error": "", "startedAt": started})
                left.pop(0)
        except Exception as e:  # OOM, unsupported shape: record and go on, as the TS runner does
            msg = f"{type(e).__name__}: {e}".strip()
            started = datetime.datetime.now(datetime.timezone.utc).isoformat()
            for k, t in enumerate(left):
                why = msg if k == 0 else f"not run: trial {left[0]} failed: {msg}"
                out.append({**base, "trial": t, "status": "error", "error": why, "startedAt": started})
            print(f"  error: {msg.splitlines()[0] if msg else msg}", file=sys.stderr)
        finally:
            prob = None
            torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
