import { strict as assert } from "assert";
import {
  buildPagedKvCache, combinePartials, decodeHalf, DecodeProblem, gatherKv, MlaArgumentError, randomDecodeProblem,
  randomHalf, referenceDecode, Rng, splitKvDecode, splitKvPartials, validatePagedKvCache,
} from "../src/index";

/** Textbook attention written independently of src/: exp without max-subtraction, plain arrays. */
function bruteForce(p: DecodeProblem) {
  const { b, sQ, hQ } = p;
  const { hKv, headDim: dK } = p.cache;
  const dV = p.dV ?? 512;
  const scale = p.softmaxScale ?? 1 / Math.sqrt(dK);
  const q = decodeHalf(p.cache.dtype, p.q);
  const out = new Float64Array(b * sQ * hQ * dV);
  const lse = new Float64Array(b * hQ * sQ);
  for (let r = 0; r < b; r++) {
    const kv = gatherKv(p.cache, r);
    const sK = p.cache.cacheSeqlens[r];
    for (let i = 0; i < sQ; i++) {
      for (let h = 0; h < hQ; h++) {
        const g = Math.floor(h / (hQ / hKv));
        const w: number[] = [];
        for (let j = 0; j < sK; j++) {
          if (p.causal && j > sK - sQ + i) continue;
          let s = 0;
          for (let d = 0; d < dK; d++) s += q[((r * sQ + i) * hQ + h) * dK + d] * kv[(j * hKv + g) * dK + d];
          w.push(j, Math.exp(s * scale));
        }
        let z = 0;
        for (let k = 1; k < w.length; k += 2) z += w[k];
        lse[(r * hQ + h) * sQ + i] = w.length ? Math.log(z) : Infinity;
        for (let k = 0; k < w.length; k += 2) {
          for (let d = 0; d < dV; d++) out[((r * sQ + i) * hQ + h) * dV + d] += (w[k + 1] / z) * kv[(w[k] * hKv + g) * dK + d];
        }
      }
    }
  }
  return { out, lse };
}

function assertClose(a: Float64Array, b: Float64Array, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what} length`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue; // covers matching infinities
    const err = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    assert.ok(err <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

describe("paged KV cache", () => {
  it("gathers each request's tokens back in order from shuffled pages", () => {
    const rng = new Rng(5);
    const lens = [130, 64, 1, 0];
    const reqs = lens.map((l) => randomHalf("bf16", l * 2 * 8, rng));
    const cache = buildPagedKvCache({ dtype: "bf16", hKv: 2, headDim: 8, requests: reqs, rng, fill: "nan" });
    assert.equal(cache.blockSize, 64);
    assert.equal(cache.maxBlocksPerSeq, 3);
    assert.equal(cache.numBlocks, 3 + 1 + 1 + 1); // pages used + the NaN spare page
    assert.deepEqual(Array.from(cache.cacheSeqlens), lens);
    lens.forEach((l, i) => assert.deepEqual(Array.from(gatherKv(cache, i)), Array.from(decodeHalf("bf16", reqs[i]))));
    // the pages are not simply 0,1,2,...: the shuffle happened
    assert.notDeepEqual(Array.from(cache.blockTable.subarray(0, 3)), [0, 1, 2]);
  });

  it("validates lengths, page indices and buffer sizes", () => {
    const cache = buildPagedKvCache({ dtype: "fp16", hKv: 1, headDim: 4, requests: [new Float64Array(70 * 4)] });
    const bad = (patch: object, re: RegExp) => assert.throws(() => validatePagedKvCache("t", { ...cache, ...patch }), re);
    bad({ cacheSeqlens: Int32Array.from([-1]) }, /cacheSeqlens\[0\].*>= 0/);
    bad({ cacheSeqlens: Int32Array.from([129]) }, /pages given/);
    bad({ blockTable: Int32Array.from([0, 7]) }, /blockTable\[0, 1\].*block index/);
    bad({ kvcache: new Uint16Array(3) }, /kvcache.*length/);
    bad({ dtype: "fp32" }, /dtype/);
    assert.throws(() => buildPagedKvCache({ dtype: "bf16", hKv: 1, headDim: 4, requests: [new Float64Array(5)] }), /multiple of hKv\*headDim/);
    assert.throws(() => gatherKv(cache, 1), /request/);
  });
});

describe("reference decode", () => {
  const cases = [
    { dtype: "bf16" as const, sQ: 1, hQ: 4, hKv: 1, seqlens: [37, 64, 130], causal: false },
    { dtype: "fp16" as const, sQ: 2, hQ: 6, hKv: 3, seqlens: [5, 70, 1], causal: true },
    { dtype: "bf16" as const, sQ: 4, hQ: 2, hKv: 2, seqlens: [3, 0, 129], causal: true },
    { dtype: "fp16" as const, sQ: 3, hQ: 3, hKv: 1, seqlens: [9, 2], causal: false },
  ];
  cases.forEach((c, k) => {
    it(`matches brute-force attention: ${JSON.stringify(c)}`, () => {
      const p = randomDecodeProblem({ ...c, seed: 100 + k, dK: 24, dV: 16 });
      const ref = referenceDecode(p);
      const bf = bruteForce(p);
      assertClose(ref.out, bf.out, 1e-12, "out");
      assertClose(ref.lse, bf.lse, 1e-12, "lse");
      for (const v of ref.out) assert.ok(Number.isFinite(v), "NaN from the poisoned cache leaked into the output");
    });
  });

  it("uses the 576/512 DeepSeek shape and 1/sqrt(576) by default", () => {
    const p = randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 2, hKv: 1, seqlens: [3], causal: false, seed: 3 });
    const r = referenceDecode(p);
    assert.equal(r.out.length, 2 * 512);
    const scaled = referenceDecode({ ...p, softmaxScale: 1 / Math.sqrt(576) });
    assert.deepEqual(Array.from(r.lse), Array.from(scaled.lse));
    const other = referenceDecode({ ...p, softmaxScale: 0.1 });
    assert.notDeepEqual(Array.from(r.lse), Array.from(other.lse));
  });

  it("aligns the causal mask to the end of the sequence", () => {
    // With s_q = 2 and s_k = 5, query 0 sees keys 0..3 and query 1 sees 0..4:
    // query 0 must equal a non-causal decode over the first 4 tokens.
    const p = randomDecodeProblem({ dtype: "bf16", sQ: 2, hQ: 1, hKv: 1, seqlens: [5], causal: true, seed: 8, dK: 8, dV: 4 });
    const full = referenceDecode(p);
    const kv = gatherKv(p.cache, 0);
    const first4 = buildPagedKvCache({ dtype: "bf16", hKv: 1, headDim: 8, requests: [kv.subarray(0, 4 * 8)] });
    const q0 = p.q.subarray(0, 8);
    const trunc = referenceDecode({ q: q0, b: 1, sQ: 1, hQ: 1, cache: first4, causal: false, dV: 4 });
    assertClose(full.out.subarray(0, 4), trunc.out, 1e-15, "query 0");
    assert.equal(full.lse[0], trunc.lse[0]);
  });

  it("gives out = 0 and lse = +inf for a zero-length request or fully masked row", () => {
    const p = randomDecodeProblem({ dtype: "fp16", sQ: 3, hQ: 2, hKv: 1, seqlens: [0, 1], causal: true, seed: 4, dK: 8, dV: 4 });
    const r = referenceDecode(p);
    for (let i = 0; i < 3 * 2 * 4; i++) assert.equal(r.out[i], 0);
    for (let i = 0; i < 2 * 3; i++) assert.equal(r.lse[i], Infinity);
    // request 1 has one key: queries 0 and 1 see none, query 2 sees it
    assert.equal(r.lse[6], Infinity);
    assert.equal(r.lse[7], Infinity);
    assert.ok(Number.isFinite(r.lse[8]));
  });

  it("rejects bad arguments with a typed error naming the argument", () => {
    const p = randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 4, hKv: 2, seqlens: [3, 4], causal: false, seed: 1, dK: 8, dV: 4 });
    const rejects = (patch: object, arg: string) =>
      assert.throws(() => referenceDecode({ ...p, ...patch } as DecodeProblem), (e: unknown) => e instanceof MlaArgumentError && e.argument === arg);
    rejects({ hQ: 3 }, "hQ");
    rejects({ b: 3 }, "b");
    rejects({ sQ: 0 }, "sQ");
    rejects({ q: new Uint16Array(5) }, "q");
    rejects({ q: new Float32Array(32) }, "q");
    rejects({ dV: 9 }, "dV");
    rejects({ softmaxScale: NaN }, "softmaxScale");
    rejects({ causal: 1 }, "causal");
    assert.throws(() => randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 3, hKv: 2, seqlens: [1], causal: false, seed: 1 }), /divisible/);
    assert.throws(() => randomDecodeProblem({ dtype: "bf16", sQ: 1, hQ: 2, hKv: 1, seqlens: [-4], causal: false, seed: 1 }), /seqlens\[0\]/);
  });
});

describe("split-KV reference", () => {
  const p = randomDecodeProblem({ dtype: "bf16", sQ: 3, hQ: 4, hKv: 2, seqlens: [200, 0, 64, 7], causal: true, seed: 77, dK: 20, dV: 12 });
  const ref = referenceDecode(p);
  for (const chunk of [1, 7, 64, 100, 1000]) {
    it(`equals the single pass for chunks of ${chunk} tokens`, () => {
      const s = splitKvDecode(p, chunk);
      assertClose(s.out, ref.out, 1e-13, "out");
      assertClose(s.lse, ref.lse, 1e-13, "lse");
    });
  }
  it("equals the single pass for random uneven chunkings", () => {
    const rng = new Rng(12);
    for (let trial = 0; trial < 5; trial++) {
      const s = splitKvDecode(p, (_r, sK) => {
        const cuts = new Set<number>([0, sK]);
        for (let k = 0; k < 4; k++) if (sK > 1) cuts.add(rng.int(1, sK));
        return [...cuts].sort((a, b) => a - b);
      });
      assertClose(s.out, ref.out, 1e-13, "out");
      assertClose(s.lse, ref.lse, 1e-13, "lse");
    }
  });
  it("a partial that ignores its LSE weights gives the wrong answer (the combine matters)", () => {
    const parts = splitKvPartials(p, 50);
    const flat = parts.map((ps) => ps.map((x) => ({ ...x, lse: x.lse.map((v) => (v === -Infinity ? v : 0)) })));
    const wrong = combinePartials(flat, 3, 4, 12);
    let diff = 0;
    for (let i = 0; i < ref.out.length; i++) diff = Math.max(diff, Math.abs(wrong.out[i] - ref.out[i]));
    assert.ok(diff > 1e-3);
  });
  it("rejects malformed chunkings", () => {
    assert.throws(() => splitKvDecode(p, 0), /chunking/);
    assert.throws(() => splitKvDecode(p, () => [0, 5]), /strictly increasing/);
  });
});
