#!/usr/bin/env python3
"""Baselines for the MLA decode sweeps: plain PyTorch, and FlashMLA side by side with ours.

"Plain PyTorch" is what a user without a specialised kernel writes: gather the
pages of every request into a padded dense tensor, one bf16 matmul for the
logits, a mask, an fp32 softmax, one bf16 matmul for the output. It is timed
alone (CUDA events around eager calls) into <run>/raw-torch.jsonl.

FlashMLA (`import flash_mla`, where it works) is measured side by side with
ours (libmla's automatic choice, through baselines/libmla.py) in this one
process, with one methodology for both: the same tensors (q, paged cache,
block table, lengths), planning outside the timed loop for both (mla_plan,
get_mla_metadata), the same timer (CallTimer: CUDA events around `iters`
back-to-back eager calls, and around one replay of a CUDA graph of `iters`
calls, which removes the host launch overhead from both), the plan's warm-up,
iterations and trials, and the two interleaved trial by trial (in alternating
order) so that both see the same L2 and clock state. Before timing, ours's
output and log-sum-exp are checked against FlashMLA's (max |diff| / max |ref|),
recorded on ours's rows. Rows go to <run>/raw-sidebyside.jsonl, timing
"events" or "graph", the rung the automatic choice ran in "rung".

What to measure comes from the plan the TypeScript planner wrote
(src/sweep/plan.ts: `node dist/src/sweep/cli.js run` leaves it in the run
folder as plan.json, `node dist/src/sweep/cli.js plan --out FILE` writes one):
every configuration with its shape, its per-request cache lengths, seed,
timing, trials and implementations ("torch": PyTorch alone; "flashmla": the
side-by-side pair). This script only builds the tensors, times the calls and
appends one raw measurement (a JSON object a line, fsync'ed) per trial. The
FLOP and byte counts and the CSV stay on the TypeScript side:
`node dist/src/sweep/cli.js ingest --run <run>` turns the raw logs into
results-torch.csv and results-sidebyside.csv (src/sweep/ingest.ts documents the
record). Re-running resumes: trials already in a raw log are skipped.
libmla is kernels/build/libmla.so, or $MLA_LIB.

Usage:
  python3 baselines/torch_mla_decode.py --out data/runs/<run> [--plan FILE (default <run>/plan.json)] [--retry-errors]
  python3 baselines/torch_mla_decode.py --check      (GPU: the PyTorch decode against a float64 reference)
Exit status: 0 on success or when torch/CUDA/flash_mla/libmla is absent (it says so, and records why in
<run>/baselines.json), 1 on bad input (no plan, a plan of another schema).
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import subprocess
import sys

PLAN_SCHEMA = "mla-plan/1"
D_K = 576
D_V = 512
# How a side-by-side trial is timed (the results CSV's `timing`), in this order within a trial.
SBS_TIMINGS = ("events", "graph")
# kernelVersion of each side-by-side implementation: ours is the automatic choice (0), FlashMLA has none.
SBS_VERSION = {"flashmla": "", "ours": 0}


def load_plan(path):
    """The plan file as written by src/sweep/plan.ts (validated there); the checks a baseline needs."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        plan = json.loads(raw)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: cannot read the plan {path}: {e} (write one with `node dist/src/sweep/cli.js plan --out {path}`)")
    if not isinstance(plan, dict) or plan.get("schema") != PLAN_SCHEMA:
        raise SystemExit(f"error: {path}: field 'schema' must be \"{PLAN_SCHEMA}\", got {plan.get('schema') if isinstance(plan, dict) else plan!r}")
    if not isinstance(plan.get("configs"), list) or not plan["configs"]:
        raise SystemExit(f"error: {path}: field 'configs' must be a non-empty list")
    plan["sha256"] = hashlib.sha256(raw).hexdigest()
    return plan


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class RawLog:
    """Append-only log of raw measurements, one JSON object a line, fsync'ed after each: a crash loses at
    most the line in flight, and a torn last line is cut off when the log is opened again."""

    def __init__(self, path):
        self.path = path
        self.status = {}
        if os.path.exists(path):
            with open(path, "rb") as fh:
                data = fh.read()
            cut = data.rfind(b"\n") + 1
            if cut < len(data):
                with open(path, "r+b") as fh:
                    fh.truncate(cut)
            for n, line in enumerate(data[:cut].decode("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    self.status[self.key(r)] = r["status"]
                except (ValueError, KeyError, TypeError) as e:
                    raise SystemExit(f"error: {path} line {n} is not a raw measurement ({e}); move the file away to start afresh")
        self.fh = open(path, "a", encoding="utf-8")

    @staticmethod
    def key(r):
        # a record of a log written before `timing` existed was timed with events
        return (r["sweep"], r["configId"], r["impl"], str(r.get("kernelVersion", "")), r.get("timing", "events"), r["trial"])

    def append(self, r):
        self.fh.write(json.dumps(r) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.status[self.key(r)] = r["status"]

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
    # Lengths that end mid-page, on a page boundary, inside the first page and barely above s_q.
    for (b, s_q, h_q, h_kv, causal, lens) in [(3, 1, 16, 1, False, [150, 64, 211]), (2, 2, 8, 2, True, [130, 97]),
                                              (4, 4, 16, 1, True, [150, 5, 70, 256])]:
        c = {"b": b, "sQ": s_q, "hQ": h_q, "hKv": h_kv, "causal": causal, "dtype": "bf16", "pageBlock": 64, "seed": 5,
             "seqlens": lens}
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


class CallTimer:
    """Microseconds per call of fn, one trial at a time: the one timer every implementation goes through
    (PyTorch, FlashMLA, ours), so that all are measured alike.

    graph=False ("events"): each trial makes `warmup` untimed calls, then CUDA events around `iters`
    back-to-back calls. graph=True ("graph"): built once, fn is called max(3, warmup) times on a side stream
    (as capture requires: lazy initialisation happens outside the graph), then `iters` calls are captured into
    one CUDA graph; each trial replays it once untimed (the warm-up), then CUDA events around one replay.
    The launch overhead of the calls drops out, their device time stays."""

    def __init__(self, torch, fn, warmup, iters, graph=False):
        self.torch, self.fn, self.warmup, self.iters = torch, fn, warmup, iters
        self.graph = None
        if graph:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(max(3, warmup)):
                    fn()
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                for _ in range(iters):
                    fn()
            self.graph = g

    def trial(self):
        torch = self.torch
        if self.graph is None:
            for _ in range(self.warmup):
                self.fn()
        else:
            self.graph.replay()
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        if self.graph is None:
            for _ in range(self.iters):
                self.fn()
        else:
            self.graph.replay()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) * 1000.0 / self.iters

    __call__ = trial

    def close(self):
        self.graph = None
        self.fn = None


def time_calls(torch, fn, warmup, iters, graph=False):
    """One trial of CallTimer: microseconds per call of fn (`warmup` untimed calls, then events around `iters`)."""
    t = CallTimer(torch, fn, warmup, iters, graph)
    try:
        return t.trial()
    finally:
        t.close()


def torch_runner(torch, prob):
    """The plain PyTorch decode on one problem, as a callable."""
    return lambda: torch_decode(torch, prob["q"], prob["kvcache"], prob["block_table"], prob["seqlens"],
                                prob["max_len"], prob["causal"], prob["scale"])


def flashmla_runner(torch, fm, prob, c):
    """FlashMLA's own API on one problem, as its tests/test_flash_mla.py calls it, as a callable."""
    meta, splits = fm.get_mla_metadata(prob["seqlens"], c["sQ"] * c["hQ"] // c["hKv"], c["hKv"])
    return lambda: fm.flash_mla_with_kvcache(prob["q"], prob["kvcache"], prob["block_table"], prob["seqlens"], D_V,
                                             meta, splits, causal=prob["causal"])


class OutputMismatch(Exception):
    """Ours and FlashMLA disagree on which outputs are finite: ours is not timed on that configuration."""


def rel_diff(torch, got, ref):
    """max |got - ref| / max |ref| over the elements; None when the layouts differ (not comparable).
    Raises OutputMismatch when one is finite where the other is not (a NaN, an infinity in one only)."""
    if tuple(got.shape) != tuple(ref.shape):
        return None
    got, ref = got.float(), ref.float()
    fin = torch.isfinite(ref)
    if not torch.equal(fin, torch.isfinite(got)):
        bad = int((fin != torch.isfinite(got)).sum().item())
        raise OutputMismatch(f"{bad} of {ref.numel()} elements are finite in one output and not in the other")
    # +inf rows (no key seen) agree on both sides when finiteness agrees: compare the finite ones
    if not bool(fin.any()):
        return 0.0
    d = (got - ref)[fin].abs().max()
    return (d / ref[fin].abs().max().clamp_min(1e-30)).item()


def compare_outputs(torch, ours, ref):
    """Ours's (out, lse) against the reference's: {"outRelDiff", "lseRelDiff"} (None where the layouts differ)."""
    try:
        out = rel_diff(torch, ours[0], ref[0])
    except OutputMismatch as e:
        raise OutputMismatch(f"output: {e}") from None
    try:
        lse = rel_diff(torch, ours[1], ref[1])
    except OutputMismatch as e:
        raise OutputMismatch(f"log-sum-exp: {e}") from None
    return {"outRelDiff": out, "lseRelDiff": lse}


def fmt_error(e):
    return f"{type(e).__name__}: {e}".strip()


def measure_impl(configs, impl, kernel_name, build, timer, log, retry_errors=False, cleanup=None, say=None):
    """Times every trial of `impl` on `configs` (plan entries) that `log` does not hold yet, or holds as an
    error with retry_errors; one raw record per trial, in plan order. build(c) returns the callable to time
    (holding its tensors), timer(fn, warmup, iters) its microseconds per call (time_calls). A configuration
    that fails (an exception from build or timer: out of memory, an unsupported shape) is recorded as an
    error for its remaining trials and the next one is measured, as the TypeScript runner does."""
    say = say or (lambda m: print(m, file=sys.stderr, flush=True))
    for n, c in enumerate(configs, 1):
        def record(t, **outcome):
            return {"sweep": c["sweep"], "configId": c["configId"], "impl": impl, "kernelVersion": "", "rung": "",
                    "kernelName": kernel_name, "timing": "events", "trial": t, **outcome}

        def done(t):
            st = log.status.get(RawLog.key(record(t)))
            return st == "ok" or (st is not None and not retry_errors)

        left = [t for t in range(c["trials"]) if not done(t)]
        say(f"{impl} {n}/{len(configs)} {c['sweep']}/{c['configId']}: {len(left)} trials to run")
        if not left:
            continue
        fn = None
        try:
            fn = build(c)
            while left:
                started = now()
                us = timer(fn, c["warmup"], c["iters"])
                log.append(record(left[0], us=us, status="ok", error="", startedAt=started))
                left.pop(0)
        except Exception as e:  # noqa: BLE001 (recorded, as the TS runner records a failing config)
            msg = fmt_error(e)
            started = now()
            for k, t in enumerate(left):
                why = msg if k == 0 else f"not run: trial {left[0]} failed: {msg}"
                log.append(record(t, us=None, status="error", error=why, startedAt=started))
            say(f"  error: {msg.splitlines()[0] if msg else msg}")
        finally:
            fn = None
            if cleanup:
                cleanup()


def measure_side_by_side(configs, impls, build, make_timer, log, retry_errors=False, cleanup=None, say=None):
    """Times every trial of the side-by-side implementations `impls` (e.g. ["flashmla", "ours"]) on `configs`
    that `log` does not hold yet (or holds as an error, with retry_errors): per trial, each implementation by
    each of SBS_TIMINGS, the implementations in `impls` order on even trials and reversed on odd ones.

    build(c) returns, per implementation of `impls`, a dict: "fn" (the callable to time; None when it could
    not be set up, with "error" saying why), "kernelVersion", "rung", "kernelName" (recorded on its rows),
    and for ours "check" ({"outRelDiff", "lseRelDiff"}, from compare_outputs). make_timer(fn, timing, warmup,
    iters) prepares a timer once per configuration (a CallTimer: a graph is captured once), a callable that
    times one trial and returns microseconds per call (its close(), if any, is called with the configuration
    done). A failure (of build, of a timer) is recorded as an error for that implementation and timing's
    remaining trials, and the rest goes on."""
    say = say or (lambda m: print(m, file=sys.stderr, flush=True))
    for n, c in enumerate(configs, 1):
        def record(impl, timing, t, side=None, **outcome):
            side = side or {}
            check = side.get("check") or {}
            return {"sweep": c["sweep"], "configId": c["configId"], "impl": impl, "kernelVersion": SBS_VERSION[impl],
                    "rung": side.get("rung", ""), "kernelName": side.get("kernelName", impl), "timing": timing,
                    "trial": t, "outRelDiff": check.get("outRelDiff"), "lseRelDiff": check.get("lseRelDiff"), **outcome}

        def done(impl, timing, t):
            st = log.status.get(RawLog.key(record(impl, timing, t)))
            return st == "ok" or (st is not None and not retry_errors)

        todo = {(impl, timing, t) for t in range(c["trials"]) for impl in impls for timing in SBS_TIMINGS
                if not done(impl, timing, t)}
        say(f"side by side ({' + '.join(impls)}) {n}/{len(configs)} {c['sweep']}/{c['configId']}: "
            f"{len(todo)} timings to run")
        if not todo:
            continue
        failed = {}  # (impl, timing) -> why its remaining trials are not run

        def fail(impl, timing, t, side, msg):
            started = now()
            if (impl, timing) in failed:
                log.append(record(impl, timing, t, side, us=None, status="error", error=f"not run: {failed[(impl, timing)]}",
                                  startedAt=started))
            else:
                failed[(impl, timing)] = f"trial {t} failed: {msg}"
                log.append(record(impl, timing, t, side, us=None, status="error", error=msg, startedAt=started))

        sides, timers = {}, {}
        try:
            try:
                sides = build(c)
            except Exception as e:  # noqa: BLE001 (recorded; the next configuration is measured)
                sides = {impl: {"fn": None, "error": fmt_error(e)} for impl in impls}
                say(f"  error: {fmt_error(e).splitlines()[0]}")
            for t in range(c["trials"]):
                for impl in (impls if t % 2 == 0 else list(reversed(impls))):
                    side = sides.get(impl) or {"fn": None, "error": f"build returned no {impl}"}
                    for timing in SBS_TIMINGS:
                        if (impl, timing, t) not in todo:
                            continue
                        if side.get("fn") is None:
                            fail(impl, timing, t, side, side.get("error") or "not set up")
                            continue
                        if (impl, timing) in failed:
                            fail(impl, timing, t, side, "")
                            continue
                        started = now()
                        try:
                            if (impl, timing) not in timers:
                                timers[(impl, timing)] = make_timer(side["fn"], timing, c["warmup"], c["iters"])
                            us = timers[(impl, timing)]()
                            log.append(record(impl, timing, t, side, us=us, status="ok", error="", startedAt=started))
                        except Exception as e:  # noqa: BLE001 (recorded)
                            fail(impl, timing, t, side, fmt_error(e))
                            say(f"  {impl} {timing} error: {fmt_error(e).splitlines()[0]}")
        finally:
            for tm in timers.values():
                close = getattr(tm, "close", None)
                if close:
                    close()
            sides = timers = None
            if cleanup:
                cleanup()


def side_by_side_builder(torch, fm, fm_version, mla, dev, say):
    """build(c) of measure_side_by_side for the real thing: one problem (make_problem) shared by FlashMLA
    (its own API, metadata planned here) and ours (libmla's automatic choice, planned here); one call of
    each, then ours's output and log-sum-exp against FlashMLA's."""
    def build(c):
        prob = make_problem(torch, c, dev)
        sides = {}
        if fm is not None:
            try:
                sides["flashmla"] = {"fn": flashmla_runner(torch, fm, prob, c), "kernelName": f"flash_mla {fm_version}"}
            except Exception as e:  # noqa: BLE001
                sides["flashmla"] = {"fn": None, "error": fmt_error(e), "kernelName": f"flash_mla {fm_version}"}
        if mla is not None:
            try:
                dec = mla.decoder(prob["q"], prob["kvcache"], prob["block_table"], prob["seqlens"],
                                  causal=prob["causal"], softmax_scale=prob["scale"])
                sides["ours"] = {"fn": dec, "rung": dec.kernel_version, "kernelName": mla.kernel_name(dec.kernel_version)}
            except Exception as e:  # noqa: BLE001
                sides["ours"] = {"fn": None, "error": fmt_error(e), "kernelName": "auto"}
        if sides.get("flashmla", {}).get("fn") is None or sides.get("ours", {}).get("fn") is None:
            return sides
        try:
            ref = sides["flashmla"]["fn"]()
            torch.cuda.synchronize()
        except Exception as e:  # noqa: BLE001 (a failing first call fails its side)
            sides["flashmla"].update(fn=None, error=fmt_error(e))
            return sides
        try:
            got = sides["ours"]["fn"]()
            torch.cuda.synchronize()
            chk = sides["ours"]["check"] = compare_outputs(torch, got, ref)
            say(f"  ours ({sides['ours']['kernelName']}) against FlashMLA: output {chk['outRelDiff']}, "
                f"log-sum-exp {chk['lseRelDiff']} (max |diff| / max |FlashMLA|)")
        except OutputMismatch as e:
            sides["ours"].update(fn=None, error=f"output check against FlashMLA failed: {e}")
        except Exception as e:  # noqa: BLE001
            sides["ours"].update(fn=None, error=fmt_error(e))
        return sides
    return build


def git_commit(root):
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return out if len(out) == 40 and all(ch in "0123456789abcdef" for ch in out) else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="run folder (data/runs/<run>): raw-torch.jsonl, raw-sidebyside.jsonl and baselines.json go there")
    ap.add_argument("--plan", help="the plan to measure (default: <out>/plan.json)")
    ap.add_argument("--retry-errors", action="store_true", help="measure again the trials recorded as errors")
    ap.add_argument("--check", action="store_true", help="compare the PyTorch decode with a float64 reference and exit")
    a = ap.parse_args()

    if a.check:
        import torch  # noqa: PLC0415
        if not torch.cuda.is_available():
            raise SystemExit("check needs a CUDA device")
        check_decode(torch, torch.device("cuda:0"))
        return 0
    if not a.out:
        ap.error("--out is required (or --check)")
    plan_path = a.plan or os.path.join(a.out, "plan.json")
    plan = load_plan(plan_path)
    os.makedirs(a.out, exist_ok=True)
    notes = {"date": now(), "command": sys.argv, "gitCommit": git_commit(root),
             "plan": {"file": plan_path, "sha256": plan["sha256"], "quick": plan.get("quick")},
             "sweeps": plan.get("sweeps", [])}

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
    mla = None
    if fm is not None:
        sys.dont_write_bytecode = True  # no baselines/__pycache__ left in the tree
        import libmla  # noqa: PLC0415 (baselines/libmla.py, beside this script)
        try:
            mla = libmla.Libmla()
            notes["libmla"] = {"available": True, "path": mla.path, "abi": mla.abi_version()}
        except libmla.MlaLoadError as e:
            notes["libmla"] = {"available": False, "reason": str(e)}
            print(f"ours not measured beside FlashMLA: {e}", file=sys.stderr)
    write_notes(a.out, notes)

    def wanting(impl):
        return [c for c in plan["configs"] if any(i.get("impl") == impl for i in c.get("implementations", []))]

    if wanting("torch"):
        log = RawLog(os.path.join(a.out, "raw-torch.jsonl"))
        try:
            measure_impl(wanting("torch"), "torch", f"torch {torch.__version__}",
                         lambda c: torch_runner(torch, make_problem(torch, c, dev)),
                         lambda fn, w, i: time_calls(torch, fn, w, i), log,
                         retry_errors=a.retry_errors, cleanup=torch.cuda.empty_cache)
        finally:
            log.close()
    if fm is not None and wanting("flashmla"):
        say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

        def make_timer(fn, timing, warmup, iters):
            return CallTimer(torch, fn, warmup, iters, graph=timing == "graph")

        log = RawLog(os.path.join(a.out, "raw-sidebyside.jsonl"))
        try:
            measure_side_by_side(wanting("flashmla"), ["flashmla"] + (["ours"] if mla is not None else []),
                                 side_by_side_builder(torch, fm, notes["flashmla"]["version"], mla, dev, say),
                                 make_timer, log, retry_errors=a.retry_errors, cleanup=torch.cuda.empty_cache, say=say)
        finally:
            log.close()
    print(f"raw measurements in {a.out}/raw-*.jsonl; `node dist/src/sweep/cli.js ingest --run {a.out}` makes results-*.csv of them",
          file=sys.stderr)
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


if __name__ == "__main__":
    sys.exit(main())
