/**
 * Per-request KV lengths for a sweep configuration, as FlashMLA's benchmark
 * draws them: every request the same length ("fixed"), or normal around the
 * mean with sd = mean/2, clipped below at s_q and truncated to an integer
 * ("normal"). A serving mix ("lognormal"): most requests short, a long tail;
 * exp(N(ln m, 1)) with median m = meanSk * e^(-1/2), so that the mean before
 * clipping is meanSk, clipped to [s_q, LOGNORMAL_CAP * meanSk] and truncated.
 *
 * The normal draws are Rng.normalIrwinHall() of src/numeric/rng.ts (the one
 * PRNG), seeded with the sweep's seed: the recorded runs were measured on
 * exactly these lengths, so the generator must not change. The lognormal ones
 * take Rng.normal() (Box-Muller: the tail Irwin-Hall cuts off at 6 sd is the
 * point here). Nothing else draws them: the planner (plan.ts) writes them into
 * the plan file that the GPU runner and the Python baseline both read.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { Rng } from "../numeric/rng";

export type SkDist = "fixed" | "normal" | "lognormal";
export const SK_DISTS: readonly SkDist[] = ["fixed", "normal", "lognormal"];

/** sd of ln(length) of the "lognormal" lengths */
export const LOGNORMAL_SIGMA = 1;
/** the "lognormal" lengths are clipped above at this multiple of meanSk (about 0.5% of them at sigma 1) */
export const LOGNORMAL_CAP = 8;

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
  const rng = new Rng(spec.seed);
  if (spec.dist === "lognormal") {
    const median = spec.meanSk * Math.exp(-(LOGNORMAL_SIGMA ** 2) / 2);
    const cap = Math.min(LOGNORMAL_CAP * spec.meanSk, 2 ** 31 - 1);
    for (let i = 0; i < spec.b; i++) {
      const x = median * Math.exp(LOGNORMAL_SIGMA * rng.normal());
      out[i] = Math.floor(Math.min(Math.max(x, spec.sQ), cap));
    }
    return out;
  }
  const sd = spec.meanSk / 2;
  for (let i = 0; i < spec.b; i++) {
    const x = spec.meanSk + sd * rng.normalIrwinHall();
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
