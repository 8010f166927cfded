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

/** What a random decode problem is drawn from, on the host or on the device. */
export interface RandomShape {
  dtype: HalfDtype;
  sQ: number;
  hQ: number;
  hKv: number;
  /** tokens per request; its length is the batch size */
  seqlens: number[];
  causal: boolean;
  seed: number;
}

/** Validates a RandomShape for `fn`, naming the offending field. */
export function checkRandomShape(fn: string, o: unknown): RandomShape {
  if (typeof o !== "object" || o === null) throw new MlaArgumentError(fn, "options", "an options object", o);
  const r = o as RandomShape;
  checkDtype(fn, "dtype", r.dtype);
  checkInt(fn, "sQ", r.sQ, 1);
  checkInt(fn, "hQ", r.hQ, 1);
  checkInt(fn, "hKv", r.hKv, 1);
  if (r.hQ % r.hKv !== 0) throw new MlaArgumentError(fn, "hQ", `divisible by hKv (${r.hKv})`, r.hQ);
  if (!Array.isArray(r.seqlens) || r.seqlens.length < 1) throw new MlaArgumentError(fn, "seqlens", "a non-empty array", r.seqlens);
  r.seqlens.forEach((l, i) => checkInt(fn, `seqlens[${i}]`, l, 0));
  checkInt(fn, "seed", r.seed, 0, 2 ** 32 - 1);
  return r;
}

export interface RandomProblemOptions extends RandomShape {
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
  const { dtype, sQ, hQ, hKv } = checkRandomShape(fn, o);
  const dK = checkInt(fn, "dK", o.dK ?? 576, 1);
  const rng = new Rng(o.seed);
  const b = o.seqlens.length;
  const q = randomHalf(dtype, b * sQ * hQ * dK, rng);
  const requests = o.seqlens.map((len) => randomHalf(dtype, len * hKv * dK, rng));
  const cache = buildPagedKvCache({ dtype, hKv, headDim: dK, requests, rng, fill: "nan", extraBlocks: o.extraBlocks ?? 1 });
  return { q, b, sQ, hQ, cache, causal: o.causal, dV: o.dV ?? 512, softmaxScale: o.softmaxScale };
}
