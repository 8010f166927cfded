/**
 * The kernels against the float64 reference, over a matrix as wide as
 * FlashMLA's own test. Runs where a CUDA device and kernels/build/libmla.so
 * exist; elsewhere every case is reported pending with the reason.
 *
 * Inputs are fresh random normals per case; cache slots past each request's
 * length, the spare page and unused block-table entries hold NaN; outputs
 * are poisoned with NaN before every launch.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  compareWithReference, HalfDtype, MlaArgumentError, numSmParts, planSchedule, randomDecodeProblem, referenceDecode, Rng,
  scheduleToInts, withinTolerance,
} from "../src/index";
import { gpuAvailability, MlaGpu, STATUS } from "../src/gpu";
import { decodeFlops } from "../src/roofline/accounting";

export interface GpuCase {
  dtype: HalfDtype;
  b: number;
  sQ: number;
  sK: number;
  hQ: number;
  hKv: number;
  varlen: boolean;
  causal: boolean;
  /** number of requests forced to length 0 */
  zeros: number;
  seed: number;
}

const AXES = {
  b: [1, 2, 6, 64],
  sQ: [1, 2, 4],
  sK: [20, 140, 4096],
  hQ: [1, 3, 9, 63, 64, 126, 128],
  hKv: [1, 2, 3, 8],
};

/** Reference cost in FLOPs (what the CPU must do per case). */
function cost(c: GpuCase): number {
  return decodeFlops({ b: c.b, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, meanSk: c.sK });
}

/**
 * A sample of the full product that covers every value of every axis, under
 * a per-case CPU budget, deterministic for a given seed. Each axis value is
 * paired with random values of the others until a combination is valid
 * (h_q % h_kv == 0) and cheap enough; then random extra cases are added.
 */
export function gpuCaseMatrix(seed = 2024, extra = 32, budget = 2.5e9): GpuCase[] {
  const rng = new Rng(seed);
  const pick = <T>(a: T[]) => a[rng.int(0, a.length)];
  const cases: GpuCase[] = [];
  const draw = (fixed: Partial<GpuCase>): GpuCase => {
    for (let tries = 0; tries < 10000; tries++) {
      const hKv = fixed.hKv ?? pick(AXES.hKv);
      const c: GpuCase = {
        dtype: fixed.dtype ?? pick(["bf16", "fp16"] as HalfDtype[]),
        b: fixed.b ?? pick(AXES.b),
        sQ: fixed.sQ ?? pick(AXES.sQ),
        sK: fixed.sK ?? pick(AXES.sK),
        hQ: fixed.hQ ?? pick(AXES.hQ.filter((h) => h % hKv === 0).concat(hKv)),
        hKv,
        varlen: fixed.varlen ?? rng.uniform() < 0.5,
        causal: fixed.causal ?? rng.uniform() < 0.5,
        zeros: fixed.zeros ?? 0,
        seed: rng.int(0, 2 ** 31),
      };
      if (c.hQ % c.hKv === 0 && cost(c) <= budget) return c;
    }
    throw new Error(`no affordable case with ${JSON.stringify(fixed)}`);
  };
  for (const [axis, values] of Object.entries(AXES)) for (const v of values) cases.push(draw({ [axis]: v } as Partial<GpuCase>));
  for (const dtype of ["bf16", "fp16"] as HalfDtype[]) {
    for (const causal of [false, true]) for (const varlen of [false, true]) cases.push(draw({ dtype, causal, varlen }));
  }
  // Batches where some requests have zero length (one, and all of them).
  cases.push(draw({ b: 6, zeros: 2, varlen: true }), draw({ b: 2, zeros: 2 }), draw({ b: 64, sK: 140, zeros: 5, varlen: true }));
  for (let k = 0; k < extra; k++) cases.push(draw({}));
  return cases;
}

export function caseSeqlens(c: GpuCase): number[] {
  const rng = new Rng(c.seed ^ 0x5eed);
  const lens = Array.from({ length: c.b }, () => (c.varlen ? rng.int(Math.max(1, Math.floor(c.sK / 4)), c.sK + 1) : c.sK));
  for (let k = 0; k < Math.min(c.zeros, c.b); k++) lens[rng.int(0, c.b)] = 0;
  if (c.zeros >= c.b) lens.fill(0);
  return lens;
}

const avail = gpuAvailability();
const resultRows: string[] = [];

const suiteTitle = avail.available
  ? `GPU decode kernels vs the float64 reference on ${avail.device.name}`
  : `GPU decode kernels vs the float64 reference: PENDING, ${avail.reason}`;

describe(suiteTitle, function () {
  this.timeout(600000);
  let gpu: MlaGpu;
  before(function () {
    if (!avail.available) {
      this.skip(); // pending with the reason in the suite title, never passed

    }
    gpu = MlaGpu.open();
  });

  after(() => {
    const dir = process.env.MLA_GPU_RESULTS_DIR;
    if (dir && resultRows.length && avail.available) {
      fs.mkdirSync(dir, { recursive: true });
      const header = "kernel_version,kernel,dtype,b,s_q,s_k,h_q,h_kv,varlen,causal,zeros,rel_err,cos_dist,max_abs_err,lse_max_rel_err,result";
      fs.writeFileSync(path.join(dir, "gpu-correctness.csv"), [header, ...resultRows].join("\n") + "\n");
    }
  });

  const cases = gpuCaseMatrix();
  for (const c of cases) {
    const name = `${c.dtype} b=${c.b} s_q=${c.sQ} s_k=${c.sK}${c.varlen ? " var" : ""} h_q=${c.hQ} h_kv=${c.hKv}${c.causal ? " causal" : ""}${c.zeros ? ` zeros=${c.zeros}` : ""}`;
    it(name, function () {
      const problem = randomDecodeProblem({ dtype: c.dtype, sQ: c.sQ, hQ: c.hQ, hKv: c.hKv, seqlens: caseSeqlens(c), causal: c.causal, seed: c.seed });
      const ref = referenceDecode(problem);
      let maxAbsRef = 0;
      for (const v of ref.out) maxAbsRef = Math.max(maxAbsRef, Math.abs(v));
      const failures: string[] = [];
      for (const kv of gpu.kernelVersions()) {
        const r = gpu.decode(problem, { kernelVersion: kv.version });
        const cmp = compareWithReference(c.dtype, r.out, r.lse, ref);
        const verdict = withinTolerance(c.dtype, cmp, maxAbsRef);
        resultRows.push([kv.version, kv.name, c.dtype, c.b, c.sQ, c.sK, c.hQ, c.hKv, c.varlen, c.causal, c.zeros,
          cmp.relErr.toExponential(3), cmp.cosDist.toExponential(3), cmp.maxAbsErr.toExponential(3), cmp.lseMaxRelErr.toExponential(3),
          verdict ? "FAIL" : "PASS"].join(","));
        if (verdict) failures.push(`v${kv.version} ${kv.name}: ${verdict}`);
      }
      assert.deepEqual(failures, []);
    });
  }

  it("the GPU tile scheduler writes exactly the schedule of the TS model", function () {
    const rng = new Rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const b = rng.int(1, 200);
      const lens = Int32Array.from({ length: b }, () => (rng.uniform() < 0.1 ? 0 : rng.int(1, 40000)));
      const [sQ, hQ, hKv] = [rng.int(1, 3), [16, 64, 128][rng.int(0, 3)], 1];
      const maxBlocks = Math.max(1, ...Array.from(lens, (l) => Math.ceil(l / 64)));
      const plan = gpu.plan(lens, sQ, hQ, hKv, maxBlocks);
      const model = planSchedule(Array.from(lens), plan.numSmParts);
      assert.equal(plan.numSmParts, numSmParts(gpu.props().smCount, sQ, hQ, hKv));
      assert.deepEqual(Array.from(plan.numSplits), model.numSplits);
      assert.deepEqual(Array.from(plan.sched), Array.from(scheduleToInts(model)));
    }
  });

  it("the tolerance check rejects a corrupted output (the suite can fail)", function () {
    const problem = randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 8, hKv: 1, seqlens: [100, 3], causal: false, seed: 5 });
    const ref = referenceDecode(problem);
    const r = gpu.decode(problem, { kernelVersion: 1 });
    r.out[17] ^= 0x4000; // flip an exponent bit
    const cmp = compareWithReference("bf16", r.out, r.lse, ref);
    assert.notEqual(withinTolerance("bf16", cmp, 1), null);
  });

  it("the TypeScript wrapper rejects shapes the kernel cannot run, naming the argument", function () {
    const ok = randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 4, hKv: 1, seqlens: [10], causal: false, seed: 7 });
    const small = randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 4, hKv: 1, seqlens: [10], causal: false, seed: 7, dK: 64, dV: 32 });
    const rejects = (p: object, arg: string) =>
      assert.throws(() => gpu.decode(p as never), (e: unknown) => e instanceof MlaArgumentError && e.argument === arg);
    rejects(small, "cache.headDim");
    rejects({ ...ok, dV: 256 }, "dV");
    rejects({ ...ok, b: 2 }, "b");
    rejects({ ...ok, q: new Uint16Array(7) }, "q");
    rejects({ ...ok, softmaxScale: -1 }, "softmaxScale");
    rejects({ ...ok, cache: { ...ok.cache, cacheSeqlens: Int32Array.from([-3]) } }, "cache.cacheSeqlens[0]");
    // and a good call still works afterwards
    assert.equal(gpu.decode(ok, { kernelVersion: 2 }).out.length, 4 * 512);
  });

  it("the C ABI rejects bad arguments with a message, and the process survives", function () {
    const problem = randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 4, hKv: 1, seqlens: [10], causal: false, seed: 6 });
    // the wrapper stops an out-of-range version before the C ABI, naming it
    assert.throws(() => gpu.decode(problem, { kernelVersion: 99 }), (e: unknown) => e instanceof MlaArgumentError && e.argument === "kernelVersion");
    // the C ABI itself: mla_decode(params, options, sched, num_splits, parts, workspace, workspace_bytes, stream)
    const lib = gpu.lib;
    const meta = Buffer.alloc(64); // non-NULL metadata: validation stops before reading it
    const shape = { dtype: "bf16" as const, b: 1, sQ: 1, hQ: 4, hKv: 1, numBlocks: 1, maxBlocksPerSeq: 1, causal: false, scale: 0.1 };
    const ptrs = { q: 1n, kv: 1n, table: 1n, seqlens: 1n, out: 1n, lse: 1n };
    assert.equal(lib.fn.mla_decode(gpu.params({ ...shape, ...ptrs, kernelVersion: 99 }), null, meta, meta, 1, null, 0, null), STATUS.UNSUPPORTED);
    assert.match(lib.fn.mla_last_error(), /kernel_version 99 out of range/);
    const bad = gpu.params({ ...shape, kernelVersion: 1, q: 0n, kv: 0n, table: 0n, seqlens: 0n, out: 0n, lse: 0n });
    assert.notEqual(lib.fn.mla_decode(bad, null, null, null, 1, null, 0, null), 0);
    assert.match(lib.fn.mla_last_error(), /params\.q is NULL/);
    assert.notEqual(lib.fn.mla_decode(gpu.params({ ...shape, ...ptrs, kernelVersion: 1 }), null, null, null, 1, null, 0, null), 0);
    assert.match(lib.fn.mla_last_error(), /metadata .* is NULL/);
    assert.notEqual(lib.fn.mla_decode({ ...gpu.params({ ...shape, ...ptrs, kernelVersion: 1 }), d_k: 128 }, null, meta, meta, 1, null, 0, null), 0);
    assert.match(lib.fn.mla_last_error(), /d_k=576/);
    const badHeads = gpu.params({ ...shape, ...ptrs, dtype: "fp16", hQ: 3, hKv: 2, kernelVersion: 1 });
    assert.notEqual(lib.fn.mla_decode(badHeads, null, meta, meta, 1, null, 0, null), 0);
    assert.ok(lib.fn.mla_last_error().length > 0);
  });
});

describe("GPU binding on any machine", () => {
  it("reports availability without crashing, with a reason when unavailable", () => {
    const a = gpuAvailability();
    if (a.available) assert.ok(a.device.smCount > 0);
    else assert.ok(a.reason.length > 10, a.reason);
  });
});
