/**
 * 16-bit floating point formats, stored as raw bit patterns in Uint16Array.
 *
 * bf16 is the top half of an IEEE float32 (8 exponent bits, 7 mantissa bits);
 * fp16 is IEEE binary16 (5 exponent bits, 10 mantissa bits). Both conversions
 * from float32 round to nearest, ties to even, as the GPU's cvt.rn does, so
 * a tensor rounded here is bit-identical to one rounded on the device.
 */
import { MlaArgumentError } from "../errors";

export type HalfDtype = "bf16" | "fp16";
export const HALF_DTYPES: readonly HalfDtype[] = ["bf16", "fp16"];

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 (given as a JS number, first rounded to float32) -> bf16 bits. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) {
    // NaN: keep the sign, force a quiet-NaN mantissa bit so truncation cannot make it Inf.
    return ((bits >>> 16) | 0x0040) & 0xffff;
  }
  // Round to nearest even on the 16 dropped bits.
  const lsb = (bits >>> 16) & 1;
  const rounded = (bits + 0x7fff + lsb) >>> 0;
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** float32 -> IEEE binary16 bits, round to nearest even, with subnormals. */
export function f32ToFp16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x007fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x0200 | (mant >>> 13) : 0);
  // Unbiased exponent; binary16 normal range is [-14, 15].
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00; // overflow -> Inf
  if (e >= -14) {
    // Normal: keep 10 mantissa bits, round the 13 dropped ones.
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1; // may carry into the exponent: correct behaviour
    return sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal: rounds to zero
  // Subnormal: the result counts units of 2^-24. The 24-bit significand
  // (1.mant, scaled by 2^23) times 2^(e+1) gives that count; drop -(e+1) bits.
  const sig = mant | 0x00800000;
  const drop = -e - 1; // 14..24
  const h = sig >>> drop;
  const rem = sig & ((1 << drop) - 1);
  const halfway = 1 << (drop - 1);
  const r = rem > halfway || (rem === halfway && (h & 1)) ? h + 1 : h; // a carry to 0x400 is the smallest normal: right
  return sign | r;
}

export function fp16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toHalfBits(dtype: HalfDtype, x: number): number {
  return dtype === "bf16" ? f32ToBf16Bits(x) : f32ToFp16Bits(x);
}

export function fromHalfBits(dtype: HalfDtype, b: number): number {
  return dtype === "bf16" ? bf16BitsToF32(b) : fp16BitsToF32(b);
}

export function checkDtype(fn: string, name: string, dtype: unknown): HalfDtype {
  if (dtype !== "bf16" && dtype !== "fp16") throw new MlaArgumentError(fn, name, `one of ${HALF_DTYPES.join(", ")}`, dtype);
  return dtype;
}

/** Rounds every element to the 16-bit format; returns the bit patterns. */
export function encodeHalf(dtype: HalfDtype, values: ArrayLike<number>): Uint16Array {
  checkDtype("encodeHalf", "dtype", dtype);
  const out = new Uint16Array(values.length);
  const conv = dtype === "bf16" ? f32ToBf16Bits : f32ToFp16Bits;
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i]);
  return out;
}

/** Widens 16-bit bit patterns to float64 values (exact: every half is a double). */
export function decodeHalf(dtype: HalfDtype, bits: Uint16Array): Float64Array {
  checkDtype("decodeHalf", "dtype", dtype);
  if (!(bits instanceof Uint16Array)) throw new MlaArgumentError("decodeHalf", "bits", "a Uint16Array", bits);
  const out = new Float64Array(bits.length);
  const conv = dtype === "bf16" ? bf16BitsToF32 : fp16BitsToF32;
  for (let i = 0; i < bits.length; i++) out[i] = conv(bits[i]);
  return out;
}

/** Unit roundoff: half the distance from 1 to the next representable number. */
export function unitRoundoff(dtype: HalfDtype): number {
  return dtype === "bf16" ? 2 ** -8 : 2 ** -11;
}
