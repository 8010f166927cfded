/**
 * Split-KV ("flash-decoding"): when a batch is too small to fill the GPU,
 * each request's keys are cut into chunks that run in parallel. Each chunk
 * produces a partial output normalised by its own softmax denominator, and
 * the partial's log-sum-exp; the combine step re-weights the partials:
 *
 *   lse   = log sum_c exp(lse_c)
 *   out   = sum_c exp(lse_c - lse) * out_c
 *
 * which equals the single-pass softmax exactly (up to float64 rounding).
 * Within a chunk the keys are streamed once with the online softmax: a
 * running max m, running denominator l and unnormalised accumulator acc,
 * rescaled by exp(m_old - m_new) whenever the max grows. This is the loop a
 * GPU kernel runs over KV blocks.
 */
import { checkInt, MlaArgumentError } from "../errors";
import { gatherValidated } from "../paged/cache";
import { checkDecodeProblem, DecodeProblem, DecodeResult, visibleKeys } from "./decode";

export interface Partial {
  /** first key of the chunk */
  start: number;
  /** one past its last key */
  end: number;
  /** [sQ, hQ, dV], normalised by this chunk's own denominator (0 where the chunk sees no key) */
  out: Float64Array;
  /** [hQ, sQ], -Infinity where the chunk sees no key */
  lse: Float64Array;
}

/** Chunk boundaries [0, c1, ..., sK] for request r of length sK. */
export type Chunking = number | ((request: number, sK: number) => number[]);

function boundaries(fn: string, chunking: Chunking, r: number, sK: number): number[] {
  if (typeof chunking === "number") {
    checkInt(fn, "chunking", chunking, 1);
    const b = [0];
    for (let t = chunking; t < sK; t += chunking) b.push(t);
    if (sK > 0) b.push(sK);
    return b;
  }
  if (typeof chunking !== "function") throw new MlaArgumentError(fn, "chunking", "a chunk size in tokens or a function", chunking);
  const b = chunking(r, sK);
  const ok = Array.isArray(b) && b.length >= 1 && b[0] === 0 && b[b.length - 1] === sK && b.every((x, k) => Number.isInteger(x) && (k === 0 || x > b[k - 1]));
  if (!ok) throw new MlaArgumentError(fn, `chunking(${r}, ${sK})`, `strictly increasing integers from 0 to ${sK}`, JSON.stringify(b));
  return b;
}

/** Per-request list of chunk partials, computed with the online softmax. */
export function splitKvPartials(problem: DecodeProblem, chunking: Chunking): Partial[][] {
  const fn = "splitKvPartials";
  const p = checkDecodeProblem(fn, problem);
  const { b, sQ, hQ, hKv, dK, dV, scale } = p;
  const group = hQ / hKv;
  const acc = new Float64Array(dV);
  const result: Partial[][] = [];
  for (let r = 0; r < b; r++) {
    const sK = p.cache.cacheSeqlens[r];
    const bounds = boundaries(fn, chunking, r, sK);
    const kv = gatherValidated(p.cache, r);
    const rowStride = hKv * dK;
    const parts: Partial[] = [];
    for (let c = 0; c + 1 < bounds.length; c++) {
      const start = bounds[c];
      const end = bounds[c + 1];
      const out = new Float64Array(sQ * hQ * dV);
      const lse = new Float64Array(hQ * sQ).fill(-Infinity);
      for (let i = 0; i < sQ; i++) {
        const last = Math.min(end, visibleKeys(sK, sQ, i, p.causal));
        for (let h = 0; h < hQ; h++) {
          const qOff = ((r * sQ + i) * hQ + h) * dK;
          const kOff = Math.floor(h / group) * dK;
          let m = -Infinity;
          let l = 0;
          acc.fill(0);
          for (let j = start; j < last; j++) {
            const kb = j * rowStride + kOff;
            let s = 0;
            for (let d = 0; d < dK; d++) s += p.q[qOff + d] * kv[kb + d];
            s *= scale;
            if (s > m) {
              // The max grew: everything accumulated so far was weighted by exp(x - m_old).
              const corr = Math.exp(m - s);
              l *= corr;
              for (let d = 0; d < dV; d++) acc[d] *= corr;
              m = s;
            }
            const e = Math.exp(s - m);
            l += e;
            for (let d = 0; d < dV; d++) acc[d] += e * kv[kb + d];
          }
          if (l > 0) {
            const o = (i * hQ + h) * dV;
            for (let d = 0; d < dV; d++) out[o + d] = acc[d] / l;
            lse[h * sQ + i] = m + Math.log(l);
          }
        }
      }
      parts.push({ start, end, out, lse });
    }
    result.push(parts);
  }
  return result;
}

/**
 * Merges the partials of each request. A row no chunk could see ends with
 * out = 0 and lse = +Infinity, as the single pass returns.
 */
export function combinePartials(partials: Partial[][], sQ: number, hQ: number, dV: number): DecodeResult {
  const fn = "combinePartials";
  if (!Array.isArray(partials) || partials.length < 1) throw new MlaArgumentError(fn, "partials", "a non-empty array (one entry per request)", partials);
  checkInt(fn, "sQ", sQ, 1);
  checkInt(fn, "hQ", hQ, 1);
  checkInt(fn, "dV", dV, 1);
  const b = partials.length;
  const out = new Float64Array(b * sQ * hQ * dV);
  const lse = new Float64Array(b * hQ * sQ);
  partials.forEach((parts, r) => {
    parts.forEach((pt, c) => {
      if (!(pt.out instanceof Float64Array) || pt.out.length !== sQ * hQ * dV) {
        throw new MlaArgumentError(fn, `partials[${r}][${c}].out`, `a Float64Array of length sQ*hQ*dV = ${sQ * hQ * dV}`, pt.out);
      }
      if (!(pt.lse instanceof Float64Array) || pt.lse.length !== hQ * sQ) {
        throw new MlaArgumentError(fn, `partials[${r}][${c}].lse`, `a Float64Array of length hQ*sQ = ${hQ * sQ}`, pt.lse);
      }
    });
    for (let h = 0; h < hQ; h++) {
      for (let i = 0; i < sQ; i++) {
        let m = -Infinity;
        for (const pt of parts) m = Math.max(m, pt.lse[h * sQ + i]);
        const oOff = ((r * sQ + i) * hQ + h) * dV;
        if (m === -Infinity) {
          lse[(r * hQ + h) * sQ + i] = Infinity;
          continue;
        }
        let sum = 0;
        for (const pt of parts) sum += Math.exp(pt.lse[h * sQ + i] - m);
        const total = m + Math.log(sum);
        for (const pt of parts) {
          const w = Math.exp(pt.lse[h * sQ + i] - total);
          if (w === 0) continue;
          const pOff = (i * hQ + h) * dV;
          for (let d = 0; d < dV; d++) out[oOff + d] += w * pt.out[pOff + d];
        }
        lse[(r * hQ + h) * sQ + i] = total;
      }
    }
  });
  return { out, lse };
}

/** Split-KV decode end to end: partials, then the combine. */
export function splitKvDecode(problem: DecodeProblem, chunking: Chunking): DecodeResult {
  const parts = splitKvPartials(problem, chunking);
  return combinePartials(parts, problem.sQ, problem.hQ, problem.dV ?? 512);
}
