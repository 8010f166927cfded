/**
 * Per-request KV lengths for a sweep configuration, as FlashMLA's benchmark
 * draws them: every request the same length ("fixed"), or normal around the
 * mean with sd = mean/2, clipped below at s_q and truncated to an integer
 * ("normal").
 *
 * Why not Rng.normal() (Box-Muller, src/numeric/rng.ts): the PyTorch baseline
 * (baselines/torch_mla_decode.py) must draw exactly the same lengths, and
 * Box-Muller goes through log/cos, whose last bit differs between V8 and
 * glibc. Here the stream is mulberry32 (integer ops only) and the normal is
 * Irwin-Hall (sum of 12 uniforms - 6): every step is an integer op or a
 * correctly rounded +, *, so Python reproduces it bit for bit. Irwin-Hall has
 * mean 0, sd 1 and a support of +-6 sd, which is all a length generator needs.
 */
import { checkInt, MlaArgumentError } from "../errors";

export type SkDist = "fixed" | "normal";
export const SK_DISTS: readonly SkDist[] = ["fixed", "normal"];

/** mulberry32 (Tommy Ettinger): 32-bit state, passes gjrand/PractRand up to moderate sizes. */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    checkInt("Mulberry32", "seed", seed, 0, 2 ** 32 - 1);
    this.state = seed >>> 0;
  }

  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ ((t + (Math.imul(t ^ (t >>> 7), t | 61) >>> 0)) >>> 0)) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits (exact in float64). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Approximately standard normal: Irwin-Hall with 12 terms (see the module comment). */
  normal(): number {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.uniform();
    return s - 6;
  }
}

export interface SeqlenSpec {
  /** requests */
  b: number;
  /** query tokens per request; lower clip of every length */
  sQ: number;
  /** mean KV length, tokens */
  meanSk: number;
  dist: SkDist;
  seed: number;
}

/** The lengths, deterministic in (b, sQ, meanSk, dist, seed). */
export function generateSeqlens(spec: SeqlenSpec): Int32Array {
  const fn = "generateSeqlens";
  if (typeof spec !== "object" || spec === null) throw new MlaArgumentError(fn, "spec", "an object {b, sQ, meanSk, dist, seed}", spec);
  checkInt(fn, "spec.b", spec.b, 1, 1 << 20);
  checkInt(fn, "spec.sQ", spec.sQ, 1);
  // int32 lengths; the normal tail reaches mean + 3*mean, so keep 4*mean representable.
  checkInt(fn, "spec.meanSk", spec.meanSk, spec.sQ, 2 ** 29);
  if (!SK_DISTS.includes(spec.dist)) throw new MlaArgumentError(fn, "spec.dist", `one of ${SK_DISTS.join(", ")}`, spec.dist);
  checkInt(fn, "spec.seed", spec.seed, 0, 2 ** 32 - 1);
  const out = new Int32Array(spec.b);
  if (spec.dist === "fixed") {
    out.fill(spec.meanSk);
    return out;
  }
  const rng = new Mulberry32(spec.seed);
  const sd = spec.meanSk / 2;
  for (let i = 0; i < spec.b; i++) {
    const x = spec.meanSk + sd * rng.normal();
    out[i] = Math.floor(Math.max(x, spec.sQ));
  }
  return out;
}

export interface SeqlenStats {
  mean: number;
  min: number;
  max: number;
  sd: number;
  total: number;
}

export function seqlenStats(lens: Int32Array): SeqlenStats {
  if (!(lens instanceof Int32Array) || lens.length === 0) throw new MlaArgumentError("seqlenStats", "lens", "a non-empty Int32Array", lens);
  let total = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of lens) {
    total += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = total / lens.length;
  let ss = 0;
  for (const v of lens) ss += (v - mean) * (v - mean);
  return { mean, min, max, sd: Math.sqrt(ss / lens.length), total };
}
