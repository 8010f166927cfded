import { strict as assert } from "assert";
import {
  bf16BitsToF32, decodeHalf, encodeHalf, f32ToBf16Bits, f32ToFp16Bits, fp16BitsToF32, MlaArgumentError,
} from "../src/index";

describe("bf16", () => {
  it("encodes exact bit patterns", () => {
    assert.equal(f32ToBf16Bits(1.0), 0x3f80);
    assert.equal(f32ToBf16Bits(-2.0), 0xc000);
    assert.equal(f32ToBf16Bits(0), 0x0000);
    assert.equal(f32ToBf16Bits(-0), 0x8000);
    assert.equal(f32ToBf16Bits(Infinity), 0x7f80);
    assert.equal(f32ToBf16Bits(-Infinity), 0xff80);
    assert.equal(f32ToBf16Bits(3.140625), 0x4049);
  });
  it("rounds to nearest, ties to even", () => {
    // 1 + 2^-8 lies exactly halfway between 1 (0x3F80, even) and 1+2^-7 (0x3F81): stays even.
    assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80);
    // 1 + 3*2^-8 is halfway between 0x3F81 (odd) and 0x3F82 (even): goes up.
    assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
    // Just above the tie rounds up.
    assert.equal(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
    // Largest finite float32 overflows to Inf in bf16.
    assert.equal(f32ToBf16Bits(3.4028234663852886e38), 0x7f80);
  });
  it("keeps subnormals and NaN", () => {
    // Smallest float32 subnormal 2^-149 rounds to zero in bf16 (below half an ulp of 2^-133).
    assert.equal(f32ToBf16Bits(2 ** -149), 0x0000);
    assert.equal(f32ToBf16Bits(2 ** -133), 0x0001); // smallest bf16 subnormal
    assert.equal(bf16BitsToF32(0x0001), 2 ** -133);
    const n = f32ToBf16Bits(NaN);
    assert.ok(Number.isNaN(bf16BitsToF32(n)));
    assert.equal(n & 0x7f80, 0x7f80);
    assert.notEqual(n & 0x007f, 0);
  });
  it("round-trips every bf16 value exactly", () => {
    for (let b = 0; b < 65536; b++) {
      const v = bf16BitsToF32(b);
      if (Number.isNaN(v)) continue;
      assert.equal(f32ToBf16Bits(v), b, `bits 0x${b.toString(16)}`);
    }
  });
});

describe("fp16", () => {
  it("encodes exact bit patterns", () => {
    assert.equal(f32ToFp16Bits(1.0), 0x3c00);
    assert.equal(f32ToFp16Bits(-2.0), 0xc000);
    assert.equal(f32ToFp16Bits(65504), 0x7bff);
    assert.equal(f32ToFp16Bits(65520), 0x7c00); // halfway to the next binade: rounds to even -> Inf
    assert.equal(f32ToFp16Bits(Infinity), 0x7c00);
    assert.equal(f32ToFp16Bits(-Infinity), 0xfc00);
  });
  it("rounds to nearest, ties to even, including subnormals", () => {
    assert.equal(f32ToFp16Bits(1 + 2 ** -11), 0x3c00); // tie, stays even
    assert.equal(f32ToFp16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie, rounds to even above
    assert.equal(f32ToFp16Bits(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(f32ToFp16Bits(2 ** -25), 0x0000); // exact tie with 0: even
    assert.equal(f32ToFp16Bits(3 * 2 ** -25), 0x0002); // tie between 1 and 2 units: even
    assert.equal(f32ToFp16Bits(2 ** -14), 0x0400); // smallest normal
    assert.equal(f32ToFp16Bits(2 ** -14 - 2 ** -25), 0x0400); // carries from subnormal into normal
    assert.equal(fp16BitsToF32(0x0001), 2 ** -24);
  });
  it("keeps NaN", () => {
    const n = f32ToFp16Bits(NaN);
    assert.equal(n & 0x7c00, 0x7c00);
    assert.notEqual(n & 0x03ff, 0);
  });
  it("round-trips every fp16 value exactly", () => {
    for (let b = 0; b < 65536; b++) {
      const v = fp16BitsToF32(b);
      if (Number.isNaN(v)) continue;
      assert.equal(f32ToFp16Bits(v), b, `bits 0x${b.toString(16)}`);
    }
  });
});

describe("encodeHalf / decodeHalf", () => {
  it("round-trip arrays and reject bad dtypes", () => {
    const bits = encodeHalf("bf16", [1, -2, 0.5]);
    assert.deepEqual(Array.from(decodeHalf("bf16", bits)), [1, -2, 0.5]);
    assert.throws(() => encodeHalf("fp8" as never, [1]), MlaArgumentError);
    assert.throws(() => decodeHalf("fp16", [1] as never), /Uint16Array/);
  });
});
