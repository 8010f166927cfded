import { strict as assert } from "assert";
import { compareWithReference, encodeHalf, errorStats, randomDecodeProblem, referenceDecode, withinTolerance } from "../src/index";

describe("comparing a 16-bit output with the float64 reference", () => {
  const p = randomDecodeProblem({ dtype: "bf16", sQ: 2, hQ: 4, hKv: 1, seqlens: [70, 0], causal: true, seed: 9, dK: 576, dV: 512 });
  const ref = referenceDecode(p);
  const maxAbs = ref.out.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const asKernel = () => ({ out: encodeHalf("bf16", ref.out), lse: Float32Array.from(ref.lse) });

  it("accepts the reference rounded to bf16 (what a perfect kernel returns)", () => {
    const k = asKernel();
    const c = compareWithReference("bf16", k.out, k.lse, ref);
    assert.equal(withinTolerance("bf16", c, maxAbs), null);
    assert.ok(c.relErr > 0 && c.relErr < 2 ** -8);
  });
  it("rejects a flipped exponent bit, a NaN, and an empty row reported as non-empty", () => {
    const a = asKernel();
    a.out[5] ^= 0x4000;
    assert.match(withinTolerance("bf16", compareWithReference("bf16", a.out, a.lse, ref), maxAbs) ?? "", /error/);
    const b = asKernel();
    b.out[7] = 0x7fc0;
    assert.match(withinTolerance("bf16", compareWithReference("bf16", b.out, b.lse, ref), maxAbs) ?? "", /non-finite/);
    const c = asKernel();
    const empty = Array.from(ref.lse).findIndex((v) => v === Infinity);
    c.lse[empty] = 0;
    assert.match(withinTolerance("bf16", compareWithReference("bf16", c.out, c.lse, ref), maxAbs) ?? "", /\+inf/);
  });
  it("computes relative and cosine error of plain arrays, and rejects mismatched lengths", () => {
    const s = errorStats([1, 2, 3], [1, 2, 4]);
    assert.ok(Math.abs(s.relErr - 1 / Math.sqrt(21)) < 1e-15);
    assert.equal(errorStats([1, 2], [1, 2]).cosDist, 0);
    assert.throws(() => errorStats([1], [1, 2]), /errorStats/);
  });
});
