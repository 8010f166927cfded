/**
 * Random decode problems for tests, benchmarks and notebooks: fresh normal
 * inputs (never zeros, which hide unwritten outputs), pages in shuffled
 * order, and NaN in every cache slot no request owns, so any read past a
 * request's length shows up as NaN in the result.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { checkDtype, HalfDtype } from "../numeric/half";
import { randomHalf, Rng } from "../numeric/rng";
import { buildPagedKvCache } from "../paged/cache";
import { DecodeProblem } from "./decode";

export interface RandomProblemOptions {
  dtype: HalfDtype;
  sQ: number;
  hQ: number;
  hKv: number;
  /** tokens per request; its length is the batch size */
  seqlens: number[];
  causal: boolean;
  seed: number;
  /** default 576 */
  dK?: number;
  /** default 512 */
  dV?: number;
  softmaxScale?: number;
  /** spare never-referenced pages (default 1) */
  extraBlocks?: number;
}

export function randomDecodeProblem(o: RandomProblemOptions): DecodeProblem {
  const fn = "randomDecodeProblem";
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "options", "an options object", o);
  const dtype = checkDtype(fn, "dtype", o.dtype);
  const sQ = checkInt(fn, "sQ", o.sQ, 1);
  const hQ = checkInt(fn, "hQ", o.hQ, 1);
  const hKv = checkInt(fn, "hKv", o.hKv, 1);
  if (hQ % hKv !== 0) throw new MlaArgumentError(fn, "hQ", `divisible by hKv (${hKv})`, hQ);
  const dK = checkInt(fn, "dK", o.dK ?? 576, 1);
  if (!Array.isArray(o.seqlens) || o.seqlens.length < 1) throw new MlaArgumentError(fn, "seqlens", "a non-empty array", o.seqlens);
  o.seqlens.forEach((l, i) => checkInt(fn, `seqlens[${i}]`, l, 0));
  const rng = new Rng(checkInt(fn, "seed", o.seed, 0, 2 ** 32 - 1));
  const b = o.seqlens.length;
  const q = randomHalf(dtype, b * sQ * hQ * dK, rng);
  const requests = o.seqlens.map((len) => randomHalf(dtype, len * hKv * dK, rng));
  const cache = buildPagedKvCache({ dtype, hKv, headDim: dK, requests, rng, fill: "nan", extraBlocks: o.extraBlocks ?? 1 });
  return { q, b, sQ, hQ, cache, causal: o.causal, dV: o.dV ?? 512, softmaxScale: o.softmaxScale };
}
