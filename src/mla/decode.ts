/**
 * Reference MLA decode with FlashMLA's semantics, in float64.
 *
 *   q             [b, s_q, h_q, d_k]   16-bit, d_k = 576 for DeepSeek
 *   paged cache   [num_blocks, 64, h_kv, d_k]
 *   out           [b, s_q, h_q, d_v]   d_v = 512: values are the first d_v columns of each cache row
 *   lse           [b, h_q, s_q]        natural log of the softmax denominator, in scaled-logit units
 *
 * Query head h reads KV head floor(h / (h_q / h_kv)). With s_q > 1 and
 * causal, query i (0-based) sees keys j <= s_k - s_q + i: the s_q new tokens
 * are the last s_q positions of the sequence (speculative decoding checks
 * several draft tokens at once). A row that sees no key returns out = 0 and
 * lse = +inf, FlashMLA's convention for an empty request.
 */
import { checkFinite, checkInt, MlaArgumentError } from "../errors";
import { HalfDtype } from "../numeric/half";
import { halfToF64Table } from "../paged/decode-table";
import { gatherValidated, PagedKvCache, validatePagedKvCache } from "../paged/cache";
import { attendRow, RowView } from "./attention";

export interface DecodeProblem {
  /** [b, sQ, hQ, cache.headDim] bit patterns in cache.dtype */
  q: Uint16Array;
  b: number;
  sQ: number;
  hQ: number;
  cache: PagedKvCache;
  causal: boolean;
  /** value width, the leading columns of each cache row (default 512) */
  dV?: number;
  /** default 1/sqrt(d_k), FlashMLA's default */
  softmaxScale?: number;
}

export interface DecodeResult {
  /** [b, sQ, hQ, dV] */
  out: Float64Array;
  /** [b, hQ, sQ] */
  lse: Float64Array;
}

/** Everything the loops need, checked once. */
export interface CheckedProblem {
  dtype: HalfDtype;
  b: number;
  sQ: number;
  hQ: number;
  hKv: number;
  dK: number;
  dV: number;
  causal: boolean;
  scale: number;
  /** q widened to float64 */
  q: Float64Array;
  cache: PagedKvCache;
}

export function checkDecodeProblem(fn: string, p: unknown): CheckedProblem {
  if (typeof p !== "object" || p === null) throw new MlaArgumentError(fn, "problem", "a DecodeProblem object", p);
  const d = p as DecodeProblem;
  const cache = validatePagedKvCache(fn, d.cache);
  const b = checkInt(fn, "b", d.b, 1);
  if (b !== cache.batch) throw new MlaArgumentError(fn, "b", `equal to cache.batch (${cache.batch})`, b);
  const sQ = checkInt(fn, "sQ", d.sQ, 1);
  const hQ = checkInt(fn, "hQ", d.hQ, 1);
  const hKv = cache.hKv;
  if (hQ % hKv !== 0) throw new MlaArgumentError(fn, "hQ", `divisible by h_kv (${hKv})`, hQ);
  const dK = cache.headDim;
  const dV = checkInt(fn, "dV", d.dV ?? 512, 1, dK);
  if (typeof d.causal !== "boolean") throw new MlaArgumentError(fn, "causal", "a boolean", d.causal);
  const scale = checkFinite(fn, "softmaxScale", d.softmaxScale ?? 1 / Math.sqrt(dK), true);
  if (!(d.q instanceof Uint16Array) || d.q.length !== b * sQ * hQ * dK) {
    throw new MlaArgumentError(fn, "q", `a Uint16Array of length b*sQ*hQ*d_k = ${b}*${sQ}*${hQ}*${dK}`, d.q);
  }
  const table = halfToF64Table(cache.dtype);
  const q = new Float64Array(d.q.length);
  for (let i = 0; i < q.length; i++) q[i] = table[d.q[i]];
  return { dtype: cache.dtype, b, sQ, hQ, hKv, dK, dV, causal: d.causal, scale, q, cache };
}

/** Keys visible to query token i of sQ when the request holds sK tokens. */
export function visibleKeys(sK: number, sQ: number, i: number, causal: boolean): number {
  if (!causal) return sK;
  return Math.max(0, Math.min(sK, sK - sQ + i + 1));
}

export function referenceDecode(problem: DecodeProblem): DecodeResult {
  const p = checkDecodeProblem("referenceDecode", problem);
  const { b, sQ, hQ, hKv, dK, dV } = p;
  const out = new Float64Array(b * sQ * hQ * dV);
  const lse = new Float64Array(b * hQ * sQ);
  const group = hQ / hKv;
  let scores = new Float64Array(0);
  for (let r = 0; r < b; r++) {
    const sK = p.cache.cacheSeqlens[r];
    if (scores.length < sK) scores = new Float64Array(sK);
    const kv = gatherValidated(p.cache, r); // [sK, hKv, dK]
    for (let i = 0; i < sQ; i++) {
      const n = visibleKeys(sK, sQ, i, p.causal);
      for (let h = 0; h < hQ; h++) {
        const rows: RowView = { data: kv, offset: Math.floor(h / group) * dK, stride: hKv * dK };
        const qOff = ((r * sQ + i) * hQ + h) * dK;
        const oOff = ((r * sQ + i) * hQ + h) * dV;
        const l = attendRow(p.q, qOff, dK, rows, rows, dV, n, p.scale, out, oOff, scores);
        lse[(r * hQ + h) * sQ + i] = n === 0 ? Infinity : l;
      }
    }
  }
  return { out, lse };
}
