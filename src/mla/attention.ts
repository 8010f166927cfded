/**
 * The float64 core every reference path shares: softmax attention of one
 * query row over a run of key rows, returning the log-sum-exp.
 *
 * Keys and values are addressed as (array, offset, stride) so the same loop
 * serves per-head MHA keys, the 576-wide MLA cache rows (whose first 512
 * columns are the values) and gathered pages, without copying.
 */

export interface RowView {
  data: Float64Array;
  /** index of element 0 of row 0 */
  offset: number;
  /** elements between consecutive rows */
  stride: number;
}

/**
 * out[outOff .. outOff+dV) = sum_j softmax_j(scale * q.k_j) v_j over the first
 * `nKeys` rows; returns lse = log(sum_j exp(scale * q.k_j)) (natural log).
 * nKeys = 0 gives out = 0 and lse = -Infinity (an empty sum).
 * `scores` is caller-owned scratch of length >= nKeys, so the hot loop allocates nothing.
 */
export function attendRow(
  q: Float64Array,
  qOff: number,
  dK: number,
  keys: RowView,
  values: RowView,
  dV: number,
  nKeys: number,
  scale: number,
  out: Float64Array,
  outOff: number,
  scores: Float64Array,
): number {
  if (nKeys === 0) {
    out.fill(0, outOff, outOff + dV);
    return -Infinity;
  }
  const kd = keys.data;
  let max = -Infinity;
  for (let j = 0; j < nKeys; j++) {
    const kb = keys.offset + j * keys.stride;
    // Four independent partial sums: the JIT keeps them in registers and the
    // additions overlap, about twice the speed of one running sum.
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let d = 0;
    for (; d + 3 < dK; d += 4) {
      s0 += q[qOff + d] * kd[kb + d];
      s1 += q[qOff + d + 1] * kd[kb + d + 1];
      s2 += q[qOff + d + 2] * kd[kb + d + 2];
      s3 += q[qOff + d + 3] * kd[kb + d + 3];
    }
    for (; d < dK; d++) s0 += q[qOff + d] * kd[kb + d];
    const s = (s0 + s1 + s2 + s3) * scale;
    scores[j] = s;
    if (s > max) max = s;
  }
  out.fill(0, outOff, outOff + dV);
  const vd = values.data;
  let sum = 0;
  for (let j = 0; j < nKeys; j++) {
    const p = Math.exp(scores[j] - max);
    sum += p;
    const vb = values.offset + j * values.stride;
    let d = 0;
    for (; d + 3 < dV; d += 4) {
      out[outOff + d] += p * vd[vb + d];
      out[outOff + d + 1] += p * vd[vb + d + 1];
      out[outOff + d + 2] += p * vd[vb + d + 2];
      out[outOff + d + 3] += p * vd[vb + d + 3];
    }
    for (; d < dV; d++) out[outOff + d] += p * vd[vb + d];
  }
  const inv = 1 / sum;
  for (let d = 0; d < dV; d++) out[outOff + d] *= inv;
  return max + Math.log(sum);
}
