import { strict as assert } from "assert";
import {
  arithmeticIntensity, attainableFlops, DATASHEETS, datasheetFor, decodeBytes, decodeFlops, ridgePoint, rooflineTimeSeconds,
} from "../src/index";

describe("FLOP and byte accounting (FlashMLA's formulas)", () => {
  const s = { b: 128, sQ: 1, hQ: 128, hKv: 1, meanSk: 8192 };
  it("counts FLOPs as 2*b*h_q*s_q*s_k*(576+512)", () => {
    assert.equal(decodeFlops(s), 2 * 128 * 128 * 1 * 8192 * 1088);
    assert.equal(decodeFlops({ ...s, sQ: 2 }), 2 * decodeFlops(s));
  });
  it("counts bytes as 2*b*(s_q*h_q*576 + s_k*h_kv*576 + s_q*h_q*512)", () => {
    assert.equal(decodeBytes(s), 2 * 128 * (128 * 576 + 8192 * 576 + 128 * 512));
    assert.equal(decodeBytes({ b: 1, sQ: 1, hQ: 1, hKv: 1, meanSk: 0 }), 2 * (576 + 512));
  });
  it("gives an intensity near h_q*s_q*1088/576 (about 1.9*h_q*s_q) for long caches", () => {
    const i = arithmeticIntensity({ ...s, meanSk: 1e9 });
    assert.ok(Math.abs(i - (128 * 1088) / 576) < 1e-3);
  });
  it("computes attainable rate and ridge point", () => {
    const c = { flops: 800e12, bandwidth: 3e12 };
    assert.ok(Math.abs(ridgePoint(c) - 266.666) < 1e-2);
    assert.equal(attainableFlops(10, c), 30e12);
    assert.equal(attainableFlops(1000, c), 800e12);
    const t = rooflineTimeSeconds({ ...s, hQ: 16 }, c);
    assert.equal(t, decodeBytes({ ...s, hQ: 16 }) / 3e12);
  });
  it("knows the three Hopper parts and matches device names", () => {
    assert.equal(DATASHEETS["H100-SXM5"].bandwidth, 3.35e12);
    assert.equal(DATASHEETS["H200-SXM"].bandwidth, 4.8e12);
    assert.equal(datasheetFor("NVIDIA H100 80GB HBM3"), DATASHEETS["H100-SXM5"]);
    assert.equal(datasheetFor("NVIDIA H200"), DATASHEETS["H200-SXM"]);
    assert.equal(datasheetFor("NVIDIA A100"), undefined);
  });
  it("rejects bad shapes", () => {
    assert.throws(() => decodeFlops({ ...s, hQ: 3, hKv: 2 }), /divisible/);
    assert.throws(() => decodeBytes({ ...s, meanSk: -1 }), /meanSk/);
    assert.throws(() => ridgePoint({ flops: 0, bandwidth: 1 }), /ceilings.flops/);
  });
});
