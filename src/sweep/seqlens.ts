/**
 * Per-request KV lengths for a sweep configuration, as FlashMLA's benchmark
 * draws them: every request the same length ("fixed"), or normal around the
 * mean with sd = mean/2, clipped below at s_q and truncated to an integer
 * ("normal").
 *
 * The normal draws are Rng.normalIrwinHall() of src/numeric/rng.ts (the one
 * PRNG), seeded with the sweep's seed: the recorded runs were measured on
 * exactly these lengths, so the generator must not change. Nothing else
 * draws them: the planner (plan.ts) writes them into the plan file that the
 * GPU runner and the Python baseline both read.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { Rng } from "../numeric/rng";

export type SkDist = "fixed" | "normal";
export const SK_DISTS: readonly SkDist[] = ["fixed", "normal"];

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
